"""Costs by perspective and cost-effectiveness of a design against usual care.

Per person, from weeks spent in each state in each year (year one undiscounted, later
years discounted at ``economics.discount_rate``, 3.5% in the NICE reference case):

* **programme** (NHS / commissioner): the components' per-participant and per-week costs,
  discounted by the year the person started;
* **employer**: sick pay (Statutory Sick Pay for up to ``ssp_max_weeks`` of each spell,
  topped up to full pay for ``occupational_sick_pay_weeks`` by the share of employers of
  that size who do so) and lost output valued at the wage (human-capital method: weeks
  absent plus the unworked share of phased weeks), plus recruitment after a job loss;
* **Exchequer**: out-of-work benefits while unemployed or inactive, and tax and NI lost on
  earnings not made (out of work, or on sick pay instead of wages);
* **individual**: net income lost (after tax, net of sick pay and benefits);
* **societal**: programme + lost production + recruitment (transfers such as sick pay,
  benefits and tax are excluded because they cancel out across perspectives).

Spell-level sick pay is approximated from totals: a person with ``s`` spells and ``w``
weeks absent gets SSP for ``min(w, 28 s)`` weeks, spread over years in proportion to their
absent weeks.

The comparison of a design with usual care is paired: the same people with the same random
numbers in both arms, so per-replicate differences have tight intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.categories import STATES

PERSPECTIVES = ("programme", "employer", "exchequer", "individual", "societal")


def discount_factors(n_years: int, rate: float) -> np.ndarray:
    """1 for year one, then 1/(1+rate)^k for year k+1."""
    return 1.0 / (1.0 + rate) ** np.arange(n_years)


def _weeks_by_year(agents: pd.DataFrame) -> dict[str, np.ndarray]:
    """{state: [year, person] weeks}; one year when per-year columns are absent."""
    years = sorted({int(c.rsplit("_y", 1)[1]) for c in agents.columns
                    if c.startswith("weeks_working_y")})
    if not years:
        return {s: agents[f"weeks_{s}"].to_numpy()[None, :].astype(float) for s in STATES}
    return {s: np.stack([agents[f"weeks_{s}_y{y}"].to_numpy() for y in years]).astype(float)
            for s in STATES}


def person_costs(agents: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Discounted costs (GBP) by perspective and discounted weeks, one row per person."""
    econ = cfg["economics"]
    hours = cfg["pathways"]["phased_return"]["hours_fraction"]
    weeks = _weeks_by_year(agents)
    n_years = weeks["working"].shape[0]
    disc = discount_factors(n_years, econ["discount_rate"])[:, None]
    manual = (agents["occupation"] == "manual").to_numpy()
    wage = np.where(manual, econ["weekly_wage"]["manual"], econ["weekly_wage"]["non_manual"])
    sme = (agents["employer_size"] == "sme").to_numpy()
    osp_share = np.where(sme, econ["occupational_sick_pay"]["sme"],
                         econ["occupational_sick_pay"]["large"])
    tax = econ["tax_and_ni_share"]

    absent = weeks["absent"]
    total_absent = absent.sum(axis=0)
    spells = np.maximum(agents["spells"].to_numpy(), 1)
    share_by_year = np.divide(absent, total_absent, out=np.zeros_like(absent),
                              where=total_absent > 0)
    ssp_weeks = np.minimum(total_absent, econ["ssp_max_weeks"] * spells) * share_by_year
    osp_weeks = np.minimum(total_absent, econ["occupational_sick_pay_weeks"] * spells) * (
        share_by_year)
    sick_pay = econ["ssp_weekly"] * ssp_weeks + osp_share * (
        wage - econ["ssp_weekly"]) * osp_weeks
    unpaid_output = absent + (1.0 - hours) * weeks["phased"]
    out_of_work = weeks["unemployed"] + weeks["inactive"]
    benefits = (econ["benefit_weekly"]["unemployed"] * weeks["unemployed"]
                + econ["benefit_weekly"]["inactive"] * weeks["inactive"])
    lost_output = wage * unpaid_output
    lost_earnings = wage * (out_of_work + absent + (1.0 - hours) * weeks["phased"]) - sick_pay

    job_loss_week = agents["job_loss_week"].to_numpy()
    recruitment = np.zeros_like(absent)
    lost = job_loss_week >= 0
    year_of_loss = np.minimum(np.maximum(job_loss_week - 1, 0) // 52, n_years - 1)
    recruitment[year_of_loss[lost], np.flatnonzero(lost)] = econ[
        "recruitment_cost_per_job_loss"]

    start = agents["programme_start_week"].to_numpy()
    start_year = np.minimum(np.maximum(start, 0) // 52, n_years - 1)
    programme = agents["programme_cost"].to_numpy() * disc[start_year, 0]

    def d(x):
        return (x * disc).sum(axis=0)

    out = pd.DataFrame({
        "replicate": agents["replicate"].to_numpy(),
        "person_id": agents["person_id"].to_numpy(),
        "cost_programme": programme,
        "cost_employer_sick_pay": d(sick_pay),
        "cost_employer_lost_output": d(lost_output),
        "cost_employer_recruitment": d(recruitment),
        "cost_exchequer_benefits": d(benefits),
        "cost_exchequer_lost_tax": d(tax * lost_earnings),
        "cost_individual_lost_income": d((1.0 - tax) * lost_earnings - benefits),
        "weeks_in_work_disc": d(weeks["working"] + weeks["phased"]),
        "weeks_absent_disc": d(absent),
    })
    out["cost_employer"] = (out["cost_employer_sick_pay"] + out["cost_employer_lost_output"]
                            + out["cost_employer_recruitment"])
    out["cost_exchequer"] = out["cost_exchequer_benefits"] + out["cost_exchequer_lost_tax"]
    out["cost_individual"] = out["cost_individual_lost_income"]
    out["cost_societal"] = (out["cost_programme"] + d(wage * (unpaid_output + out_of_work))
                            + out["cost_employer_recruitment"])
    return out


def _interval(values: np.ndarray, level: float = 0.95):
    """Mean and t interval over replicates (NaN interval with one replicate)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(
        values.size)
    return mean, mean - half, mean + half


def compare(design_agents: pd.DataFrame, usual_agents: pd.DataFrame, cfg: dict,
            rtw_week: int = 52) -> pd.DataFrame:
    """Paired economic comparison of a design with usual care, by replicate and pooled.

    Rows: one per measure; columns: estimate (mean over replicates), low, high (t interval
    over replicates). Costs are per person in the population; ``cost_per_extra_rtw`` is the
    programme cost per additional person back at work within ``rtw_week`` weeks;
    ``cost_per_week_absence_averted`` the programme cost per discounted week of absence
    averted; ``nmb_per_person`` the commissioner's net monetary benefit per person at the
    configured willingness to pay per week in work.
    """
    econ = cfg["economics"]
    wtp = econ["willingness_to_pay_per_week_in_work"]
    dc, uc = person_costs(design_agents, cfg), person_costs(usual_agents, cfg)
    per_rep = []
    for rep in sorted(dc["replicate"].unique()):
        a, b = dc[dc["replicate"] == rep], uc[uc["replicate"] == rep]
        da = design_agents[design_agents["replicate"] == rep]
        ua = usual_agents[usual_agents["replicate"] == rep]
        row = {"replicate": rep}
        for p in PERSPECTIVES:
            row[f"delta_cost_{p}"] = a[f"cost_{p}"].mean() - b[f"cost_{p}"].mean()
        extra_rtw = _returned(da, rtw_week).sum() - _returned(ua, rtw_week).sum()
        absence_averted = b["weeks_absent_disc"].sum() - a["weeks_absent_disc"].sum()
        programme_total = a["cost_programme"].sum() - b["cost_programme"].sum()
        row["extra_rtw_per_1000"] = 1000.0 * extra_rtw / len(da)
        row["weeks_absence_averted_per_person"] = absence_averted / len(da)
        row["delta_weeks_in_work_per_person"] = (a["weeks_in_work_disc"].mean()
                                                 - b["weeks_in_work_disc"].mean())
        row["cost_per_extra_rtw"] = programme_total / extra_rtw if extra_rtw > 0 else np.nan
        row["cost_per_week_absence_averted"] = (programme_total / absence_averted
                                                if absence_averted > 0 else np.nan)
        row["nmb_per_person"] = wtp * row["delta_weeks_in_work_per_person"] - row[
            "delta_cost_programme"]
        per_rep.append(row)
    per_rep = pd.DataFrame(per_rep)
    rows = []
    for measure in per_rep.columns.drop("replicate"):
        values = per_rep[measure].to_numpy()
        finite = values[np.isfinite(values)]
        est = _interval(finite) if finite.size else (np.nan, np.nan, np.nan)
        rows.append({"measure": measure, "estimate": est[0], "low": est[1], "high": est[2],
                     "replicates": int(finite.size)})
    return pd.DataFrame(rows)


def _returned(agents: pd.DataFrame, week: int) -> np.ndarray:
    onset = agents["first_onset"].to_numpy()
    rtw = agents["weeks_to_rtw"].to_numpy()
    return (onset >= 0) & (agents["first_rtw"].to_numpy() >= 0) & (rtw <= week)


# Cell-level economics table (written by every run, so a report needs no per-agent data)

ECONOMICS_DIMENSIONS = ("all", "imd_quintile", "ethnicity", "condition", "imd_ethnicity")
COST_COLUMNS = ("cost_programme", "cost_employer", "cost_employer_sick_pay",
                "cost_employer_lost_output", "cost_employer_recruitment", "cost_exchequer",
                "cost_exchequer_benefits", "cost_exchequer_lost_tax", "cost_individual",
                "cost_societal")


def _economics_codes(agents: pd.DataFrame, dimension: str):
    if dimension == "all":
        return np.zeros(len(agents), dtype=np.int64), ["all"]
    imd = agents["imd_quintile"].to_numpy().astype(np.int64) - 1
    if dimension == "imd_quintile":
        return imd, ["1", "2", "3", "4", "5"]
    if dimension == "imd_ethnicity":
        eth = agents["ethnicity"]
        cats = list(eth.cat.categories)
        codes = imd * len(cats) + eth.cat.codes.to_numpy().astype(np.int64)
        return codes, [f"{q}|{e}" for q in range(1, 6) for e in cats]
    series = agents[dimension]
    return series.cat.codes.to_numpy().astype(np.int64), list(series.cat.categories)


def fixed_cost_per_person(programme: pd.DataFrame, sizes: dict, horizon: int,
                          rate: float) -> dict:
    """Fixed running costs of a design per person, by replicate, discounted by week.

    ``programme`` is the run's programme table (``fixed_cost_gbp`` = weekly fixed cost x
    horizon per component and replicate); fixed costs are shared equally by everyone.
    """
    if programme.empty or "fixed_cost_gbp" not in programme:
        return {rep: 0.0 for rep in sizes}
    disc = discount_factors(horizon // 52 + 1, rate)[np.arange(horizon) // 52].mean()
    total = programme.groupby("replicate")["fixed_cost_gbp"].sum()
    return {rep: float(total.get(rep, 0.0)) * disc / max(n, 1) for rep, n in sizes.items()}


def economics_table(agents: pd.DataFrame, cfg: dict,
                    programme: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per replicate and group: mean discounted cost per person by perspective, discounted
    weeks in work and absent, people returned within ``rtw_window_weeks`` (52, or the
    horizon if shorter) among those followed that long.

    Tidy: replicate, dimension, group, n, rtw_window_weeks, returned, followed, then one
    column per cost (mean GBP per person) and weeks measure. Dimensions: all, IMD quintile,
    ethnicity, condition and IMD quintile x ethnicity (``"1|white_british"``: the subgroups
    a distributional cost-effectiveness analysis works on). Groups with nobody are left out.
    """
    horizon = int(cfg["horizon_weeks"])
    costs = person_costs(agents, cfg)
    window = min(52, horizon)
    onset = agents["first_onset"].to_numpy()
    followed = (onset >= 0) & (onset + window <= horizon)
    returned = followed & _returned(agents, window)
    replicate = agents["replicate"].to_numpy().astype(np.int64)
    n_rep = int(replicate.max()) + 1 if len(agents) else 0
    sizes = {rep: int(c) for rep, c in enumerate(np.bincount(replicate, minlength=n_rep))}
    fixed = fixed_cost_per_person(programme if programme is not None else pd.DataFrame(),
                                  sizes, horizon, cfg["economics"]["discount_rate"])
    fixed_by_person = np.array([fixed[r] for r in range(n_rep)])[replicate] if n_rep else 0.0
    values = {c: costs[c].to_numpy() for c in COST_COLUMNS}
    values["cost_programme"] = values["cost_programme"] + fixed_by_person
    values["cost_societal"] = values["cost_societal"] + fixed_by_person
    values["weeks_in_work_disc"] = costs["weeks_in_work_disc"].to_numpy()
    values["weeks_absent_disc"] = costs["weeks_absent_disc"].to_numpy()
    frames = []
    for dim in ECONOMICS_DIMENSIONS:
        codes, labels = _economics_codes(agents, dim)
        k = len(labels)
        cell = replicate * k + codes
        n = np.bincount(cell, minlength=n_rep * k)
        keep = np.flatnonzero(n > 0)
        frame = {
            "replicate": keep // k,
            "dimension": dim,
            "group": [str(labels[j]) for j in keep % k],
            "n": n[keep].astype(np.int64),
            "rtw_window_weeks": window,
            "returned": np.bincount(cell, weights=returned, minlength=n_rep * k)[keep]
            .astype(np.int64),
            "followed": np.bincount(cell, weights=followed, minlength=n_rep * k)[keep]
            .astype(np.int64),
        }
        for name, v in values.items():
            frame[name] = np.bincount(cell, weights=v, minlength=n_rep * k)[keep] / n[keep]
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)
