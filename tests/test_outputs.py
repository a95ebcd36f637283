"""Results are written completely or not at all."""

import json

import pandas as pd
import pytest

from sim.output import point_latest, write_results
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
    pd.testing.assert_frame_equal(agents, small_results.agents, check_categorical=False)
    text = (dest / "summary.md").read_text()
    assert "By IMD quintile" in text and "By ethnic group" in text
    assert list(tmp_path.iterdir()) == [dest]


def test_failure_half_way_leaves_nothing(small_results, tmp_path, monkeypatch):
    import sim.plots

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sim.plots, "states_figure", boom)
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
    from sim.output import summary_markdown

    results = simulate(make_config("population.n=150", "horizon_weeks=60"))
    text = summary_markdown(results, [])
    assert "suppressed" in text  # e.g. Bangladeshi: about 1% of 150 people
