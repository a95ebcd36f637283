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
@pytest.mark.parametrize("dimension_dtype", ["string[pyarrow]", "str", object])
def test_economics_measures_equal_the_pandas_version_bit_for_bit(config, dimension_dtype):
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
    econ["dimension"] = econ["dimension"].astype(dimension_dtype)
    from sim.compare.sweep_compare import _economics, _Long

    long = _Long()
    _economics(econ, config, long)
    new, old = long.rows(), _economics_oracle(econ, config)
    assert [{k: v for k, v in r.items() if k != "value"} for r in new] == \
        [{k: v for k, v in r.items() if k != "value"} for r in old]
    assert all(type(a["replicate"]) is type(b["replicate"]) is int for a, b in zip(
        new, old, strict=True))
    assert np.array_equal(np.array([r["value"] for r in new]).view(np.int64),
                          np.array([r["value"] for r in old]).view(np.int64))


def _inequality_oracle(imd, eth, metric):
    """Session 21's _inequality through slope_index and concentration_index themselves."""
    from sim.compare.sweep_compare import WHITE_BRITISH, _rows
    from sim.stats.metrics import concentration_index, slope_index

    rows, q = [], [str(i) for i in range(1, 6)]
    if imd is not None and set(q) <= set(imd[1]):
        reps, columns, values, dens = imd
        at = [columns.index(g) for g in q]
        out = {"sii": {}, "rii": {}, "imd_gap": {}, "concentration_index": {}}
        for r, y, w in zip(reps, np.asfortranarray(values[:, at]),
                           np.asfortranarray(dens[:, at]), strict=True):
            if not (np.isfinite(y).all() and np.isfinite(w).all()):
                continue
            s = slope_index(y, w, ci="none")
            out["sii"][r], out["rii"][r], out["imd_gap"][r] = s.sii, s.rii, y[4] - y[0]
            out["concentration_index"][r] = (concentration_index(y, np.arange(1, 6), w).index
                                             if y @ w > 0 else np.nan)
        for name, vals in out.items():
            rows += _rows(vals, "inequality", name, metric)
    if eth is not None and WHITE_BRITISH in eth[1] and len(eth[1]) > 1:
        reps, columns, values, dens = eth
        minor = [j for j, g in enumerate(columns) if g != WHITE_BRITISH]
        vals = np.asfortranarray(values[:, minor])
        w = np.where(np.isfinite(vals), np.asfortranarray(dens[:, minor]), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_min = np.nansum(np.nan_to_num(vals) * w, axis=1) / w.sum(axis=1)
            wb = values[:, columns.index(WHITE_BRITISH)].copy()
            rel = np.where(wb > 0, mean_min / wb, np.nan)
        rows += _rows(dict(zip(reps, wb - mean_min, strict=True)), "inequality", "ethnic_gap",
                      metric)
        rows += _rows(dict(zip(reps, rel, strict=True)), "inequality", "ethnic_gap_rel", metric)
    return rows


def _cell_measures_oracle(summary, econ, config):
    """Session 21's cell_measures, pandas all the way (boolean filters, unstack, a dict per
    row, concat): the oracle of the Arrow-code and numpy version (issue 19)."""
    from sim.compare.sweep_compare import BY_GROUP, _is_outcome, _wide_pandas

    long = ["replicate", "dimension", "group", "metric", "value"]
    metric = summary["metric"]
    outcomes = [m for m in metric.unique() if isinstance(m, str) and _is_outcome(m)]
    keep = summary[metric.isin(outcomes) & summary["dimension"].isin(("all", *BY_GROUP))]
    rtw = sorted(m for m in keep["metric"].unique() if m.startswith(("rtw_", "sustained_rtw_")))
    sub = keep[keep["metric"].isin(rtw) & keep["dimension"].isin(BY_GROUP)]
    wide = _wide_pandas(sub) if len(sub) else {}
    rows = []
    for m in rtw:
        rows += _inequality_oracle(wide.get((m, "imd_quintile")), wide.get((m, "ethnicity")), m)
    if econ is not None:
        rows += _economics_oracle(econ, config)
    out = pd.concat([keep[long], pd.DataFrame(rows, columns=long)], ignore_index=True)
    out["group"] = out["group"].astype(str)
    return out


def _odd_summary(case):
    """A group summary with the awkward parts of ``case`` (see the test)."""
    rng = np.random.default_rng(11)
    reps = [0] if case == "one_replicate" else [2, 0, 1]
    groups = {"all": ["all"], "imd_quintile": list("13245"), "sex": ["f", "m"],
              "ethnicity": ["white_british", "indian", "black"]}
    rows = [{"replicate": r, "dimension": d, "group": g, "metric": m,
             "value": float(rng.uniform(0.2, 0.9)), "n": int(rng.integers(50, 400))}
            for m in ("rtw_13w", "sustained_rtw_52w", "rtw_52w", "days_absent", "enrolled")
            for r in reps for d, gs in groups.items() for g in gs]
    s = pd.DataFrame(rows)
    if case == "nan":  # a quintile and an ethnic group without a value, one replicate
        s.loc[(s["replicate"] == 1) & (s["group"].isin(["3", "black"])), "value"] = np.nan
    if case == "zero_weight":  # a zero weighted mean
        s.loc[(s["metric"] == "rtw_13w") & (s["replicate"] == 0)
              & (s["dimension"] == "imd_quintile"), "value"] = 0.0
    if case == "missing_rows":  # a replicate without ethnicity, a metric without quintile 4
        s = s[~((s["replicate"] == 1) & (s["dimension"] == "ethnicity"))
              & ~((s["metric"] == "rtw_52w") & (s["group"] == "4"))]
    if case == "duplicates":  # the first row of a cell wins
        extra = s[s["dimension"].isin(["imd_quintile", "ethnicity"])].head(7).copy()
        extra["value"] += 0.25
        s = pd.concat([s, extra], ignore_index=True)
    if case == "no_rtw":
        s = s[~s["metric"].str.contains("rtw")]
    if case == "object_columns":  # not pandas' string columns: the frame path
        s = s.astype({c: object for c in ("dimension", "group", "metric")})
    if case == "missing_group":  # a missing group name: pandas' rules
        s.loc[3, "group"] = np.nan
    return s.reset_index(drop=True)


@pytest.mark.parametrize("case", ["plain", "one_replicate", "nan", "zero_weight",
                                  "missing_rows", "duplicates", "no_rtw", "object_columns",
                                  "missing_group"])
@pytest.mark.parametrize("with_economics", [True, False])
def test_cell_measures_equal_the_pandas_version_bit_for_bit(tmp_path, case, with_economics):
    """Edge cases of the group summary, with and without economics: the same frame (rows,
    dtypes, value bits) as session 21's pandas version (issue 19)."""
    summary = _odd_summary(case)
    config = {"economics": {"willingness_to_pay_per_week_in_work": 120.0,
                            "qaly_thresholds": [20000]}}
    econ = None
    if with_economics:
        reps = sorted(summary["replicate"].unique())
        econ = pd.DataFrame({"replicate": reps, "dimension": "all", "group": "all", "n": 9,
                             "cost_programme": 10.0 + np.arange(len(reps)) / 3,
                             "cost_nhs_pss": 99.0, "qaly_disc": 0.7,
                             "weeks_in_work_disc": 41.0 + np.arange(len(reps)) / 7})
    with np.errstate(all="ignore"):
        new = cell_measures(tmp_path, summary.copy(), econ, {"config": config}, memo={})
        old = _cell_measures_oracle(summary, econ, config)
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    if len(new) and new["value"].dtype == float:
        assert np.array_equal(new["value"].to_numpy().view(np.int64),
                              old["value"].to_numpy().view(np.int64))


def test_cell_measures_zero_weight_raises_as_slope_index(tmp_path):
    """A quintile with no people: slope_index's own error, as before."""
    summary = _odd_summary("plain")
    summary.loc[(summary["group"] == "2") & (summary["replicate"] == 2), "n"] = 0
    with pytest.raises(ValueError, match="positive population"):
        _cell_measures_oracle(summary, None, {})
    with pytest.raises(ValueError, match="positive population"):
        cell_measures(tmp_path, summary, None, {"config": {}})
