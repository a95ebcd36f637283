"""Conversions anchored on the source trial (issue 15): a published risk ratio at the
source's control-arm risk <-> the trial-level hazard ratio, and the trial-level HR <-> the
enrolled-period HR a component carries.

Split from :mod:`sim.evidence.conversions` (which re-exports every name here). Nothing
here depends on the model's own baseline. Errors are ``ValueError`` with a one-line message.
"""

from __future__ import annotations

import math

import numpy as np

# ---------------------------------------------------------------------------------------
# Risk ratio at a follow-up <-> hazard ratio, closed form (no competing risk)
# ---------------------------------------------------------------------------------------

def _check_cum_incidence(f0):
    if not 0 < f0 < 1:
        raise ValueError(f"baseline cumulative incidence must be between 0 and 1, got {f0}")


def rr_at_followup_from_hr(hr: float, baseline_cum_incidence: float) -> float:
    """RR of the event by the follow-up for a proportional-hazards ``hr``.

    S1 = S0 ** HR and RR = (1 - S1) / (1 - S0), with S0 = 1 - baseline_cum_incidence.
    """
    if hr <= 0:
        raise ValueError(f"hazard ratio must be > 0, got {hr}")
    _check_cum_incidence(baseline_cum_incidence)
    s0 = 1.0 - baseline_cum_incidence
    return -math.expm1(hr * math.log(s0)) / baseline_cum_incidence


def hr_from_rr_at_followup(rr: float, baseline_cum_incidence: float) -> float:
    """Proportional-hazards HR giving risk ratio ``rr`` of the event by the follow-up.

    HR = log(1 - RR (1 - S0)) / log(S0), S0 = 1 - baseline_cum_incidence. Infeasible
    (ValueError) when RR (1 - S0) >= 1: the treated group would need >= 100% events.
    """
    if rr <= 0:
        raise ValueError(f"risk ratio must be > 0, got {rr}")
    _check_cum_incidence(baseline_cum_incidence)
    target = rr * baseline_cum_incidence
    if target >= 1:
        raise ValueError(f"risk ratio {rr:g} is infeasible with baseline cumulative incidence "
                         f"{baseline_cum_incidence:g}: it needs {target:.3g} >= 1 of the "
                         "treated group to have the event")
    return math.log1p(-target) / math.log1p(-baseline_cum_incidence)


# ---------------------------------------------------------------------------------------
# Trial-level HR <-> enrolled-period HR
# ---------------------------------------------------------------------------------------
#
# A published effect is converted on the source trial's own terms, never re-solved on the
# model's baseline: a risk ratio with the trial's control-arm risk ``p0`` by its follow-up
# gives the trial-level hazard ratio (:func:`hr_from_rr_at_followup`, proportional
# hazards); a published HR of time to RTW is one already. That trial-level HR is an
# average over the follow-up of the effect in everyone randomised. When the service acts
# fully while people take part and then fades (sim.programme.persistence), the share of the enrolled
# log HR a participant has in follow-up week u is ``profile[u]``
# (:func:`sim.programme.persistence.expected_profile`), and a Cox estimate averages log HR over the
# weeks weighted by where the events fall. With the control arm's events spread by a
# constant hazard that gives ``p0`` by the follow-up (:func:`event_weights`):
#
#     log HR_trial = log HR_enrolled * W,   W = sum_u weights[u] * profile[u]
#
# so HR_enrolled = HR_trial ** (1 / W) (:func:`enrolled_hr_from_trial_hr`). Every positive
# trial HR has an enrolled HR, whatever the model's own baseline, so probabilistic draws
# are never clamped; a risk ratio above 1 / p0 cannot have come from the source trial and
# draws are made on the trial-HR scale (:func:`rr_from_trial_hr`) so none arises.

def event_weights(weeks: int, control_risk: float | None = None) -> np.ndarray:
    """Weight of each follow-up week ``0 .. weeks-1`` in a trial's Cox estimate: the share
    of the control arm's events in it, for a constant weekly hazard that gives
    ``control_risk`` by the end of the follow-up (equal weights when it is None).

    >>> [round(float(x), 3) for x in event_weights(2, 0.75)]
    [0.667, 0.333]
    """
    if int(weeks) < 1:
        raise ValueError(f"follow-up must be at least 1 week, got {weeks}")
    if control_risk is None:
        return np.full(int(weeks), 1.0 / int(weeks))
    _check_cum_incidence(control_risk)
    rate = -math.log1p(-control_risk) / weeks
    w = np.exp(-rate * np.arange(int(weeks)))  # proportional to S(u) (1 - exp(-rate))
    return w / w.sum()


def exposure_share(profile, weights) -> float:
    """W = sum of ``weights`` x ``profile`` (ValueError unless > 0)."""
    p = np.asarray(profile, dtype=float)
    w = np.asarray(weights, dtype=float)
    if p.shape != w.shape:
        raise ValueError(f"profile has {p.size} weeks, weights {w.size}")
    share = float(w @ p)
    if not share > 0:
        raise ValueError("the service never acts within the follow-up (its lag is as long as "
                         "the follow-up or it ends before its lag), so no effect can be "
                         "converted")
    return share


def enrolled_hr_from_trial_hr(trial_hr: float, profile, weights) -> float:
    """Enrolled-period HR whose event-weighted average over the follow-up is ``trial_hr``:
    ``trial_hr ** (1 / W)``. ``profile``: the share of the enrolled log HR by follow-up
    week; ``weights``: :func:`event_weights`.

    >>> round(enrolled_hr_from_trial_hr(1.21, [1.0, 0.0], [0.5, 0.5]), 4)
    1.4641
    """
    if not trial_hr > 0 or not math.isfinite(trial_hr):
        raise ValueError(f"hazard ratio must be finite and > 0, got {trial_hr}")
    return math.exp(math.log(trial_hr) / exposure_share(profile, weights))


def trial_hr_from_enrolled_hr(enrolled_hr: float, profile, weights) -> float:
    """Inverse of :func:`enrolled_hr_from_trial_hr`: ``enrolled_hr ** W``."""
    if not enrolled_hr > 0 or not math.isfinite(enrolled_hr):
        raise ValueError(f"hazard ratio must be finite and > 0, got {enrolled_hr}")
    return math.exp(math.log(enrolled_hr) * exposure_share(profile, weights))


def trial_hr_from_rr(rr: float, control_risk: float) -> float:
    """Trial-level HR implied by a risk ratio of the event by the follow-up at the source
    trial's control-arm risk (proportional hazards; :func:`hr_from_rr_at_followup`)."""
    return hr_from_rr_at_followup(rr, control_risk)


def rr_from_trial_hr(hr: float, control_risk: float) -> float:
    """The risk ratio a trial with control-arm risk ``control_risk`` reports for a
    trial-level ``hr`` (always below 1 / control_risk)."""
    return rr_at_followup_from_hr(hr, control_risk)


__all__ = ["rr_at_followup_from_hr", "hr_from_rr_at_followup", "event_weights",
           "exposure_share", "enrolled_hr_from_trial_hr", "trial_hr_from_enrolled_hr",
           "trial_hr_from_rr", "rr_from_trial_hr"]
