"""The evidence registry's vocabulary: measures, kinds, distributions, fields, and the
validated entry (:class:`EvidenceEntry`).

A measure's *kind* decides what its values may be (ratio > 0, proportion in [0, 1],
non-negative, difference of any sign, narrative without a number) and which uncertainty
distributions suit it; :func:`fits_kind` is that rule, used for values, intervals and
uniform bounds alike. The format is documented in ``docs/EVIDENCE.md``; loading is
:mod:`sim.evidence.registry`, checking one entry :mod:`sim.evidence.validate`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

BRIEF_REFERENCES = 87  # reference list of the HEEC evidence brief (seed 000)

# Closed measure vocabulary: name -> (kind, description). Kinds: ratio (> 0, lognormal),
# difference (any sign, normal), proportion ([0, 1], beta), nonnegative (>= 0, gamma),
# narrative (no number; a direction instead).
MEASURES: dict[str, tuple[str, str]] = {
    "hr_time_to_rtw": ("ratio", "hazard ratio of (first) return to work; multiplies the "
                                "weekly RTW hazard as it is"),
    "rr_rtw_at_followup": ("ratio", "risk ratio of having returned to work by the follow-up"),
    "rr_at_work": ("ratio", "risk ratio of being at work at the end of the follow-up"),
    "rr_employment": ("ratio", "risk ratio of (competitive) employment among people out of "
                               "work by the follow-up"),
    "hr_job_loss": ("ratio", "hazard ratio on job loss while absent; used as it is"),
    "hr_relapse": ("ratio", "hazard ratio on relapse (a new spell soon after a return); "
                            "used as it is"),
    "hr_onset": ("ratio", "hazard ratio on the onset of a new sickness-absence spell while in "
                          "work (prevention); used as it is"),
    "rr_phased_return": ("ratio", "multiplier on the probability that a return is phased "
                                  "(graded); used as it is"),
    "rr_uptake": ("ratio", "multiplier on the probability of referral or uptake; used as it is"),
    "hr_dropout": ("ratio", "hazard ratio on the weekly drop-out hazard; used as it is"),
    "effect_exponent": ("ratio", "exponent on the log of a service's hazard ratios for a "
                                 "group (effect modification; 1 = unchanged)"),
    "md_days_absent": ("difference", "mean difference in working days of sickness absence per "
                                     "person over the follow-up (negative = fewer)"),
    "es_unspecified": ("difference", "pooled effect size whose type the source does not "
                                     "state; documentation only"),
    "proportion": ("proportion", "a share between 0 and 1"),
    "rate": ("nonnegative", "a non-negative rate; `unit` says per what"),
    "count": ("nonnegative", "a number of people, days or certificates; `unit` says what"),
    "duration_weeks": ("nonnegative", "a length of time in weeks"),
    "cost_gbp": ("nonnegative", "a cost in pounds sterling; `unit` says per what"),
    "utility": ("proportion", "a health-state utility (EQ-5D index, UK value set; 1 = full "
                              "health) used for QALYs"),
    "utility_decrement": ("difference", "a change in health-state utility against a reference "
                                        "state (negative = worse); `notes` say which reference"),
    "narrative": ("narrative", "no usable number; `direction` gives the qualitative finding"),
}
RATIO_MEASURES = tuple(m for m, (k, _) in MEASURES.items() if k == "ratio")
# Measures whose value multiplies a model quantity as it is (no conversion needed).
DIRECT_MEASURES = ("hr_time_to_rtw", "hr_job_loss", "hr_relapse", "rr_phased_return",
                   "rr_uptake", "hr_dropout", "hr_onset")
# Measures that a conversion turns into a hazard ratio on the model's own baseline: they
# need the follow-up (or horizon) over which the source measured them.
FOLLOWUP_MEASURES = ("rr_rtw_at_followup", "rr_at_work", "rr_employment", "md_days_absent")
# Risk ratios converted on the source trial's own control-arm risk (sim.evidence.conversions).
ANCHORED_RR_MEASURES = ("rr_rtw_at_followup", "rr_at_work", "rr_employment")
UNIT_MEASURES = ("rate", "count", "cost_gbp")
CERTAINTY = ("high", "moderate", "low", "very_low", "not_graded")
DIRECTIONS = ("benefit", "harm", "no_difference", "mixed", "unclear", "higher", "lower")
# Distribution types and their parameters; parameters may be left out when a ``ci`` is
# given, and are then derived from value and ci (see docs/EVIDENCE.md).
DISTRIBUTIONS = {
    "lognormal": ("meanlog", "sdlog"),
    "normal": ("mean", "sd"),
    "beta": ("alpha", "beta"),
    "gamma": ("shape", "scale"),
    "uniform": ("low", "high"),
    "fixed": (),
}
DEFAULT_DISTRIBUTION = {"ratio": "lognormal", "difference": "normal", "proportion": "beta",
                        "nonnegative": "gamma"}
ALLOWED_DISTRIBUTIONS = {
    "ratio": ("lognormal", "gamma", "uniform", "fixed"),
    "difference": ("normal", "uniform", "fixed"),
    "proportion": ("beta", "uniform", "fixed"),
    "nonnegative": ("gamma", "lognormal", "uniform", "fixed"),
}

FIELDS = ("value", "ci", "distribution", "measure", "unit", "followup_weeks",
          "followup_assumed", "population", "source", "brief_ref", "certainty",
          "certainty_note", "conversion", "assumption", "reason", "uncertainty_reported",
          "direction", "studies", "notes", "price_year", "control_risk",
          "control_risk_source")
REQUIRED = ("value", "measure", "population", "source", "brief_ref", "certainty",
            "conversion", "assumption")
POPULATION_FIELDS = ("text", "conditions", "severities", "ethnic_groups", "imd_quintiles",
                     "weeks_off_at_entry", "setting", "enrolment_source")
# where the source's people were when enrolled: employed and off sick, or without a job
# (the in-silico trial enrols them there: sim.evidence.trials)
SETTINGS = ("sick_leave", "out_of_work")
CONVERSION_FIELDS = ("method", "function")
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class EvidenceEntry:
    """One validated registry entry. ``distribution`` has its parameters filled in."""

    id: str
    file: str
    measure: str
    value: float | None
    ci: tuple[float, float] | None
    distribution: dict | None
    population: dict
    conditions: tuple[str, ...]
    source: str
    brief_ref: int | None
    certainty: str
    conversion: dict
    assumption: bool
    reason: str | None = None
    followup_weeks: int | None = None
    followup_assumed: bool = False
    unit: str | None = None
    uncertainty_reported: bool | None = None
    direction: str | None = None
    certainty_note: str | None = None
    studies: str | None = None
    notes: str | None = None
    price_year: int | None = None
    # the source trial's control-arm risk of the outcome by the follow-up: anchors the
    # conversion of a risk ratio (sim.evidence.conversions.trial_hr_from_rr) and the event weights
    control_risk: float | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return MEASURES[self.measure][0]

    @property
    def is_ratio(self) -> bool:
        return self.kind == "ratio"


# ---------------------------------------------------------------------------------------


# The values each kind of measure may take: (lowest, highest, is the lowest allowed itself).
KIND_RANGES = {
    "ratio": (0.0, math.inf, False),
    "proportion": (0.0, 1.0, True),
    "nonnegative": (0.0, math.inf, True),
    "difference": (-math.inf, math.inf, True),
}


def fits_kind(kind: str, low: float, high: float | None = None) -> bool:
    """Whether the values ``low`` to ``high`` (or ``low`` alone) suit a ``kind`` measure."""
    least, most, closed = KIND_RANGES[kind]
    high = low if high is None else high
    return (low >= least if closed else low > least) and high <= most


def flat(text) -> str:
    """``text`` on one line (runs of white space, newlines included, become one space)."""
    return " ".join(str(text).split())
