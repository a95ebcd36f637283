"""Probabilistic sensitivity analysis (PSA) and value of information.

Every evidence entry a set of designs uses is drawn from its distribution (the registry's:
lognormal for ratios, normal for mean differences, beta for proportions, gamma for costs).
Entries that share a source (the same ``source`` text: several figures of one review) are
drawn with a Gaussian copula with correlation ``rho`` between them, so they move together;
the rest are independent. Each draw is a config (``evidence_values``) and every design is
run on it with the same seed and population (common random numbers), so differences
between designs within a draw reflect the evidence, not simulation luck.

Outputs per draw and design: RTW within 52 weeks, the slope index of inequality (SII) of
RTW across IMD quintiles, discounted weeks in work and programme cost per person, and the
commissioner's net benefit ``NB = wtp x weeks in work - programme cost``. From them:
intervals, probability each design is best, probability it narrows the IMD gradient
against usual care, cost-effectiveness acceptability curves (CEAC), the expected value of
perfect information (EVPI) and of partial perfect information per parameter group (EVPPI,
regression method of Strong, Oakley & Brennan 2014: the conditional expected net benefit is
estimated by least squares on a quadratic in the group's parameters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.evidence.conversions import Z95, rr_from_trial_hr, trial_hr_from_rr
from sim.evidence.registry import ANCHORED_RR_MEASURES, EvidenceEntry


def _ppf(entry: EvidenceEntry, u: np.ndarray) -> np.ndarray:
    """The entry's distribution evaluated at probabilities ``u`` (inverse CDF).

    A risk ratio converted on its source trial's control-arm risk (``control_risk``) is
    drawn on the scale of the trial-level hazard ratio it implies, then turned back into a
    risk ratio: every draw is one the source trial could have reported (below
    1 / control_risk), so none is clamped. On the log-HR scale the distribution is a
    two-piece normal with its median at the HR of the published value and its 2.5% and
    97.5% points at the HRs of the published interval, so the drawn risk ratios keep the
    published median and interval exactly.
    """
    from scipy import stats  # ~1 s: loaded when drawing, not when a config is checked

    d = entry.distribution
    t = d["type"]
    if t == "lognormal" and entry.control_risk is not None and entry.ci is not None \
            and entry.measure in ANCHORED_RR_MEASURES:
        p0 = entry.control_risk
        lo, mid, hi = (np.log(trial_hr_from_rr(x, p0)) for x in (entry.ci[0], entry.value,
                                                                   entry.ci[1]))
        z = stats.norm.ppf(u)
        log_hr = mid + z * np.where(z < 0, mid - lo, hi - mid) / Z95
        return np.array([rr_from_trial_hr(h, p0) for h in np.exp(np.ravel(log_hr))]
                        ).reshape(np.shape(u))
    if t == "lognormal":
        return stats.lognorm.ppf(u, s=d["sdlog"], scale=np.exp(d["meanlog"]))
    if t == "normal":
        return stats.norm.ppf(u, loc=d["mean"], scale=d["sd"])
    if t == "beta":
        return stats.beta.ppf(u, d["alpha"], d["beta"])
    if t == "gamma":
        return stats.gamma.ppf(u, d["shape"], scale=d["scale"])
    if t == "uniform":
        return d["low"] + u * (d["high"] - d["low"])
    return np.full(u.shape, float(entry.value))


def draw_evidence(entries: list[EvidenceEntry], n_draws: int, seed: int,
                  rho: float = 0.8) -> pd.DataFrame:
    """``n_draws`` x entries: correlated draws (Gaussian copula within a shared source)."""
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho: got {rho}, expected a value in [0, 1)")
    if n_draws < 2:
        raise ValueError(f"n_draws: got {n_draws}, expected at least 2")
    k = len(entries)
    corr = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            if entries[i].source == entries[j].source:
                corr[i, j] = corr[j, i] = rho
    from scipy import stats

    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_draws, k)) @ np.linalg.cholesky(corr).T
    u = stats.norm.cdf(z)
    return pd.DataFrame({e.id: _ppf(e, u[:, i]) for i, e in enumerate(entries)})


def net_benefit(weeks_in_work: np.ndarray, cost: np.ndarray, wtp: float) -> np.ndarray:
    return wtp * np.asarray(weeks_in_work) - np.asarray(cost)


def ceac(weeks: pd.DataFrame, cost: pd.DataFrame, wtps) -> pd.DataFrame:
    """Probability each design (column) has the highest net benefit, at each WTP.

    ``weeks`` and ``cost``: draws x designs. Returns rows wtp, design, probability.
    """
    rows = []
    for w in wtps:
        nb = net_benefit(weeks.to_numpy(), cost.to_numpy(), w)
        best = nb.argmax(axis=1)
        for j, design in enumerate(weeks.columns):
            rows.append({"wtp": float(w), "design": design,
                         "probability": float(np.mean(best == j))})
    return pd.DataFrame(rows)


def evpi(nb: np.ndarray) -> float:
    """Per-person EVPI from a draws x options net-benefit matrix."""
    nb = np.asarray(nb, dtype=float)
    return max(0.0, float(nb.max(axis=1).mean() - nb.mean(axis=0).max()))  # >= 0 by Jensen


def _quadratic_design(x: np.ndarray) -> np.ndarray:
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    cols = [np.ones(len(x))] + [x[:, i] for i in range(x.shape[1])]
    cols += [x[:, i] * x[:, j] for i in range(x.shape[1]) for j in range(i, x.shape[1])]
    return np.column_stack(cols)


def evppi(nb: np.ndarray, params: np.ndarray) -> float:
    """EVPPI of the parameters ``params`` (draws x p) from the same draws' net benefit.

    Regression estimate: E[NB_d | params] fitted by least squares on a full quadratic in
    the (standardised) parameters; EVPPI = mean of the max of the fitted values minus the
    max of their means. Bounded to [0, EVPI]; NaN with fewer than 3 draws per regression
    coefficient.
    """
    nb = np.asarray(nb, dtype=float)
    x = np.asarray(params, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    design = _quadratic_design(x)
    if len(nb) < 3 * design.shape[1]:  # too few draws: the regression would interpolate
        return float("nan")
    coef, *_ = np.linalg.lstsq(design, nb, rcond=None)
    fitted = design @ coef
    value = float(fitted.max(axis=1).mean() - fitted.mean(axis=0).max())
    return float(np.clip(value, 0.0, evpi(nb)))
