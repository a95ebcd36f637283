"""The result types and input checks every metric shares (:mod:`sim.stats`).

Input errors raise ``ValueError`` with a one-line message that names the argument. scipy is
imported inside the quantile helpers, not here: ``scipy.stats`` costs about 0.4 s of a run's
start-up and a plain run needs only the normal quantile (issue 19).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a confidence interval (``low`` and ``high`` may be NaN)."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class Gap:
    """Group versus reference: ``absolute`` = group - reference, ``relative`` = group / reference.

    ``ratio_corrected`` is True when the ratio used the Haldane 0.5 correction (a zero count).
    """

    value: float
    reference_value: float
    absolute: Estimate
    relative: Estimate
    ratio_corrected: bool = False


@dataclass(frozen=True)
class SlopeIndex:
    """Slope and relative index of inequality; see :func:`slope_index` for the conventions.

    ``ranks`` are the groups' relative ranks in the order the values were given.
    ``sii_rel_mean*`` is the SII divided by the population-weighted mean.
    """

    sii: float
    sii_low: float
    sii_high: float
    sii_se: float
    rii: float
    rii_low: float
    rii_high: float
    sii_rel_mean: float
    sii_rel_mean_low: float
    sii_rel_mean_high: float
    ranks: tuple[float, ...]
    fitted_most_deprived: float
    fitted_least_deprived: float
    weighted_mean: float
    ci_method: str
    direction: str


@dataclass(frozen=True)
class ConcentrationIndex:
    """Concentration index (or a corrected version), delta-method SE and normal interval."""

    index: float
    se: float
    low: float
    high: float
    mean: float
    n: int
    correction: str


@dataclass(frozen=True)
class EDE:
    """Equally distributed equivalent of a distribution and the implied inequality index.

    ``index`` is relative for Atkinson-type EDEs (``1 - ede/mean`` for goods,
    ``ede/mean - 1`` for bads) and absolute for Kolm (``|mean - ede|``, outcome units).
    """

    ede: float
    mean: float
    index: float
    parameter: float
    kind: str
    family: str


@dataclass(frozen=True)
class PairedResult:
    """Mean paired difference (or geometric mean ratio) with a t interval over replicates.

    ``se`` and ``df`` are on the analysis scale (log scale for ratios). With one replicate
    the interval cannot be estimated: ``low``, ``high`` and ``se`` are NaN and
    ``has_interval`` is False.
    """

    estimate: float
    low: float
    high: float
    se: float
    n: int
    df: int
    has_interval: bool
    scale: str


# --------------------------------------------------------------------------------------
# Validation helpers (used by gaps, equity, survival and paired)
# --------------------------------------------------------------------------------------


def _check_level(level: float) -> float:
    if not (isinstance(level, int | float | np.floating) and 0.0 < float(level) < 1.0):
        raise ValueError(f"level: must be a number strictly between 0 and 1, got {level!r}")
    return float(level)


def _t_ppf(q: float, df: float) -> float:
    # scipy.special.stdtrit is what scipy.stats.t.ppf computes (t_gen._ppf), without the
    # ~0.5 s import of scipy.stats in every process that draws an interval (the report
    # workers of a sweep); the same values, bit for bit. 95% intervals over up to 201
    # replicates take it from a table and import no scipy at all (sim.stats.tquantile)
    from sim.stats.tquantile import t_quantile

    return t_quantile(q, df)


def _logsumexp(*args, **kwargs):
    from scipy.special import logsumexp

    return logsumexp(*args, **kwargs)


def _z(level: float) -> float:
    # the standard normal quantile without scipy.stats (about 0.4 s of a run's start-up,
    # issue 19), and without scipy at all at 95%: a plain run needs it only for the
    # competing-risks intervals
    from sim.evidence.distributions import z_for_level

    return z_for_level(level)


def _vector(name: str, x, *, min_len: int = 1) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: must be numeric ({exc})") from None
    if a.ndim != 1:
        raise ValueError(f"{name}: must be one-dimensional, got shape {a.shape}")
    if a.size < min_len:
        raise ValueError(f"{name}: needs at least {min_len} value(s), got {a.size}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return a


def _same_length(**arrays: np.ndarray) -> None:
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise ValueError(f"{', '.join(lengths)}: lengths differ ({desc})")


def _weights(weights, n: int, name: str = "weights") -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _vector(name, weights)
    if len(w) != n:
        raise ValueError(f"{name}: length {len(w)} does not match the data length {n}")
    if np.any(w < 0):
        raise ValueError(f"{name}: must be non-negative")
    if not w.sum() > 0:
        raise ValueError(f"{name}: must have a positive sum")
    return w


def _scalar(name: str, x) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number, got {x!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {x!r}")
    return v


def _log_interval(estimate: float, se_log: float, q: float) -> Estimate:
    if not (estimate > 0 and np.isfinite(se_log)):
        return Estimate(estimate, np.nan, np.nan)
    log_est = np.log(estimate)
    return Estimate(estimate, float(np.exp(log_est - q * se_log)),
                    float(np.exp(log_est + q * se_log)))
