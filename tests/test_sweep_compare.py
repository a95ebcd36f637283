"""aggregate/comparison.csv: every design x setting, gaps, SII/RII, costs, QALYs, NMB, NHB."""

import json

import numpy as np
import pandas as pd
import pytest

from sim.compare.sweep_compare import cell_measures, comparison_table


def _summary(rtw_imd, rtw_eth, n_imd=(100,) * 5, n_eth=None, replicate=0):
    rows = [{"replicate": replicate, "dimension": "all", "group": "all", "metric": "rtw_52w",
             "value": float(np.average(rtw_imd, weights=n_imd)), "n": sum(n_imd)}]
    rows += [{"replicate": replicate, "dimension": "imd_quintile", "group": str(q + 1),
              "metric": "rtw_52w", "value": v, "n": n} for q, (v, n) in
             enumerate(zip(rtw_imd, n_imd, strict=True))]
    n_eth = n_eth or {g: 100 for g in rtw_eth}
    rows += [{"replicate": replicate, "dimension": "ethnicity", "group": g, "metric": "rtw_52w",
              "value": v, "n": n_eth[g]} for g, v in rtw_eth.items()]
    return pd.DataFrame(rows)


def _measures(tmp_path, summary, name="r", qaly=(0.9,), nhs=(100.0,), weeks=(40.0,),
              prog=(0.0,)):
    d = tmp_path / name
    d.mkdir()
    reps = range(len(qaly))
    pd.DataFrame({"replicate": list(reps), "dimension": "all", "group": "all", "n": 500,
                  "qaly_disc": qaly, "cost_nhs_pss": nhs, "weeks_in_work_disc": weeks,
                  "cost_programme": prog}).to_parquet(d / "economics.parquet")
    (d / "manifest.json").write_text(json.dumps({"config": {"economics": {
        "willingness_to_pay_per_week_in_work": 100.0, "qaly_thresholds": [20000]}}}))
    m = cell_measures(d, summary).set_index(["dimension", "group", "metric"])["value"]
    return m


def test_gap_measures_by_hand(tmp_path):
    m = _measures(tmp_path, _summary([0.6, 0.65, 0.7, 0.75, 0.8],
                                     {"white_british": 0.8, "black": 0.6, "indian": 0.7},
                                     n_eth={"white_british": 300, "black": 100,
                                            "indian": 300}))
    assert m[("inequality", "rtw_52w", "imd_gap")] == pytest.approx(0.2)
    assert m[("inequality", "rtw_52w", "sii")] == pytest.approx(0.25)  # equal groups: slope
    assert m[("inequality", "rtw_52w", "rii")] == pytest.approx(0.825 / 0.575)
    # weighted minority mean (0.6 x 100 + 0.7 x 300) / 400 = 0.675
    assert m[("inequality", "rtw_52w", "ethnic_gap")] == pytest.approx(0.8 - 0.675)
    assert m[("inequality", "rtw_52w", "ethnic_gap_rel")] == pytest.approx(0.675 / 0.8)
    assert m[("inequality", "rtw_52w", "concentration_index")] > 0  # better off do better
    assert m[("economics", "all", "nmb")] == pytest.approx(100 * 40)
    assert m[("economics", "all", "nhb_20000")] == pytest.approx(0.9 - 100 / 20000)
    flat = _measures(tmp_path, _summary([0.7] * 5, {"white_british": 0.7, "black": 0.7}),
                     name="flat")
    for name in ("imd_gap", "sii", "concentration_index", "ethnic_gap"):
        assert flat[("inequality", "rtw_52w", name)] == pytest.approx(0.0, abs=1e-12)


def test_differences_are_paired_and_named_per_setting(tmp_path):
    """Two settings, two designs: each design x setting has its own rows, paired with the
    usual-care run of the same setting; design holds the name (with the variant)."""
    frames = []
    for setting, shift in (("a", 0.0), ("b", 0.1)):
        for programme, lift in (("usual_care", 0.0), ("coord", 0.05)):
            for rep in range(3):
                s = _summary(np.array([0.5, 0.55, 0.6, 0.65, 0.7]) + shift + lift * (
                    1 + rep) * np.array([2, 1, 1, 1, 0]) / 5,
                    {"white_british": 0.7, "black": 0.6 + lift}, replicate=rep)
                d = tmp_path / f"{setting}{programme}{rep}"
                d.mkdir()
                m = cell_measures(d, s)
                m.insert(0, "programme", programme)
                m.insert(1, "population", setting)
                m.insert(2, "variant", "w1" if programme == "coord" else "w1")
                frames.append(m)
    comp = comparison_table(pd.concat(frames, ignore_index=True),
                            ["programme", "population", "variant"])
    assert set(comp["design"]) == {"coord [w1]"} and set(comp["population"]) == {"a", "b"}
    assert list(comp.columns[:3]) == ["design", "programme", "reference"]
    sii = comp[(comp["metric"] == "sii")].set_index("population")
    # the lift is biggest in the most deprived quintile: the SII falls (gap narrows)
    assert (sii["difference"] < 0).all() and (sii["n_replicates"] == 3).all()
    assert (sii["low"] <= sii["difference"]).all() and (sii["difference"] <= sii["high"]).all()
    eth = comp[comp["metric"] == "ethnic_gap"]
    assert eth["difference"].to_numpy() == pytest.approx([-0.05, -0.05])


def test_t_quantile_is_scipy_stats_t_ppf_bit_for_bit():
    from scipy.stats import t

    from sim.stats.core import _t_ppf

    df = np.arange(1, 300)
    for q in (0.5, 0.9, 0.95, 0.975, 0.995):
        assert np.array_equal(_t_ppf(q, df), t.ppf(q, df))
        assert _t_ppf(q, 7) == t.ppf(q, 7)


def _economics_oracle(econ, config):
    """Session 19's _economics (pandas, dict per column): the oracle of the numpy version."""
    from sim.compare.sweep_compare import COSTS, _rows

    e = econ[econ["dimension"] == "all"].set_index("replicate")
    rows = []
    for col in COSTS:
        if col in e:
            rows += _rows(e[col].to_dict(), "economics", col, "all")
    if "qaly_disc" in e:
        rows += _rows(e["qaly_disc"].to_dict(), "economics", "qaly", "all")
    rows += _rows(e["weeks_in_work_disc"].to_dict(), "economics", "weeks_in_work", "all")
    eco = config.get("economics") or {}
    wtp = eco.get("willingness_to_pay_per_week_in_work")
    if wtp is not None:
        rows += _rows((wtp * e["weeks_in_work_disc"] - e["cost_programme"]).to_dict(),
                      "economics", "nmb", "all")
    if "qaly_disc" in e and "cost_nhs_pss" in e:
        for k in eco.get("qaly_thresholds") or ():
            rows += _rows((e["qaly_disc"] - e["cost_nhs_pss"] / float(k)).to_dict(),
                          "economics", f"nhb_{float(k):g}", "all")
    return rows


@pytest.mark.parametrize("config", [
    {"economics": {"willingness_to_pay_per_week_in_work": 137.5,
                   "qaly_thresholds": [20000, 30000]}},
    {"economics": {}}, {}])
def test_economics_measures_equal_the_pandas_version_bit_for_bit(config):
    """Unsorted and repeated replicates, other dimensions, awkward floats: the same rows,
    keys, types and value bits as the pandas version (issue 19)."""
    rng = np.random.default_rng(7)
    reps = [3, 0, 2, 1, 2]  # replicate 2 twice: the later row wins in both
    n = len(reps)
    econ = pd.DataFrame({
        "replicate": reps + [0, 1], "dimension": ["all"] * n + ["sex", "sex"],
        "group": ["all"] * n + ["female", "male"], "n": 500,
        **{c: rng.normal(1e4, 3e3, n + 2) for c in ("cost_programme", "cost_nhs_pss",
                                                     "cost_employer", "cost_societal")},
        "qaly_disc": rng.normal(0.8, 0.1, n + 2),
        "weeks_in_work_disc": rng.normal(40.0, 5.0, n + 2)})
    econ["dimension"] = econ["dimension"].astype("string[pyarrow]")
    from sim.compare.sweep_compare import _economics

    new, old = _economics(econ, config), _economics_oracle(econ, config)
    assert [{k: v for k, v in r.items() if k != "value"} for r in new] == \
        [{k: v for k, v in r.items() if k != "value"} for r in old]
    assert all(type(a["replicate"]) is type(b["replicate"]) is int for a, b in zip(
        new, old, strict=True))
    assert np.array_equal(np.array([r["value"] for r in new]).view(np.int64),
                          np.array([r["value"] for r in old]).view(np.int64))
