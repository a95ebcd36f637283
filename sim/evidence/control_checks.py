"""Held-out checks of the model's usual care against UK trials' control arms (issue 14).

A trial emulation (:mod:`sim.evidence.trials`) shows the source trial's control-arm figure
beside the model's usual care for the same cohort. Where the source's controls are not UK
usual care (the IPS trials pooled by Modini 2016 are mostly US trials whose controls got
active vocational services, 23% competitive employment, Bond, Drake & Becker 2008), that
column compares unlike things. These checks put the model's usual care for the emulated
cohort (people with severe mental illness, a year out of work, enrolled as the IPS trial
emulation enrols them) beside a UK trial's control arm over its own follow-up: SWAN, South
London (Howard et al. 2010 at one year; Heslin et al. 2011 at two years), whose controls got
the local traditional vocational services. A check passes when the model's share lies in
the registry entry's 95% interval. Nothing is fitted to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engine.model import RTWModel
from sim.evidence.registry import load_registry
from sim.evidence.trials import trial_config

# (registry id of the UK control arm, design, component, registry id of the trial emulated)
CONTROL_CHECKS = (
    ("howard2010_swan_control_employment", "ips_smi", "ips", "ips_modini2016_rr"),
    ("heslin2011_swan_control_employment", "ips_smi", "ips", "ips_modini2016_rr"),
)


@dataclass
class ControlCheck:
    evidence_id: str
    emulates: str
    followup_weeks: int
    enrol_week: int
    source_value: float
    source_low: float
    source_high: float
    model: float
    n: int

    @property
    def inside(self) -> bool:
        return self.source_low <= self.model <= self.source_high


def run_control_checks(n: int = 200_000, seed: int = 7, registry=None) -> list[ControlCheck]:
    """Share of the emulated trial's usual-care cohort in a competitive job (re-employed)
    within each UK control arm's follow-up, from the week the trial enrols them.

    One usual-care run per (design, component, emulated entry) over the longest follow-up;
    the cohort is the trial's (people out of work since week 0 and still out of work at the
    enrolment week, :func:`sim.evidence.trials.run_trial`)."""
    registry = registry if registry is not None else load_registry()
    out = []
    groups: dict[tuple, list] = {}
    for check_id, design, component, emulated in CONTROL_CHECKS:
        groups.setdefault((design, component, emulated), []).append(registry[check_id])
    for (design, component, emulated), entries in groups.items():
        longest = max(int(e.followup_weeks) for e in entries)
        control_cfg, _, refer, horizon = trial_config(design, component, n, seed, longest,
                                                      registry[emulated].population)
        model = RTWModel(control_cfg)
        model.run()
        col = model.columns
        back = col["reemployed_week"]
        eligible = np.flatnonzero((model.snapshots[refer] == 3)  # unemployed at enrolment
                                  & ~((back >= 0) & (back <= refer)))
        week = back[eligible]
        for e in entries:
            f = int(e.followup_weeks)
            share = float(np.mean((week > refer) & (week <= refer + f)))
            out.append(ControlCheck(e.id, emulated, f, refer, float(e.value), float(e.ci[0]),
                                    float(e.ci[1]), share, int(eligible.size)))
        assert horizon == refer + longest
    return out


def control_checks_markdown(checks: list[ControlCheck]) -> str:
    lines = ["| UK control arm | emulated trial | follow-up (from week) | UK control (95% CI) "
             "| model usual care | inside | n |",
             "|---|---|---|---|---|---|---|"]
    for c in checks:
        lines.append(f"| {c.evidence_id} | {c.emulates} | {c.followup_weeks} wk (from week "
                     f"{c.enrol_week}) | {c.source_value:.2f} ({c.source_low:.2f} to "
                     f"{c.source_high:.2f}) | {c.model:.3f} | {'yes' if c.inside else 'no'} "
                     f"| {c.n:,} |")
    return "\n".join(lines)
