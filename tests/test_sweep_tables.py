"""A sweep cell's tables sent by its job to the parent (sim.compare.sweep_tables): they are
the files' frames, the parent keeps no more than its budget, and the aggregate and report
built from them are the bytes of those built from the files."""

import json
import os
import pickle
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from sim.compare import sweep, sweep_tables
from sim.results.parquet import read_parquet
from tests.conftest import REPO


@pytest.fixture(autouse=True)
def _empty():
    sweep_tables.clear()
    sweep_tables.clear_outbox()
    yield
    sweep_tables.clear()
    sweep_tables.clear_outbox()


def _cell(tmp_path, seed=1):
    from sim.config import load_config

    lines = ["population.n=300", "horizon_weeks=8", "replicates=2", f"seed={seed}"]
    assert sweep.run_cell(load_config(lines), tmp_path, lines, {}) == "done"
    (cell,) = [d for d in (tmp_path / "cells").iterdir() if f"seed={seed}" in d.name]
    return cell / "results"


def test_a_cells_tables_as_its_job_sends_them_are_its_files(tmp_path):
    results = _cell(tmp_path)
    key, blob, size = sweep_tables.collect(10**9)
    manifest, summary, economics = pickle.loads(blob)
    assert key == str(results.resolve()) and size > len(blob) > 0
    assert manifest == json.loads((results / "manifest.json").read_text())
    for sent, name in ((summary, "group_summary"), (economics, "economics")):
        on_disk = read_parquet(results / f"{name}.parquet")
        pd.testing.assert_frame_equal(sent, on_disk, check_exact=True)
        assert sent.dtypes.to_dict() == on_disk.dtypes.to_dict()
    assert sweep_tables.collect(10**9) is None  # collected once; the outbox is empty


def test_a_job_sends_nothing_without_an_allowance_or_over_it(tmp_path):
    _cell(tmp_path)
    assert sweep_tables.collect(None) is None
    _cell(tmp_path, seed=2)
    assert sweep_tables.collect(1000) is None  # a 2 x 300 cell's tables are larger
    _cell(tmp_path, seed=3)
    sweep_tables.clear_outbox()  # what a job does first: an earlier cell's tables go
    assert sweep_tables.collect(10**9) is None


def test_the_parent_keeps_no_more_than_its_budget_and_gives_each_table_once(
        tmp_path, monkeypatch):
    results = _cell(tmp_path)
    item = sweep_tables.collect(10**9)
    size = item[-1]
    monkeypatch.setattr(sweep_tables, "BUDGET", 2 * size)
    assert sweep_tables.allowance(4) == size // 2
    sweep_tables.receive(item)
    sweep_tables.receive(item)  # the same cell again replaces it, not counted twice
    sweep_tables.receive((str(tmp_path / "b"), *item[1:]))
    sweep_tables.receive((str(tmp_path / "c"), *item[1:]))  # over the budget: not kept
    assert sweep_tables._HELD[0] == 2 * size
    kept = sweep_tables.preloaded([results, tmp_path / "b", tmp_path / "c"])
    assert list(kept) == [results.resolve(), (tmp_path / "b").resolve()]
    assert kept[results.resolve()] is item[1]  # the bytes the job sent, handed on as they are
    got = sweep_tables.take(results)
    pd.testing.assert_frame_equal(got[1], pickle.loads(item[1])[1], check_exact=True)
    unpickled = sweep_tables.unpickled(kept)
    assert list(unpickled) == list(kept)
    pd.testing.assert_frame_equal(unpickled[results.resolve()][1], got[1], check_exact=True)
    assert sweep_tables.take(results) is None and sweep_tables._HELD[0] == size
    sweep_tables.clear()
    assert sweep_tables._HELD[0] == 0 and sweep_tables.preloaded([tmp_path / "b"]) == {}


def test_a_sweeps_aggregate_and_report_from_sent_tables_are_those_from_the_files(tmp_path):
    """The default launcher's jobs send their tables back; the aggregate and the index
    page's worker took every cell's from them, and a copy of the sweep aggregated again
    from the files alone (tables and report) is the same bytes."""
    out = tmp_path / "sweep"
    timings = tmp_path / "timings.jsonl"
    # 4 settings (population x an assumption): the index page is written by a worker
    grid = ["programme=usual_care,ips_smi", "population=fit_note_cohort,workforce",
            "pathways.rtw.manual_hr=0.9,1.0", "population.n=500", "horizon_weeks=20",
            "replicates=2", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={out}"]
    env = {**os.environ, sweep.TIMINGS_ENV: str(timings), "RTW_SIM_HELPER": "on"}
    result = subprocess.run([sys.executable, "-m", "sim", "-m", *grid], cwd=REPO,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in timings.read_text().splitlines()]
    assert [r["cells_sent"] for r in rows if r["phase"] == "tables"] == [8]
    assert [r["cells_sent"] for r in rows if r["phase"] == "report_job"] == [8]
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "aggregate")
    shutil.rmtree(copy / "report")
    assert sweep.main(["aggregate", str(copy)]) == 0
    for part in ("aggregate", "report"):
        files = sorted(p.relative_to(out / part) for p in (out / part).rglob("*")
                       if p.is_file())
        assert files and files == sorted(p.relative_to(copy / part)
                                         for p in (copy / part).rglob("*") if p.is_file())
        for f in files:
            assert (out / part / f).read_bytes() == (copy / part / f).read_bytes(), f


def test_the_parent_measures_each_kept_cell_as_the_aggregate_would(tmp_path, monkeypatch):
    """The measures taken as the tables come are cell_measures' frame of those tables; none
    are taken for a sweep that will not be aggregated, nor past the budget; a cell whose
    measures fail is left for the aggregate, which then says what is wrong."""
    from sim.compare.sweep_compare import cell_measures

    results = _cell(tmp_path)
    item = sweep_tables.collect(10**9)
    sweep_tables.clear(measure=False)
    sweep_tables.receive(item)
    assert sweep_tables.measures(results) is None  # not aggregated: nothing measured
    sweep_tables.clear(measure=True)
    sweep_tables.receive(item)
    held = sweep_tables._HELD[0]
    assert held > item[-1]  # the tables and their measures count
    got = sweep_tables.measures(results)
    manifest, summary, economics = pickle.loads(item[1])
    expected = cell_measures(results, summary, economics, manifest, memo={})
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert sweep_tables.measures(results) is None  # given once
    assert sweep_tables._HELD[0] == item[-1]  # the measures' bytes released
    sweep_tables.clear(measure=True)
    monkeypatch.setattr(sweep_tables, "BUDGET", item[-1] + 10)  # the tables fit, not both
    sweep_tables.receive(item)
    assert sweep_tables.measures(results) is None and sweep_tables._HELD[0] == item[-1]
    sweep_tables.clear(measure=True)
    import sim.compare.sweep_compare as compare

    def broken(*args, **kwargs):
        raise ValueError("no")
    monkeypatch.setattr(compare, "cell_measures", broken)
    sweep_tables.receive(item)
    assert sweep_tables.measures(results) is None
    assert sweep_tables.take(results) is not None  # the tables are kept all the same


def test_a_cells_tables_received_again_replace_its_earlier_copy_and_measures(
        tmp_path, monkeypatch):
    """The same cell's tables received twice: the earlier copy and its measures go (no
    measures of the earlier tables beside newer ones that were not kept, and the budget
    counts one copy)."""
    results = _cell(tmp_path)
    item = sweep_tables.collect(10**9)
    sweep_tables.clear(measure=True)
    sweep_tables.receive(item)
    once = sweep_tables._HELD[0]
    sweep_tables.receive(item)
    assert sweep_tables._HELD[0] == once  # one copy and one set of measures counted
    monkeypatch.setattr(sweep_tables, "BUDGET", 1)  # the next copy is not kept
    sweep_tables.receive(item)
    assert sweep_tables.measures(results) is None and sweep_tables.take(results) is None
    assert sweep_tables._HELD[0] == 0
