"""NICE reference case and DCEA sections: consistent with the runs, the metrics, and escaped."""

import numpy as np
import pytest

from sim.compare.report import compare_cells, load_cells
from sim.results.output import write_results
from sim.simulate import simulate
from sim.stats.metrics import atkinson_ede, concentration_index

BASE = ("population.n=2000", "replicates=3", "horizon_weeks=60", "output.plots=false",
        "output.write_agents=false")


@pytest.fixture(scope="module")
def comp(tmp_path_factory):
    from sim.config import load_config

    root = tmp_path_factory.mktemp("dcea_cells")
    for design in ("usual_care", "multicomponent", "rtw_coordinator"):
        write_results(simulate(load_config([f"programme={design}", *BASE])),
                      root / design / "results")
    return compare_cells(load_cells([root]))


def test_reference_case_matches_the_economics_tables(comp):
    from sim.compare.report_dcea import reference_case

    ref = reference_case(comp).set_index("design")
    cells = {c.design: c.economics.query("dimension == 'all'").set_index("replicate")
             for c in comp.cells}
    dq = (cells["multicomponent"]["qaly_disc"] - cells["usual_care"]["qaly_disc"]).mean()
    dc = (cells["multicomponent"]["cost_nhs_pss"] - cells["usual_care"]["cost_nhs_pss"]).mean()
    assert ref.at["multicomponent", "d_qaly"] == pytest.approx(dq)
    assert ref.at["multicomponent", "d_cost_nhs_pss"] == pytest.approx(dc)
    for k in (20000, 30000):
        assert ref.at["multicomponent", f"nhb_{k}"] == pytest.approx(dq - dc / k)
    if dq > 0 and dc > 0:
        assert ref.at["multicomponent", "icer"] == pytest.approx(dc / dq)
    assert (ref.loc["usual_care", ["d_qaly", "d_cost_nhs_pss", "nhb_20000"]] == 0).all()


def test_dcea_is_consistent_with_the_metrics(comp):
    from sim.compare.report_dcea import dcea, reference_case

    out = dcea(comp)
    s = out["summary"].set_index("design")
    ref = reference_case(comp).set_index("design")
    # efficiency: the DCEA net health benefit is the reference-case one at GBP 20,000
    assert s.at["multicomponent", "nhb"] == pytest.approx(ref.at["multicomponent",
                                                                 "nhb_20000"])
    # no inequality aversion: the EDE change is the mean health change, i.e. the NHB
    assert s.at["multicomponent", "atkinson_ede_0"] == pytest.approx(s.at["multicomponent",
                                                                         "nhb"])
    assert s.at["multicomponent", "kolm_ede_0"] == pytest.approx(s.at["multicomponent", "nhb"])
    # group NHBs average (population-weighted) to the overall NHB
    g = out["by_group"].query("design == 'multicomponent' and dimension == 'imd_quintile'")
    assert np.average(g["nhb_vs_usual_care"], weights=g["n"]) == pytest.approx(
        s.at["multicomponent", "nhb"], rel=0.02)
    # per replicate, recomputed independently from the economics table
    cell = next(c for c in comp.cells if c.design == "multicomponent").economics
    base = next(c for c in comp.cells if c.design == "usual_care").economics
    rep = 0
    d_cost = (cell.query(f"dimension == 'all' and replicate == {rep}")["cost_nhs_pss"].iloc[0]
              - base.query(f"dimension == 'all' and replicate == {rep}")["cost_nhs_pss"]
              .iloc[0])
    q = cell.query(f"dimension == 'imd_quintile' and replicate == {rep}")
    c_index = concentration_index(q["qaly_disc"] - d_cost / 20000,
                                  q["group"].astype(int), q["n"]).index
    cells = cell.query(f"dimension == 'imd_ethnicity' and replicate == {rep}")
    ede = atkinson_ede(cells["qaly_disc"] - d_cost / 20000, cells["n"], 5.0).ede
    row = out["per_replicate"].query(f"design == 'multicomponent' and replicate == {rep}")
    assert row["concentration_index"].iloc[0] == pytest.approx(c_index)
    assert row["atkinson_ede_5"].iloc[0] == pytest.approx(ede)
    assert 0 <= s.at["multicomponent", "p_more_efficient_and_equal"] <= 1


def test_sections_escape_design_names(comp):
    from sim.compare import report_dcea

    cell = next(c for c in comp.cells if c.design == "rtw_coordinator")
    hostile = "<img src=x onerror=alert(1)>"
    cell.manifest["config"]["programme"]["name"] = hostile
    try:
        text = "".join(report_dcea.answer_lines(comp)) + report_dcea.reference_case_html(
            comp) + report_dcea.dcea_html(comp)
    finally:
        cell.manifest["config"]["programme"]["name"] = "rtw_coordinator"
    assert hostile not in text
    assert "&lt;img src=x" in text or "img src=x" not in text


def test_first_screen_states_thresholds_and_assumptions(comp):
    from sim.compare.report_dcea import answer_lines

    lines = answer_lines(comp)
    text = " ".join(lines)
    assert "GBP 20,000 and GBP 30,000 per QALY" in text
    assert "utility_decrement_absent" in text  # a flagged assumption the ranking uses
    assert "NICE reference case" in text


def test_reference_case_lists_the_economic_inputs_with_sources(comp):
    from sim.compare.report_dcea import reference_case_html

    text = reference_case_html(comp)
    for entry in ("econ_ssp_weekly", "econ_employer_ni_rate", "utility_decrement_unemployed",
                  "nhs_cost_weekly_absent"):
        assert f"<td>{entry}</td>" in text, entry
    assert "HMRC" in text and "Norstrom" in text


def test_report_md_worked_examples():
    """docs/REPORT.md's worked examples are what the code computes."""
    from pathlib import Path

    from sim.config import load_config
    from sim.results.economics import (
        employee_ni,
        employer_ni,
        icer,
        income_tax,
        net_health_benefit,
        net_pay,
        resolve_economics,
    )
    from sim.stats.metrics import kolm_ede

    doc = (Path(__file__).resolve().parent.parent / "docs" / "REPORT.md").read_text()
    econ = resolve_economics(load_config([])["economics"])
    tax, w = econ["tax"], 560.0
    labour = w + employer_ni(w, tax)
    lost_tax = income_tax(w, tax) + employee_ni(w, tax) + employer_ni(w, tax)
    ssp, esa = econ["ssp_weekly"], econ["benefit_weekly"]["absent_after_sick_pay"]
    for text in (f"{employer_ni(w, tax):.2f}", f"= {labour:.2f}", f"{income_tax(w, tax):.2f}",
                 f"{employee_ni(w, tax):.2f}", f"{net_pay(w, tax):.2f}", f"{lost_tax:.2f}",
                 f"{net_pay(w, tax) - ssp:.2f}", f"{lost_tax + esa:.2f}",
                 f"{net_pay(w, tax) - esa:.2f}"):
        assert text in doc, text
    # each row adds up to the lost output
    assert ssp + lost_tax + (net_pay(w, tax) - ssp) == pytest.approx(labour)
    assert 0 + lost_tax + esa + (net_pay(w, tax) - esa) == pytest.approx(labour)
    assert f"GBP {icer(250, 0.004):,.0f} per QALY" in doc
    assert f"{net_health_benefit(0.004, 250, 20000):.4f}" in doc
    assert f"{net_health_benefit(0.004, 250, 30000):.4f}" in doc
    assert f"= {atkinson_ede([1, 4], epsilon=1).ede:.1f}" in doc
    assert f"= {kolm_ede([1, 4], alpha=1).ede:.2f}" in doc
    assert f"is {concentration_index([1, 4], [1, 2]).index:.1f}" in doc


def test_psa_tie_line_names_designs_close_to_the_best():
    import pandas as pd

    from sim.compare.report_dcea import psa_tie_line

    summary = pd.DataFrame({
        "design": ["usual_care", "multicomponent", "culturally_adapted_mdt", "ips_smi"],
        "p_best_net_benefit": [0.02, 0.50, 0.38, 0.10],
        "net_benefit_vs_uc_low": [0.0, 10.0, 5.0, -20.0],
        "net_benefit_vs_uc_high": [0.0, 60.0, 50.0, 8.0],
    })
    names = {"multicomponent": "multicomponent", "culturally_adapted_mdt": "CA MDT",
             "ips_smi": "IPS <SMI>"}
    line = psa_tie_line({"summary": summary}, names)
    assert "multicomponent is most often best" in line and "50%" in line
    assert "CA MDT (38%)" in line  # overlapping interval: a tie
    assert "IPS" not in line  # interval below the best's, 40 points behind
    summary.loc[3, "p_best_net_benefit"] = 0.47  # within 5 points: a tie, escaped
    assert "IPS &lt;SMI&gt; (47%)" in psa_tie_line({"summary": summary}, names)
    assert psa_tie_line(None, names) is None


def test_psa_tie_line_uses_paired_draws_when_present(tmp_path):
    import pandas as pd

    from sim.compare.report_dcea import psa_tie_line

    # A beats B by 10 in every draw (paired interval excludes 0: no tie);
    # C equals A +/- 50 (paired interval includes 0: a tie)
    rows = []
    for k in range(40):
        level = 100.0 * k
        rows += [{"draw": k, "design": "usual_care", "net_benefit": level - 100},
                 {"draw": k, "design": "a", "net_benefit": level + 10},
                 {"draw": k, "design": "b", "net_benefit": level},
                 {"draw": k, "design": "c", "net_benefit": level + 10 + (50 if k % 2 else -50)}]
    pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
    summary = pd.DataFrame({"design": ["usual_care", "a", "b", "c"],
                            "p_best_net_benefit": [0.0, 0.5, 0.0, 0.5 - 0.2],
                            "net_benefit_vs_uc_low": [0, 110, 100, 60],
                            "net_benefit_vs_uc_high": [0, 110, 100, 160]})
    line = psa_tie_line({"summary": summary, "path": tmp_path}, {})
    assert "a is most often best" in line
    assert "c (30%)" in line and "b (0%)" not in line and "usual_care" not in line


def test_evidence_uncertainty_comes_before_replicate_noise():
    from sim.compare.report_dcea import order_how_sure

    answers = ["<b>Most people</b> x", "<b>How sure:</b> 100% of replicates", "Population",
               "<b>How sure, given the evidence:</b> 33%"]
    out = order_how_sure(answers, answers[-1], "<b>Ties with the best:</b> y")
    assert out[1].startswith("<b>How sure, given the evidence:</b>")
    assert out[2].startswith("<b>Ties with the best:</b>")
    assert out[3].startswith("<b>Simulation noise (replicates, evidence fixed):</b>")
    assert out[-1] == "Population" and len(out) == 5
    assert order_how_sure(answers[:3], None, None) == answers[:3]


def test_small_groups_are_suppressed(comp):
    from sim.compare.report_dcea import dcea_html

    cell = next(c for c in comp.cells if c.design == "usual_care")
    saved = cell.economics
    e = saved.copy()
    e.loc[(e["dimension"] == "ethnicity") & (e["group"] == "bangladeshi"), "n"] = 1
    cell.economics = e
    try:
        text = dcea_html(comp)
    finally:
        cell.economics = saved
    row = text[text.index("<td>Bangladeshi</td>"):]
    row = row[:row.index("</tr>")]
    assert "&lt;10" in row and "suppressed" in row


def test_psa_reference_case_line():
    import pandas as pd

    from sim.compare.report_dcea import psa_reference_case_line

    summary = pd.DataFrame({"design": ["usual_care", "a", "b"],
                            "p_best_nhb_qaly": [0.6, 0.4, 0.0],
                            "qaly_threshold": [20000.0] * 3})
    line = psa_reference_case_line({"summary": summary, "n_draws": 30}, {"a": "<A>"})
    assert "usual_care has the highest net health benefit at GBP 20,000" in line
    assert "60% of draws" in line and "&lt;A&gt; 40%" in line and " b " not in line
    # a PSA run from before QALYs: no line
    assert psa_reference_case_line({"summary": summary.drop(columns="p_best_nhb_qaly")},
                                   {}) is None


def test_dcea_is_computed_once_per_comparison_and_again_when_a_table_changes(comp,
                                                                             monkeypatch):
    """The report's DCEA section and its CSV tables share one computation (issue 19); a
    cell's economics replaced afterwards gives new tables, and callers get copies."""
    from sim.compare import report_dcea

    comp.__dict__.pop("_dcea", None)
    calls = []
    real = report_dcea._dcea
    monkeypatch.setattr(report_dcea, "_dcea",
                        lambda c, k: calls.append(k) or real(c, k))
    first = report_dcea.dcea(comp)
    first["summary"].loc[:, "nhb"] = 99.0  # a caller's change must not reach the memo
    again = report_dcea.dcea(comp)
    assert len(calls) == 1 and not (again["summary"]["nhb"] == 99.0).any()
    cell = next(c for c in comp.cells if c.design != "usual_care")
    saved = cell.economics
    e = saved.copy()
    e["qaly_disc"] = e["qaly_disc"] + 1.0
    cell.economics = e
    try:
        changed = report_dcea.dcea(comp)
    finally:
        cell.economics = saved
        comp.__dict__.pop("_dcea", None)
    assert len(calls) == 2
    assert not changed["summary"]["nhb"].equals(again["summary"]["nhb"])
