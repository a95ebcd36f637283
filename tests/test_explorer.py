"""The explorer's model adapter (no browser): controls -> validated config -> results -> views."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.compare.report import _answers, compare_cells, load_cells, replicate_measures
from sim.config import load_config
from sim.engine.categories import STATES
from sim.explorer.adapter import (
    Controls,
    ExplorerModel,
    answer_lines,
    build_scenario,
    clear_caches,
    costs_view,
    curves_view,
    ethnic_gap,
    gaps_view,
    parse_value,
)
from sim.explorer.runs import ARMS, _Memo

REPO = Path(__file__).resolve().parent.parent
SMALL = {"n": "2000"}


def test_parse_value_reads_numbers_as_hydra_would():
    assert parse_value("3") == 3 and isinstance(parse_value("3"), int)
    assert parse_value(" 0.5 ") == 0.5
    assert parse_value("1e-3") == 0.001
    assert parse_value("") is None and parse_value("  ") is None
    assert parse_value("abc") == "abc"
    assert parse_value("nan") == "nan"  # left for the schema to reject, not a float


@pytest.mark.parametrize("controls, message", [
    ({"n": "abc"}, "population.n: got 'abc', expected an integer"),
    ({"n": "-5"}, "population.n: got -5, expected a value in [1, 50000000]"),
    ({"refer_at_week": "1.5"},
     "programme.components.rtw_coordinator.eligibility.refer_at_week: got 1.5, expected an "
     "integer"),
    ({"capacity": "-1"}, "starts_per_week_per_100k: got -1, expected a value in"),
    ({"minority_uptake": "x"}, "uptake_ethnicity_rr.white_other: got 'x', expected a number"),
    ({"dropout": "1e9"}, "dropout_weekly_hazard: got 1000000000.0, expected a value in"),
    ({"seed": ""}, "seed: empty, expected a number"),
    ({"ev_coordinator": "0"}, "evidence_values.coordination_vogel2017_hr: got 0.0"),
    ({"follow": "2000"}, "follow: got '2000', expected a person number from 0 to 1999"),
    ({"design": "<script>"}, "programme: unknown value '<script>'"),
])
def test_bad_controls_give_the_schema_one_line_message(controls, message):
    model = ExplorerModel(**{**SMALL, **controls})
    assert model.error is not None and message in model.error
    assert model.error.startswith("config error: ") and "\n" not in model.error
    assert not model.running
    model.step()  # a model with an error does nothing rather than crash
    assert model.week == 0


def test_the_cli_reports_the_same_message_for_a_bad_value():
    bad = ExplorerModel(**{**SMALL, "refer_at_week": "1.5"}).error
    scenario = build_scenario(Controls(n="2000"))
    cmd = [sys.executable, "-m", "sim", *scenario.overrides,
           "programme.components.rtw_coordinator.eligibility.refer_at_week=1.5"]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip() == bad


def test_levers_reach_every_service_of_the_design():
    s = build_scenario(Controls(n="2000", refer_at_week="6", capacity="300",
                                imd_target="quintiles 1-2", minority_uptake="1.2",
                                deprived_uptake="1.1", dropout="0.05", ev_coordinator="1.5"))
    comps = s.config["programme"]["components"]
    assert set(comps) == {"rtw_coordinator", "work_focused_cbt", "graded_return"}
    for c in comps.values():
        assert c["eligibility"]["refer_at_week"] == 6
        assert c["capacity"]["starts_per_week_per_100k"] == 300
        assert c["eligibility"]["imd_quintiles"] == [1, 2]
        assert all(c["access"]["uptake_ethnicity_rr"][g] == 1.2
                   for g in c["access"]["uptake_ethnicity_rr"] if g != "white_british")
        assert c["access"]["uptake_ethnicity_rr"]["white_british"] == 1.0
        assert c["access"]["uptake_imd_rr"][:2] == [1.1, 1.1]
        assert c["access"]["dropout_weekly_hazard"] == 0.05
    assert s.config["evidence_values"] == {"coordination_vogel2017_hr": 1.5}
    # usual care: the same people and evidence, no services
    assert s.reference["programme"]["name"] == "usual_care"
    assert s.reference["population"] == s.config["population"]
    # the exported command composes exactly this config, and the YAML holds it
    assert load_config(s.overrides) == s.config
    assert load_config(s.reference_overrides) == s.reference
    text = s.yaml()
    assert yaml.safe_load(text) == s.config
    assert "python -m sim population=fit_note_cohort programme=multicomponent" in text


def test_explorer_and_cli_give_identical_tables_and_the_report_answer(tmp_path):
    model = ExplorerModel(n="1500", design="rtw_coordinator", replicates="2", seed="7")
    assert model.error is None
    s = model.setup
    runs = {}
    for name, overrides in (("design", s.overrides), ("ref", s.reference_overrides)):
        out = subprocess.run([sys.executable, "-m", "sim", *overrides, "output.plots=false",
                              "output.latest_link=false", f"hydra.run.dir={tmp_path / name}"],
                             cwd=REPO, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        runs[name] = tmp_path / name / "results"
    cli = pd.read_parquet(runs["design"] / "group_summary.parquet")
    mine = model.outcome.design.results.summary
    pd.testing.assert_frame_equal(cli.reset_index(drop=True), mine.reset_index(drop=True),
                                  check_dtype=False, check_categorical=False)
    cli_econ = pd.read_parquet(runs["design"] / "economics.parquet")
    pd.testing.assert_frame_equal(cli_econ.reset_index(drop=True),
                                  model.outcome.design.results.economics.reset_index(drop=True),
                                  check_dtype=False, check_categorical=False)
    # the report built from the CLI's results says what the page says
    comp = compare_cells(load_cells([runs["ref"], runs["design"]]))
    assert [ln for ln in _answers(comp)] and answer_lines(comp) == model.outcome.answer
    pd.testing.assert_frame_equal(comp.league.sort_values(["design", "measure"])
                                  .reset_index(drop=True),
                                  model.outcome.comparison.league
                                  .sort_values(["design", "measure"]).reset_index(drop=True))


def test_views_agree_with_the_report_measures():
    model = ExplorerModel(n="4000", design="targeted_deprived")
    o = model.outcome
    g = gaps_view(o).set_index(["design", "measure"])
    for arm in (o.reference, o.design):
        name = arm.config["programme"]["name"]
        m = replicate_measures(arm.cell).iloc[0]  # one replicate: pooled = replicate 0
        assert g.loc[(name, "sii"), "level"] == pytest.approx(m["sii"], abs=1e-12)
        assert g.loc[(name, "ethnic_gap"), "level"] == pytest.approx(m["ethnic_gap"], abs=1e-12)
        assert g.loc[(name, "sii"), "low"] < m["sii"] < g.loc[(name, "sii"), "high"]
    # the change vs usual care is design minus usual care
    d = g.loc[("targeted_deprived", "sii"), "level"] - g.loc[("usual_care", "sii"), "level"]
    assert g.loc[("targeted_deprived", "sii"), "change"] == pytest.approx(d, abs=1e-12)
    cur = curves_view(o, "imd_quintile")
    ref = cur[cur["design"] == "usual_care"]
    assert (ref["vs_usual_care"] == 0).all()
    des = cur[(cur["design"] == "targeted_deprived") & (cur["week"] == 52)].set_index("group")
    summ = o.design.results.summary
    rtw52 = summ[(summ["dimension"] == "imd_quintile") & (summ["metric"] == "rtw_52w")] \
        .set_index("group")["value"]
    np.testing.assert_allclose(des.loc[rtw52.index, "share"], rtw52, atol=1e-12)
    c = costs_view(o)
    assert set(c["design"]) == {"usual_care", "targeted_deprived"}
    assert (c[c["design"] == "usual_care"]["estimate"] == 0).all()


def test_the_page_comparison_equals_the_report_comparison():
    """The page's lean comparison (no groups table) and its answer (read from a league with
    plain-string keys) are the report's, table for table and word for word; two replicates,
    so the paired intervals are there too."""
    from sim.explorer.runs import compare_for_page

    model = ExplorerModel(n="1500", design="targeted_deprived", replicates="2")
    o = model.outcome
    cells = [o.reference.cell, o.design.cell]
    report = compare_cells(cells)
    page = compare_for_page(cells)
    for name in ("league", "per_replicate", "curves", "costs"):
        pd.testing.assert_frame_equal(getattr(page, name), getattr(report, name), obj=name)
    assert page.groups.empty and not report.groups.empty
    assert (page.rtw_week, page.econ_window) == (report.rtw_week, report.econ_window)
    assert answer_lines(page) == answer_lines(report) == model.outcome.answer
    # the report's words from its own league (Arrow-backed strings) are the page's
    plain = dataclasses.replace(report, league=report.league.astype(
        {"design": object, "measure": object}))
    assert [str(x) for x in _answers(plain)] == [str(x) for x in _answers(report)]
    assert len(model.outcome.answer) == len(_answers(report))
    assert any("targeted deprived" in text for _, text in model.outcome.answer)


def test_ethnic_gap_interval_is_binomial():
    values = {g: 0.8 for g in ["white_british", "white_other", "mixed", "indian", "pakistani",
                               "bangladeshi", "black", "chinese_other"]}
    values["black"] = 0.7
    counts = dict.fromkeys(values, 1000)
    gap, se = ethnic_gap(values, counts)
    assert gap == pytest.approx(0.1 / 7)
    w = 1 / 7
    expected = 0.8 * 0.2 / 1000 + w**2 * (6 * 0.8 * 0.2 + 0.7 * 0.3) / 1000
    assert se == pytest.approx(expected**0.5)


def test_stepping_runs_the_same_simulation_as_the_full_run():
    model = ExplorerModel(n="1500", design="multicomponent", follow="11")
    assert model.running and model.week == 0
    while model.running:
        model.step()
    horizon = model.outcome.design.results.config["horizon_weeks"]
    assert model.week == horizon
    live = model.live["design"]
    full = model.outcome.design.results
    # the live model, stepped week by week, ends where the full run ended, person by person
    agents = full.agents
    assert (live.columns["first_rtw"] == agents["first_rtw"].to_numpy()).all()
    assert (live.columns["relapses"] == agents["relapses"].to_numpy()).all()
    states = model.states_view("design")
    assert len(states) == horizon + 1
    np.testing.assert_allclose(states[list(STATES)].sum(axis=1), 1.0)
    v = model.person_view()
    path = v["path"]["design"]
    assert len(path) == horizon + 1 and path[0] == "absent"
    assert path[-1] == v["outcomes"]["design"]["final_state"] == v["live"]["state"]
    first = agents.iloc[11]["first_rtw"]
    if first >= 0:  # the path shows the first return in the week the table records it
        assert path[first] in ("working", "phased") and path[first - 1] == "absent"
    dc = model.datacollector.get_model_vars_dataframe()
    assert len(dc) == horizon + 1


def test_usual_care_alone_says_so():
    model = ExplorerModel(n="1500", design="usual_care")
    assert model.error is None and model.same_arms
    assert model.outcome.answer[0][1] == "Only usual care was run: add designs to compare."


def test_evidence_values_the_design_does_not_use_are_named():
    model = ExplorerModel(n="1500", ev_mdt="1.2", ev_coordinator="1.4")
    assert model.error is None
    assert model.setup.unused_evidence == ["mdt_tingulstad2022_rr"]


def test_infeasible_evidence_value_is_one_line():
    model = ExplorerModel(n="1500", design="multidisciplinary_bps", ev_mdt="3")
    assert model.error.startswith("config error: evidence entry 'mdt_tingulstad2022_rr'")
    assert "infeasible" in model.error and "\n" not in model.error


# ---- caches: an update reruns only what changed, and a cached answer is a fresh one ------


def _tables(outcome):
    c = outcome.comparison
    return {"league": c.league, "per_rep": c.per_replicate, "groups": c.groups, "curves": c.curves,
            "costs": c.costs, "summary": outcome.design.results.summary,
            "ref_summary": outcome.reference.results.summary}


def test_a_cached_answer_equals_a_fresh_one():
    clear_caches()
    first = ExplorerModel(n="1500", design="rtw_coordinator", seed="3")
    before = ARMS.computed
    # another design on the same people: usual care is served from the cache
    cached = ExplorerModel(n="1500", design="targeted_deprived", seed="3")
    assert ARMS.computed == before + 1
    assert cached.outcome.reference is first.outcome.reference
    # the same scenario from nothing: identical tables and words
    clear_caches()
    fresh = ExplorerModel(n="1500", design="targeted_deprived", seed="3")
    assert ARMS.computed == 2 and fresh.outcome.reference is not cached.outcome.reference
    assert fresh.outcome.answer == cached.outcome.answer
    for name, table in _tables(fresh.outcome).items():
        pd.testing.assert_frame_equal(table, _tables(cached.outcome)[name], obj=name)
    pd.testing.assert_frame_equal(gaps_view(fresh.outcome), gaps_view(cached.outcome))


def test_an_update_reruns_only_what_changed():
    clear_caches()
    base = ExplorerModel(n="1500", design="multicomponent")
    assert ARMS.computed == 2  # usual care and the design
    lever = ExplorerModel(n="1500", design="multicomponent", refer_at_week="7")
    assert ARMS.computed == 3 and lever.outcome.reference is base.outcome.reference
    assert lever.outcome.design is not base.outcome.design
    # the person to follow is not part of either run: nothing reruns, nothing is recompared
    other = ExplorerModel(n="1500", design="multicomponent", follow="5")
    assert ARMS.computed == 3 and other.outcome.comparison is base.outcome.comparison
    assert other.person_view()["index"] == 5
    # another seed is other people: both arms rerun
    ExplorerModel(n="1500", design="multicomponent", seed="9")
    assert ARMS.computed == 5


def test_memo_computes_a_key_once_for_callers_at_the_same_time():
    memo, calls, gate = _Memo(2), [], threading.Event()

    def slow():
        calls.append(1)
        gate.wait(5)
        return object()

    out = []
    threads = [threading.Thread(target=lambda: out.append(memo.get("k", slow)))
               for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # the three callers are in: one computes, two wait
    gate.set()
    for t in threads:
        t.join(5)
    assert len(calls) == 1 and len(out) == 3 and out[0] is out[1] is out[2]
    # an error reaches the caller and is not cached: the next call tries again
    with pytest.raises(ValueError):
        memo.get("bad", lambda: (_ for _ in ()).throw(ValueError("no")))
    assert memo.get("bad", lambda: 7) == 7
    memo.get("a", object), memo.get("b", object)  # size 2: "k" is the oldest, gone
    assert "k" not in memo and "b" in memo


def test_page_figures_are_drawn_once_per_pair_of_arms():
    from sim.explorer import app

    clear_caches()
    one = ExplorerModel(n="1500")
    curves, states = app.figure_png(one, "curves"), app.figure_png(one, "states")
    assert curves.startswith(b"\x89PNG")
    two = ExplorerModel(n="1500", follow="4")  # same arms: the same drawings
    assert app.figure_png(two, "curves") is curves and app.figure_png(two, "states") is states
    for _ in range(3):  # the live states are drawn anew each week (1 week is ~1 pixel)
        two.step()
    stepped = app.figure_png(two, "states")
    assert stepped != states and app.figure_png(two, "states") is stepped
    other = ExplorerModel(n="1500", refer_at_week="9")  # another design arm: drawn anew
    assert app.figure_png(other, "curves") != curves
    assert list(app.gaps_table(other)["design"]) == ["usual care"] * 2 + ["multicomponent"] * 2


def test_prefetch_computes_what_reset_will_ask_for():
    from sim.explorer import app

    clear_caches()
    controls = {"n": "1500", "design": "rtw_coordinator", "refer_at_week": "8"}
    app.PREFETCH.submit({**controls, "refer_at_week": "x"})  # bad: left for Reset to say
    app.PREFETCH.submit(controls)
    assert app.PREFETCH.wait_idle()
    assert ARMS.computed == 2
    model = ExplorerModel(**controls)  # Reset: everything is there
    assert ARMS.computed == 2 and ("png", "curves") in model.outcome.views
    assert ExplorerModel(**{**controls, "refer_at_week": "x"}).error.startswith("config error")


def test_an_out_of_work_population_starts_in_its_drawn_states():
    """The out_of_work preset starts people unemployed or inactive (start_state_shares):
    the page's week-0 view shows those shares (it failed with a KeyError on this mode)."""
    from sim.explorer.adapter import start_shares

    model = ExplorerModel(population="out_of_work", design="ips_smi", n="300")
    assert model.error is None
    row = model.states_view("design").iloc[0]
    pop = model.setup.config["population"]
    assert row[list(STATES)].sum() == pytest.approx(1.0)
    assert row["working"] == 0 and row["inactive_benefit"] == pytest.approx(
        start_shares(pop)["inactive_benefit"]) and row["inactive_benefit"] > 0.5
    assert start_shares({"mode": "cohort"})["absent"] == 1.0


def test_one_replicate_answer_says_the_noise_is_not_measured_in_the_singular():
    """The page's default (one replicate per design): "How sure" says the simulation noise
    is not measured (not "100% of 1 paired replicates"), and the population line says
    "1 replicate per run"."""
    model = ExplorerModel(n="1500", design="rtw_coordinator", replicates="1")
    text = " ".join(t for _, t in model.outcome.answer)
    assert "not measured: with one replicate per design" in text
    assert "(1 replicate per run)" in text and "of 1 paired" not in text
