"""UK calibration targets and how close a run comes to them.

Targets (DIGEST s3; see README "Calibration"):

* fit-note cohort: "one in five people off sick for six weeks will remain off work"
  (HSE 2004) -> share not in work at week 52 among those absent at week 6 = 0.20.
* workforce: ONS sickness absence rate, mean of 2019, 2022, 2023 and 2024 (1.9, 2.6, 2.3,
  2.0% of working hours: 2.2%; 2022 alone was a post-pandemic high); 4.8 days per worker per
  year (4.2, 5.7, 4.9, 4.4); absence rate of workers in the most deprived IMD quintile / the
  least deprived = 1.41 (Daras et al. 2022, NHS staff records, adjusted for age and sex; the
  model's ratio is standardised to the workforce's age-sex mix); absence length
  distribution 66% <= 7 days, 16% 8 days-4 weeks, 20% > 4 weeks
  (NICE PH19 citing CIPD/CBI; printed shares sum to 102%, so they are rescaled to 1);
  5% of absences account for 40% of time lost.

* pathways v2 (issue 14), flows and persistence: of fit-note cohort members still absent
  at 26 weeks, the share in work at 104 weeks = 0.26 (DWP RR774: ESA claimants who were in
  work before claiming, back in work 12-18 months after the claim; held out, because most
  people still off at 26 weeks have a job to go back to, unlike RR774's claimants) and at
  260 weeks (Henderson et al. BMJ 2005: 20% of people on incapacity benefit for 6+ months
  work again within five years; held out for the same reason); how employees' long
  absences end (DWP/DHSC 2019, LFS: of first spells that ended after 26-38 weeks, 0.80
  ended in a return to work, after 52+ weeks 0.56; :func:`rtw_share_by_spell_length`);
  claimants back in work within 65 weeks of the claim (RR774,
  fitted: measured on the model's own claimants, the population RR774 describes); two
  flows out of work from sickness absence per worker-year, each on its source's definition
  (:func:`exit_flows`): every exit from an absence = 0.012 (Black & Frost 2011: ~300,000
  employees a year go from sick leave on to claim health-related benefits) and exits after
  an absence of more than 4 weeks = 0.0045 (DWP/DHSC 2019, LFS: over 100,000 a year);
  women's absence rate / men's = 1.5 (ONS 2022, 2024; held out). Retired people are left
  out of the persistence denominators (the sources are about people of working age).

Days per worker are on the ONS definition (``outcomes.working_days_per_year`` = 219), so
they equal 219 x the absence rate.

A week is the model's shortest spell, so "<= 7 days" maps to 1-week spells, "8 days-4
weeks" to 2-4 weeks and "> 4 weeks" to 5+ weeks.

Fitting (``experiments/calibrate.py``, ``configs/analysis/calibrate.yaml``). The objective
is a weighted sum of squared z-scores over the fitted targets,

    J(x) = sum_t w_t * ((simulated_t(x) - target_t) / h_t) ** 2,

where ``h_t`` is the half-width of the target's 95% interval in the evidence registry
(``configs/evidence/uk_targets.yaml``; no source published one, so every interval is an
assumption stated there) rescaled like the target (the spell shares by 1/1.02). ``x`` are
multipliers on baseline hazards (scale factors of :mod:`sim.uncertainty.factors`);
:func:`fit` minimises ``J`` with ``scipy.optimize.minimize`` on ``log x`` within bounds,
starting from the hand-tuned baseline (all multipliers 1). The pure pieces
(:func:`objective`, :func:`z_scores`, :func:`fit`) take any ``stats_fn(x) -> {target:
value}``; :func:`simulated_targets` is the model's (a run without the output tables).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.engine.categories import ABSENT, PHASED, RETIRED, WORKING
from sim.engine.model import RTWModel
from sim.evidence.registry import load_registry
from sim.results.outcomes import agent_outcomes, days_per_week, spell_table

LENGTH_SHARES_AS_PRINTED = (0.66, 0.16, 0.20)
TARGETS = {
    "remain_off_52w_given_off_6w": (0.20, "HSE 2004: one in five off sick at six weeks remain off"),
    "absence_rate": (0.022, "ONS 2019, 2022, 2023, 2024: 1.9%, 2.6%, 2.3%, 2.0% of working "
                            "hours lost to sickness (mean of four years; 2022 was a high year)"),
    "days_lost_per_worker_year": (4.8, "ONS 2019, 2022, 2023, 2024: 4.2, 5.7, 4.9, 4.4 days "
                                       "per worker (mean)"),
    "spells_1_week": (0.66 / 1.02, "NICE PH19 (CIPD/CBI): 66% of absences <= 7 days, rescaled"),
    "spells_2_4_weeks": (0.16 / 1.02, "NICE PH19 (CIPD/CBI): 16% 8 days-4 weeks, rescaled"),
    "spells_5plus_weeks": (0.20 / 1.02, "NICE PH19 (CIPD/CBI): 20% > 4 weeks, rescaled"),
    "top5pct_spells_share_of_time": (0.40, "NICE PH19: 5% of absences = 40% of time lost"),
    # pathways v2 (issue 14): persistence of long-term absence and flows
    "in_work_104w_given_absent_26w": (
        0.26, "DWP RR774: 26% of ESA claimants in work before claiming back in work 12-18 "
              "months after the claim (claims follow the end of SSP at 28 weeks)"),
    "in_work_260w_given_absent_26w": (
        0.20, "Henderson et al. BMJ 2005: only 20% of people on incapacity benefit for more "
              "than six months return to work in the following five years"),
    "claimants_in_work_within_65w": (
        0.26, "DWP RR774: 26% of ESA claimants in work before claiming back in work 12-18 "
              "months after the claim"),
    "left_work_from_absence_per_worker_year": (
        0.012, "Black & Frost 2011: of about 11 million employees taking sick leave a year, "
               "around 300,000 go on to claim health-related benefits (~25 million employees)"),
    "left_work_after_ltsa_per_worker_year": (
        0.0045, "DWP/DHSC 2019 (LFS): over 100,000 employees a year leave work after a "
                "sickness absence of more than 4 weeks (~26-27 million employees)"),
    "absence_rate_female_to_male": (
        1.5, "ONS 2022 and 2024: women's sickness absence rate 1.45-1.56 x men's"),
    # absence by age (issue 14): ONS days lost per worker by age group, 2018-2022 pooled
    # (16-24 2.7, 35-49 4.3, 50-64 6.1). Onset by age (new_spell.age_hr) was set from these
    # days, which combine onset and duration; with the assumed RTW-by-age multipliers also
    # acting, the check is whether the whole model still reproduces the days by age.
    "absence_rate_age16_24_to_35_49": (
        2.7 / 4.3, "ONS 2018-2022 (LFS): days lost per worker aged 16-24, 2.7, over those "
                   "aged 35-49, 4.3"),
    "absence_rate_age50_64_to_35_49": (
        6.1 / 4.3, "ONS 2018-2022 (LFS): days lost per worker aged 50-64, 6.1, over those "
                   "aged 35-49, 4.3"),
    "absence_rate_imd1_to_imd5": (
        1.41, "Daras et al. BMJ Open 2022: NHS employer, North West England, 2018-19: "
              "sickness absence rate of staff living in the most deprived IMD quintile 1.41 x "
              "the least deprived (adjusted for age and sex)"),
    # the long tail of employees' absences (issue 14): how long-term absences end
    "rtw_share_spells_26_39w": (
        0.80, "DWP/DHSC 2019, Health in the workplace (LFS): of employees' long-term "
              "absences lasting 6-9 months that ended, 80% ended in a return to work"),
    "rtw_share_spells_52w_plus": (
        0.56, "DWP/DHSC 2019, Health in the workplace (LFS): of employees' long-term "
              "absences lasting a year or more that ended, 56% ended in a return to work"),
}
# the registry entry behind each target (its assumed 95% interval sets the z-score scale)
TARGET_EVIDENCE = {
    "remain_off_52w_given_off_6w": "hse2004_one_in_five_remain_off",
    "absence_rate": "ons_absence_rate_2019_2024",
    "days_lost_per_worker_year": "ons_days_per_worker_2019_2024",
    "spells_1_week": "absence_length_le_7_days",
    "spells_2_4_weeks": "absence_length_8d_to_4w",
    "spells_5plus_weeks": "absence_length_ge_4w",
    "top5pct_spells_share_of_time": "absence_longest_5pct_share_time_lost",
    "in_work_104w_given_absent_26w": "dwp_rr774_esa_return_to_work",
    "in_work_260w_given_absent_26w": "henderson2005_ib_six_months_return_5y",
    "claimants_in_work_within_65w": "dwp_rr774_esa_return_to_work",
    "left_work_from_absence_per_worker_year": "black_frost_2011_left_work_from_absence",
    "left_work_after_ltsa_per_worker_year": "dwp_dhsc2019_left_work_after_ltsa",
    "absence_rate_female_to_male": "ons_absence_sex_ratio",
    "absence_rate_age16_24_to_35_49": "ons_absence_age_ratio_16_24_to_35_49",
    "absence_rate_age50_64_to_35_49": "ons_absence_age_ratio_50_64_to_35_49",
    "absence_rate_imd1_to_imd5": "daras2022_absence_imd_q1_q5",
    "rtw_share_spells_26_39w": "dwp_dhsc2019_ltsa_rtw_6_9_months",
    "rtw_share_spells_52w_plus": "dwp_dhsc2019_ltsa_rtw_12_months_plus",
}
# how strong each target's source is (reported next to how close the fit comes)
SOURCE_STRENGTH = {
    "remain_off_52w_given_off_6w": "weak: 2004 press release, definition unclear",
    "absence_rate": "strong: ONS LFS national statistic, four years averaged (2019, 2022-24)",
    "days_lost_per_worker_year": "strong: ONS (equal to 219 x the rate on the ONS definition)",
    "spells_1_week": "moderate: CIPD/CBI employer surveys 2008 via NICE PH19",
    "spells_2_4_weeks": "moderate: as above",
    "spells_5plus_weeks": "moderate: as above",
    "top5pct_spells_share_of_time": "moderate: CBI 2008 via NICE PH19",
    "in_work_104w_given_absent_26w": "weak as mapped: DWP RR774 is about ESA claimants, "
                                     "mapped to everyone still off at 26 weeks",
    "in_work_260w_given_absent_26w": "weak: figure quoted in a BMJ editorial (2005), "
                                     "incapacity-benefit era",
    "claimants_in_work_within_65w": "moderate: DWP RR774 survey (n=1,842 at follow-up), "
                                    "measured on the model's own claimants",
    "left_work_from_absence_per_worker_year": "weak-moderate: a review's rounded count of "
                                              "benefit claims (2011; over half later found "
                                              "fit for work) over an employee count",
    "left_work_after_ltsa_per_worker_year": "moderate: DWP/DHSC official statistics (LFS), "
                                            "'over 100,000' (a rounded lower figure)",
    "absence_rate_female_to_male": "strong: ONS LFS 2022 and 2024",
    "absence_rate_age16_24_to_35_49": "moderate: ONS LFS, five years pooled, as reported by "
                                      "a secondary source (hrreview 2024)",
    "absence_rate_age50_64_to_35_49": "moderate: as above",
    "absence_rate_imd1_to_imd5": "moderate: one NHS employer's staff records (2018-19), "
                                 "published 95% CI",
    "rtw_share_spells_26_39w": "moderate: DWP/DHSC official statistics from the LFS "
                               "(employees, national), no interval published",
    "rtw_share_spells_52w_plus": "moderate: as above (few spells of a year or more in the "
                                 "LFS sample)",
}
COHORT_TARGETS = ("remain_off_52w_given_off_6w", "in_work_104w_given_absent_26w",
                  "in_work_260w_given_absent_26w", "claimants_in_work_within_65w",
                  "rtw_share_spells_26_39w", "rtw_share_spells_52w_plus")
# how-absences-end bands (weeks, [low, high)): DWP/DHSC 2019's 6-9 months and a year or more
SPELL_END_BANDS = {"rtw_share_spells_26_39w": (26, 39), "rtw_share_spells_52w_plus": (52, None)}
# the observed weeks a target needs (a fitted target the horizon cannot reach is an error)
TARGET_MIN_HORIZON = {"remain_off_52w_given_off_6w": 52, "in_work_104w_given_absent_26w": 104,
                      "in_work_260w_given_absent_26w": 260, "claimants_in_work_within_65w": 66,
                      "rtw_share_spells_26_39w": 52, "rtw_share_spells_52w_plus": 104}
# the population preset whose runs give each target
TARGET_POPULATION = {t: ("fit_note_cohort" if t in COHORT_TARGETS else "workforce")
                     for t in TARGETS}


def continuously_absent(agents: pd.DataFrame, week: int) -> np.ndarray:
    """Off work since the first onset without any return up to ``week`` (the sources'
    "off sick for six weeks / six months"; a relapse spell at ``week`` does not count)."""
    first = agents["first_rtw"].to_numpy()
    return (agents["first_onset"].to_numpy() == 0) & ((first < 0) | (first > week))


def first_spell_end(agents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(end_week, ended_in_rtw)`` of each person's first absence spell: the week it
    ended in a return to work (``first_rtw``) or in leaving work (job loss or inactivity,
    whichever came first), -1 if it had not ended within the horizon or ended otherwise
    (retirement). Spells start at ``first_onset``."""
    rtw = agents["first_rtw"].to_numpy().astype(np.int64)
    lost = agents["job_loss_week"].to_numpy().astype(np.int64)
    inactive = agents["inactive_week"].to_numpy().astype(np.int64)
    never = np.iinfo(np.int64).max
    left = np.minimum(np.where(lost >= 0, lost, never), np.where(inactive >= 0, inactive, never))
    onset = agents["first_onset"].to_numpy().astype(np.int64)
    left = np.where(left >= onset, left, never)  # an exit before the spell is not its end
    returned = (rtw >= 0) & (rtw <= left)
    end = np.where(returned, rtw, np.where(left < never, left, -1))
    end = np.where((onset >= 0) & (end >= 0), end - np.maximum(onset, 0), -1)
    return end, returned


def exits_from_absence(agents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(exit_week, long)`` per person: the week of the first exit from a sickness absence
    to out of work during the observation (job loss, or inactivity straight from the
    absence; -1 if none), and whether that absence had lasted 5+ weeks ("more than 4
    weeks"): 1 long, 0 not, -1 unknown.

    The length is known exactly when the absence is the person's first one observed
    (``first_onset`` at or before the exit, no return in between), and known to be long when
    it began before the observation and the exit came at week 4 or later. An exit from a
    later absence (after a return), or within 4 weeks of the start of observation from an
    absence that began before it, is unknown.
    """
    never = np.iinfo(np.int64).max
    lost = agents["job_loss_week"].to_numpy().astype(np.int64)
    inactive = agents["inactive_week"].to_numpy().astype(np.int64)
    sep = agents["separation_week"].to_numpy().astype(np.int64)
    # inactivity straight from an absence: not after a job loss or ordinary separation
    straight = (inactive >= 0) & ((lost < 0) | (lost > inactive)) & ((sep < 0) | (sep > inactive))
    exit_week = np.minimum(np.where(lost >= 0, lost, never), np.where(straight, inactive, never))
    exit_week = np.where(exit_week < never, exit_week, -1)
    onset = agents["first_onset"].to_numpy().astype(np.int64)
    rtw = agents["first_rtw"].to_numpy().astype(np.int64)
    first = (onset >= 0) & (onset <= exit_week) & ((rtw < 0) | (rtw > exit_week))
    before = (onset < 0) | (onset > exit_week)  # the absence began before the observation
    long = np.full(exit_week.shape, -1, dtype=np.int8)
    long[first] = (exit_week - onset)[first] >= 5
    long[before & (exit_week >= 4)] = 1
    long[exit_week < 0] = -1
    return exit_week, long


def exit_flows(agents: pd.DataFrame, worker_years: float) -> dict:
    """The two UK flows out of work from sickness absence, per worker-year.

    ``left_work_from_absence_per_worker_year`` (Black & Frost 2011: employees going from sick
    leave on to claim health-related benefits, whatever the claim's outcome; over half were
    then found fit for work, so the model's job losses to unemployment count as well as its
    exits to inactivity): every first exit from an absence.
    ``left_work_after_ltsa_per_worker_year`` (DWP/DHSC 2019, LFS: left work after an absence
    of more than 4 weeks): the same exits times the share of them that followed an absence
    of 5+ weeks, among exits whose absence length is known (:func:`exits_from_absence`).
    """
    exit_week, long = exits_from_absence(agents)
    n_exits = int(np.sum(exit_week >= 0))
    out = {"left_work_from_absence_per_worker_year": n_exits / worker_years}
    known = long >= 0
    if known.any():
        out["left_work_after_ltsa_per_worker_year"] = float(
            n_exits * np.mean(long[known] == 1) / worker_years)
    return out


def rtw_share_by_spell_length(agents: pd.DataFrame, low: int, high: int | None) -> float:
    """Of first absence spells that ended after ``low`` to ``high`` weeks ([low, high)),
    the share that ended in a return to work rather than leaving work (the LFS measure of
    DWP/DHSC 2019: spells still running, or ended by retirement, are left out)."""
    end, returned = first_spell_end(agents)
    sel = (end >= low) & ((end < high) if high is not None else True)
    return float(returned[sel].mean()) if sel.any() else np.nan


def standardised_absence_rates(a: pd.DataFrame, hours: float, by: str = "imd_quintile",
                               strata=("age_band", "sex")) -> pd.Series:
    """Absence rate (share of employed weeks absent, phased weeks part-absent) per ``by``
    group, directly standardised to the age-sex mix of all employed weeks (the sources
    adjust for age and sex). Strata a group lacks are left out of its weights."""
    off = a["weeks_absent"].to_numpy() + (1 - hours) * a["weeks_phased"].to_numpy()
    emp = (a["weeks_working"].to_numpy() + a["weeks_phased"].to_numpy()
           + a["weeks_absent"].to_numpy())
    df = pd.DataFrame({"group": a[by].to_numpy(), "off": off, "emp": emp})
    # each person's stratum as an integer that sorts as its "age|sex" key does: the same
    # groups, in the same order, summed the same way as grouping by the text keys, which
    # cost ~0.9 s at a million people to build (issue 19)
    df["stratum"] = _stratum_ranks(a, strata)
    cell = df.groupby(["group", "stratum"], observed=True)[["off", "emp"]].sum()
    weight = df.groupby("stratum")["emp"].sum()
    out = {}
    for g, sub in cell.groupby(level=0):
        sub = sub.droplevel(0)
        sub = sub[sub["emp"] > 0]
        w = weight.reindex(sub.index).to_numpy(dtype=float)
        out[g] = (float(np.sum(w * sub["off"] / sub["emp"]) / w.sum()) if w.sum() > 0
                  else np.nan)
    return pd.Series(out, dtype=float)


def _stratum_ranks(a: pd.DataFrame, strata) -> np.ndarray:
    """Each row's stratum (a combination of the ``strata`` columns) as the rank of its text
    key ``"<value>|<value>"`` (each value as ``astype(str)`` writes it) among every possible
    combination's key, in sorted order."""
    import itertools

    codes, labels = [], []
    for col in strata:
        column = a[col]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes.append(column.cat.codes.to_numpy().astype(np.int64))
            labels.append(pd.Series(column.cat.categories).astype(str).tolist())
        else:
            values, inverse = np.unique(column.to_numpy(), return_inverse=True)
            codes.append(inverse.astype(np.int64))
            labels.append(pd.Series(values).astype(str).tolist())
    combined = np.zeros(len(a), dtype=np.int64)
    for code, label in zip(codes, labels, strict=True):
        combined *= len(label)
        combined += code
    keys = ["|".join(parts) for parts in itertools.product(*labels)]  # in combined's order
    rank = np.empty(len(keys), dtype=np.int64)
    rank[np.argsort(np.array(keys, dtype=object), kind="stable")] = np.arange(len(keys))
    return rank[combined]


def imd_absence_ratio(a: pd.DataFrame, hours: float) -> float:
    """Age-sex standardised absence rate, most deprived IMD quintile (1) / least (5)."""
    rates = standardised_absence_rates(a, hours)
    if 1 not in rates.index or 5 not in rates.index or not rates[5] > 0:
        return np.nan
    return float(rates[1] / rates[5])


AGE_RATIO_TARGETS = {"absence_rate_age16_24_to_35_49": "16-24",
                     "absence_rate_age50_64_to_35_49": "50-64"}


def age_absence_ratios(a: pd.DataFrame, hours: float) -> dict:
    """Absence rate of each age band in :data:`AGE_RATIO_TARGETS` over that of ages 35-49,
    from the first observed year (``*_y1`` columns), when almost everyone is still in the
    age band they started in (ONS counts age at the survey; over five years a third of
    people would have moved on). A run of one year or less has no ``*_y1`` columns: its
    totals are that year."""
    suffix = "_y1" if "weeks_absent_y1" in a else ""
    need = [f"weeks_{s}{suffix}" for s in ("absent", "phased", "working")]
    if not all(c in a for c in need):
        return {}
    absent, phased, working = (a[c].to_numpy() for c in need)
    off = absent + (1 - hours) * phased
    emp = working + phased + absent
    band = a["age_band"].astype(str).to_numpy()

    def rate(name):
        m = band == name
        e = emp[m].sum()
        return off[m].sum() / e if e > 0 else np.nan

    ref = rate("35-49")
    out = {}
    for target, name in AGE_RATIO_TARGETS.items():
        r = rate(name)
        if np.isfinite(r) and np.isfinite(ref) and ref > 0:
            out[target] = float(r / ref)
    return out


def per_replicate(agents: pd.DataFrame, spells: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    mode = cfg["population"]["mode"]
    horizon = int(cfg["horizon_weeks"])
    hours = cfg["pathways"]["phased_return"]["hours_fraction"]
    day_weeks = days_per_week(cfg)
    rows = []
    for rep, a in agents.groupby("replicate", observed=True):
        stats = {}
        if mode == "cohort":
            if "state_week_6" in a and "state_week_52" in a:
                # retirement (State Pension age, early retirement at 50-64) is not
                # "remaining off work" in HSE's sense: retired people are left out
                s52 = a["state_week_52"].cat.codes.to_numpy()
                off6 = (a["state_week_6"].cat.codes.to_numpy() == ABSENT) & (s52 != RETIRED)
                off6 &= continuously_absent(a, 6)
                not_working = (s52 != WORKING) & (s52 != PHASED)
                if off6.any():
                    stats["remain_off_52w_given_off_6w"] = float(not_working[off6].mean())
            if "state_week_26" in a:
                off26 = ((a["state_week_26"].cat.codes.to_numpy() == ABSENT)
                         & continuously_absent(a, 26))
                for w in (104, 260):
                    if f"state_week_{w}" in a:
                        sw = a[f"state_week_{w}"].cat.codes.to_numpy()
                        keep = off26 & (sw != RETIRED)  # working-age, as the sources
                        if keep.any():
                            stats[f"in_work_{w}w_given_absent_26w"] = float(
                                ((sw == WORKING) | (sw == PHASED))[keep].mean())
            if "job_loss_week" in a and "inactive_week" in a:
                for name, (low, high) in SPELL_END_BANDS.items():
                    if high is None or high <= horizon:
                        share = rtw_share_by_spell_length(a, low, high)
                        if np.isfinite(share):
                            stats[name] = share
            if "benefit_week" in a:
                claim = a["benefit_week"].to_numpy().astype(np.int64)
                back = a["reemployed_week"].to_numpy().astype(np.int64)
                followed = (claim >= 0) & (claim + 65 <= horizon)
                if followed.any():
                    ok = (back >= claim) & (back <= claim + 65)
                    stats["claimants_in_work_within_65w"] = float(ok[followed].mean())
        else:
            absent_weeks = a["weeks_absent"].sum() + (1 - hours) * a["weeks_phased"].sum()
            employed_weeks = a["weeks_working"].sum() + a["weeks_phased"].sum() + a[
                "weeks_absent"].sum()
            if employed_weeks > 0:
                stats["absence_rate"] = float(absent_weeks / employed_weeks)
                stats["days_lost_per_worker_year"] = float(
                    day_weeks * absent_weeks / (employed_weeks / 52.0))
            if "separation_week" in a and employed_weeks > 0:
                stats.update(exit_flows(a, employed_weeks / 52.0))
            female = (a["sex"] == "female").to_numpy()
            rates = []
            for mask in (female, ~female):
                emp = (a["weeks_working"].to_numpy()[mask].sum()
                       + a["weeks_phased"].to_numpy()[mask].sum()
                       + a["weeks_absent"].to_numpy()[mask].sum())
                off = (a["weeks_absent"].to_numpy()[mask].sum()
                       + (1 - hours) * a["weeks_phased"].to_numpy()[mask].sum())
                rates.append(off / emp if emp > 0 else np.nan)
            if np.all(np.isfinite(rates)) and rates[1] > 0:
                stats["absence_rate_female_to_male"] = float(rates[0] / rates[1])
            stats.update(age_absence_ratios(a, hours))
            ratio = imd_absence_ratio(a, hours)
            if np.isfinite(ratio):
                stats["absence_rate_imd1_to_imd5"] = ratio
            s = spells[spells["replicate"] == rep]
            lengths = np.repeat(s["weeks"].to_numpy(), s["spells"].to_numpy())
            if lengths.size:
                stats["spells_1_week"] = float(np.mean(lengths <= 1))
                stats["spells_2_4_weeks"] = float(np.mean((lengths >= 2) & (lengths <= 4)))
                stats["spells_5plus_weeks"] = float(np.mean(lengths >= 5))
                ordered = np.sort(lengths)[::-1]
                top = max(1, int(round(0.05 * ordered.size)))
                stats["top5pct_spells_share_of_time"] = float(ordered[:top].sum() / ordered.sum())
        for name, value in stats.items():
            rows.append({"replicate": rep, "target": name, "simulated": value})
    return pd.DataFrame(rows, columns=["replicate", "target", "simulated"])


def calibration_table(agents: pd.DataFrame, spells: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Target vs simulated (mean and range over replicates) for the targets this mode has."""
    per = per_replicate(agents, spells, cfg)
    if per.empty:
        return pd.DataFrame(columns=["target", "target_value", "simulated", "sim_low",
                                     "sim_high", "difference", "source"])
    g = per.groupby("target")["simulated"]
    out = pd.DataFrame({"simulated": g.mean(), "sim_low": g.min(), "sim_high": g.max()})
    out["target_value"] = [TARGETS[t][0] for t in out.index]
    out["difference"] = out["simulated"] - out["target_value"]
    out["source"] = [TARGETS[t][1] for t in out.index]
    out = out.reset_index()
    order = {name: i for i, name in enumerate(TARGETS)}
    out = out.sort_values("target", key=lambda s: s.map(order)).reset_index(drop=True)
    return out[["target", "target_value", "simulated", "sim_low", "sim_high", "difference",
                "source"]]


_per_replicate = per_replicate  # the earlier private name


# ---- fitting ------------------------------------------------------------------------------


def target_intervals(registry: Mapping | None = None) -> dict[str, tuple[float, float, float]]:
    """``{target: (value, low, high)}``: the target and its assumed 95% interval.

    The interval is the registry entry's (:data:`TARGET_EVIDENCE`), rescaled by target /
    registry value, so the spell shares (printed 66/16/20%, rescaled to sum to 1) keep
    their relative width.
    """
    if registry is None:

        registry = load_registry()
    out = {}
    for name, (value, _) in TARGETS.items():
        entry = registry[TARGET_EVIDENCE[name]]
        ratio = value / float(entry.value)
        out[name] = (value, entry.ci[0] * ratio, entry.ci[1] * ratio)
    return out


def z_scores(simulated: Mapping[str, float], targets: Mapping[str, float],
             tolerances: Mapping[str, float]) -> dict[str, float]:
    """``(simulated - target) / tolerance`` per target (NaN where nothing was simulated)."""
    out = {}
    for name, target in targets.items():
        value = simulated.get(name, math.nan)
        value = math.nan if value is None else float(value)
        out[name] = (value - target) / tolerances[name]
    return out


def objective(simulated: Mapping[str, float], targets: Mapping[str, float],
              tolerances: Mapping[str, float],
              weights: Mapping[str, float] | None = None) -> float:
    """Weighted sum of squared z-scores over ``targets`` (weight 1 unless given).

    A target the run could not compute (missing or not finite) makes the objective
    infinite, so an optimiser moves away from such a point.
    """
    total = 0.0
    for name, z in z_scores(simulated, targets, tolerances).items():
        w = 1.0 if weights is None else float(weights.get(name, 0.0))
        if w == 0:
            continue
        if not math.isfinite(z):
            return math.inf
        total += w * z * z
    return total


@dataclass
class FitResult:
    names: list[str]
    x: np.ndarray              # fitted multipliers (the best point evaluated)
    objective: float
    stats: dict                # simulated targets at x
    start_x: np.ndarray
    start_objective: float
    start_stats: dict
    evaluations: int
    method: str
    message: str
    seconds: float
    trace: pd.DataFrame = field(repr=False)  # every evaluation: multipliers, objective, stats


METHODS = ("Nelder-Mead", "Powell")


def fit(stats_fn: Callable[[np.ndarray], Mapping[str, float]], factors: Sequence,
        targets: Mapping[str, float], tolerances: Mapping[str, float],
        weights: Mapping[str, float] | None = None, x0: Sequence[float] | None = None,
        method: str = "Nelder-Mead", max_evaluations: int = 300, xatol: float = 1e-3,
        fatol: float = 1e-3, initial_step: float = 0.1,
        progress: Callable[[str], None] | None = print, every: int = 10) -> FitResult:
    """Minimise :func:`objective` of ``stats_fn(x)`` over multipliers ``x`` within bounds.

    ``factors``: objects with ``name``, ``low``, ``high``, ``nominal`` (the start unless
    ``x0`` is given; :class:`sim.uncertainty.factors.Factor`). The optimiser works on
    ``log x`` (multipliers act on the log scale, and bounds stay symmetric for ratios):
    ``scipy.optimize.minimize`` with ``method`` Nelder-Mead (initial simplex: the start
    and one vertex per factor ``initial_step`` away in log terms, i.e. about +10%) or
    Powell, both with bounds. ``xatol`` (log scale) and ``fatol`` stop it; at most
    ``max_evaluations`` calls of ``stats_fn``. A repeated point is not re-run.
    ``progress`` receives a line every ``every`` evaluations.
    """
    from scipy.optimize import minimize

    if method not in METHODS:
        raise ValueError(f"optimiser.method: got {method!r}, expected one of {list(METHODS)}")
    names = [f.name for f in factors]
    lo = np.log([f.low for f in factors])
    hi = np.log([f.high for f in factors])
    start = np.array([f.nominal for f in factors] if x0 is None else x0, dtype=float)
    u0 = np.log(start)
    if np.any(u0 < lo) or np.any(u0 > hi):
        raise ValueError("fit: the start is outside the factors' bounds")
    rows: list[dict] = []
    cache: dict[tuple, float] = {}
    best = {"f": math.inf}
    t0 = time.perf_counter()

    def f(u):
        u = np.clip(np.asarray(u, dtype=float), lo, hi)
        key = tuple(np.round(u, 12))
        if key in cache:
            return cache[key]
        if len(rows) >= max_evaluations:
            return math.inf  # over budget (Powell may ask for a few more): best is kept
        x = np.exp(u)
        stats = dict(stats_fn(x))
        value = objective(stats, targets, tolerances, weights)
        cache[key] = value
        rows.append({"evaluation": len(rows) + 1, **dict(zip(names, x, strict=True)),
                     "objective": value, **{f"sim_{k}": v for k, v in stats.items()}})
        if value < best["f"]:
            best.update(f=value, x=x, stats=stats)
        k = len(rows)
        if progress is not None and (k == 1 or k % every == 0):
            progress(f"  eval {k:4d}  objective {value:10.4g}  best {best['f']:10.4g}  "
                     + " ".join(f"{n}={v:.3f}" for n, v in zip(names, best["x"], strict=True))
                     + f"  ({time.perf_counter() - t0:.0f} s)")
        return value

    start_value = f(u0)
    start_stats = dict(best["stats"])
    bounds = list(zip(lo, hi, strict=True))
    if method == "Nelder-Mead":
        simplex = [u0]
        for i in range(len(u0)):
            v = u0.copy()
            v[i] += initial_step if u0[i] + initial_step <= hi[i] else -initial_step
            simplex.append(v)
        options = {"maxfev": max_evaluations, "xatol": xatol, "fatol": fatol,
                   "initial_simplex": np.array(simplex), "adaptive": len(u0) > 3}
    else:
        options = {"maxfev": max_evaluations, "xtol": xatol, "ftol": fatol}
    res = minimize(f, u0, method=method, bounds=bounds, options=options)
    message = str(res.message)
    if len(rows) >= max_evaluations:
        message = f"stopped at the evaluation budget ({max_evaluations}); {message}"
    if progress is not None:
        progress(f"  done: {len(rows)} evaluations, objective {start_value:.4g} -> "
                 f"{best['f']:.4g} ({message})")
    return FitResult(names=names, x=np.asarray(best["x"]), objective=float(best["f"]),
                     stats=dict(best["stats"]), start_x=start, start_objective=start_value,
                     start_stats=start_stats, evaluations=len(rows), method=method,
                     message=message, seconds=time.perf_counter() - t0,
                     trace=pd.DataFrame(rows))


def simulated_targets(cfg: dict) -> pd.DataFrame:
    """Per-replicate simulated targets of a validated config: the run alone, without
    the output tables ``simulate`` builds (a fraction of its time)."""

    model = RTWModel(cfg)
    model.run()
    return per_replicate(agent_outcomes(model), spell_table(model), cfg)
