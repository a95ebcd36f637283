"""The pure parts of the calibration and PSA analyses (sim/uncertainty/*_analysis.py),
without running the model: settings checks, table building, the written YAML."""

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.results.calibration import TARGETS, target_intervals
from sim.uncertainty import calibrate_analysis as cal
from sim.uncertainty import psa_analysis as psa
from sim.uncertainty.calibrate_config import calibrated_pathways, lookup, yaml_text
from sim.uncertainty.factors import Factor


def test_lookup_follows_wildcards_and_stops_at_leaves():
    node = {"rtw": {"hr": {"a": 1, "b": 2}, "shape": 3}}
    assert lookup(node, ["rtw", "hr", "*"]) == [1, 2]
    assert lookup(node, ["rtw", "shape"]) == [3]
    assert lookup(node, ["rtw", "shape", "x"]) == []  # a number has no keys
    assert lookup(node, ["nope"]) == []


def test_calibrated_pathways_multiplies_rounds_and_notes_the_source():
    start = {"name": "baseline", "rtw": {"base": 0.123456, "keep": 2.0},
             "sources": {"rtw": "paper"}}
    f = Factor("rtw_scale", "scale", 0.5, 2.0, 1.0, paths=("pathways.rtw.base",))
    out = calibrated_pathways(start, [f], np.array([2.0]), "J 3 -> 1", "2026-01-01")
    assert out["rtw"] == {"base": 0.2469, "keep": 2.0}  # 4 significant figures
    assert out["name"] == "calibrated" and start["rtw"]["base"] == 0.123456  # not mutated
    assert out["sources"]["rtw"].startswith("paper | calibrated by experiments/calibrate.py")
    assert "multiplier 2.000 on the hand-tuned value of base (rtw_scale)" in out["sources"]["rtw"]
    text = yaml_text(out, ["first line", "  indented"])
    assert text.startswith("# first line\n#   indented\n")
    assert yaml.safe_load(text) == out  # the header is comments only


def test_target_table_z_scores_and_missing_targets():
    intervals = target_intervals()
    weights = {t: 1.0 for t in list(TARGETS)[:2]}
    t0, t1 = weights
    lo, hi = intervals[t0][1], intervals[t0][2]
    base = {t0: (hi, hi, hi), t1: (np.nan,) * 3}
    table = cal.target_table(weights, intervals, base, {t0: (lo, lo, lo), t1: (1, 1, 1)})
    row = table.set_index("target").loc[t0]
    # the interval's edge is one half-width from the UK value only if it is symmetric
    assert row["z_baseline"] == pytest.approx((hi - intervals[t0][0]) / ((hi - lo) / 2))
    assert row["z_calibrated"] == pytest.approx((lo - intervals[t0][0]) / ((hi - lo) / 2))
    assert np.isnan(table.set_index("target").loc[t1, "z_baseline"])
    assert list(table["target"]) == [t for t in TARGETS if t in weights]


@pytest.mark.parametrize("change, message", [
    ({"targets": {"nope": 1}}, "unknown target"),
    ({"targets": {t: 0 for t in list(TARGETS)[:2]}}, "every weight is 0"),
    ({"fit": {"n": 10, "replicates": 1, "seed": 1}}, "fit.n"),
    ({"validation": {"n": 500, "replicates": 1, "seed": 1}}, "validation.replicates"),
    ({"model_overrides": ["seed=3"]}, "set by the calibration"),
])
def test_calibration_settings_refuse_bad_input(change, message):
    c = {"targets": {"absence_rate": 1}, "fit": {"n": 500, "replicates": 1, "seed": 1},
         "validation": {"n": 500, "replicates": 2, "seed": 2}, "model_overrides": [],
         **change}
    with pytest.raises(ValueError, match=message):
        cal.settings(c)


def test_psa_summary_probabilities_and_changes():
    # design a dominates usual care in every draw; b is worse in RTW and better in SII
    rows = []
    for draw in range(4):
        for d, rtw, sii, nb in (("usual_care", 0.5, 0.1, 0.0), ("a", 0.6, 0.1, 10.0 + draw),
                                ("b", 0.4, 0.05, -1.0)):
            rows.append({"draw": draw, "design": d, "rtw_52w": rtw + draw / 100, "sii": sii,
                         "weeks_in_work": 1.0, "cost_programme": 0.0, "net_benefit": nb,
                         "nhb_qaly": nb})
    s = psa.summarise(pd.DataFrame(rows), ["usual_care", "a", "b"], 20000.0).set_index("design")
    assert s.loc["a", "p_best_net_benefit"] == 1 and s.loc["usual_care", "p_best_rtw"] == 0
    assert s["p_best_nhb_qaly"].sum() == pytest.approx(1.0)
    assert s.loc["usual_care", "rtw_52w_vs_uc"] == 0
    assert s.loc["a", "rtw_52w_vs_uc"] == pytest.approx(0.1)
    assert s.loc["a", "net_benefit_vs_uc_low"] == pytest.approx(10.075)  # 2.5th pct of 10..13
    assert s.loc["b", "p_narrows_imd_gradient"] == 1 and s.loc["a", "p_narrows_imd_gradient"] == 0


def test_psa_clamped_table_keeps_first_drawn_and_last_used():
    t = psa.clamped_table([{"draw": 0, "entry": "x", "drawn": 3.0, "used": 2.0},
                           {"draw": 0, "entry": "x", "drawn": 2.0, "used": 1.5},
                           {"draw": 2, "entry": "y", "drawn": 9.0, "used": 8.0}])
    assert t.to_dict("records") == [{"draw": 0, "entry": "x", "drawn": 3.0, "used": 1.5},
                                    {"draw": 2, "entry": "y", "drawn": 9.0, "used": 8.0}]
    assert list(psa.clamped_table([]).columns) == ["draw", "entry", "drawn", "used"]


@pytest.mark.parametrize("c, message", [({"draws": 1, "wtp": None}, "draws"),
                                         ({"draws": True, "wtp": None}, "draws"),
                                         ({"draws": 5, "wtp": -1}, "wtp"),
                                         ({"draws": 5, "wtp": None, "designs": "all"}, "tagged"),
                                         ({"draws": 5, "wtp": None, "designs": "tagged(x)"},
                                          "design tag")])
def test_psa_settings_refuse_bad_input(c, message):
    with pytest.raises(ValueError, match=message):
        psa.check_settings(c)


def test_design_tags_pick_designs_from_their_yaml(tmp_path):
    from sim.programme.catalogue import design_list, tagged

    (tmp_path / "programme").mkdir()
    for name, extra in (("b", "tags: [psa, compare]\n"), ("a", "tags: [psa]\n"), ("c", "")):
        (tmp_path / "programme" / f"{name}.yaml").write_text(f"name: {name}\n{extra}")
    assert tagged("psa", tmp_path) == ["a", "b"]  # name order
    assert tagged("compare", tmp_path) == ["b"]
    assert design_list(["x", "y"]) == ["x", "y"]
    shipped = design_list("tagged(psa)")
    assert shipped and "usual_care" not in shipped
