"""In-silico trials: does the model reproduce the evidence it was given?

For a component whose effect comes from a registry entry with a numeric measure, a trial
enrols the source trial's population: the component's eligible conditions and severities
narrowed to the source's (``population.conditions``, ``severities``), in the source's
setting (``population.setting``: employed and off sick, a fit-note cohort; or out of work,
a cohort of people who have lost their job), at the point the source enrolled them
(``population.weeks_off_at_entry``: weeks off sick or out of work; each entry says where
that comes from in ``population.enrolment_source``). It runs the cohort twice on the
same people with common random numbers (usual care, and the component alone offered to
everyone eligible: referral and uptake 1 in every group, no capacity limit, no modifiers,
drop-out as configured, i.e. intention to treat), randomises 1:1 by a keyed draw the
people still in their first spell at the referral week, and estimates the effect in the
source's own measure over the source's follow-up from referral:

* ``hr_time_to_rtw``: Cox proportional-hazards estimate (Breslow ties) of time from
  referral to first return to the same job, censored at job loss, inactivity or the
  follow-up;
* ``rr_rtw_at_followup``: risk ratio of such a return within the follow-up;
* ``rr_at_work``: risk ratio of being in work at the end of the follow-up;
* ``rr_employment``: risk ratio of re-employment (a competitive job) within the follow-up;
* ``md_days_absent``: difference in mean working days absent (phased weeks part-absent).

Each estimate has a 95% confidence interval from the trial's own data; the check is that
the point estimate falls inside the source's 95% interval. :data:`CROSS_CHECKS` analyses
the same trials in other outcomes of the same reviews.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np

from sim.config import CONFIG_DIR, load_config, validate
from sim.engine.categories import CONDITIONS, ETHNICITIES, PHASED, SEVERITIES, WORKING
from sim.engine.model import RTWModel
from sim.engine.rng import Streams
from sim.evidence.conversions import Z95, trial_hr_from_rr
from sim.evidence.registry import ANCHORED_RR_MEASURES, load_registry
from sim.results.outcomes import days_per_week

SETTING_TEXT = {"sick_leave": "employed and off sick", "out_of_work": "out of work"}
TRIAL_MEASURES = ("hr_time_to_rtw", "rr_rtw_at_followup", "rr_at_work", "rr_employment",
                  "md_days_absent")


@dataclass
class TrialResult:
    design: str
    component: str
    effect: str
    evidence_id: str
    measure: str
    followup_weeks: int
    source_value: float
    source_low: float
    source_high: float
    estimate: float
    low: float
    high: float
    n_treated: int
    n_control: int
    model_hr: float
    # the source trial's control-arm figure beside the model's usual care for the trial's
    # population (share with the outcome by the follow-up; mean days for a mean difference)
    source_control: float = float("nan")
    model_control: float = float("nan")
    # the trial-level HR the source implies (a risk ratio at its control-arm risk) and its
    # interval, and the model trial's Cox HR: what the model carries (sim.evidence.conversions)
    source_hr: float = float("nan")
    source_hr_low: float = float("nan")
    source_hr_high: float = float("nan")
    trial_hr: float = float("nan")
    enrol_week: int = -1
    setting: str = ""  # the source's setting (registry population.setting)

    @property
    def inside(self) -> bool:
        return self.source_low <= self.estimate <= self.source_high

    @property
    def reproduced(self) -> bool:
        """The model trial reproduces what is carried from the source: the implied
        trial-level HR for a risk ratio anchored on its control arm (its RR also depends on
        the baseline, shown by the control-arm columns), else the published measure."""
        if np.isfinite(self.source_hr):
            return bool(self.source_hr_low <= self.trial_hr <= self.source_hr_high)
        return self.inside


def cox_hr_binary(time, event, treated):
    """Cox estimate of the hazard ratio for a binary covariate, Breslow ties.

    ``time`` integer event/censoring times, ``event`` bool, ``treated`` bool. Returns
    (hr, low, high) with a Wald interval from the observed information.
    """
    time = np.asarray(time)
    event = np.asarray(event, bool)
    treated = np.asarray(treated, bool)
    times = np.unique(time[event])
    # people at risk at t: time >= t
    order = np.sort(time)
    order1 = np.sort(time[treated])
    n_at = order.size - np.searchsorted(order, times, side="left")
    n1 = order1.size - np.searchsorted(order1, times, side="left")
    n0 = n_at - n1
    d = np.bincount(np.searchsorted(times, time[event]), minlength=times.size)
    d1 = np.bincount(np.searchsorted(times, time[event & treated]), minlength=times.size)
    beta = 0.0
    for _ in range(50):
        e = np.exp(beta)
        denom = n1 * e + n0
        score = np.sum(d1 - d * n1 * e / denom)
        info = np.sum(d * n1 * n0 * e / denom**2)
        step = score / info
        beta += step
        if abs(step) < 1e-10:
            break
    se = 1.0 / np.sqrt(info)
    return float(np.exp(beta)), float(np.exp(beta - Z95 * se)), float(np.exp(beta + Z95 * se))


def risk_ratio(x1, n1, x0, n0):
    """Risk ratio with a Katz log interval."""
    p1, p0 = x1 / n1, x0 / n0
    rr = p1 / p0
    se = np.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
    return float(rr), float(rr * np.exp(-Z95 * se)), float(rr * np.exp(Z95 * se))


def mean_difference(a, b):
    """Difference of means with a Welch interval."""
    diff = a.mean() - b.mean()
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return float(diff), float(diff - Z95 * se), float(diff + Z95 * se)


def trial_config(design: str, component_key: str, n: int, seed: int, followup: int,
                 source_population: dict | None = None, overrides=()) -> tuple:
    """Usual-care and treated configs for a trial of one component of ``design``.

    The cohort has the conditions and severities the component is offered to, narrowed to
    the source's population (``source_population``: an evidence entry's ``population``)
    where the source names conditions or severities. ``overrides``: further config
    overrides of the design (e.g. its effect modification), as on the command line.
    """
    treated = load_config([f"programme={design}", "output.plots=false",
                           "output.write_agents=false", *overrides])
    spec = treated["programme"]["components"][component_key]
    elig = spec["eligibility"]
    source = source_population or {}
    setting = source.get("setting")
    if setting is not None and (setting == "sick_leave") != (elig["state"] == "absent"):
        raise ValueError(f"trial of {component_key}: its source enrolled people "
                         f"{SETTING_TEXT[setting]}, but the component serves people "
                         f"{elig['state'].replace('_', ' ')}")
    if source.get("weeks_off_at_entry") is not None:  # how long the source's people were off
        elig["refer_at_week"] = int(source["weeks_off_at_entry"])
    for key in ("conditions", "severities"):
        if source.get(key):
            narrowed = [x for x in elig[key] if x in source[key]]
            if not narrowed:
                raise ValueError(f"trial of {component_key}: the component and its source "
                                 f"share no {key[:-1]}")
            elig[key] = narrowed
    refer = int(elig["refer_at_week"])
    mode = "cohort" if elig["state"] == "absent" else "jobseekers"
    horizon = refer + followup
    # the trial population: only the eligible conditions and severities
    pop = treated["population"]
    keep = [c for c in CONDITIONS if c in elig["conditions"]]
    for q in range(5):
        total = sum(pop["condition_by_imd"][c][q] for c in keep)
        for c in CONDITIONS:
            share = pop["condition_by_imd"][c][q] / total if c in keep else 0.0
            pop["condition_by_imd"][c][q] = share
    for c in CONDITIONS:
        row = pop["severity_by_condition"][c]
        total = sum(row[s] for s in SEVERITIES if s in elig["severities"])
        for s in SEVERITIES:
            row[s] = row[s] / total if s in elig["severities"] else 0.0
    pop.update(n=n, mode=mode, name=f"trial_{component_key}")
    treated.update(seed=seed, horizon_weeks=horizon, replicates=1)
    treated["outcomes"]["snapshot_weeks"] = sorted({refer, horizon})
    # trial conditions: everyone eligible is offered it and starts, no queue
    treated["programme"]["components"] = {component_key: spec}
    treated["programme"]["modifiers"] = {}
    # (no access gradient by deprivation or ethnicity: everyone randomised is offered it)
    spec["access"].update(referral=1.0, uptake=1.0, referral_imd_rr=[1.0] * 5,
                          uptake_imd_rr=[1.0] * 5,
                          referral_ethnicity_rr=dict.fromkeys(ETHNICITIES, 1.0),
                          uptake_ethnicity_rr=dict.fromkeys(ETHNICITIES, 1.0))
    spec["capacity"]["starts_per_week_per_100k"] = None
    control = copy.deepcopy(treated)
    usual = load_config(["programme=usual_care"])["programme"]
    control["programme"] = usual
    return validate(control), validate(treated), refer, horizon


def run_trial(design: str, component_key: str, effect_key: str, entry, value: float,
              low: float, high: float, n: int = 100_000, seed: int = 7,
              evidence_values: dict | None = None, overrides=()) -> TrialResult:
    followup = int(entry.followup_weeks or 52)
    control_cfg, treated_cfg, refer, horizon = trial_config(design, component_key, n, seed,
                                                            followup, entry.population,
                                                            overrides)
    if evidence_values:
        treated_cfg["evidence_values"] = evidence_values
    runs = []
    for cfg in (control_cfg, treated_cfg):
        model = RTWModel(cfg)
        model.run()
        runs.append(model)
    control, treated = runs
    model_hr = treated.programme.components[0].effects[effect_key]
    hr_value = float(np.exp(np.mean(np.log(model_hr)))) if model_hr is not None else 1.0
    # eligible at the referral week (identical in both runs: nothing differs before it)
    spec = treated_cfg["programme"]["components"][component_key]
    target = {"absent": 1, "unemployed": 3}[spec["eligibility"]["state"]]
    at_refer = control.snapshots[refer]
    assert np.array_equal(at_refer, treated.snapshots[refer])
    # in the state since week 0 (a first, continuous spell), as trials recruit people
    # "absent for at least 4 weeks"; people back at work before the referral week and in a
    # new spell again are not referred that week and are not in the trial
    before = {"absent": control.columns["first_rtw"],
              "unemployed": control.columns["reemployed_week"]}[spec["eligibility"]["state"]]
    eligible = np.flatnonzero((at_refer == target) & ~((before >= 0) & (before <= refer)))
    arm = Streams(seed, [n]).uniform_at(0, "trial_arm", eligible) < 0.5
    col_t, col_c = treated.columns, control.columns

    def pick(name):
        return np.where(arm, col_t[name][eligible], col_c[name][eligible])

    measure = entry.measure
    rtw = pick("first_rtw")
    ended = np.minimum(np.where(pick("job_loss_week") >= 0, pick("job_loss_week"), horizon),
                       np.where(pick("inactive_week") >= 0, pick("inactive_week"), horizon))
    # a return to the job held when the spell began (not re-employment after job loss)
    returned = (rtw >= 0) & (rtw <= ended)
    hr = cox_hr_binary(np.where(returned, rtw, ended) - refer, returned, arm)
    outcome = returned
    if measure in ("hr_time_to_rtw", "rr_rtw_at_followup"):
        if measure == "hr_time_to_rtw":
            est = hr
        else:
            est = risk_ratio(returned[arm].sum(), arm.sum(), returned[~arm].sum(),
                             (~arm).sum())
    elif measure == "rr_at_work":
        end_state = np.where(arm, treated.snapshots[horizon][eligible],
                             control.snapshots[horizon][eligible])
        outcome = (end_state == WORKING) | (end_state == PHASED)
        est = risk_ratio(outcome[arm].sum(), arm.sum(), outcome[~arm].sum(), (~arm).sum())
    elif measure == "rr_employment":
        week = pick("reemployed_week")
        outcome = week >= 0
        hr = cox_hr_binary(np.where(outcome, week, horizon) - refer, outcome, arm)
        est = risk_ratio(outcome[arm].sum(), arm.sum(), outcome[~arm].sum(), (~arm).sum())
    elif measure == "md_days_absent":
        hours = treated_cfg["pathways"]["phased_return"]["hours_fraction"]

        day_weeks = days_per_week(treated_cfg)
        wbs = np.where(arm, col_t["weeks_by_state"][:, eligible],
                       col_c["weeks_by_state"][:, eligible])
        days = day_weeks * (wbs[1] + wbs[2] * (1 - hours))
        est = mean_difference(days[arm], days[~arm])
        outcome = days
    else:
        raise ValueError(f"measure {measure!r} has no in-silico trial")
    p0 = entry.control_risk
    implied = (_implied_hr(entry, value, low, high) if measure in ANCHORED_RR_MEASURES
               or measure == "hr_time_to_rtw" else (float("nan"),) * 3)
    return TrialResult(design, component_key, effect_key, entry.id, measure, followup, value,
                       low, high, *est, int(arm.sum()), int((~arm).sum()), hr_value,
                       source_control=float("nan") if p0 is None else float(p0),
                       model_control=float(np.mean(outcome[~arm])),
                       source_hr=implied[0], source_hr_low=implied[1],
                       source_hr_high=implied[2], trial_hr=hr[0], enrol_week=refer,
                       setting=str((entry.population or {}).get("setting", "")))


def _implied_hr(entry, value, low, high) -> tuple[float, float, float]:
    """The trial-level HR (and interval) the source carries: its HR, or the HR its risk
    ratio implies at its control-arm risk (sim.evidence.conversions.trial_hr_from_rr)."""
    if entry.measure == "hr_time_to_rtw":
        return float(value), float(low), float(high)
    return tuple(trial_hr_from_rr(x, entry.control_risk) for x in (value, low, high))


@functools.lru_cache(maxsize=64)
def _design_config(design: str) -> dict:
    """A design's composed config (read only: shared between calls)."""
    return load_config([f"programme={design}"])


def trials_for(designs: list[str], registry) -> list[tuple]:
    """(design, component key, effect key, entry) for every numerically sourced effect."""
    out = []
    for design in designs:
        cfg = _design_config(design)
        for key, spec in cfg["programme"]["components"].items():
            for effect_key, ref in spec["effects"].items():
                if isinstance(ref, str) and ref in registry:
                    entry = registry[ref]
                    if entry.measure in TRIAL_MEASURES and not entry.assumption:
                        out.append((design, key, effect_key, entry))
    return out


def all_designs() -> list[str]:
    """Names of the programme designs in ``configs/programme/`` (sorted)."""

    return sorted(p.stem for p in (CONFIG_DIR / "programme").glob("*.yaml"))


# Cross-checks: other outcomes the same reviews report for a component whose effect is set
# from one of them. The trial of the component as configured is analysed in each of these
# measures too; they are reported, and do not set anything.
CROSS_CHECKS = {
    "rtw_coordinator": ("coordination_vogel2017_hr_alt", "coordination_vogel2017_md_days",
                        "coordination_vogel2017_rr_at_work",
                        "coordination_schandelmaier2012_rr"),
    "ips": ("ips_metcalfe2018_rr", "supported_employment_kinoshita2013_rr"),
    "work_focused_cbt": ("cbt_xu2023_md_days",),
}
# Cross-checks whose follow-up was used in fitting (the coordinator's persistence is fitted
# to Vogel's 6- and 12-month HRs); the other cross-checks are held out.
FITTED = {"coordination_vogel2017_hr_alt"}


def cross_check_trials(designs: list[str], registry) -> list[tuple]:
    """(design, component, effect, entry, []) for each cross-check of a component that one
    of ``designs`` uses and whose effect comes from the registry."""
    out = []
    done = set()
    for design, key, effect_key, _, _ in unique_trials(designs, registry):
        for ref in CROSS_CHECKS.get(key, ()):
            if (key, ref) not in done and ref in registry:
                done.add((key, ref))
                out.append((design, key, effect_key, registry[ref], []))
    return out


def unique_trials(designs: list[str], registry) -> list[tuple]:
    """:func:`trials_for` with one trial per (component, effect, evidence id): a component
    used by several designs is tried once (its trial drops the design's capacity, modifiers
    and other components), listed under the first design, and the others are named."""
    seen: dict[tuple, list] = {}
    for design, key, effect_key, entry in trials_for(designs, registry):
        ident = (key, effect_key, entry.id)
        if ident in seen:
            seen[ident][4].append(design)
        else:
            seen[ident] = [design, key, effect_key, entry, []]
    return [tuple(v) for v in seen.values()]


def run_trials(designs: list[str] | None = None, n: int = 200_000, seed: int = 7,
               registry=None, cross_checks: bool = False) -> list[tuple]:
    """Every in-silico trial of the designs' numerically sourced effects, as
    (result, other designs using the component, role) with role "primary" (the entry sets
    the effect) or "cross-check" (another outcome of the same evidence, :data:`CROSS_CHECKS`)."""

    registry = registry if registry is not None else load_registry()
    designs = designs if designs is not None else all_designs()
    todo = [(t, "primary") for t in unique_trials(designs, registry)]
    if cross_checks:
        todo += [(t, "cross-check") for t in cross_check_trials(designs, registry)]
    out = []
    for (design, key, effect_key, entry, also), role in todo:
        low, high = entry.ci
        out.append((run_trial(design, key, effect_key, entry, entry.value, low, high, n=n,
                              seed=seed), also, role))
    return out


def trials_table(results: list[tuple]):
    """One row per trial: role, design, component, evidence id, measure, source value and 95% CI,
    model estimate and its 95% CI, inside (yes/no), the HR the model used, trial size."""
    import pandas as pd

    rows = []
    for r, also, role in results:
        rows.append({
            "role": role, "design": r.design, "component": r.component, "effect": r.effect,
            "evidence_id": r.evidence_id, "measure": r.measure,
            "followup_weeks": r.followup_weeks, "source_value": r.source_value,
            "source_low": r.source_low, "source_high": r.source_high,
            "estimate": round(r.estimate, 4), "estimate_low": round(r.low, 4),
            "estimate_high": round(r.high, 4), "inside": "yes" if r.inside else "no",
            "model_hr": round(r.model_hr, 4), "n_treated": r.n_treated,
            "n_control": r.n_control, "also_in_designs": " ".join(also),
            "follow_up": "fitted" if role == "primary" or r.evidence_id in FITTED
            else "held-out",
            "enrol_week": r.enrol_week,
            "setting": r.setting,
            "source_control": round(r.source_control, 4),
            "model_control": round(r.model_control, 4),
            "source_trial_hr": round(r.source_hr, 4),
            "source_trial_hr_low": round(r.source_hr_low, 4),
            "source_trial_hr_high": round(r.source_hr_high, 4),
            "model_trial_hr": round(r.trial_hr, 4),
            "reproduced": "yes" if r.reproduced else "no",
        })
    return pd.DataFrame(rows)


def trials_markdown(df) -> str:
    """The trials table for people: source and model estimate side by side."""
    lines = ["| role | follow-up | design | component | evidence | measure (follow-up) | "
             "source (95% CI) | model trial (95% CI) | inside | control arm: source / model "
             "| trial HR: source / model | reproduced | HR in model | n per arm |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in df.itertuples(index=False):
        hr = ("-" if r.source_trial_hr != r.source_trial_hr else
              f"{r.source_trial_hr:.3f} ({r.source_trial_hr_low:.3f} to "
              f"{r.source_trial_hr_high:.3f}) / {r.model_trial_hr:.3f}")
        control = ("- / " if r.source_control != r.source_control else
                   f"{r.source_control:.2f} / ") + f"{r.model_control:.2f}"
        lines.append(
            f"| {r.role} | {r.follow_up} | {r.design} | {r.component} | {r.evidence_id} | "
            f"{r.measure} ({r.followup_weeks} wk, from week {r.enrol_week}) | "
            f"{r.source_value:g} ({r.source_low:g} to "
            f"{r.source_high:g}) | {r.estimate:.3f} ({r.estimate_low:.3f} to "
            f"{r.estimate_high:.3f}) | {r.inside} | {control} | {hr} | {r.reproduced} | "
            f"{r.model_hr:.3f} | {min(r.n_treated, r.n_control):,} |")
    return "\n".join(lines)
