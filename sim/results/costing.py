"""The per-person accounting of :mod:`sim.results.economics` (see there for the rules):
tax and NI on a week's pay, the benefit a state claims, utilities, discounting, and the
costing of one chunk of people (:func:`_person_costs`) with the kernels of
:mod:`sim.results.economics_sums`. Split from ``economics.py`` (issue 19), which re-exports
every public name here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.categories import ABSENT, INACTIVE, INACTIVE_BENEFIT, STATES, UNEMPLOYED
from sim.errors import ReconciliationError
from sim.results.columns import TableColumns
from sim.results.economics_sums import discounted, nonzero_at, state_sums, weighted_weeks

# Benefit rule: state code -> the ``benefit_weekly`` entry a person in that state would
# claim (ABSENT: only for absent weeks without sick pay). States not listed claim nothing.
# A new state (e.g. unemployed on a particular benefit) adds one line here and one key in
# ``economics.benefit_weekly``.
BENEFIT_RULES: dict[int, str] = {
    ABSENT: "absent_after_sick_pay",
    UNEMPLOYED: "unemployed",
    INACTIVE_BENEFIT: "inactive_benefit",  # ESA / UC with limited capability for work
}  # INACTIVE (for ill health, not on a health benefit) and RETIRED claim nothing here
RECONCILE_TOLERANCE = 1e-6  # GBP per person


def discount_factors(n_years: int, rate: float) -> np.ndarray:
    """1 for year one, then 1/(1+rate)^k for year k+1."""
    return 1.0 / (1.0 + rate) ** np.arange(n_years)


def income_tax(pay, tax: dict) -> np.ndarray:
    """Weekly income tax on weekly gross pay (rUK bands; weekly PAYE, week-1 basis)."""
    pay = np.asarray(pay, dtype=float)
    pa, hr = tax["personal_allowance_weekly"], tax["higher_rate_threshold_weekly"]
    return (tax["basic_rate"] * np.clip(np.minimum(pay, hr) - pa, 0.0, None)
            + tax["higher_rate"] * np.clip(pay - hr, 0.0, None))


def employee_ni(pay, tax: dict) -> np.ndarray:
    """Weekly employee (primary) Class 1 NI: deducted from the worker's pay."""
    pay = np.asarray(pay, dtype=float)
    pt, uel = tax["employee_ni_threshold_weekly"], tax["upper_earnings_limit_weekly"]
    return (tax["employee_ni_rate"] * np.clip(np.minimum(pay, uel) - pt, 0.0, None)
            + tax["employee_ni_upper_rate"] * np.clip(pay - uel, 0.0, None))


def employer_ni(pay, tax: dict) -> np.ndarray:
    """Weekly employer (secondary) Class 1 NI: an employer cost, not a deduction."""
    pay = np.asarray(pay, dtype=float)
    return tax["employer_ni_rate"] * np.clip(pay - tax["employer_ni_threshold_weekly"], 0.0,
                                             None)


def net_pay(pay, tax: dict) -> np.ndarray:
    """Take-home pay: gross less income tax and employee NI."""
    return np.asarray(pay, dtype=float) - income_tax(pay, tax) - employee_ni(pay, tax)


def weekly_benefit(state: int, econ: dict) -> float:
    """GBP a week a person in ``state`` (a code of :data:`sim.engine.categories.STATES`) would
    claim, by :data:`BENEFIT_RULES` (0 for states that claim nothing)."""
    key = BENEFIT_RULES.get(int(state))
    return 0.0 if key is None else float(econ["benefit_weekly"][key])


def state_utilities(econ: dict) -> dict[str, float]:
    """Utility of a week in each state: in-work value plus the state's decrement."""
    base = float(econ["utility_in_work"])
    dec = econ["utility_decrement"]
    return {s: min(1.0, base + (float(dec[s]) if s in dec else 0.0)) for s in STATES}


def _weeks_by_year(agents: TableColumns) -> dict[str, np.ndarray]:
    """{state: [year, person] weeks}; one year when per-year columns are absent."""
    years = sorted({int(c.rsplit("_y", 1)[1]) for c in agents.names
                    if c.startswith("weeks_working_y")})
    if not years:
        return {s: agents[f"weeks_{s}"][None, :].astype(float) for s in STATES}
    out = {}
    for s in STATES:  # each year's integer weeks converted once, into the float rows
        out[s] = np.empty((len(years), len(agents)))
        for row, y in enumerate(years):
            out[s][row] = agents[f"weeks_{s}_y{y}"]
    return out


# The accounting's per-person sums (rows of :func:`_bucket_coefficients`)
MEASURES = ("sick_pay", "net_prod", "benefits", "lost_tax", "lost_income", "lost_output")


def _bucket_coefficients(buckets: list, wage, labour, tax: dict) -> np.ndarray:
    """``[bucket x measure x kind]``: GBP per week in each bucket of each of
    :data:`MEASURES`, per occupation (``buckets``: (pay, benefit, output lost, sick pay?)
    a week; ``wage``, ``labour`` (wage + employer NI), pay and output per occupation)."""
    net_w = net_pay(wage, tax)
    wage_tax = income_tax(wage, tax) + employee_ni(wage, tax) + employer_ni(wage, tax)
    out = []
    for pay, benefit, lost, is_sick_pay in buckets:
        outlay = pay + employer_ni(pay, tax)  # what the employer pays for the week
        zero = np.zeros_like(outlay)
        out.append([
            outlay if is_sick_pay else zero,
            lost - labour if is_sick_pay else lost - (labour - outlay),
            np.full_like(outlay, benefit),
            wage_tax - income_tax(pay, tax) - employee_ni(pay, tax) - employer_ni(pay, tax),
            net_w - net_pay(pay, tax),
            lost,
        ])
    return np.array(out, dtype=float)


# The state whose weeks each bucket of :func:`_bucket_weeks` is (None: worked out)
BUCKET_STATES = ("phased", None, None, None, "unemployed", "inactive", "inactive_benefit")


def _bucket_weeks(agents: TableColumns, weeks: dict, econ: dict) -> list[np.ndarray]:
    """Weeks ``[year x person]`` in each bucket of :func:`_person_costs`: phased, absent on
    full (occupational) pay, on SSP only, absent unpaid, unemployed, inactive, inactive on
    a health benefit."""
    osp = econ["occupational_sick_pay"]
    osp_share = np.where(agents.is_category("employer_size", "sme"), osp["sme"], osp["large"])
    absent = weeks["absent"]
    total_absent = absent.sum(axis=0)
    spells = np.maximum(agents["spells"], 1)
    share_by_year = np.divide(absent, total_absent, out=np.zeros_like(absent),
                              where=total_absent > 0)
    ssp_weeks = np.minimum(total_absent, econ["ssp_max_weeks"] * spells) * share_by_year
    full_pay_weeks = np.minimum(total_absent, econ["occupational_sick_pay_weeks"] * spells)
    full_pay_weeks = np.multiply(full_pay_weeks, share_by_year, out=share_by_year)
    np.minimum(full_pay_weeks, ssp_weeks, out=full_pay_weeks)  # weeks of occupational pay
    np.multiply(osp_share, full_pay_weeks, out=full_pay_weeks)
    return [weeks["phased"], full_pay_weeks, ssp_weeks - full_pay_weeks, absent - ssp_weeks,
            weeks["unemployed"], weeks["inactive"], weeks["inactive_benefit"]]


def _cost_plan(econ: dict, hours: float) -> dict:
    """What the costing of every chunk of people shares: each bucket's GBP a week per
    occupation (:func:`_bucket_coefficients`) and each state's NHS/PSS cost and utility a
    week."""
    tax = econ["tax"]
    wage = np.where([False, True], econ["weekly_wage"]["manual"], econ["weekly_wage"][
        "non_manual"])
    ssp = float(econ["ssp_weekly"])
    labour = wage + employer_ni(wage, tax)  # counterfactual labour cost of a week in work
    value = econ["output_per_labour_cost"] * labour  # output of a week in work
    nothing = np.zeros_like(wage)
    # (gross pay a week, benefit a week, output lost a week, sick pay?) by bucket
    coefficients = _bucket_coefficients([
        (hours * wage, 0.0, (1.0 - hours) * value, False),
        (wage, 0.0, value, True),
        (np.full_like(wage, ssp), 0.0, value, True),
        (nothing, weekly_benefit(ABSENT, econ), value, False),
        (nothing, weekly_benefit(UNEMPLOYED, econ), labour, False),
        (nothing, weekly_benefit(INACTIVE, econ), labour, False),
        (nothing, weekly_benefit(INACTIVE_BENEFIT, econ), labour, False),
    ], wage, labour, tax)  # retired weeks (State Pension age, the same in every arm): no loss
    return {"coefficients": coefficients,
            "state_weights": [econ["nhs_cost_weekly"], state_utilities(econ)]}


def _person_costs(agents: TableColumns, econ: dict, hours: float,
                  plan: dict | None = None) -> dict[str, np.ndarray]:
    """:func:`person_costs` for one chunk of people (``econ`` resolved; ``plan``: its
    :func:`_cost_plan`, if made), as columns. Pay, tax and output are worked out per
    occupation (0 non-manual, 1 manual) and read by each person's ``kind``: the same
    arithmetic on the same values as per person (issue 19). The per-person sums are built
    by :mod:`sim.results.economics_sums`' kernels, the same to the bit as ``sum += weeks *
    coefficient[kind]`` bucket by bucket."""
    plan = plan or _cost_plan(econ, hours)
    weeks = _weeks_by_year(agents)
    n_years = weeks["working"].shape[0]
    disc = discount_factors(n_years, econ["discount_rate"])[:, None]
    kind = agents.is_category("occupation", "manual").astype(np.intp)
    at = {s: nonzero_at(weeks[s]) for s in STATES}  # each state's weeks, for every sum
    buckets = _bucket_weeks(agents, weeks, econ)
    sums = dict(zip(MEASURES, weighted_weeks(
        buckets, plan["coefficients"], kind,
        [at[s] if s else nonzero_at(w) for s, w in zip(BUCKET_STATES, buckets, strict=True)]),
        strict=True))

    job_loss_week = agents["job_loss_week"]
    lost = job_loss_week >= 0
    year_of_loss = np.minimum(np.maximum(job_loss_week - 1, 0) // 52, n_years - 1)
    recruitment = np.zeros(len(lost))  # discounted: (one cost in its year) x discount
    recruitment[lost] = np.float64(econ["recruitment_cost_per_job_loss"]) * disc[
        year_of_loss[lost], 0]

    start = agents["programme_start_week"]
    start_year = np.minimum(np.maximum(start, 0) // 52, n_years - 1)
    programme = agents["programme_cost"] * disc[start_year, 0]

    nhs, qaly = state_sums(weeks, plan["state_weights"], STATES, at)
    np.divide(qaly, 52.0, out=qaly)
    out = {
        "replicate": agents["replicate"],
        "person_id": agents["person_id"],
        "cost_programme": programme,
        "cost_nhs": discounted(nhs, disc),
        "cost_employer_sick_pay": discounted(sums["sick_pay"], disc),
        "cost_employer_net_productivity": discounted(sums["net_prod"], disc),
        "cost_employer_recruitment": recruitment,
        "cost_exchequer_benefits": discounted(sums["benefits"], disc),
        "cost_exchequer_lost_tax": discounted(sums["lost_tax"], disc),
        "cost_individual_lost_income": discounted(sums["lost_income"], disc),
        "cost_lost_output": discounted(sums["lost_output"], disc),
        "qaly_disc": discounted(qaly, disc),
        "weeks_in_work_disc": discounted(weeks["working"] + weeks["phased"], disc),
        "weeks_absent_disc": discounted(weeks["absent"], disc),
    }
    add_perspectives(out)
    reconcile(out)
    return out


def add_perspectives(out: dict) -> dict:
    """Each perspective's total from its parts (employer, exchequer, individual, NHS/PSS
    and societal), added into ``out`` (per-person cost columns); returns ``out``."""
    out["cost_employer"] = (out["cost_employer_sick_pay"] + out["cost_employer_net_productivity"]
                            + out["cost_employer_recruitment"])
    out["cost_exchequer"] = out["cost_exchequer_benefits"] + out["cost_exchequer_lost_tax"]
    out["cost_individual"] = out["cost_individual_lost_income"] - out["cost_exchequer_benefits"]
    out["cost_nhs_pss"] = out["cost_programme"] + out["cost_nhs"]
    out["cost_societal"] = (out["cost_programme"] + out["cost_nhs"] + out["cost_lost_output"]
                            + out["cost_employer_recruitment"])
    return out


def reconcile(costs: pd.DataFrame, tolerance: float = RECONCILE_TOLERANCE) -> float:
    """Largest gap (GBP per person) between the sum of the perspectives (programme, NHS/PSS,
    employer, Exchequer, individual; transfers cancel) and the societal cost; raises
    :class:`ReconciliationError` if any person's gap exceeds ``tolerance``."""
    total = np.asarray(costs["cost_programme"] + costs["cost_nhs"] + costs["cost_employer"]
                       + costs["cost_exchequer"] + costs["cost_individual"])
    gap = np.abs(total - np.asarray(costs["cost_societal"]))
    worst = float(gap.max()) if gap.size else 0.0
    if not np.isfinite(worst) or worst > tolerance:
        raise ReconciliationError(
            f"economics: the perspectives add up to a cost that differs from the societal "
            f"cost by up to GBP {worst:.6g} per person (tolerance {tolerance:g}); a transfer "
            "is counted on one side only")
    return worst
