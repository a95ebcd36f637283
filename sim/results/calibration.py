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

from sim.engine.model import RTWModel
from sim.evidence.registry import load_registry
from sim.results.calibration_stats import (  # noqa: F401 (the calibration API)
    AGE_RATIO_TARGETS,
    SPELL_END_BANDS,
    age_absence_ratios,
    continuously_absent,
    exit_flows,
    exits_from_absence,
    first_spell_end,
    imd_absence_ratio,
    per_replicate,
    rtw_share_by_spell_length,
    standardised_absence_rates,
)
from sim.results.outcomes import agent_outcomes, spell_table

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
# the observed weeks a target needs (a fitted target the horizon cannot reach is an error)
TARGET_MIN_HORIZON = {"remain_off_52w_given_off_6w": 52, "in_work_104w_given_absent_26w": 104,
                      "in_work_260w_given_absent_26w": 260, "claimants_in_work_within_65w": 66,
                      "rtw_share_spells_26_39w": 52, "rtw_share_spells_52w_plus": 104}
# the population preset whose runs give each target
TARGET_POPULATION = {t: ("fit_note_cohort" if t in COHORT_TARGETS else "workforce")
                     for t in TARGETS}


def calibration_table(agents: pd.DataFrame, spells: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Target vs simulated (mean and range over replicates) for the targets this mode has."""
    per = per_replicate(agents, spells, cfg)
    if per.empty:
        return pd.DataFrame(columns=["target", "target_value", "simulated", "sim_low",
                                     "sim_high", "difference", "source"])
    # grouped by each target's place in TARGETS, so the groups come in the table's order:
    # each target's values in the same (replicate) order, so the same pandas mean (its
    # compensated sum) to the bit, without grouping by text and sorting (issue 19)
    names = list(TARGETS)
    order = {name: i for i, name in enumerate(names)}
    g = per["simulated"].groupby(np.array([order[t] for t in per["target"].tolist()]))
    mean, low, high = g.mean(), g.min(), g.max()
    found = [names[i] for i in mean.index]
    target_value = np.array([TARGETS[t][0] for t in found], dtype=float)
    simulated = mean.to_numpy()
    return pd.DataFrame({
        "target": found, "target_value": target_value, "simulated": simulated,
        "sim_low": low.to_numpy(), "sim_high": high.to_numpy(),
        "difference": simulated - target_value, "source": [TARGETS[t][1] for t in found]})


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
