"""Inequality across ranked groups: :func:`slope_index` (SII and RII, Fingertips convention),
:func:`sii_relative_to_mean`, :func:`concentration_index` (standard, Erreygers or Wagstaff,
delta-method SE) and the equally distributed equivalents of distributional
cost-effectiveness, :func:`atkinson_ede` and :func:`kolm_ede`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.stats.core import (
    EDE,
    ConcentrationIndex,
    Estimate,
    SlopeIndex,
    _check_level,
    _log_interval,
    _logsumexp,
    _same_length,
    _scalar,
    _t_ppf,
    _vector,
    _weights,
    _z,
)


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
    v, pop, se, m, ci = _slope_inputs(values, populations, ses, denominators, ci, order,
                                      direction)
    idx = np.arange(len(v)) if order == "most_deprived_first" else np.arange(len(v))[::-1]
    y = v[idx]
    w, rank, X, xtwx, H = slope_design(pop, idx)
    a, b = H @ y
    f_most, f_least = float(a), float(a + b)
    mean = float(w @ y)
    sign = 1.0 if direction == "least_minus_most" else -1.0
    sii = sign * float(b)
    rii = float(_rii(f_most, f_least, sign))
    rel = sii / mean if mean != 0 else np.nan
    nan3 = (np.nan, np.nan, np.nan)
    sii_ci, rii_ci, rel_ci = nan3, nan3[:2], nan3[:2]
    sii_se = np.nan

    if ci == "simulation":
        sii_se, sii_ci, rii_ci, rel_ci = _simulated_intervals(
            y, w, H, sign, level, n_sim, rng, None if m is None else m[idx],
            None if se is None else se[idx])
    elif ci in ("wls", "propagated"):
        fit = _Fit(y, w, X, xtwx, H, a, b, mean, sign)
        cov, q, var_rel = (_wls_cov(fit, level) if ci == "wls"
                           else _propagated_cov(fit, se[idx] ** 2, level))
        if cov is not None:
            sii_se, sii_ci, rii_ci, rel_ci = _analytic_intervals(
                cov, q, var_rel, sii, rii, rel, f_most, f_least)

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


def slope_design(pop: np.ndarray, idx: np.ndarray) -> tuple:
    """The part of :func:`slope_index` that depends only on the populations ``pop`` (taken
    in the order ``idx``, most deprived first): population shares ``w``, mid-point ranks,
    the design ``X``, ``X'WX`` and the WLS hat matrix ``H`` (``beta = H @ y``, shape (2, k)).
    :class:`sim.stats.ranked.RankedGroups` keeps it for many outcomes over the same groups."""
    w = pop[idx] / pop.sum()
    cum = np.cumsum(w)
    rank = cum - w / 2
    X = np.column_stack([np.ones_like(rank), rank])
    xtwx = X.T @ (X * w[:, None])
    H = np.linalg.solve(xtwx, (X * w[:, None]).T)
    return w, rank, X, xtwx, H


def fractional_ranks(x: np.ndarray, w: np.ndarray, W: float) -> tuple:
    """The part of :func:`concentration_index` that depends only on the ranking variable
    ``x`` and the weights ``w`` (total ``W``): the level of each unit (``inv``), the weights
    by level, and each unit's weighted fractional rank ``R`` (ties share their mid-point)."""
    levels, inv = np.unique(x, return_inverse=True)
    w_lev = np.bincount(inv, weights=w, minlength=len(levels))
    R = ((np.cumsum(w_lev) - w_lev / 2) / W)[inv]
    return levels, inv, w_lev, R


def _slope_inputs(values, populations, ses, denominators, ci, order, direction):
    """Checked inputs of :func:`slope_index`: values, populations, group SEs (given, or
    binomial from ``denominators``), denominators and the interval method ("auto" resolved)."""
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
    return v, pop, se, m, ci


def _rii(f0, f1, sign: float):
    """Fitted least / most deprived (``sign`` > 0) or most / least; NaN unless both > 0."""
    num, den = (f1, f0) if sign > 0 else (f0, f1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((num > 0) & (den > 0), num / np.where(den == 0, 1, den), np.nan)


@dataclass(frozen=True)
class _Fit:
    """The weighted least-squares fit of group values on rank inside :func:`slope_index`."""

    y: np.ndarray
    w: np.ndarray
    X: np.ndarray
    xtwx: np.ndarray
    H: np.ndarray  # beta = H @ y
    a: float
    b: float
    mean: float
    sign: float


def _simulated_intervals(y, w, H, sign, level, n_sim, rng, m, se):
    """Fingertips' Monte Carlo intervals: draw every group's value (Beta from denominators
    ``m``, else normal with ``se``), refit, percentiles of SII, RII and SII / mean."""
    if not (isinstance(n_sim, int | np.integer) and n_sim >= 100):
        raise ValueError(f"n_sim: must be an integer >= 100, got {n_sim!r}")
    gen = np.random.default_rng(rng)
    if m is not None:
        draws = gen.beta(y * m + 0.5, (1 - y) * m + 0.5, size=(n_sim, len(y)))
    else:
        draws = y + se * gen.standard_normal((n_sim, len(y)))
    coef = draws @ H.T
    s_sii = sign * coef[:, 1]
    s_rii = _rii(coef[:, 0], coef[:, 0] + coef[:, 1], sign)
    s_mean = draws @ w
    with np.errstate(divide="ignore", invalid="ignore"):
        s_rel = np.where(s_mean != 0, s_sii / s_mean, np.nan)
    pct = [50 * (1 - level), 50 * (1 + level)]
    sii_se = float(s_sii.std(ddof=1))
    lo, hi = np.percentile(s_sii, pct)
    nan2 = (np.nan, np.nan)
    rii_ci = tuple(float(q) for q in np.nanpercentile(s_rii, pct)) \
        if np.isfinite(s_rii).any() else nan2
    rel_ci = tuple(float(q) for q in np.nanpercentile(s_rel, pct)) \
        if np.isfinite(s_rel).any() else nan2
    return sii_se, (sii_se, float(lo), float(hi)), rii_ci, rel_ci


def _wls_cov(fit: _Fit, level: float):
    """Covariance of (a, b) from the residual variance (k - 2 df), the t quantile and the
    variance of SII / mean with the mean held fixed; (None, NaN, NaN) below 3 groups."""
    k = len(fit.y)
    if k < 3:
        return None, np.nan, np.nan
    resid = fit.y - fit.X @ np.array([fit.a, fit.b])
    scale = float(fit.w @ resid**2) / (k - 2)
    cov = scale * np.linalg.inv(fit.xtwx)
    q = float(_t_ppf(0.5 + level / 2, k - 2))
    # mean held fixed: residual variance says nothing about the mean's error
    g_rel = np.array([0.0, fit.sign / fit.mean]) if fit.mean != 0 else None
    var_rel = float(g_rel @ cov @ g_rel) if g_rel is not None else np.nan
    return cov, q, var_rel


def _propagated_cov(fit: _Fit, s2: np.ndarray, level: float):
    """Covariance of (a, b) from the group variances ``s2``, the normal quantile and the
    delta-method variance of SII / mean."""
    cov = (fit.H * s2) @ fit.H.T
    q = _z(level)
    if fit.mean != 0:  # gradient of sign*b/mean with respect to the group values
        g = fit.sign * (fit.H[1] * fit.mean - fit.b * fit.w) / fit.mean**2
        var_rel = float((g * s2) @ g)
    else:
        var_rel = np.nan
    return cov, q, var_rel


def _analytic_intervals(cov, q, var_rel, sii, rii, rel, f_most, f_least):
    """SII interval from ``cov``, RII's on the log scale (delta method), SII / mean's."""
    sii_se = float(np.sqrt(max(cov[1, 1], 0.0)))
    sii_ci = (sii_se, sii - q * sii_se, sii + q * sii_se)
    rii_ci = (np.nan, np.nan)
    L = np.array([[1.0, 0.0], [1.0, 1.0]])  # (a, b) -> (fitted most, fitted least)
    cf = L @ cov @ L.T
    if f_most > 0 and f_least > 0:
        var_log = (cf[0, 0] / f_most**2 + cf[1, 1] / f_least**2
                   - 2 * cf[0, 1] / (f_most * f_least))
        e = _log_interval(rii, float(np.sqrt(max(var_log, 0.0))), q)
        rii_ci = (e.low, e.high)
    sd_rel = np.sqrt(max(var_rel, 0.0)) if np.isfinite(var_rel) else np.nan
    return sii_se, sii_ci, rii_ci, (rel - q * sd_rel, rel + q * sd_rel)


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

    levels, inv, w_lev, R = fractional_ranks(x, w, W)
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


def _ede_inputs(name: str, aversion, kind: str, values, weights, nonnegative: bool):
    """Checked inequality aversion (>= 0), values (>= 0 if ``nonnegative``) and weights of
    an EDE, in the order the one-line errors name them."""
    aversion = _scalar(name, aversion)
    if aversion < 0:
        raise ValueError(f"{name}: must be >= 0, got {aversion}")
    if kind not in ("good", "bad"):
        raise ValueError(f"kind: must be 'good' or 'bad', got {kind!r}")
    y = _vector("values", values)
    if nonnegative and np.any(y < 0):
        raise ValueError("values: must be non-negative")
    return aversion, y, _weights(weights, len(y))


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
    eps, y, w = _ede_inputs("epsilon", epsilon, kind, values, weights, nonnegative=True)
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
    alpha, y, w = _ede_inputs("alpha", alpha, kind, values, weights, nonnegative=False)
    p = w / w.sum()
    mean = float(p @ y)
    if alpha == 0:
        return EDE(mean, mean, 0.0, alpha, kind, "kolm")
    s = -1.0 if kind == "good" else 1.0
    ede = s * float(_logsumexp(s * alpha * y, b=p)) / alpha
    ede = min(ede, mean) if kind == "good" else max(ede, mean)
    return EDE(ede, mean, abs(mean - ede), alpha, kind, "kolm")
