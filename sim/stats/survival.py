"""Competing risks: :func:`aalen_johansen` (cumulative incidence, exact with tied integer
weeks, delta-method standard errors)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from sim.stats.core import _check_level, _same_length, _vector, _weights, _z


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
    times, survival, by_cause = aalen_johansen_arrays(time, event, causes, weights,
                                                      level=level, conf_type=conf_type)
    frames = [pd.DataFrame({"time": times, "cause": k, **cols, **survival})
              for k, cols in by_cause.items()]
    if not frames:
        cols = ["time", "cause", "n_risk", "n_event", "cif", "se", "low", "high", "survival",
                "survival_se", "survival_low", "survival_high"]
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)


def aalen_johansen_arrays(time, event, causes=None, weights=None, *, level: float = 0.95,
                          conf_type: str = "log-log"):
    """:func:`aalen_johansen` as arrays, without building a table (the competing-risks table
    of a run calls it once per group: issue 19): ``(times, survival, by_cause)`` with
    ``survival`` {survival, survival_se, survival_low, survival_high} and ``by_cause`` {cause:
    {n_risk, n_event, cif, se, low, high}}, each array over the distinct times."""
    interval = _interval_function(level, conf_type)
    t, e, w, cause_list = _aj_inputs(time, event, causes, weights)
    times, inv = np.unique(t.astype(np.int64), return_inverse=True)
    T = len(times)
    at_t = np.bincount(inv, weights=w, minlength=T)
    d = np.bincount(inv, weights=w * (e > 0), minlength=T)
    survival, by_cause = _aj_estimates(
        at_t, d, {k: np.bincount(inv, weights=w * (e == k), minlength=T) for k in cause_list},
        interval)
    return times, survival, by_cause


def aalen_johansen_grid(counts: np.ndarray, *, level: float = 0.95,
                        conf_type: str = "log-log"):
    """:func:`aalen_johansen_arrays` of many samples at once, on a grid of whole weeks:
    ``counts[..., t, k]`` is the weight with time ``t`` (``0..T-1``) and event ``k``
    (0 = censored, 1..K = cause, every cause reported). Returns ``(survival, by_cause)``
    as :func:`aalen_johansen_arrays` does, each array ``[..., T]``.

    At a week with no one observed (no event, no censoring) every estimate is that of the
    last observed week before it (0 before any) and ``n_risk`` that of the next observed
    week (0 after the last): the running sums add +0.0 and the running products multiply
    by 1.0 there, so at the observed weeks the values are those of
    :func:`aalen_johansen_arrays` over the sample's distinct times, to the bit (the
    competing-risks table reads every group's curves at every week: issue 19)."""
    interval = _interval_function(level, conf_type)
    w = np.asarray(counts, dtype=float)
    at_t = w.sum(axis=-1)  # whole numbers: exact in any order
    d = w[..., 1:].sum(axis=-1)
    return _aj_estimates(at_t, d, {k: w[..., k] for k in range(1, w.shape[-1])}, interval)


def _interval_function(level: float, conf_type: str):
    """The pointwise interval of a probability (log-log or linear) at ``level``."""
    level = _check_level(level)
    if conf_type not in ("log-log", "linear"):
        raise ValueError(f"conf_type: must be 'log-log' or 'linear', got {conf_type!r}")
    z = _z(level)

    def _interval(p, s):
        if conf_type == "log-log":
            return _loglog_ci(p, s, z)
        return np.clip(p - z * s, 0, 1), np.clip(p + z * s, 0, 1)

    return _interval


def _aj_estimates(at_t: np.ndarray, d: np.ndarray, dks: dict, interval):
    """The Kaplan-Meier survival and each cause's cumulative incidence along the last axis
    (distinct times), from the weight observed at each time (``at_t``), the weight of
    events (``d``) and of each cause's events (``dks``)."""
    n = np.flip(np.cumsum(np.flip(at_t, -1), axis=-1), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        haz = np.where(n > 0, d / n, 0.0)
        surv = np.cumprod(1 - haz, axis=-1)
        s_prev = np.concatenate([np.ones(surv.shape[:-1] + (1,)), surv[..., :-1]], axis=-1)
        # Greenwood increments; 0 where everyone at risk fails (S is 0 from then on)
        a = np.where((n > 0) & (n > d), d / (n * (n - d)), 0.0)
    A = np.cumsum(a, axis=-1)
    surv_se = np.sqrt(surv**2 * A)
    s_low, s_high = interval(surv, surv_se)
    survival = {"survival": surv, "survival_se": surv_se, "survival_low": s_low,
                "survival_high": s_high}
    return survival, {k: _cause_arrays(dk, n, s_prev, A, a, interval) for k, dk in dks.items()}


def _aj_inputs(time, event, causes, weights):
    """Checked inputs of :func:`aalen_johansen`: times, integer events, weights, causes."""
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
        return t, e, w, [int(c) for c in np.unique(e[e > 0])]
    cause_arr = _vector("causes", causes)
    if np.any(cause_arr <= 0) or np.any(cause_arr != np.round(cause_arr)):
        raise ValueError("causes: must be positive integers")
    return t, e, w, [int(c) for c in cause_arr]


def _cause_arrays(dk, n, s_prev, A, a, interval) -> dict:
    """A cause's cumulative incidence (its events ``dk`` at each time) with its
    delta-method SE and interval, along the last axis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(n > 0, dk / n, 0.0)
        b = np.where(n > 0, s_prev * dk / n**2, 0.0)
        c = np.where(n > 0, s_prev**2 * dk * (n - dk) / n**3, 0.0)
    F = np.cumsum(s_prev * frac, axis=-1)
    # sum_j (F(t) - F_j)^2 a_j - 2 (F(t) - F_j) b_j + c_j, expanded into running sums
    var = (F**2 * A - 2 * F * np.cumsum(a * F, axis=-1) + np.cumsum(a * F**2, axis=-1)
           - 2 * F * np.cumsum(b, axis=-1) + 2 * np.cumsum(b * F, axis=-1)
           + np.cumsum(c, axis=-1))
    se = np.sqrt(np.clip(var, 0, None))
    low, high = interval(F, se)
    return {"n_risk": n, "n_event": dk, "cif": F, "se": se, "low": low, "high": high}
