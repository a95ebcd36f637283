"""Costs by perspective against a hand-worked example, discounting, paired comparison."""

import numpy as np
import pandas as pd
import pytest

from sim.categories import STATES
from sim.economics import compare, discount_factors, person_costs


def _econ_cfg():
    return {
        "economics": {
            "discount_rate": 0.035,
            "weekly_wage": {"non_manual": 800.0, "manual": 500.0},
            "ssp_weekly": 100.0,
            "ssp_max_weeks": 28,
            "occupational_sick_pay": {"large": 0.5, "sme": 0.0},
            "occupational_sick_pay_weeks": 10,
            "benefit_weekly": {"unemployed": 100.0, "inactive": 200.0},
            "tax_and_ni_share": 0.25,
            "recruitment_cost_per_job_loss": 1000.0,
            "willingness_to_pay_per_week_in_work": 300.0,
        },
        "pathways": {"phased_return": {"hours_fraction": 0.5}},
    }


def _person(**kw):
    row = {"replicate": 0, "person_id": 0, "occupation": "manual", "employer_size": "large",
           "spells": 1, "job_loss_week": -1, "programme_start_week": -1,
           "programme_cost": 0.0, "first_onset": 0, "first_rtw": -1, "weeks_to_rtw": -1}
    for state in STATES:  # every state has weeks columns in agents.parquet
        for y in (1, 2):
            row[f"weeks_{state}_y{y}"] = 0
    row.update(kw)
    return row


def test_discount_factors():
    np.testing.assert_allclose(discount_factors(3, 0.035), [1, 1 / 1.035, 1 / 1.035**2])


def test_hand_worked_person():
    # manual worker, large employer: 30 weeks absent in year 1, then 10 weeks unemployed in
    # year 2 after losing the job in week 40, 42 weeks working in year 2
    agents = pd.DataFrame([_person(weeks_absent_y1=30, weeks_working_y1=22,
                                   weeks_unemployed_y2=10, weeks_working_y2=42,
                                   job_loss_week=40, programme_cost=600.0,
                                   programme_start_week=4)])
    c = person_costs(agents, _econ_cfg()).iloc[0]
    # SSP for min(30, 28) weeks; top-up (500-100) x 0.5 for 10 weeks
    assert c["cost_employer_sick_pay"] == pytest.approx(100 * 28 + 0.5 * 400 * 10)
    assert c["cost_employer_lost_output"] == pytest.approx(500 * 30)
    assert c["cost_employer_recruitment"] == pytest.approx(1000)  # job lost in year 1
    d2 = 1 / 1.035
    assert c["cost_exchequer_benefits"] == pytest.approx(100 * 10 * d2)
    sick_pay = 100 * 28 + 0.5 * 400 * 10
    lost_y1 = 500 * 30 - sick_pay
    lost_y2 = 500 * 10
    assert c["cost_exchequer_lost_tax"] == pytest.approx(0.25 * (lost_y1 + lost_y2 * d2))
    assert c["cost_individual"] == pytest.approx(0.75 * lost_y1 + (0.75 * lost_y2 - 1000) * d2)
    assert c["cost_programme"] == pytest.approx(600)
    assert c["cost_societal"] == pytest.approx(600 + 500 * 30 + 500 * 10 * d2 + 1000)
    assert c["weeks_in_work_disc"] == pytest.approx(22 + 42 * d2)


def test_programme_cost_discounted_by_start_year():
    agents = pd.DataFrame([_person(weeks_working_y1=52, weeks_working_y2=52,
                                   programme_cost=1000.0, programme_start_week=60)])
    assert person_costs(agents, _econ_cfg())["cost_programme"].iloc[0] == pytest.approx(
        1000 / 1.035)


def test_paired_comparison_of_a_real_run(make_config):
    from sim.simulate import simulate

    base = ["population.n=5000", "horizon_weeks=104", "replicates=3"]
    usual = simulate(make_config(*base))
    design = simulate(make_config(*base, "programme=rtw_coordinator",
                                  "programme.components.rtw_coordinator.effects.rtw_hr=1.5",
                                  "programme.components.rtw_coordinator.cost.per_participant_gbp=600"))
    cmp = compare(design.agents, usual.agents, design.config).set_index("measure")
    assert cmp.loc["delta_cost_programme", "estimate"] > 0
    assert cmp.loc["extra_rtw_per_1000", "estimate"] > 0
    assert cmp.loc["weeks_absence_averted_per_person", "estimate"] > 0
    assert cmp.loc["delta_cost_employer", "estimate"] < 0  # less absence, less sick pay
    lo, hi = cmp.loc["delta_cost_programme", ["low", "high"]]
    assert lo <= cmp.loc["delta_cost_programme", "estimate"] <= hi
    # NMB identity
    nmb = 500.0 * cmp.loc["delta_weeks_in_work_per_person", "estimate"] - cmp.loc[
        "delta_cost_programme", "estimate"]
    assert cmp.loc["nmb_per_person", "estimate"] == pytest.approx(nmb)
    # usual care against itself: every difference is exactly zero
    same = compare(usual.agents, usual.agents, usual.config).set_index("measure")
    assert (same.loc[same.index.str.startswith("delta"), "estimate"] == 0).all()
