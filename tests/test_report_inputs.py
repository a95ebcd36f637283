"""The report through its command line: every run given is used or named with a reason,
short horizons work, bad inputs are one line (exit 2), nothing existing is overwritten."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.results.output import write_results
from sim.simulate import simulate

REPO = Path(__file__).resolve().parent.parent
BASE = ("population.n=1000", "replicates=2", "horizon_weeks=60", "output.plots=false",
        "output.write_agents=false")


def report(*args, timeout=300):
    """``python -m sim.compare.report ARGS`` in a new process (to see what a user sees)."""
    return subprocess.run([sys.executable, "-m", "sim.compare.report", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def report_main(*args):
    """The same command line run in this process (no interpreter start-up: cheaper)."""
    import contextlib
    import io

    from sim.compare.report import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def make_runs(root: Path, runs: dict) -> Path:
    from sim.config import load_config

    for name, overrides in runs.items():
        write_results(simulate(load_config([*BASE, *overrides])), root / name / "results")
    return root


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Runs a user might hand the report together: two seeds, a variant, a design with no
    usual-care partner (seed 3 only), another population, another horizon, a repeat."""
    import shutil

    root = make_runs(tmp_path_factory.mktemp("mixed"), {
        "uc_s1": ["programme=usual_care", "seed=1"],
        "uc_s2": ["programme=usual_care", "seed=2"],
        "mc_s1": ["programme=multicomponent", "seed=1"],
        "mc_s2": ["programme=multicomponent", "seed=2"],
        "mc_short": ["programme=multicomponent", "seed=1",
                     "programme.components.rtw_coordinator.duration_weeks=6"],
        "ips_s3": ["programme=ips_smi", "seed=3"],
        "ips_wf": ["programme=ips_smi", "seed=1", "population=workforce"],
        "uc_h80": ["programme=usual_care", "seed=1", "horizon_weeks=80"],
    })
    shutil.copytree(root / "mc_s2", root / "mc_s2_again")  # the same run given twice
    return root


@pytest.fixture(scope="module")
def mixed_report(mixed, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")  # exists and is empty: may be used
    r = report_main(mixed, "--out", out)
    assert r.returncode == 0, r.stderr
    return r, out


def test_every_run_is_used_or_named_with_its_reason(mixed, mixed_report):
    r, out = mixed_report
    page = (out / "report.html").read_text()
    not_used = pd.read_csv(out / "runs_not_used.csv")
    reasons = dict(zip(not_used["path"].map(lambda p: Path(p).parent.name), not_used["reason"],
                       strict=True))
    assert set(reasons) == {"ips_s3", "ips_wf", "uc_h80", "mc_s2_again"}  # 5 compared
    assert "no usual_care run with seed 3" in reasons["ips_s3"]
    assert "population.name workforce" in reasons["ips_wf"]
    assert "no usual_care run has its settings" in reasons["ips_wf"]
    assert "horizon_weeks 80 (compared runs: 60)" in reasons["uc_h80"]
    assert reasons["mc_s2_again"].startswith(f"repeat of {mixed / 'mc_s2' / 'results'}")
    for name, reason in reasons.items():  # on screen and in the page
        assert f"{mixed / name / 'results'}: {reason}" in r.stderr
        assert f"{mixed / name / 'results'}" in page
    assert ">Runs not used</h2>" in page and "4 of the 9 runs given are not used" in page


def test_seeds_are_pooled_as_paired_replicates(mixed_report):
    _, out = mixed_report
    per = pd.read_csv(out / "per_replicate.csv")
    rtw = per[per["measure"] == "rtw_52w"]
    uc = rtw[rtw["design"] == "usual_care"]
    assert sorted(set(zip(uc["seed"], uc["replicate"], strict=True))) == [
        (1, 0), (1, 1), (2, 0), (2, 1)]  # both seeds, both replicates each
    league = pd.read_csv(out / "league.csv")
    row = league[(league["design"].str.contains("duration_weeks=12"))
                 & (league["measure"] == "rtw_52w")].iloc[0]
    assert row["n_replicates"] == 4
    mc = rtw[rtw["design"] == row["design"]].set_index(["seed", "replicate"])["value"]
    base = uc.set_index(["seed", "replicate"])["value"]
    assert row["estimate"] == pytest.approx((mc - base.loc[mc.index]).mean())  # paired by seed


def test_variants_of_a_design_are_separate_rows(mixed_report):
    _, out = mixed_report
    league = pd.read_csv(out / "league.csv")
    designs = set(league["design"])
    assert designs == {"usual_care",
                       "multicomponent [components.rtw_coordinator.duration_weeks=12]",
                       "multicomponent [components.rtw_coordinator.duration_weeks=6]"}
    short = league[(league["design"].str.contains("=6]")) & (league["measure"] == "rtw_52w")]
    assert short["n_replicates"].iloc[0] == 2  # seed 1 only, as it was run
    page = (out / "report.html").read_text()
    assert "multicomponent [components.rtw_coordinator.duration_weeks=6]</td>" in page


def test_horizon_under_52_weeks_reports_at_the_latest_rtw_week(tmp_path):
    cells = make_runs(tmp_path / "cells", {
        "uc": ["programme=usual_care", "horizon_weeks=30"],
        "mc": ["programme=multicomponent", "horizon_weeks=30"]})
    r = report_main(cells, "--out", tmp_path / "report")
    assert r.returncode == 0, r.stderr
    league = pd.read_csv(tmp_path / "report" / "league.csv")
    assert "rtw_26w" in set(league["measure"]) and "rtw_52w" not in set(league["measure"])
    page = (tmp_path / "report" / "report.html").read_text()
    assert "RTW 26 w (%)" in page and "no RTW rate at 52 weeks (horizon 30 weeks)" in page


def test_runs_without_any_rtw_week_are_refused_in_one_line():
    from sim.compare.report import ReportError, rtw_week

    summary = pd.DataFrame({"dimension": ["all", "all"], "metric": ["days_absent", "rtw_60w"]})
    with pytest.raises(ReportError, match="no RTW rate .* run with horizon_weeks of at least"):
        rtw_week(summary)
    summary.loc[2] = ["all", "rtw_13w"]
    assert rtw_week(summary) == 13


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return make_runs(tmp_path_factory.mktemp("pair"), {
        "uc": ["programme=usual_care"], "mc": ["programme=multicomponent"]})


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("damage, expected, new_process", [
    (lambda d: (d / "manifest.json").write_text("{not json"), "not a readable manifest", True),
    (lambda d: (d / "manifest.json").write_text("[1, 2]"), "not a run manifest", False),
    (lambda d: (d / "manifest.json").write_text(json.dumps({"config": {"seed": 1}})),
     "not a run manifest", False),
    (lambda d: (d / "manifest.json").write_text(json.dumps({**json.loads(
        (d / "manifest.json").read_text()), "config": {**json.loads(
            (d / "manifest.json").read_text())["config"], "seed": [1]}})),
     "config.seed is [1], expected an integer", False),
    (lambda d: (d / "group_summary.parquet").write_bytes(b"PAR1 garbage"), "unreadable table",
     True),
    (lambda d: (d / "economics.parquet").write_bytes(
        (d / "economics.parquet").read_bytes()[:200]), "unreadable table", False),
    (lambda d: pd.DataFrame({"x": [1]}).to_parquet(d / "rtw_curves.parquet"),
     "not a results table", False),
])
def test_bad_results_are_one_line_and_write_nothing(pair, tmp_path, damage, expected,
                                                     new_process):
    cells = _copy(pair, tmp_path / "cells")
    damage(cells / "mc" / "results")
    r = (report if new_process else report_main)(cells, "--out", tmp_path / "report")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("report error:") and expected in lines[0]
    assert str(cells / "mc" / "results") in lines[0]
    assert not (tmp_path / "report").exists()
    assert not list(tmp_path.glob(".report.partial-*"))


def test_existing_out_folder_is_never_touched(pair, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    r = report(pair, "--out", out, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("report error: --out") and "not empty" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]
    assert (out / "thesis.tex").read_text() == "years of work"
    (tmp_path / "afile").write_text("keep")
    r = report_main(pair, "--out", tmp_path / "afile")
    assert r.returncode == 2 and (tmp_path / "afile").read_text() == "keep"
    r = report_main(pair, "--out", tmp_path / "afile" / "sub")  # under a file: before work
    assert r.returncode == 2 and "is not a folder" in r.stderr


def test_default_out_goes_to_a_fresh_folder(pair, tmp_path):
    cells = _copy(pair, tmp_path / "cells")
    (cells / "report").mkdir()
    (cells / "report" / "notes.txt").write_text("mine")
    r = report_main(cells)
    assert r.returncode == 0, r.stderr
    assert f"report: {cells / 'report-2' / 'report.html'}" in r.stdout
    assert sorted(p.name for p in (cells / "report").iterdir()) == ["notes.txt"]


def test_report_of_a_path_that_does_not_exist_is_one_line(tmp_path):
    r = report_main(tmp_path / "nope")
    assert r.returncode == 2
    assert r.stderr.strip() == f"report error: {tmp_path / 'nope'}: no such file or directory"


def test_variant_labels_never_merge_rows(make_config):
    """Variants whose labels shorten to the same text stay separate rows (numbered)."""
    from sim.compare.report import Cell, select_runs

    cells = [Cell(Path("uc"), {"config": make_config("programme=usual_care")}, None, None,
                  None)]
    for k in range(3):
        cfg = make_config("programme=multicomponent")
        cfg["programme"]["description"] = "A long description shared by all " * 3 + str(k)
        cells.append(Cell(Path(f"mc{k}"), {"config": cfg}, None, None, None))
    keys = [a.key for a in select_runs(cells).arms]
    assert len(keys) == len(set(keys)) == 4
    assert keys[0] == "usual_care" and keys[2].endswith("#2]") and keys[3].endswith("#3]")
