"""Results are written completely or not at all."""

import json

import numpy as np
import pandas as pd
import pytest

from sim.results.output import point_latest, write_results
from sim.simulate import simulate


@pytest.fixture(scope="module")
def small_results():
    from sim.config import load_config

    return simulate(load_config(["population.n=2000", "horizon_weeks=60", "replicates=2"]))


def test_writes_every_table_and_a_manifest(small_results, tmp_path):
    dest = write_results(small_results, tmp_path / "results")
    manifest = json.loads((dest / "manifest.json").read_text())
    for name in manifest["files"]:
        assert (dest / name).stat().st_size > 0
    assert {"agents.parquet", "group_summary.csv", "weekly_counts.parquet", "summary.md",
            "rtw_curves.png", "calibration.csv"} <= set(manifest["files"])
    assert manifest["versions"]["mesa"] == "3.5.1"
    assert manifest["config"]["seed"] == small_results.config["seed"]
    assert len(manifest["config_hash"]) == 16
    assert manifest["peak_memory_mb"] > 0
    agents = pd.read_parquet(dest / "agents.parquet")
    # the per-person table adds each person's discounted QALYs and costs (issue 16)
    from sim.results.economics import AGENT_COLUMNS, person_costs

    pd.testing.assert_frame_equal(agents.drop(columns=list(AGENT_COLUMNS)),
                                  small_results.agents, check_categorical=False)
    costs = person_costs(small_results.agents, small_results.config)
    np.testing.assert_allclose(agents["qaly_disc"], costs["qaly_disc"])
    assert agents["qaly_disc"].between(0, 52 / 52 * 2).all()  # at most 1 QALY a year
    text = (dest / "summary.md").read_text()
    assert "By IMD quintile" in text and "By ethnic group" in text
    assert list(tmp_path.iterdir()) == [dest]


def test_failure_half_way_leaves_nothing(small_results, tmp_path, monkeypatch):
    import sim.results.plots

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sim.results.plots, "states_figure", boom)
    with pytest.raises(RuntimeError):
        write_results(small_results, tmp_path / "results")
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites_existing_results(small_results, tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "keep.txt").write_text("finished work")
    with pytest.raises(FileExistsError):
        write_results(small_results, tmp_path / "results")
    assert (tmp_path / "results" / "keep.txt").read_text() == "finished work"


def test_latest_link_points_at_newest(small_results, tmp_path):
    a = write_results(small_results, tmp_path / "a" / "results")
    b = write_results(small_results, tmp_path / "b" / "results")
    point_latest(a, tmp_path)
    point_latest(b, tmp_path)
    assert (tmp_path / "latest").resolve() == b.resolve()


def test_small_groups_are_suppressed_in_the_summary(make_config):
    from sim.results.output import summary_markdown

    results = simulate(make_config("population.n=150", "horizon_weeks=60"))
    text = summary_markdown(results, [])
    assert "suppressed" in text  # e.g. Bangladeshi: about 1% of 150 people


def test_cell_level_tables_agree_with_per_agent_data(small_results, tmp_path):
    import numpy as np

    from sim.results.outcomes import first_exit
    from sim.stats.metrics import aalen_johansen

    r = small_results
    dest = write_results(r, tmp_path / "results")
    files = json.loads((dest / "manifest.json").read_text())["files"]
    assert {"economics.parquet", "rtw_curves.parquet", "cif.parquet"} <= set(files)
    # RTW curve at week 52 equals the rtw_52w summary metric, replicate by replicate
    curve = r.rtw_curves.query("dimension == 'imd_quintile' and week == 52")
    summ = r.summary.query("dimension == 'imd_quintile' and metric == 'rtw_52w'")
    merged = curve.merge(summ, on=["replicate", "group"])
    np.testing.assert_allclose(merged["returned"] / merged["n_x"], merged["value"])
    assert (merged["n_x"] == merged["n_y"]).all()
    # collapsed-count Aalen-Johansen equals the individual-level estimator
    time, cause, _ = first_exit(r.agents, r.config["horizon_weeks"])
    aj = aalen_johansen(time, cause, causes=[1, 2, 3])
    last = aj[aj["cause"] == 2].iloc[-1]
    table = r.cif.query("dimension == 'all' and cause == 'job_loss'")
    assert table["cif"].iloc[-1] == pytest.approx(last["cif"])
    # economics "all" row is the mean of the people's costs
    econ = r.economics.query("dimension == 'all'")
    assert (econ["n"].to_numpy() == r.agents.groupby("replicate").size().to_numpy()).all()
    assert (econ["followed"] >= econ["returned"]).all()


def test_group_summary_matches_a_groupby_reference(make_config):
    """group_summary (its repeated work hoisted, issue 19) against pandas: per replicate and
    group, n = eligible people and value = mean numerator among them, for every dimension
    and metric; groups with nobody eligible left out."""
    from sim.results.outcomes import SUMMARY_DIMENSIONS, _group_codes, _metrics, group_summary
    from sim.simulate import simulate

    r = simulate(make_config("population.n=1500", "replicates=2", "horizon_weeks=60",
                             "programme=multicomponent"))
    cfg, agents = r.config, r.agents
    table = group_summary(agents, cfg).set_index(["replicate", "dimension", "group", "metric"])
    metrics = _metrics(agents, cfg["horizon_weeks"], cfg["outcomes"]["rtw_weeks"],
                       cfg["outcomes"]["snapshot_weeks"], cfg["outcomes"]["sustained_weeks"])
    expected = 0
    for dim in SUMMARY_DIMENSIONS:
        codes, labels = _group_codes(agents, dim)
        for metric, (num, eligible) in metrics.items():
            frame = pd.DataFrame({"rep": agents["replicate"].to_numpy(), "g": codes,
                                  "num": np.asarray(num, dtype=float), "ok": eligible})
            ref = frame[frame["ok"]].groupby(["rep", "g"])["num"].agg(["mean", "size"])
            for (rep, g), row in ref.iterrows():
                got = table.loc[(rep, dim, str(labels[g]), metric)]
                assert got["n"] == row["size"]
                assert got["value"] == pytest.approx(row["mean"], rel=1e-12, abs=1e-12)
                expected += 1
    assert len(table) == expected
