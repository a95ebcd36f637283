"""The programme vocabulary, declared once: effect kinds, domains, statuses, rules.

Every module that reads a component's effects (``sim.config`` validates them,
``sim.programme.effects`` converts evidence into them, ``sim.programme.interventions`` applies them
and
``sim.engine.model.Effects`` holds this week's multipliers) takes the names from here, so adding an
effect kind is one entry in :data:`EFFECT_KINDS` plus the line of the weekly loop that reads
its hazard. State codes live in :mod:`sim.engine.categories`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EffectKind:
    """One kind of component effect.

    ``name``: the key in a component's ``effects`` block. ``hazard``: the key of
    ``sim.engine.model.Effects`` it multiplies. ``measures``: registry measures that may set it;
    ``direct``: those used as they are (the others are converted). ``needs_state``: the
    state whose baseline a conversion uses (the component must act on it), or None.
    ``domain``: where in a pathway it acts: ``absence`` (weekly, while absent),
    ``out_of_work`` (weekly, while out of work), ``at_return`` (once, when a person returns),
    ``in_work`` (weekly, while in work: the onset of a new spell; stay-at-work prevention).
    ``weekly``: a weekly hazard multiplier, which persists after the service ends as the
    component's ``persistence`` says (see :mod:`sim.programme.persistence`). ``multidomain``: the
    multi-domain term multiplies it.
    """

    name: str
    hazard: str
    measures: tuple[str, ...]
    direct: tuple[str, ...]
    needs_state: str | None
    domain: str
    weekly: bool
    multidomain: bool


EFFECT_KINDS = (
    EffectKind("rtw_hr", "rtw",
               ("hr_time_to_rtw", "rr_rtw_at_followup", "rr_at_work", "md_days_absent"),
               ("hr_time_to_rtw",), "absent", "absence", True, True),
    EffectKind("job_loss_hr", "job_loss", ("hr_job_loss",), ("hr_job_loss",), None,
               "absence", True, False),
    EffectKind("reemploy_hr", "reemploy", ("hr_time_to_rtw", "rr_employment"),
               ("hr_time_to_rtw",), "unemployed", "out_of_work", True, True),
    EffectKind("relapse_hr", "relapse", ("hr_relapse",), ("hr_relapse",), None,
               "at_return", False, False),
    EffectKind("phased_rr", "phased", ("rr_phased_return",), ("rr_phased_return",), None,
               "at_return", True, False),
    EffectKind("onset_hr", "onset", ("hr_onset",), ("hr_onset",), None,
               "in_work", True, False),
)
EFFECTS = {k.name: k for k in EFFECT_KINDS}
EFFECT_KEYS = tuple(EFFECTS)
EFFECT_TO_HAZARD = {k.name: k.hazard for k in EFFECT_KINDS}
# Measures each effect may name, and the state a converted effect must act on.
EFFECT_MEASURES = {k.name: k.measures for k in EFFECT_KINDS}
NEEDS_STATE = {k.name: k.needs_state for k in EFFECT_KINDS if k.needs_state}
# Measures used as they are, and the effects each may set.
DIRECT_EFFECTS: dict[str, tuple[str, ...]] = {}
for _kind in EFFECT_KINDS:
    for _m in _kind.direct:
        DIRECT_EFFECTS.setdefault(_m, ())
        DIRECT_EFFECTS[_m] += (_kind.name,)
WEEKLY_EFFECTS = tuple(k.name for k in EFFECT_KINDS if k.weekly)
MULTIDOMAIN_EFFECTS = tuple(k.name for k in EFFECT_KINDS if k.multidomain)

# The keys of sim.engine.model.Effects: each effect's hazard, and re-employment from inactivity
# (set by services for people inactive for ill health, from their reemploy_hr).
REEMPLOY_INACTIVE = "reemploy_inactive"
HAZARD_KEYS = ("rtw", "job_loss", "relapse", "reemploy", "phased", "onset", REEMPLOY_INACTIVE)
assert set(EFFECT_TO_HAZARD.values()) | {REEMPLOY_INACTIVE} == set(HAZARD_KEYS)

# Component domains; the multi-domain term acts on people in two or more of the first three.
DOMAINS = ("health", "coordination", "workplace", "vocational")
MULTIDOMAIN_DOMAINS = DOMAINS[:3]
# How effects of several components on one person combine (see sim.programme.interventions).
COMBINE_RULES = ("domain_strongest", "strongest", "multiplicative")
# Waiting-list priority rules.
PRIORITIES = ("fifo", "most_deprived", "longest_absent")
# The states a component may serve (names of sim.engine.categories.STATES). A component for
# people in work ("working": stay-at-work prevention) refers each person once, in the first
# week they have been in work for at least ``refer_at_week`` weeks; the others refer at
# exactly that week of a spell.
COMPONENT_STATES = ("absent", "unemployed", "inactive", "inactive_benefit", "working")

# A person's status in a component (int8 codes, in this order).
STATUS_NAMES = ("never", "waiting", "enrolled", "finished", "dropped", "left_list", "declined")
NEVER, WAITING, ENROLLED, FINISHED, DROPPED, LEFT_LIST, DECLINED = range(len(STATUS_NAMES))
STARTED = (ENROLLED, FINISHED, DROPPED)  # took part (and is costed)
ENDED = (FINISHED, DROPPED)  # took part and has left the service

__all__ = ["EffectKind", "EFFECT_KINDS", "EFFECTS", "EFFECT_KEYS", "EFFECT_TO_HAZARD",
           "EFFECT_MEASURES", "NEEDS_STATE", "DIRECT_EFFECTS", "WEEKLY_EFFECTS",
           "MULTIDOMAIN_EFFECTS", "HAZARD_KEYS", "REEMPLOY_INACTIVE", "DOMAINS",
           "MULTIDOMAIN_DOMAINS", "COMBINE_RULES", "PRIORITIES", "COMPONENT_STATES",
           "STATUS_NAMES", "NEVER", "WAITING", "ENROLLED", "FINISHED", "DROPPED", "LEFT_LIST",
           "DECLINED", "STARTED", "ENDED"]
