"""Inequality and comparison metrics: pure functions, arrays or DataFrames in, numbers out.

Everything here is deterministic (the one Monte Carlo method takes a seed) and vectorised over
individuals; the only Python loops are over a handful of groups or causes.

Contents

* Gaps between two groups, with intervals: :func:`wilson_interval`, :func:`proportion_gap`
  (Newcombe hybrid score difference, Katz log ratio), :func:`mean_gap` (Welch difference,
  delta-method log ratio) and :func:`group_gaps` (every group against a reference group).
* Gradients across deprivation quintiles: :func:`slope_index` (SII and RII, Fingertips
  convention) and :func:`sii_relative_to_mean`.
* :func:`concentration_index` (standard, Erreygers or Wagstaff) with a delta-method SE.
* Distributional cost-effectiveness: :func:`atkinson_ede` and :func:`kolm_ede`.
* Competing risks: :func:`aalen_johansen` (cumulative incidence with tied integer weeks).
* Common-random-number comparisons: :func:`paired_difference` and :func:`paired_ratio`.

Input errors raise ``ValueError`` with a one-line message that names the argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "EDE",
    "ConcentrationIndex",
    "Estimate",
    "Gap",
    "PairedResult",
    "SlopeIndex",
    "aalen_johansen",
    "atkinson_ede",
    "concentration_index",
    "group_gaps",
    "kolm_ede",
    "mean_gap",
    "paired_difference",
    "paired_ratio",
    "proportion_gap",
    "sii_relative_to_mean",
    "slope_index",
    "wilson_interval",
]


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
# Validation helpers
# --------------------------------------------------------------------------------------


def _check_level(level: float) -> float:
    if not (isinstance(level, int | float | np.floating) and 0.0 < float(level) < 1.0):
        raise ValueError(f"level: must be a number strictly between 0 and 1, got {level!r}")
    return float(level)


def _t_ppf(q: float, df: float) -> float:
    from scipy.stats import t  # lazy: see _z

    return t.ppf(q, df)


def _logsumexp(*args, **kwargs):
    from scipy.special import logsumexp

    return logsumexp(*args, **kwargs)


def _z(level: float) -> float:
    # scipy.special.ndtri is scipy.stats.norm.ppf (loc 0, scale 1) without importing
    # scipy.stats, which costs about 0.4 s of a run's start-up (issue 19): a plain run needs
    # this quantile only for the competing-risks intervals
    from scipy.special import ndtri

    return float(ndtri(0.5 + level / 2.0))


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


# --------------------------------------------------------------------------------------
# 1. Gaps between groups
# --------------------------------------------------------------------------------------


def wilson_interval(x: float, n: float, level: float = 0.95) -> Estimate:
    """Proportion ``x/n`` with the Wilson score interval (no continuity correction).

    Counts may be non-integer (weighted counts). Example: ``wilson_interval(81, 263)``
    gives 0.308 (0.255 to 0.366).
    """
    level = _check_level(level)
    x, n = _scalar("x", x), _scalar("n", n)
    if n <= 0:
        raise ValueError(f"n: must be positive, got {n}")
    if not 0 <= x <= n:
        raise ValueError(f"x: must be between 0 and n={n}, got {x}")
    z = _z(level)
    p = x / n
    centre = (x + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * np.sqrt(x * (n - x) / n + z * z / 4)
    low = 0.0 if x == 0 else max(0.0, centre - half)  # exact ends: no 1e-17 rounding
    high = 1.0 if x == n else min(1.0, centre + half)
    return Estimate(p, float(low), float(high))


def _log_interval(estimate: float, se_log: float, q: float) -> Estimate:
    if not (estimate > 0 and np.isfinite(se_log)):
        return Estimate(estimate, np.nan, np.nan)
    log_est = np.log(estimate)
    return Estimate(estimate, float(np.exp(log_est - q * se_log)),
                    float(np.exp(log_est + q * se_log)))


def proportion_gap(x1: float, n1: float, x0: float, n0: float, level: float = 0.95) -> Gap:
    """Gap between two proportions, group ``x1/n1`` versus reference ``x0/n0``.

    * Absolute: ``p1 - p0`` with Newcombe's hybrid score interval (method 10 of Newcombe
      1998, built from the two Wilson intervals). Well behaved at 0 and 1: never NaN.
    * Relative: ``p1 / p0`` with the Katz log interval,
      ``SE(log RR) = sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0)``.
      When either count is 0 the ratio and its interval use the Haldane-Anscombe
      correction (0.5 added to every cell of the 2x2 table: ``x + 0.5`` over ``n + 1``)
      and ``ratio_corrected`` is True; with both counts 0 the corrected ratio is
      ``(n0 + 1)/(n1 + 1)`` with a very wide interval (no information, but no crash).

    Example: ``proportion_gap(56, 70, 48, 80).absolute`` is 0.200 (0.052 to 0.334).
    """
    level = _check_level(level)
    g1, g0 = wilson_interval(x1, n1, level), wilson_interval(x0, n0, level)
    x1, n1, x0, n0 = float(x1), float(n1), float(x0), float(n0)
    p1, l1, u1 = g1.estimate, g1.low, g1.high
    p0, l0, u0 = g0.estimate, g0.low, g0.high
    d = p1 - p0
    low = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    absolute = Estimate(d, float(max(-1.0, low)), float(min(1.0, high)))

    corrected = x1 == 0 or x0 == 0
    a, m1, b, m0 = (x1 + 0.5, n1 + 1, x0 + 0.5, n0 + 1) if corrected else (x1, n1, x0, n0)
    ratio = (a / m1) / (b / m0)
    se_log = np.sqrt(max(0.0, 1 / a - 1 / m1 + 1 / b - 1 / m0))
    relative = _log_interval(float(ratio), float(se_log), _z(level))
    return Gap(p1, p0, absolute, relative, bool(corrected))


def mean_gap(values1, values0, level: float = 0.95) -> Gap:
    """Gap between two means, group ``values1`` versus reference ``values0``.

    * Absolute: ``mean1 - mean0`` with the Welch interval (unequal variances,
      Welch-Satterthwaite df, t quantile).
    * Relative: ``mean1 / mean0`` with a delta-method interval on the log scale,
      ``Var(log R) = s1^2/(n1 m1^2) + s0^2/(n0 m0^2)`` and a normal quantile; NaN interval
      unless both means are positive.

    A group with a single value has no variance estimate: intervals are then NaN.
    Example: ``mean_gap(days_absent[imd == 1], days_absent[imd == 5]).absolute.estimate``.
    """
    level = _check_level(level)
    y1, y0 = _vector("values1", values1), _vector("values0", values0)
    n1, n0 = len(y1), len(y0)
    m1, m0 = float(y1.mean()), float(y0.mean())
    d = m1 - m0
    ratio = m1 / m0 if m0 != 0 else np.nan
    if n1 < 2 or n0 < 2:
        return Gap(m1, m0, Estimate(d, np.nan, np.nan), Estimate(ratio, np.nan, np.nan))
    v1, v0 = float(y1.var(ddof=1)) / n1, float(y0.var(ddof=1)) / n0
    se = np.sqrt(v1 + v0)
    if se == 0:
        absolute = Estimate(d, d, d)
    else:
        df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
        q = float(_t_ppf(0.5 + level / 2, df))
        absolute = Estimate(d, float(d - q * se), float(d + q * se))
    if m1 > 0 and m0 > 0:
        relative = _log_interval(ratio, float(np.sqrt(v1 / m1**2 + v0 / m0**2)), _z(level))
    else:
        relative = Estimate(ratio, np.nan, np.nan)
    return Gap(m1, m0, absolute, relative)


def group_gaps(
    df: pd.DataFrame,
    group_col: str,
    reference,
    outcome_col: str,
    kind: Literal["proportion", "mean"] = "proportion",
    level: float = 0.95,
) -> pd.DataFrame:
    """Each group of ``group_col`` against the ``reference`` group, one row per group.

    ``kind="proportion"``: the outcome is 0/1 (or bool) and :func:`proportion_gap` is used;
    ``kind="mean"``: :func:`mean_gap`. Rows with a missing outcome or group are dropped.
    Columns: group, reference, n, n_reference, value, reference_value, difference,
    difference_low, difference_high, ratio, ratio_low, ratio_high, ratio_corrected.
    Groups come in category order (categorical column) or sorted order.

    Example: ``group_gaps(people, "imd_quintile", 5, "rtw_13w")`` (quintiles 1-4 vs 5).
    """
    level = _check_level(level)
    if kind not in ("proportion", "mean"):
        raise ValueError(f"kind: must be 'proportion' or 'mean', got {kind!r}")
    for name, col in (("group_col", group_col), ("outcome_col", outcome_col)):
        if col not in df.columns:
            raise ValueError(f"{name}: column {col!r} is not in the DataFrame")
    data = df[[group_col, outcome_col]].dropna()
    outcome = pd.to_numeric(data[outcome_col].astype(float), errors="raise")
    if kind == "proportion" and not outcome.isin([0.0, 1.0]).all():
        raise ValueError(f"outcome_col: {outcome_col!r} must be 0/1 for kind='proportion'")
    groups = {key: outcome[sub.index].to_numpy() for key, sub in
              data.groupby(group_col, sort=True, observed=True)}
    if reference not in groups:
        raise ValueError(f"reference: {reference!r} is not a group of {group_col!r} with data")
    ref = groups[reference]
    rows = []
    for key, y in groups.items():
        if key == reference:
            continue
        if kind == "proportion":
            gap = proportion_gap(y.sum(), len(y), ref.sum(), len(ref), level)
        else:
            gap = mean_gap(y, ref, level)
        rows.append({
            "group": key, "reference": reference, "n": len(y), "n_reference": len(ref),
            "value": gap.value, "reference_value": gap.reference_value,
            "difference": gap.absolute.estimate, "difference_low": gap.absolute.low,
            "difference_high": gap.absolute.high, "ratio": gap.relative.estimate,
            "ratio_low": gap.relative.low, "ratio_high": gap.relative.high,
            "ratio_corrected": gap.ratio_corrected,
        })
    columns = ["group", "reference", "n", "n_reference", "value", "reference_value",
               "difference", "difference_low", "difference_high", "ratio", "ratio_low",
               "ratio_high", "ratio_corrected"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------
# 2. Slope and relative index of inequality
# --------------------------------------------------------------------------------------


def slope_index(
    values,
    populations,
    ses=None,
    *,
    denominators=None,
    level: float = 0.95,
    ci: Literal["auto", "simulation", "wls", "propagated", "none"] = "auto",
    n_sim: int = 100_000,
    rng: np.random.Generator | int = 0,
    order: Literal["most_deprived_first", "least_deprived_first"] = "most_deprived_first",
    direction: Literal["least_minus_most", "most_minus_least"] = "least_minus_most",
) -> SlopeIndex:
    """Slope index of inequality (SII) and relative index (RII), PHE/OHID Fingertips style.

    Ranks: groups are put in order from most deprived (IMD quintile 1) to least deprived;
    each group's relative rank is the mid-point of its range in the cumulative population
    distribution, ``(cumulative population before it + half its population) / total``, so
    rank 0 is the most deprived end and rank 1 the least deprived end. Pass
    ``order="least_deprived_first"`` if the values run the other way; ``ranks`` in the
    result are always in the order given.

    Fit: weighted least squares of group value on rank with weights = group population, as
    Fingertips does (its regression of ``y*sqrt(a)`` on ``sqrt(a)`` and ``rank*sqrt(a)``,
    ``a`` = population share, is exactly this WLS).

    Sign convention (``direction="least_minus_most"``, the default and Fingertips'):
    SII = fitted(rank 1) - fitted(rank 0) = the slope = least deprived minus most deprived,
    in the outcome's units; positive when the outcome rises as deprivation falls (e.g.
    RTW within 13 weeks), negative for outcomes worse in the least deprived.
    RII = fitted(rank 1) / fitted(rank 0) = least / most deprived (NaN unless both fitted
    ends are positive). ``direction="most_minus_least"`` flips the SII sign and inverts
    the RII (most / least deprived). Some publications divide the SII by the mean instead
    of using the RII: the result's ``sii_rel_mean`` (and :func:`sii_relative_to_mean`) is
    SII / population-weighted mean.

    Intervals (``ci``):

    * ``"simulation"`` (Fingertips method): ``n_sim`` Monte Carlo draws of every group's
      value from its sampling distribution, refit, 2.5/97.5 (for 95%) percentiles of the
      SII, RII and SII/mean. Draws are normal with the given ``ses``; or, for proportions
      given with ``denominators`` m, Beta(p*m + 0.5, (1 - p)*m + 0.5) (the Jeffreys
      posterior: stays inside (0, 1), so the RII stays defined; Fingertips uses a normal
      on the logit scale instead). Deterministic for a given ``rng`` seed or Generator.
    * ``"wls"``: the analytic WLS standard error, residual variance with k - 2 df and a
      t(k - 2) quantile (needs k >= 3 groups). It measures lack of fit about the line
      and ignores sampling error within groups (so a perfectly linear gradient has SE 0).
    * ``"propagated"``: the analytic SE from the group SEs, ``Var(b) = sum c_i^2 se_i^2``
      with c the WLS weights of the slope; the exact SD of the simulated SII under normal
      draws. Normal quantile.
    * ``"auto"``: simulation when ``ses`` or ``denominators`` are given, else wls.

    RII and SII/mean intervals for the analytic methods use the delta method on the log
    scale (RII) or with the mean held fixed (wls) or propagated (propagated).

    Example: ``slope_index(rtw_by_quintile, pop_by_quintile, denominators=pop_by_quintile)``.
    """
    level = _check_level(level)
    v = _vector("values", values, min_len=2)
    pop = _vector("populations", populations)
    _same_length(values=v, populations=pop)
    if np.any(pop <= 0):
        raise ValueError("populations: every group needs a positive population")
    if order not in ("most_deprived_first", "least_deprived_first"):
        raise ValueError(f"order: must be 'most_deprived_first' or 'least_deprived_first', "
                         f"got {order!r}")
    if direction not in ("least_minus_most", "most_minus_least"):
        raise ValueError(f"direction: must be 'least_minus_most' or 'most_minus_least', "
                         f"got {direction!r}")
    if ci not in ("auto", "simulation", "wls", "propagated", "none"):
        raise ValueError(f"ci: unknown method {ci!r}")
    if ses is not None and denominators is not None:
        raise ValueError("ses: give ses or denominators, not both")
    se = None
    if ses is not None:
        se = _vector("ses", ses)
        _same_length(values=v, ses=se)
        if np.any(se < 0):
            raise ValueError("ses: standard errors must be non-negative")
    m = None
    if denominators is not None:
        m = _vector("denominators", denominators)
        _same_length(values=v, denominators=m)
        if np.any(m <= 0):
            raise ValueError("denominators: must be positive")
        if np.any((v < 0) | (v > 1)):
            raise ValueError("values: must be proportions in [0, 1] when denominators are given")
        se = np.sqrt(v * (1 - v) / m)
    if ci == "auto":
        ci = "simulation" if se is not None else "wls"
    if ci in ("simulation", "propagated") and se is None:
        raise ValueError(f"ses: ci={ci!r} needs ses or denominators")

    idx = np.arange(len(v)) if order == "most_deprived_first" else np.arange(len(v))[::-1]
    y, w = v[idx], pop[idx] / pop.sum()
    cum = np.cumsum(w)
    rank = cum - w / 2
    X = np.column_stack([np.ones_like(rank), rank])
    xtwx = X.T @ (X * w[:, None])
    H = np.linalg.solve(xtwx, (X * w[:, None]).T)  # beta = H @ y, shape (2, k)
    a, b = H @ y
    f_most, f_least = float(a), float(a + b)
    mean = float(w @ y)
    sign = 1.0 if direction == "least_minus_most" else -1.0

    def _rii(f0, f1):
        num, den = (f1, f0) if sign > 0 else (f0, f1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((num > 0) & (den > 0), num / np.where(den == 0, 1, den), np.nan)

    sii = sign * float(b)
    rii = float(_rii(f_most, f_least))
    rel = sii / mean if mean != 0 else np.nan
    nan3 = (np.nan, np.nan, np.nan)
    sii_ci, rii_ci, rel_ci = nan3, nan3[:2], nan3[:2]
    sii_se = np.nan

    if ci == "simulation":
        if not (isinstance(n_sim, int | np.integer) and n_sim >= 100):
            raise ValueError(f"n_sim: must be an integer >= 100, got {n_sim!r}")
        gen = np.random.default_rng(rng)
        if m is not None:
            mm = m[idx]
            draws = gen.beta(y * mm + 0.5, (1 - y) * mm + 0.5, size=(n_sim, len(y)))
        else:
            draws = y + se[idx] * gen.standard_normal((n_sim, len(y)))
        coef = draws @ H.T
        s_sii = sign * coef[:, 1]
        s_rii = _rii(coef[:, 0], coef[:, 0] + coef[:, 1])
        s_mean = draws @ w
        with np.errstate(divide="ignore", invalid="ignore"):
            s_rel = np.where(s_mean != 0, s_sii / s_mean, np.nan)
        pct = [50 * (1 - level), 50 * (1 + level)]
        sii_se = float(s_sii.std(ddof=1))
        lo, hi = np.percentile(s_sii, pct)
        sii_ci = (sii_se, float(lo), float(hi))
        rii_ci = tuple(float(q) for q in np.nanpercentile(s_rii, pct)) \
            if np.isfinite(s_rii).any() else nan3[:2]
        rel_ci = tuple(float(q) for q in np.nanpercentile(s_rel, pct)) \
            if np.isfinite(s_rel).any() else nan3[:2]
    elif ci in ("wls", "propagated"):
        if ci == "wls":
            k = len(y)
            if k >= 3:
                resid = y - X @ np.array([a, b])
                scale = float(w @ resid**2) / (k - 2)
                cov = scale * np.linalg.inv(xtwx)
                q = float(_t_ppf(0.5 + level / 2, k - 2))
                # mean held fixed: residual variance says nothing about the mean's error
                g_rel = np.array([0.0, sign / mean]) if mean != 0 else None
                var_rel = float(g_rel @ cov @ g_rel) if g_rel is not None else np.nan
            else:
                cov, q, var_rel = None, np.nan, np.nan
        else:
            s2 = se[idx] ** 2
            cov = (H * s2) @ H.T
            q = _z(level)
            if mean != 0:  # gradient of sign*b/mean with respect to the group values
                g = sign * (H[1] * mean - b * w) / mean**2
                var_rel = float((g * s2) @ g)
            else:
                var_rel = np.nan
        if cov is not None:
            sii_se = float(np.sqrt(max(cov[1, 1], 0.0)))
            sii_ci = (sii_se, sii - q * sii_se, sii + q * sii_se)
            L = np.array([[1.0, 0.0], [1.0, 1.0]])  # (a, b) -> (fitted most, fitted least)
            cf = L @ cov @ L.T
            if f_most > 0 and f_least > 0:
                var_log = (cf[0, 0] / f_most**2 + cf[1, 1] / f_least**2
                           - 2 * cf[0, 1] / (f_most * f_least))
                e = _log_interval(rii, float(np.sqrt(max(var_log, 0.0))), q)
                rii_ci = (e.low, e.high)
            sd_rel = np.sqrt(max(var_rel, 0.0)) if np.isfinite(var_rel) else np.nan
            rel_ci = (rel - q * sd_rel, rel + q * sd_rel)

    ranks = np.empty_like(rank)
    ranks[idx] = rank
    return SlopeIndex(
        sii=sii, sii_low=sii_ci[1], sii_high=sii_ci[2], sii_se=sii_se,
        rii=rii, rii_low=rii_ci[0], rii_high=rii_ci[1],
        sii_rel_mean=float(rel), sii_rel_mean_low=float(rel_ci[0]),
        sii_rel_mean_high=float(rel_ci[1]),
        ranks=tuple(float(r) for r in ranks), fitted_most_deprived=f_most,
        fitted_least_deprived=f_least, weighted_mean=mean, ci_method=ci, direction=direction,
    )


def sii_relative_to_mean(values, populations, ses=None, **kwargs) -> Estimate:
    """SII divided by the population-weighted mean of the group values, with its interval.

    Same arguments and conventions as :func:`slope_index`; some publications report this
    instead of the RII. Example: ``sii_relative_to_mean([0.5, 0.6, 0.7], [1, 1, 1], ci="none")``
    (SII 0.3 over mean 0.6 = 0.5).
    """
    r = slope_index(values, populations, ses, **kwargs)
    return Estimate(r.sii_rel_mean, r.sii_rel_mean_low, r.sii_rel_mean_high)


# --------------------------------------------------------------------------------------
# 3. Concentration index
# --------------------------------------------------------------------------------------


def concentration_index(
    outcome,
    rank,
    weights=None,
    *,
    correction: Literal["none", "erreygers", "wagstaff"] = "none",
    bounds: tuple[float, float] = (0.0, 1.0),
    level: float = 0.95,
) -> ConcentrationIndex:
    """Concentration index of ``outcome`` over the ordering ``rank`` (higher = better off).

    ``C = 2 cov_w(y, R) / mean_w(y)``, R the weighted fractional rank:
    ``R_i = (weight of people ranked strictly below i + half the weight of i's tie group)
    / total weight``; people with the same ``rank`` value (e.g. the same IMD quintile) share
    the mid-point rank. Pass IMD quintiles with 1 = most deprived as they are (C > 0 means
    the outcome is concentrated among the less deprived); for an IMD score where higher is
    more deprived pass ``-score``. Group-level data work too: one row per group, its mean
    outcome and its population as the weight (same C as the individual data).

    ``correction``: ``"erreygers"`` gives ``4 mean C / (b - a)`` and ``"wagstaff"`` gives
    ``(b - a) mean C / ((b - mean)(mean - a))`` (= ``C/(1 - mean)`` for a 0/1 outcome), for
    an outcome bounded in ``bounds = (a, b)``.

    Standard error: delta method (linearisation / influence function) of Kakwani, Wagstaff
    & van Doorslaer (1997): ``IF_i = (y_i/mean)(2R_i - 1 - C) + 2 - 2 qbar_i - (1 + C)``,
    qbar_i the mid-point ordinate of the concentration curve at i's rank, and
    ``Var(C) = sum w_i IF_i^2 / W^2``. With unit weights and no ties this is exactly their
    formula ``(1/n)[(1/n) sum a_i^2 - (1 + C)^2]``. It allows for the estimated mean and
    ranks (unlike the "convenient regression" SE). Weights are treated as frequency
    weights (counts), so the SE depends on their scale; for grouped input it ignores
    within-group variation and understates the SE. Corrected indices carry the same
    linearisation through their formula in C and the mean. Normal interval.

    Example: ``concentration_index(rtw_13w, imd_quintile).index``.
    """
    level = _check_level(level)
    if correction not in ("none", "erreygers", "wagstaff"):
        raise ValueError(f"correction: must be 'none', 'erreygers' or 'wagstaff', "
                         f"got {correction!r}")
    y = _vector("outcome", outcome, min_len=2)
    x = _vector("rank", rank)
    _same_length(outcome=y, rank=x)
    w = _weights(weights, len(y))
    W = w.sum()
    mu = float(w @ y / W)

    levels, inv = np.unique(x, return_inverse=True)
    w_lev = np.bincount(inv, weights=w, minlength=len(levels))
    R = ((np.cumsum(w_lev) - w_lev / 2) / W)[inv]
    cov = float(w @ ((y - mu) * (R - w @ R / W)) / W)

    if correction == "none":
        if mu == 0:
            raise ValueError("outcome: weighted mean is 0, so the concentration index is undefined")
    else:
        lo, hi = _scalar("bounds[0]", bounds[0]), _scalar("bounds[1]", bounds[1])
        if not hi > lo:
            raise ValueError(f"bounds: upper must exceed lower, got {bounds!r}")
        if np.any((y < lo) | (y > hi)):
            raise ValueError(f"outcome: values must lie within bounds {bounds!r}")
        if correction == "wagstaff" and not lo < mu < hi:
            raise ValueError("outcome: Wagstaff correction needs a mean strictly inside bounds")

    # Influence functions (linearisation) of theta = E[y R] and of the mean; Qbar is the
    # mid-point of the unnormalised concentration curve at each person's rank.
    yw_lev = np.bincount(inv, weights=w * y, minlength=len(levels))
    qbar = ((np.cumsum(yw_lev) - yw_lev / 2) / W)[inv]
    theta = float(w @ (y * R) / W)
    if_theta = y * R + mu - qbar - 2 * theta
    if_mu = y - mu
    if correction == "none":
        index = 2 * cov / mu
        infl = (2 * if_theta - (1 + index) * if_mu) / mu
    elif correction == "erreygers":
        index = 8 * cov / (hi - lo)
        infl = 4 / (hi - lo) * (2 * if_theta - if_mu)
    else:
        D = (hi - mu) * (mu - lo)
        index = (hi - lo) * 2 * cov / D
        infl = (hi - lo) * ((2 * if_theta - if_mu) / D
                            - 2 * cov * (lo + hi - 2 * mu) / D**2 * if_mu)

    se = float(np.sqrt(w @ infl**2) / W)
    z = _z(level)
    return ConcentrationIndex(float(index), se, float(index - z * se), float(index + z * se),
                              mu, len(y), correction)


# --------------------------------------------------------------------------------------
# 4. Equally distributed equivalents
# --------------------------------------------------------------------------------------


def _power_mean(y: np.ndarray, p: np.ndarray, power: float) -> float:
    """Weighted power mean (sum p y^power)^(1/power), p summing to 1, y > 0 where p > 0."""
    if power == 0:
        return float(np.exp(p @ np.log(y)))
    c = y.max() if power > 0 else y.min()  # scale so every term is <= 1: no overflow
    return float(c * (p @ (y / c) ** power) ** (1 / power))


def atkinson_ede(
    values,
    weights=None,
    epsilon: float = 1.0,
    *,
    kind: Literal["good", "bad"] = "good",
) -> EDE:
    """Atkinson-type equally distributed equivalent (EDE) and inequality index.

    ``kind="good"`` (e.g. weeks in work; Atkinson 1970, as used for health in
    distributional cost-effectiveness analysis, Asaria, Griffin & Cookson 2016):
    ``EDE = (mean_w y^(1 - eps))^(1/(1 - eps))``, the geometric mean at eps = 1;
    ``index = 1 - EDE/mean``. Needs y >= 0; with a zero value and eps >= 1, EDE = 0.

    ``kind="bad"`` (e.g. days absent, a health loss): the "ill-health" Atkinson EDE
    ``EDE = (mean_w y^(1 + eps))^(1/(1 + eps))`` >= mean; ``index = EDE/mean - 1`` (the
    proportional extra burden inequality adds). Chosen over the Kolm form because it is
    scale invariant (days or weeks give the same index and the same eps means the same
    inequality aversion for every outcome) and handles the many zeros of days absent,
    which the Atkinson form for goods cannot be turned into by a transform like
    ``max - y``. The absolute (Kolm) alternative is :func:`kolm_ede`.

    eps = 0 gives the mean (no inequality aversion); EDE decreases (goods) or increases
    (bads) with eps. Example: ``atkinson_ede([1, 4], epsilon=1).ede`` is 2.0.
    """
    eps = _scalar("epsilon", epsilon)
    if eps < 0:
        raise ValueError(f"epsilon: must be >= 0, got {eps}")
    if kind not in ("good", "bad"):
        raise ValueError(f"kind: must be 'good' or 'bad', got {kind!r}")
    y = _vector("values", values)
    if np.any(y < 0):
        raise ValueError("values: must be non-negative")
    w = _weights(weights, len(y))
    keep = w > 0
    y, p = y[keep], w[keep] / w.sum()
    mean = float(p @ y)
    if mean == 0:  # everyone at zero: perfectly equal
        return EDE(0.0, 0.0, 0.0, eps, kind, "atkinson")
    if kind == "good":
        if eps >= 1 and np.any(y == 0):
            ede = 0.0
        else:
            ede = _power_mean(y, p, 1 - eps)
        ede = min(ede, mean)  # rounding guard: the EDE of a good never exceeds the mean
        index = 1 - ede / mean
    else:
        ede = max(_power_mean(y, p, 1 + eps), mean)
        index = ede / mean - 1
    return EDE(float(ede), mean, float(index), eps, kind, "atkinson")


def kolm_ede(
    values,
    weights=None,
    alpha: float = 0.1,
    *,
    kind: Literal["good", "bad"] = "good",
) -> EDE:
    """Kolm (absolute, translation-invariant) equally distributed equivalent.

    ``kind="good"``: ``EDE = -(1/alpha) log(mean_w exp(-alpha y))``, ``index = mean - EDE``;
    ``kind="bad"``: ``EDE = (1/alpha) log(mean_w exp(alpha y))``, ``index = EDE - mean``.
    alpha (>= 0) is in 1/outcome units, so its meaning depends on the scale; alpha = 0 gives
    the mean. Example: ``kolm_ede(days_absent, alpha=0.05, kind="bad").ede``.
    """
    alpha = _scalar("alpha", alpha)
    if alpha < 0:
        raise ValueError(f"alpha: must be >= 0, got {alpha}")
    if kind not in ("good", "bad"):
        raise ValueError(f"kind: must be 'good' or 'bad', got {kind!r}")
    y = _vector("values", values)
    w = _weights(weights, len(y))
    p = w / w.sum()
    mean = float(p @ y)
    if alpha == 0:
        return EDE(mean, mean, 0.0, alpha, kind, "kolm")
    s = -1.0 if kind == "good" else 1.0
    ede = s * float(_logsumexp(s * alpha * y, b=p)) / alpha
    ede = min(ede, mean) if kind == "good" else max(ede, mean)
    return EDE(ede, mean, abs(mean - ede), alpha, kind, "kolm")


# --------------------------------------------------------------------------------------
# 5. Competing risks: Aalen-Johansen cumulative incidence
# --------------------------------------------------------------------------------------


def _loglog_ci(p: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Interval for a probability on the log(-log p) scale; exact endpoints at 0 and 1."""
    low, high = p.copy(), p.copy()
    inside = (p > 0) & (p < 1) & (se > 0)
    pi = p[inside]
    k = z * se[inside] / (pi * -np.log(pi))
    with np.errstate(over="ignore"):  # p near 1: exp(k) -> inf gives the limit 0 exactly
        low[inside] = pi ** np.exp(k)
    high[inside] = pi ** np.exp(-k)
    return low, high


def aalen_johansen(
    time,
    event,
    causes=None,
    weights=None,
    *,
    level: float = 0.95,
    conf_type: Literal["log-log", "linear"] = "log-log",
) -> pd.DataFrame:
    """Cumulative incidence of each cause (Aalen-Johansen), exact with tied integer times.

    ``time``: integer weeks >= 0 (event or censoring time); ``event``: 0 = censored,
    1..K = cause. ``causes``: the causes to report (default: every cause seen); events of
    other causes still count as competing events. ``weights``: non-negative case weights,
    used as frequency weights in the counts.

    At each distinct time t: n(t) = weight with time >= t (someone censored at t is still
    at risk at t: events precede censoring at tied times), d_k(t) = weight of cause-k
    events at t, ``S(t) = prod_{s<=t} (1 - d(s)/n(s))`` the all-cause Kaplan-Meier and
    ``CIF_k(t) = sum_{s<=t} S(s-) d_k(s)/n(s)``. Ties are handled exactly (no jittering).

    Standard errors: delta method (Greenwood-type; Marubini & Valsecchi 1995, treating the
    event counts at each time as multinomial given n):
    ``Var CIF_k(t) = sum_j [(F(t)-F_j)^2 d_j/(n_j(n_j-d_j)) + S_{j-1}^2 d_kj(n_j-d_kj)/n_j^3
    - 2 (F(t)-F_j) S_{j-1} d_kj/n_j^2]``. With one cause and no censoring it reduces to
    the binomial ``F(1-F)/n``. The KM survival has the Greenwood SE. Intervals are on the
    log(-log) scale (inside [0, 1]) or ``conf_type="linear"`` (clipped to [0, 1]).

    Returns one row per (cause, distinct observed time): time, cause, n_risk, n_event
    (cause-specific), cif, se, low, high, survival (overall KM), survival_se,
    survival_low, survival_high. The CIFs over all causes plus the survival sum to 1.

    Example: ``aalen_johansen(weeks, np.where(rtw, 1, np.where(left_work, 2, 0)))``.
    """
    level = _check_level(level)
    if conf_type not in ("log-log", "linear"):
        raise ValueError(f"conf_type: must be 'log-log' or 'linear', got {conf_type!r}")
    t = _vector("time", time)
    e = _vector("event", event)
    _same_length(time=t, event=e)
    if np.any(t < 0) or np.any(t != np.round(t)):
        raise ValueError("time: must be whole numbers of weeks >= 0")
    if np.any(e < 0) or np.any(e != np.round(e)):
        raise ValueError("event: must be 0 (censored) or a positive integer cause")
    w = _weights(weights, len(t))
    e = e.astype(np.int64)
    if causes is None:
        cause_list = [int(c) for c in np.unique(e[e > 0])]
    else:
        cause_arr = _vector("causes", causes)
        if np.any(cause_arr <= 0) or np.any(cause_arr != np.round(cause_arr)):
            raise ValueError("causes: must be positive integers")
        cause_list = [int(c) for c in cause_arr]

    times, inv = np.unique(t.astype(np.int64), return_inverse=True)
    T = len(times)
    at_t = np.bincount(inv, weights=w, minlength=T)
    n = np.cumsum(at_t[::-1])[::-1]
    d = np.bincount(inv, weights=w * (e > 0), minlength=T)
    with np.errstate(divide="ignore", invalid="ignore"):
        haz = np.where(n > 0, d / n, 0.0)
        surv = np.cumprod(1 - haz)
        s_prev = np.concatenate([[1.0], surv[:-1]])
        # Greenwood increments; 0 where everyone at risk fails (S is 0 from then on)
        a = np.where((n > 0) & (n > d), d / (n * (n - d)), 0.0)
    A = np.cumsum(a)
    surv_se = np.sqrt(surv**2 * A)
    z = _z(level)

    def _interval(p, s):
        if conf_type == "log-log":
            return _loglog_ci(p, s, z)
        return np.clip(p - z * s, 0, 1), np.clip(p + z * s, 0, 1)

    s_low, s_high = _interval(surv, surv_se)
    frames = []
    for k in cause_list:
        dk = np.bincount(inv, weights=w * (e == k), minlength=T)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(n > 0, dk / n, 0.0)
            b = np.where(n > 0, s_prev * dk / n**2, 0.0)
            c = np.where(n > 0, s_prev**2 * dk * (n - dk) / n**3, 0.0)
        F = np.cumsum(s_prev * frac)
        # sum_j (F(t) - F_j)^2 a_j - 2 (F(t) - F_j) b_j + c_j, expanded into running sums
        var = (F**2 * A - 2 * F * np.cumsum(a * F) + np.cumsum(a * F**2)
               - 2 * F * np.cumsum(b) + 2 * np.cumsum(b * F) + np.cumsum(c))
        se = np.sqrt(np.clip(var, 0, None))
        low, high = _interval(F, se)
        frames.append(pd.DataFrame({
            "time": times, "cause": k, "n_risk": n, "n_event": dk, "cif": F, "se": se,
            "low": low, "high": high, "survival": surv, "survival_se": surv_se,
            "survival_low": s_low, "survival_high": s_high,
        }))
    if not frames:
        cols = ["time", "cause", "n_risk", "n_event", "cif", "se", "low", "high", "survival",
                "survival_se", "survival_low", "survival_high"]
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------
# 6. Paired comparisons across replicates (common random numbers)
# --------------------------------------------------------------------------------------


def _paired_t(d: np.ndarray, level: float, scale: str) -> PairedResult:
    n = len(d)
    est = float(d.mean())
    if n < 2:
        return PairedResult(est, np.nan, np.nan, np.nan, n, 0, False, scale)
    se = float(d.std(ddof=1) / np.sqrt(n))
    q = float(_t_ppf(0.5 + level / 2, n - 1))
    return PairedResult(est, est - q * se, est + q * se, se, n, n - 1, True, scale)


def _paired_inputs(design_values, baseline_values) -> tuple[np.ndarray, np.ndarray]:
    x = _vector("design_values", design_values)
    y = _vector("baseline_values", baseline_values)
    _same_length(design_values=x, baseline_values=y)
    return x, y


def paired_difference(design_values, baseline_values, level: float = 0.95) -> PairedResult:
    """Mean of per-replicate differences ``design - baseline`` with a paired t interval.

    Element i of both arrays must come from the same replicate seed (common random
    numbers), so shared noise cancels. t quantile with n - 1 df; with one replicate the
    interval is NaN and ``has_interval`` is False. Example:
    ``paired_difference(rtw_design_by_rep, rtw_usual_care_by_rep).estimate``.
    """
    level = _check_level(level)
    x, y = _paired_inputs(design_values, baseline_values)
    return _paired_t(x - y, level, "difference")


def paired_ratio(design_values, baseline_values, level: float = 0.95) -> PairedResult:
    """Geometric mean of per-replicate ratios ``design/baseline``, paired t on the log scale.

    ``estimate``, ``low`` and ``high`` are back-transformed (ratios); ``se`` is the SE of the
    mean log ratio. Values must be positive. Example:
    ``paired_ratio(days_absent_design, days_absent_usual_care).estimate``.
    """
    level = _check_level(level)
    x, y = _paired_inputs(design_values, baseline_values)
    if np.any(x <= 0):
        raise ValueError("design_values: must be positive for a ratio")
    if np.any(y <= 0):
        raise ValueError("baseline_values: must be positive for a ratio")
    r = _paired_t(np.log(x) - np.log(y), level, "ratio")
    return PairedResult(float(np.exp(r.estimate)), float(np.exp(r.low)), float(np.exp(r.high)),
                        r.se, r.n, r.df, r.has_interval, "ratio")
