"""Costs by perspective against a hand-worked example, discounting, paired comparison."""

import numpy as np
import pandas as pd
import pytest

from sim.engine.categories import STATES
from sim.results.economics import compare, discount_factors, person_costs


def _econ_cfg():
    return {
        "economics": {
            "discount_rate": 0.035,
            "weekly_wage": {"non_manual": 800.0, "manual": 500.0},
            "output_per_labour_cost": 1.0,
            "ssp_weekly": 100.0,
            "ssp_max_weeks": 28,
            "occupational_sick_pay": {"large": 0.5, "sme": 0.0},
            "occupational_sick_pay_weeks": 10,
            "benefit_weekly": {"absent_after_sick_pay": 50.0, "unemployed": 100.0,
                               "inactive_benefit": 200.0},
            "tax": {"personal_allowance_weekly": 200.0, "basic_rate": 0.2,
                    "higher_rate_threshold_weekly": 1e6, "higher_rate": 0.4,
                    "employee_ni_threshold_weekly": 200.0, "employee_ni_rate": 0.1,
                    "upper_earnings_limit_weekly": 1e6, "employee_ni_upper_rate": 0.02,
                    "employer_ni_threshold_weekly": 100.0, "employer_ni_rate": 0.1},
            "recruitment_cost_per_job_loss": 1000.0,
            "willingness_to_pay_per_week_in_work": 300.0,
            "qaly_thresholds": [20000.0, 30000.0],
            "utility_in_work": 0.9,
            "utility_decrement": {"absent": -0.3, "phased": -0.1, "unemployed": -0.1,
                                  "inactive": -0.4, "inactive_benefit": -0.4},
            "nhs_cost_weekly": {"working": 10.0, "absent": 40.0, "phased": 20.0,
                                "unemployed": 20.0, "inactive": 30.0,
                                "inactive_benefit": 30.0, "retired": 10.0},
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
    # manual worker (500 a week), large employer: 30 weeks absent in year 1, then 10 weeks
    # unemployed in year 2 after losing the job in week 40, 42 weeks working in year 2.
    # Employer NI on 500: 0.1 x (500 - 100) = 40, so labour cost L = 540. Tax on 500:
    # income tax 0.2 x 300 = 60, employee NI 0.1 x 300 = 30; net pay 410.
    # Sick pay: 5 weeks full pay (0.5 of 10 weeks), 23 weeks SSP (28 - 5), 2 weeks unpaid.
    agents = pd.DataFrame([_person(weeks_absent_y1=30, weeks_working_y1=22,
                                   weeks_unemployed_y2=10, weeks_working_y2=42,
                                   job_loss_week=40, programme_cost=600.0,
                                   programme_start_week=4)])
    c = person_costs(agents, _econ_cfg()).iloc[0]
    d2 = 1 / 1.035
    assert c["cost_employer_sick_pay"] == pytest.approx(5 * 540 + 23 * 100)
    assert c["cost_employer_net_productivity"] == pytest.approx(0)  # output = labour cost
    assert c["cost_employer_recruitment"] == pytest.approx(1000)  # job lost in year 1
    assert c["cost_employer"] == pytest.approx(5 * 540 + 23 * 100 + 1000)
    assert c["cost_exchequer_benefits"] == pytest.approx(2 * 50 + 10 * 100 * d2)
    assert c["cost_exchequer_lost_tax"] == pytest.approx(25 * 130 + 10 * 130 * d2)
    assert c["cost_individual_lost_income"] == pytest.approx(
        23 * (410 - 100) + 2 * 410 + 10 * 410 * d2)
    assert c["cost_individual"] == pytest.approx(
        23 * 310 + 2 * 410 - 100 + (10 * 410 - 1000) * d2)
    assert c["cost_programme"] == pytest.approx(600)
    assert c["cost_lost_output"] == pytest.approx(30 * 540 + 10 * 540 * d2)
    assert c["cost_nhs"] == pytest.approx(22 * 10 + 30 * 40 + (42 * 10 + 10 * 20) * d2)
    assert c["cost_societal"] == pytest.approx(
        600 + c["cost_nhs"] + 30 * 540 + 10 * 540 * d2 + 1000)
    assert c["qaly_disc"] == pytest.approx((22 * 0.9 + 30 * 0.6) / 52
                                           + (42 * 0.9 + 10 * 0.8) / 52 * d2)
    assert c["weeks_in_work_disc"] == pytest.approx(22 + 42 * d2)


def test_perspectives_add_up_to_societal_cost(make_config):
    """Regression (issue 16): the employer counted lost output on top of sick pay, so the
    perspectives summed to far more than the societal cost (19,131 vs 10,732 GBP)."""
    from sim.results.economics import PERSPECTIVES
    from sim.simulate import simulate

    r = simulate(make_config("population.n=3000", "horizon_weeks=104", "replicates=2",
                             "programme=multicomponent"))
    c = person_costs(r.agents, r.config)
    parts = sum(c[f"cost_{p}"] for p in PERSPECTIVES if p != "societal")
    np.testing.assert_allclose(parts, c["cost_societal"], rtol=0, atol=1e-6)
    # and the employer does not bear the whole lost output: sick pay + net productivity
    assert c["cost_employer"].mean() < 0.5 * c["cost_lost_output"].mean()


def test_employer_ni_not_deducted_from_worker():
    """Regression (issue 16): a 30% share including employer NI was taken off the worker."""
    from sim.results.economics import employee_ni, employer_ni, income_tax, net_pay

    tax = _econ_cfg()["economics"]["tax"]
    assert net_pay(500.0, tax) == pytest.approx(500 - 60 - 30)
    assert income_tax(500.0, tax) + employee_ni(500.0, tax) == pytest.approx(90)
    assert employer_ni(500.0, tax) == pytest.approx(40)
    # a week unpaid and out of work: the worker loses net pay 410, not 0.7 x 500 = 350
    agents = pd.DataFrame([_person(weeks_unemployed_y1=1, weeks_working_y1=51,
                                   job_loss_week=10)])
    c = person_costs(agents, _econ_cfg()).iloc[0]
    assert c["cost_individual_lost_income"] == pytest.approx(410)
    assert c["cost_exchequer_lost_tax"] == pytest.approx(130)  # 60 + 30 + employer 40


def test_benefits_after_sick_pay_runs_out():
    """Regression (issue 16): people absent beyond SSP had no income at all."""
    # small employer (no top-up): 28 weeks SSP then 12 weeks unpaid, claiming the
    # absent_after_sick_pay benefit (50 a week)
    agents = pd.DataFrame([_person(employer_size="sme", weeks_absent_y1=40,
                                   weeks_working_y1=12)])
    c = person_costs(agents, _econ_cfg()).iloc[0]
    assert c["cost_exchequer_benefits"] == pytest.approx(12 * 50)
    assert c["cost_individual"] == pytest.approx(28 * (410 - 100) + 12 * 410 - 12 * 50)


def test_benefit_rule_by_state_code():
    from sim.engine.categories import (
        ABSENT,
        INACTIVE,
        INACTIVE_BENEFIT,
        PHASED,
        RETIRED,
        UNEMPLOYED,
        WORKING,
    )
    from sim.results.economics import BENEFIT_RULES, weekly_benefit

    econ = _econ_cfg()["economics"]
    assert weekly_benefit(UNEMPLOYED, econ) == 100.0
    assert weekly_benefit(INACTIVE_BENEFIT, econ) == 200.0  # ESA / UC health
    assert weekly_benefit(INACTIVE, econ) == weekly_benefit(RETIRED, econ) == 0.0
    assert weekly_benefit(ABSENT, econ) == 50.0
    assert weekly_benefit(WORKING, econ) == weekly_benefit(PHASED, econ) == 0.0
    assert set(BENEFIT_RULES.values()) == set(econ["benefit_weekly"])


def test_reconcile_raises_on_a_one_sided_transfer():
    from sim.results.economics import ReconciliationError, reconcile

    agents = pd.DataFrame([_person(weeks_absent_y1=30, weeks_working_y1=22)])
    c = person_costs(agents, _econ_cfg())
    assert reconcile(c) < 1e-9
    c.loc[0, "cost_exchequer"] += c.loc[0, "cost_exchequer_benefits"]  # counted twice
    with pytest.raises(ReconciliationError, match="societal"):
        reconcile(c)


def test_uk_2024_tax_matches_the_hmrc_worked_example(make_config):
    """GOV.UK: 35,000 GBP taxable income with the standard allowance pays 20% on 22,430."""
    from sim.results.economics import employee_ni, employer_ni, income_tax, resolve_economics

    econ = resolve_economics(make_config()["economics"])
    tax = econ["tax"]
    weekly = 35_000 / 52
    assert 52 * income_tax(weekly, tax) == pytest.approx(0.2 * 22_430, abs=1)
    assert 52 * employee_ni(weekly, tax) == pytest.approx(0.08 * (35_000 - 12_570), abs=2)
    assert 52 * employer_ni(weekly, tax) == pytest.approx(0.138 * (35_000 - 9_100), abs=1)
    assert econ["ssp_weekly"] == 116.75


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
    # NICE reference case: net health benefit identity at each threshold
    for k in (20000, 30000):
        nhb = cmp.loc["delta_qaly_per_person", "estimate"] - cmp.loc[
            "delta_cost_nhs_pss", "estimate"] / k
        assert cmp.loc[f"nhb_qaly_at_{k}", "estimate"] == pytest.approx(nhb)
    assert cmp.loc["delta_qaly_per_person", "estimate"] > 0  # more weeks in work
    # usual care against itself: every difference is exactly zero
    same = compare(usual.agents, usual.agents, usual.config).set_index("measure")
    assert (same.loc[same.index.str.startswith("delta"), "estimate"] == 0).all()


@pytest.mark.parametrize("override, message", [
    ("economics.ssp_weekly=nope", "economics.ssp_weekly: unknown evidence id 'nope'"),
    ("economics.utility_in_work=econ_ssp_weekly",
     "economics.utility_in_work: evidence 'econ_ssp_weekly' has measure cost_gbp"),
    ("economics.tax.employee_ni_rate=utility_in_work",
     "economics.tax.employee_ni_rate: evidence 'utility_in_work' has measure utility"),
    ("economics.qaly_thresholds=[0]", "economics.qaly_thresholds[0]: got 0"),
    ("economics.utility_decrement.absent=-2", "economics.utility_decrement.absent: got -2"),
])
def test_bad_economics_inputs_are_one_line_config_errors(make_config, override, message):
    from sim.config import ConfigError

    with pytest.raises(ConfigError) as err:
        make_config(override)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_evidence_values_reach_the_economics(make_config):
    """A PSA draw of an economics entry (evidence_values) changes the QALYs."""
    agents = pd.DataFrame([_person(weeks_absent_y1=30, weeks_working_y1=22)])
    cfg = make_config()
    base = person_costs(agents, cfg)["qaly_disc"].iloc[0]
    cfg["evidence_values"] = {"utility_decrement_absent": -0.5}
    low = person_costs(agents, cfg)["qaly_disc"].iloc[0]
    assert low == pytest.approx(base - 30 * 0.3 / 52)


def test_person_costs_in_chunks_equal_all_at_once(monkeypatch, make_config):
    """Costing people in chunks (the memory bound, issue 19) changes no value or dtype."""
    import sim.results.economics as economics
    from sim.simulate import simulate

    r = simulate(make_config(*["population.n=700", "replicates=2", "horizon_weeks=110",
                              "programme=multicomponent"]))
    whole = person_costs(r.agents, r.config)
    table = economics.economics_table(r.agents, r.config, r.programme)
    with_costs = economics.with_person_economics(r.agents, r.config)
    monkeypatch.setattr(economics, "PERSON_COSTS_CHUNK", 97)
    chunked = person_costs(r.agents, r.config)
    assert len(chunked) == len(r.agents) == 1400
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    pd.testing.assert_frame_equal(economics.economics_table(r.agents, r.config, r.programme),
                                  table, check_exact=True)
    pd.testing.assert_frame_equal(economics.with_person_economics(r.agents, r.config),
                                  with_costs, check_exact=True)


def test_person_economics_joined_without_a_copy_is_what_assign_gives(make_config):
    """agents.parquet's frame (``copy=False``): the agents and their three costed columns
    as ``agents.assign`` gives them (columns, values, dtypes, attrs), holding the costed
    arrays themselves (issue 19's peak); by default the frame has copies of its own."""
    import numpy as np

    import sim.results.economics as economics
    from sim.simulate import simulate

    r = simulate(make_config("population.n=400", "horizon_weeks=60"))
    cols = r.person_economics
    expected = r.agents.assign(**{c: cols[c] for c in economics.AGENT_COLUMNS})
    shared = economics.with_person_economics(r.agents, r.config, cols, copy=False)
    pd.testing.assert_frame_equal(shared, expected, check_exact=True)
    assert shared.attrs == r.agents.attrs == {"horizon": 60}
    assert np.shares_memory(shared["qaly_disc"].to_numpy(), cols["qaly_disc"])
    own = economics.with_person_economics(r.agents, r.config, cols)
    pd.testing.assert_frame_equal(own, expected, check_exact=True)
    assert not np.shares_memory(own["qaly_disc"].to_numpy(), cols["qaly_disc"])
    again = economics.with_person_economics(expected, r.config, cols, copy=False)
    assert list(again.columns) == list(expected.columns)  # costed already: replaced
