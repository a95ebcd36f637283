"""Conversions between effect measures, so published effects can act on this model.

The model moves an absent person on by discrete weekly competing risks. With cause-specific
weekly hazards ``h_rtw`` (return to work) and ``h_other`` (job loss + inactivity), a person
still absent at the start of week ``t`` leaves during that week with

    H_t = h_rtw_t + h_other_t,    p_any_t = 1 - exp(-H_t),    p_rtw_t = p_any_t * h_rtw_t / H_t

(0 when ``H_t == 0``). An intervention multiplies ``h_rtw`` (never ``h_other``) by a hazard
ratio (HR). Reviews report other measures: a risk ratio (RR) of RTW at a follow-up, a mean
difference (MD) in days absent, an odds ratio. The functions here find the HR that
reproduces the published measure on a given baseline, which is how the model uses it:

* :func:`hr_from_rr_at_followup` - closed form, one homogeneous group, no competing risk;
* :func:`hr_for_target_rr_competing` - numerical, on the model's own discrete competing-risk
  baseline for a heterogeneous population (a weighted mixture of strata);
* :func:`hr_from_mean_difference_days` - numerical, restricted mean days absent;
* :func:`hr_for_target_cox_hr` - numerical, the within-programme HR whose trial-level Cox
  hazard ratio over the follow-up equals a published one;
* :func:`rr_from_or` / :func:`or_from_rr` - Zhang & Yu (1998).

Related conversions live in their own modules and are re-exported here, so
``sim.evidence.conversions`` stays the one place a registry ``conversion.function`` names:
:mod:`sim.evidence.anchoring` (closed-form RR <-> HR at a follow-up, and the conversions
anchored on the source trial that the model uses), :mod:`sim.evidence.distributions`
(distributions from a reported interval) and :mod:`sim.evidence.rates` (rates and units).

A service acts only while a person takes part in it. ``exposure=(lag_weeks, duration_weeks,
weekly_dropout)`` describes that: from the referral week (week 0 of the follow-up) a
participant stays enrolled for ``duration_weeks`` weeks unless they drop out (probability
``weekly_dropout`` each week, checked at the start of each week including the first), and
the HR acts from week ``lag_weeks`` while enrolled. People who leave the service keep the
baseline hazard. Trials report intention-to-treat effects over their follow-up, so the
conversions solve for the within-programme HR that reproduces the published figure for the
whole randomised arm. ``exposure=None`` means the HR acts over the whole follow-up.

Errors are ``ValueError`` with a one-line message.
"""

from __future__ import annotations

import math

import numpy as np

from sim.evidence.anchoring import (
    enrolled_hr_from_trial_hr,
    event_weights,
    exposure_share,
    hr_from_rr_at_followup,
    rr_at_followup_from_hr,
    rr_from_trial_hr,
    trial_hr_from_enrolled_hr,
    trial_hr_from_rr,
)
from sim.evidence.distributions import (
    Z95,
    beta_from_ci,
    gamma_from_ci,
    lognormal_from_ci,
    normal_from_ci,
    z_for_level,
)
from sim.evidence.rates import (
    ratios_to_reference,
    weekly_hazard_from_share,
    working_days_per_week,
)

# scipy.optimize is imported inside the functions that use it: at module level it costs
# part of every run's start-up (issue 19, `python -X importtime`), and a usual-care run
# never calls them.
HR_BOUNDS = (1e-4, 1e4)  # search range for numerical conversions


def _brentq(*args, **kwargs):
    from scipy.optimize import brentq  # lazy: see the note on the imports above

    return brentq(*args, **kwargs)


def _hr_reaching(value_at, target: float, bounds: tuple[float, float], problem,
                 tol: float = 1e-12, log_scale: bool = False) -> float:
    """The hazard ratio in ``bounds`` at which the monotone ``value_at(hr)`` equals
    ``target``: Brent's method on log HR, matching ``value_at`` itself or (``log_scale``)
    its log. When ``target`` is not strictly between the values at the two bounds,
    ValueError with the line ``problem(value_at(low), value_at(high))``."""
    lo, hi = bounds
    v_lo, v_hi = value_at(lo), value_at(hi)
    if not min(v_lo, v_hi) < target < max(v_lo, v_hi):
        raise ValueError(problem(v_lo, v_hi))
    if log_scale:
        def gap(x):
            return math.log(value_at(math.exp(x))) - math.log(target)
    else:
        def gap(x):
            return value_at(math.exp(x)) - target
    x = _brentq(gap, math.log(lo), math.log(hi), xtol=tol, rtol=tol, maxiter=500)
    return math.exp(x)


# ---------------------------------------------------------------------------------------
# The model's discrete competing-risk baseline
# ---------------------------------------------------------------------------------------

def _baseline(h_rtw, h_other, followup_weeks, weights):
    """Validated (strata, weeks) hazard arrays cut to the follow-up, and weights summing to 1."""
    h = np.asarray(h_rtw, dtype=float)
    if h.ndim == 1:
        h = h[None, :]
    if h.ndim != 2 or h.shape[1] == 0:
        raise ValueError(f"h_rtw must have shape (strata, weeks), got {np.shape(h_rtw)}")
    other = np.zeros_like(h) if h_other is None else np.asarray(h_other, dtype=float)
    if other.ndim == 1 and other.shape[0] == h.shape[1]:
        other = other[None, :]
    try:
        other = np.broadcast_to(other, h.shape)
    except ValueError:
        raise ValueError(f"h_other with shape {np.shape(h_other)} does not match h_rtw "
                         f"with shape {h.shape}") from None
    weeks = h.shape[1] if followup_weeks is None else int(followup_weeks)
    if weeks < 1:
        raise ValueError(f"follow-up must be at least 1 week, got {followup_weeks}")
    if weeks > h.shape[1]:
        raise ValueError(f"hazards cover {h.shape[1]} weeks, fewer than the follow-up of "
                         f"{weeks} weeks")
    h, other = h[:, :weeks], other[:, :weeks]
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(other))):
        raise ValueError("hazards must be finite")
    if np.any(h < 0) or np.any(other < 0):
        raise ValueError("hazards must be >= 0")
    if weights is None:
        w = np.full(h.shape[0], 1.0 / h.shape[0])
    else:
        w = np.asarray(weights, dtype=float).reshape(-1)
        if w.shape[0] != h.shape[0]:
            raise ValueError(f"{w.shape[0]} weights for {h.shape[0]} strata")
        if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be finite, >= 0 and not all 0")
        w = w / w.sum()
    return h, other, w


def _weekly(h, other, hr):
    """Survival at the start of each week and the probability of RTW during it."""
    hr_h = hr * h
    total = hr_h + other
    p_any = -np.expm1(-total)
    p_rtw = np.divide(p_any * hr_h, total, out=np.zeros_like(total), where=total > 0)
    cum = np.cumsum(total, axis=1)
    surv_start = np.exp(-(cum - total))  # still absent at the start of week t
    return surv_start, p_rtw


def enrolment_curve(weeks: int, exposure) -> tuple[np.ndarray, np.ndarray]:
    """(enrolled, active) per follow-up week for ``exposure=(lag, duration, dropout)``.

    enrolled[u] = (1 - dropout) ** (u + 1) for u < duration, else 0 (the chance a
    participant is still in the service during week u); active[u] = u >= lag.
    """
    lag, duration, dropout = exposure
    if not (isinstance(lag, int | np.integer) and isinstance(duration, int | np.integer)):
        raise ValueError(f"exposure lag and duration must be whole weeks, got {lag}, {duration}")
    if lag < 0 or duration < 1:
        raise ValueError(f"exposure needs lag >= 0 and duration >= 1, got {lag}, {duration}")
    if not 0 <= dropout < 1:
        raise ValueError(f"weekly drop-out probability must be in [0, 1), got {dropout}")
    u = np.arange(weeks)
    enrolled = np.where(u < duration, (1.0 - dropout) ** (u + 1.0), 0.0)
    return enrolled, u >= lag


def arm_paths(h, other, hr, exposure=None, exponent=None):
    """Expected (at risk, RTW events) per stratum and week for an arm offered the service.

    ``h``, ``other``: validated (strata, weeks) hazards. Without ``exposure`` the HR acts in
    every week (a closed form). With it, two compartments are followed week by week: people
    still absent and enrolled (hazard ``hr * h`` once active) and people still absent who
    have left the service (hazard ``h``). ``exponent``: effect modification, one exponent
    on log HR per stratum (stratum s gets ``hr ** exponent[s]``; default 1).
    """
    if exponent is not None:
        exponent = np.asarray(exponent, dtype=float).reshape(-1)
        if exponent.shape[0] != h.shape[0] or not np.all(np.isfinite(exponent)):
            raise ValueError(f"{exponent.shape[0]} finite exponents needed for "
                             f"{h.shape[0]} strata")
        hr = np.power(hr, exponent)
    if exposure is None:
        surv_start, p_rtw = _weekly(h, other, np.reshape(hr, (-1, 1)) if np.ndim(hr) else hr)
        return surv_start, surv_start * p_rtw
    enrolled, active = enrolment_curve(h.shape[1], exposure)
    on = np.ones(h.shape[0])
    off = np.zeros(h.shape[0])
    at_risk = np.empty_like(h)
    events = np.empty_like(h)
    before = 1.0
    for u in range(h.shape[1]):
        stay = enrolled[u] / before if before > 0 else 0.0
        off = off + on * (1.0 - stay)
        on = on * stay
        before = enrolled[u]
        at_risk[:, u] = on + off
        hr_u = hr if active[u] else 1.0
        p_rtw_on, p_other_on = _split(hr_u * h[:, u], other[:, u])
        p_rtw_off, p_other_off = _split(h[:, u], other[:, u])
        events[:, u] = on * p_rtw_on + off * p_rtw_off
        on = on * (1.0 - p_rtw_on - p_other_on)
        off = off * (1.0 - p_rtw_off - p_other_off)
    return at_risk, events


def _split(h_event, h_other):
    total = h_event + h_other
    p_any = -np.expm1(-total)
    scale = np.divide(p_any, total, out=np.zeros_like(total), where=total > 0)
    return h_event * scale, h_other * scale


def cif_rtw(h_rtw, h_other=None, hr: float = 1.0, followup_weeks: int | None = None,
            weights=None, exposure=None, exponent=None) -> float:
    """Cumulative incidence of RTW by ``followup_weeks`` with the RTW hazard times ``hr``.

    ``h_rtw`` and ``h_other``: weekly cause-specific hazards, shape (strata, weeks) (or
    (weeks,) for one stratum; ``h_other`` may also be a scalar or None for no competing
    risk). ``weights``: relative size of each stratum (default equal). Week t contributes
    S(t) * p_rtw(t), with S the chance of still being absent at its start; the population
    figure is the weighted mean over strata. ``exposure``, ``exponent``: see
    :func:`arm_paths` and the module docstring.
    """
    if hr < 0 or not math.isfinite(hr):
        raise ValueError(f"hazard ratio must be finite and >= 0, got {hr}")
    h, other, w = _baseline(h_rtw, h_other, followup_weeks, weights)
    _, events = arm_paths(h, other, hr, exposure, exponent)
    return float(w @ events.sum(axis=1))


def hr_for_target_rr_competing(rr: float, h_rtw, h_other, followup_weeks: int,
                               weights=None, bounds: tuple[float, float] = HR_BOUNDS,
                               exposure=None, exponent=None) -> float:
    """HR on the RTW hazard such that CIF_treated / CIF_control = ``rr`` by the follow-up.

    The cumulative incidences are :func:`cif_rtw` on the given baseline (the competing
    hazard is not multiplied; the control arm has HR 1, the treated arm the HR while
    ``exposure`` says it acts). Solved with Brent's method on log(HR) within ``bounds``;
    ValueError (one line) when ``rr`` cannot be reached there.
    """
    if not rr > 0 or not math.isfinite(rr):
        raise ValueError(f"risk ratio must be finite and > 0, got {rr}")
    h, other, w = _baseline(h_rtw, h_other, followup_weeks, weights)
    weeks = h.shape[1]

    def cif(hr):
        _, events = arm_paths(h, other, hr, exposure, exponent)
        return float(w @ events.sum(axis=1))

    f0 = cif(1.0)
    if f0 <= 0:
        raise ValueError(f"the baseline has no RTW by week {weeks}, so a risk ratio cannot "
                         "be converted")
    if rr == 1:
        return 1.0
    target = rr * f0
    lo, hi = bounds
    return _hr_reaching(
        cif, target, bounds,
        lambda f_lo, f_hi: f"risk ratio {rr:g} is infeasible on this baseline: it needs "
        f"RTW cumulative incidence {target:.4g} by week {weeks} (baseline {f0:.4g}), but "
        f"hazard ratios in [{lo:g}, {hi:g}] reach only {f_lo:.4g} to {f_hi:.4g}")


def hr_from_rr_employment(rr: float, h_reemploy, h_other, followup_weeks: int,
                          weights=None, bounds: tuple[float, float] = HR_BOUNDS,
                          exposure=None, exponent=None) -> float:
    """HR on the re-employment hazard of people out of work for a risk ratio of employment.

    The same calculation as :func:`hr_for_target_rr_competing` with the re-employment hazard
    in place of the RTW hazard and inactivity as the competing risk (e.g. IPS for people
    who have lost their job).
    """
    return hr_for_target_rr_competing(rr, h_reemploy, h_other, followup_weeks,
                                      weights=weights, bounds=bounds, exposure=exposure,
                                      exponent=exponent)


# ---------------------------------------------------------------------------------------
# Trial-level Cox hazard ratio <-> within-programme hazard ratio
# ---------------------------------------------------------------------------------------

def expected_cox_hr(h_rtw, h_other, hr: float, followup_weeks: int, weights=None,
                    exposure=None, exponent=None) -> float:
    """The hazard ratio a large 1:1 trial would estimate by Cox regression (Breslow ties).

    Time from referral to first RTW, censored by the competing risk and at the follow-up.
    Expected at-risk numbers n0(u), n1(u) and events d0(u), d1(u) per week come from
    :func:`arm_paths`; beta solves the expected partial-likelihood score
    sum_u [d1 - (d0 + d1) n1 e^b / (n1 e^b + n0)] = 0. With ``exposure=None`` and
    proportional hazards this returns ``hr`` itself (up to the discrete-time split of
    competing risks).
    """
    if not hr > 0 or not math.isfinite(hr):
        raise ValueError(f"hazard ratio must be finite and > 0, got {hr}")
    h, other, w = _baseline(h_rtw, h_other, followup_weeks, weights)
    n0, d0 = (w @ a for a in arm_paths(h, other, 1.0, None))
    n1, d1 = (w @ a for a in arm_paths(h, other, hr, exposure, exponent))
    return _cox_from_counts(n0, d0, n1, d1)


def _cox_from_counts(n0, d0, n1, d1) -> float:
    keep = (d0 + d1) > 0
    n0, d0, n1, d1 = n0[keep], d0[keep], n1[keep], d1[keep]
    if not keep.any():
        raise ValueError("no RTW events in the follow-up, so there is no hazard ratio")

    def score(b):
        e = math.exp(b)
        return float(np.sum(d1 - (d0 + d1) * n1 * e / (n1 * e + n0)))

    return math.exp(_brentq(score, -20.0, 20.0, xtol=1e-13, rtol=1e-13, maxiter=500))


def hr_for_target_cox_hr(target_hr: float, h_rtw, h_other, followup_weeks: int,
                         weights=None, exposure=None,
                         bounds: tuple[float, float] = (1e-3, 1e3), exponent=None) -> float:
    """Within-programme HR such that :func:`expected_cox_hr` equals ``target_hr``.

    A published HR of time to RTW is a trial-level (intention-to-treat) average over the
    follow-up. When the service acts only for part of it (``exposure``), the HR while it
    acts must be larger than the published one; without ``exposure`` the answer is close to
    ``target_hr`` itself. ValueError (one line) when the target is unreachable.
    """
    if not target_hr > 0 or not math.isfinite(target_hr):
        raise ValueError(f"hazard ratio must be finite and > 0, got {target_hr}")
    h, other, w = _baseline(h_rtw, h_other, followup_weeks, weights)
    n0, d0 = (w @ a for a in arm_paths(h, other, 1.0, None))

    def cox(hr):
        n1, d1 = (w @ a for a in arm_paths(h, other, hr, exposure, exponent))
        return _cox_from_counts(n0, d0, n1, d1)

    if target_hr == 1:
        return 1.0
    lo, hi = bounds
    return _hr_reaching(
        cox, target_hr, bounds,
        lambda c_lo, c_hi: f"hazard ratio {target_hr:g} over {h.shape[1]} weeks is "
        f"unreachable: within-programme hazard ratios in [{lo:g}, {hi:g}] give trial "
        f"hazard ratios {c_lo:.4g} to {c_hi:.4g}", tol=1e-10, log_scale=True)


# ---------------------------------------------------------------------------------------
# Mean difference in days absent -> hazard ratio
# ---------------------------------------------------------------------------------------

def hazards_from_survival(survival) -> np.ndarray:
    """Weekly hazards from a survival curve S(0)=1, S(1), ..., S(T) (one value per week
    boundary): h_t = log(S(t) / S(t+1)). Returns shape (strata, T)."""
    s = np.asarray(survival, dtype=float)
    if s.ndim == 1:
        s = s[None, :]
    if s.ndim != 2 or s.shape[1] < 2:
        raise ValueError("survival must hold S(0) and at least one later week")
    if np.any(s <= 0) or np.any(s > 1) or np.any(np.diff(s, axis=1) > 0):
        raise ValueError("survival must be in (0, 1] and not increase")
    return np.log(s[:, :-1] / s[:, 1:])


def mean_days_absent(h_rtw, h_other=None, hr: float = 1.0, horizon_weeks: int | None = None,
                     weights=None, days_per_week: float = 5.0, exposure=None,
                     exponent=None) -> float:
    """Restricted mean working days absent over ``horizon_weeks`` from the start.

    days_per_week * sum over weeks t < horizon of S(t), S(t) the chance of still being
    absent at the start of week t (a person counts the week in which they return). People
    who leave by the competing risk (job loss, inactivity) stop counting as absent.
    """
    if hr < 0 or not math.isfinite(hr):
        raise ValueError(f"hazard ratio must be finite and >= 0, got {hr}")
    h, other, w = _baseline(h_rtw, h_other, horizon_weeks, weights)
    at_risk, _ = arm_paths(h, other, hr, exposure, exponent)
    return float(days_per_week * (w @ at_risk.sum(axis=1)))


def hr_from_mean_difference_days(md_days: float, h_rtw=None, h_other=None, *,
                                 baseline_survival=None, weights=None,
                                 days_per_week: float = 5.0, horizon_weeks: int = 52,
                                 bounds: tuple[float, float] = (1e-3, 1e3),
                                 exposure=None, exponent=None) -> float:
    """HR on the RTW hazard that changes mean days absent over the horizon by ``md_days``.

    ``md_days`` < 0 means fewer days absent (HR > 1). The baseline is either hazards
    (``h_rtw``, ``h_other`` as in :func:`cif_rtw`) or ``baseline_survival`` (weekly S(0)=1,
    S(1), ..., no competing risk). Brent's method on log(HR) within ``bounds``; ValueError
    (one line) when the target is unreachable.
    """
    if not math.isfinite(md_days):
        raise ValueError(f"mean difference must be finite, got {md_days}")
    if days_per_week <= 0:
        raise ValueError(f"days_per_week must be > 0, got {days_per_week}")
    if baseline_survival is not None:
        if h_rtw is not None:
            raise ValueError("give either hazards or baseline_survival, not both")
        h_rtw, h_other = hazards_from_survival(baseline_survival), None
    elif h_rtw is None:
        raise ValueError("a baseline is needed: hazards h_rtw or baseline_survival")
    h, other, w = _baseline(h_rtw, h_other, horizon_weeks, weights)
    weeks = h.shape[1]

    def days(hr):
        at_risk, _ = arm_paths(h, other, hr, exposure, exponent)
        return float(days_per_week * (w @ at_risk.sum(axis=1)))

    d0 = days(1.0)
    if md_days == 0:
        return 1.0
    target = d0 + md_days
    lo, hi = bounds
    return _hr_reaching(  # days fall as the HR rises
        days, target, bounds,
        lambda d_most, d_least: f"mean difference {md_days:g} days is unreachable: it "
        f"needs {target:.4g} mean days absent over {weeks} weeks (baseline {d0:.4g}), but "
        f"hazard ratios in [{lo:g}, {hi:g}] give {d_least:.4g} to {d_most:.4g}")


# ---------------------------------------------------------------------------------------
# Odds ratio <-> risk ratio (Zhang & Yu 1998)
# ---------------------------------------------------------------------------------------

def rr_from_or(or_: float, p0: float) -> float:
    """Risk ratio from an odds ratio at control risk ``p0``: RR = OR / (1 - p0 + p0 OR)."""
    if or_ <= 0:
        raise ValueError(f"odds ratio must be > 0, got {or_}")
    if not 0 < p0 < 1:
        raise ValueError(f"control risk must be between 0 and 1, got {p0}")
    return or_ / (1 - p0 + p0 * or_)


def or_from_rr(rr: float, p0: float) -> float:
    """Odds ratio from a risk ratio at control risk ``p0``: OR = RR (1 - p0) / (1 - RR p0)."""
    if rr <= 0:
        raise ValueError(f"risk ratio must be > 0, got {rr}")
    if not 0 < p0 < 1:
        raise ValueError(f"control risk must be between 0 and 1, got {p0}")
    if rr * p0 >= 1:
        raise ValueError(f"risk ratio {rr:g} is infeasible at control risk {p0:g}: the "
                         f"treated risk would be {rr * p0:.3g} >= 1")
    return rr * (1 - p0) / (1 - rr * p0)


__all__ = [
    "Z95", "z_for_level", "lognormal_from_ci", "normal_from_ci", "beta_from_ci",
    "gamma_from_ci", "rr_at_followup_from_hr", "hr_from_rr_at_followup", "cif_rtw",
    "enrolment_curve", "arm_paths", "expected_cox_hr", "hr_for_target_cox_hr",
    "hr_for_target_rr_competing", "hr_from_rr_employment", "hazards_from_survival",
    "mean_days_absent", "hr_from_mean_difference_days", "rr_from_or", "or_from_rr",
    "working_days_per_week", "weekly_hazard_from_share", "ratios_to_reference",
    "event_weights", "exposure_share", "enrolled_hr_from_trial_hr",
    "trial_hr_from_enrolled_hr", "trial_hr_from_rr", "rr_from_trial_hr",
]
