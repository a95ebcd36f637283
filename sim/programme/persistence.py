"""How long a component's effect lasts: while enrolled, then decaying to a lasting part.

A component's weekly effects (sim.vocabulary.WEEKLY_EFFECTS: RTW, job loss, re-employment,
phasing) act in full (the enrolled-period hazard ratio HR) from ``effect_lag_weeks`` after
the start until the person leaves the service (completion or drop-out). Afterwards the
effect on the log scale is a share ``g(s)`` of the enrolled one, ``s`` weeks after the
last enrolled week (s = 1 in the first week after leaving):

    g(s) = lasting + (1 - lasting) * 2 ** (-s / half_life_weeks)      (half_life_weeks > 0)
    g(s) = lasting                                                   (half_life_weeks = 0)

and the person's multiplier is ``HR ** g(s)`` (as effect modification, on log HR). With
``half_life_weeks = 0`` and ``lasting = 0`` the effect stops when the service ends (the
model before issue 15). ``lasting = 1`` keeps it for good (a change in capacity or in the
job that the service brought about). Only people who took part while the effect acted
(enrolled for longer than the lag) keep a part of it. The weekly multipliers are computed
from enrolment history by :mod:`sim.programme.interventions` and read by both engines through
``sim.engine.model.Effects``, so the engines agree exactly.

:func:`expected_profile` gives the mean share g over the follow-up of a trial of the
component (intention to treat: drop-out, completion, lag), which is what the conversions
anchored on a source trial use (:func:`sim.evidence.conversions.enrolled_hr_from_trial_hr`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.evidence.anchoring import event_weights, exposure_share

# A decaying share below this (with nothing lasting) is treated as gone.
NEGLIGIBLE = 1e-4


@dataclass(frozen=True)
class Persistence:
    """Half-life (weeks) of the effect after the service ends, and its lasting share."""

    half_life_weeks: float = 0.0
    lasting: float = 0.0

    def __post_init__(self):
        if not (np.isfinite(self.half_life_weeks) and self.half_life_weeks >= 0):
            raise ValueError(f"half_life_weeks must be >= 0, got {self.half_life_weeks}")
        if not 0.0 <= self.lasting <= 1.0:
            raise ValueError(f"lasting must be in [0, 1], got {self.lasting}")

    @property
    def active(self) -> bool:
        """Whether any effect outlives the service."""
        return self.half_life_weeks > 0 or self.lasting > 0

    def share(self, weeks_since: np.ndarray) -> np.ndarray:
        """g(s): the share of the enrolled log HR left ``weeks_since`` (>= 1) weeks after
        the last enrolled week."""
        s = np.asarray(weeks_since, dtype=float)
        if self.half_life_weeks > 0:
            return self.lasting + (1.0 - self.lasting) * np.exp2(-s / self.half_life_weeks)
        return np.full(s.shape, self.lasting)

    def gone_after(self) -> float:
        """Weeks after which the share is negligible (inf if a part lasts)."""
        if self.lasting > 0:
            return np.inf
        if self.half_life_weeks == 0:
            return 0.0
        return float(self.half_life_weeks * np.log2(1.0 / NEGLIGIBLE))


def expected_profile(weeks: int, lag: int, duration: int, dropout: float,
                     persistence: Persistence) -> np.ndarray:
    """Mean share of the enrolled log HR in each follow-up week ``0 .. weeks-1`` for a
    participant who starts in week 0 (intention to treat).

    The participant is enrolled in week u with probability ``(1 - dropout) ** (u + 1)`` for
    u < duration (as :func:`sim.evidence.conversions.enrolment_curve`): drop-out is checked at the
    start of each week, completion ends the service at week ``duration``. The effect is 1
    in enrolled weeks u >= lag and, after leaving at week c (last enrolled week c - 1, which
    must be >= lag), ``persistence.share(u - c + 1)``.
    """
    if lag < 0 or duration < 1 or not 0 <= dropout < 1:
        raise ValueError(f"need lag >= 0, duration >= 1 and 0 <= dropout < 1, got {lag}, "
                         f"{duration}, {dropout}")
    u = np.arange(weeks)
    stay = np.where(u < duration, (1.0 - dropout) ** (u + 1.0), 0.0)
    profile = np.where(u >= lag, stay, 0.0)
    if not persistence.active:
        return profile
    # leaving at week c (enrolled in weeks 0 .. c-1): probability stay[c-1] - stay[c]
    for c in range(lag + 1, min(duration, weeks) + 1):
        p_leave = (stay[c - 1] - (stay[c] if c < weeks else
                                  (0.0 if c >= duration else (1 - dropout) ** (c + 1.0))))
        if p_leave <= 0:
            continue
        after = u >= c
        profile[after] += p_leave * persistence.share(u[after] - c + 1)
    return profile


__all__ = ["Persistence", "expected_profile", "NEGLIGIBLE"]


def fit_persistence(followups, trial_hrs, ses, lag: int, duration: int, dropout: float,
                    control_risks=None, half_lives=None, lastings=None):
    """Fit the enrolled HR and the persistence of a component to a source's trial-level
    HRs at several follow-ups (e.g. 6 and 12 months).

    For each (half-life, lasting) on the grid, log HR_trial(T) = b * W(T) with W(T) the
    event-weighted mean of :func:`expected_profile` over T weeks
    (:func:`sim.evidence.conversions.exposure_share`); b is the inverse-variance weighted least
    squares fit of the log HRs (weights 1 / se**2). Returns (enrolled HR, Persistence,
    weighted residual sum of squares) of the best grid point; ties go to the shorter
    half-life and smaller lasting part (the least persistence that fits).
    """

    followups = [int(t) for t in followups]
    y = np.log(np.asarray(trial_hrs, dtype=float))
    w = 1.0 / np.asarray(ses, dtype=float) ** 2
    risks = control_risks if control_risks is not None else [None] * len(followups)
    half_lives = np.arange(0, 105, 1.0) if half_lives is None else half_lives
    lastings = np.linspace(0.0, 1.0, 101) if lastings is None else lastings
    best = None
    for hl in half_lives:
        for last in lastings:
            p = Persistence(float(hl), float(last))
            shares = np.array([exposure_share(expected_profile(t, lag, duration, dropout, p),
                                              event_weights(t, r))
                               for t, r in zip(followups, risks, strict=True)])
            b = float(np.sum(w * shares * y) / np.sum(w * shares**2))
            rss = float(np.sum(w * (y - b * shares) ** 2))
            if best is None or rss < best[2] - 1e-12:
                best = (float(np.exp(b)), p, rss)
    return best


__all__ += ["fit_persistence"]
