"""make compare (experiments/compare_designs.py, sim.compare.designs): every input checked
before any work (one line, nothing written), usual care added and each design run once, the
PSA child's command line, and one end-to-end run through the command line."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.compare import designs as compare
from sim.programme.catalogue import tagged

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "experiments" / "compare_designs.py"


def settings(tmp_path, **over) -> dict:
    """configs/analysis/compare.yaml's keys (as the app sees them), ``out`` in tmp_path."""
    base = yaml.safe_load((REPO / "configs" / "analysis" / "compare.yaml").read_text())
    base = {k: v for k, v in base.items() if k not in ("defaults", "hydra")}
    return {**base, "n": 500, "replicates": 1, "out": str(tmp_path / "out"), **over}


@pytest.mark.parametrize("over, expected", [
    ({"designs": ""}, "designs '': no design given; choose one or more of: access_to_work,"),
    ({"designs": " , "}, "no design given"),
    ({"designs": []}, "no design given"),
    ({"designs": ["usual_care", "nonexistent"]}, "unknown design 'nonexistent'; choose from: "),
    ({"designs": ["ips_sm"]}, "unknown design 'ips_sm' (did you mean 'ips_smi'?)"),
    ({"designs": "tagged(nope)"}, "design tag 'nope'"),
    ({"population": "mars"}, "unknown population 'mars'; choose from: fit_note_cohort, "
                             "nhs_workforce, out_of_work, workforce"),
    ({"n": 0}, "n: got 0, expected an integer >= 1"),
    ({"replicates": True}, "replicates: got True"),
    ({"psa_draws": 1}, "psa_draws: got 1, expected 0 (no PSA) or at least 2"),
    ({"psa_draws": -3}, "psa_draws: got -3"),
    ({"psa_n": 50}, "psa_n: got 50, expected an integer >= 100"),
    ({"model_overrides": "seed=3"}, "model_overrides: got 'seed=3', expected a list"),
    ({"model_overrides": ["populaton.n=5"]},
     "override populaton.n=5 (design usual_care): the top level has no key 'populaton'"),
    ({"model_overrides": ["population.nn=5"]}, "did you mean population.n?"),
    ({"model_overrides": ["population.n=abc"]}, "population.n: got 'abc', expected an integer"),
    ({"psa": "no/such/psa/run"}, "no/such/psa/run"),
])
def test_bad_settings_are_one_line_before_any_work(tmp_path, over, expected):
    with pytest.raises(ValueError) as info:
        compare.model_configs(compare.check_settings(settings(tmp_path, **over)))
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_designs_usual_care_first_each_once(tmp_path):
    c = compare.check_settings(settings(tmp_path, designs=["ips_smi", "cbt_alone", "ips_smi"]))
    assert c["designs"] == ["usual_care", "ips_smi", "cbt_alone"]
    assert compare.check_settings(settings(tmp_path, designs="ips_smi"))["designs"] == [
        "usual_care", "ips_smi"]
    default = compare.check_settings(settings(tmp_path))["designs"]  # tagged(compare)
    assert default == ["usual_care", *(d for d in tagged("compare") if d != "usual_care")]
    assert len(default) > 2


def test_an_existing_out_folder_is_refused_and_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="exists and is not an empty folder"):
        compare.check_settings(settings(tmp_path, designs=["ips_smi"]))
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    (out / "keep.txt").unlink()  # an empty folder is fine
    assert compare.check_settings(settings(tmp_path))["out"] == out


def test_psa_child_runs_the_compared_designs_with_the_same_overrides(tmp_path):
    c = compare.check_settings(settings(tmp_path, designs=["ips_smi", "cbt_alone"],
                                        psa_draws=3, psa_n=200,
                                        model_overrides=["horizon_weeks=60"]))
    cmd = compare.psa_command(tmp_path / "psa", c)
    assert cmd[1] == str(REPO / "experiments" / "psa.py")
    assert cmd[2:] == ["draws=3", "designs=[ips_smi,cbt_alone]", "population=fit_note_cohort",
                       "n=200", "replicates=2", f"out={tmp_path / 'psa'}",
                       "model_overrides=['horizon_weeks=60']"]


def test_a_failed_psa_leaves_the_report_to_replicate_noise(tmp_path, monkeypatch):
    monkeypatch.setattr(compare, "psa_command",
                        lambda folder, c: [sys.executable, "-c", "raise SystemExit(3)"])
    c = compare.check_settings(settings(tmp_path))
    assert compare.run_psa(tmp_path / "psa", c) is None


def test_compare_runs_and_reports_through_its_command_line(tmp_path):
    """The command as make runs it; PSA off (its child is checked above) to stay cheap.
    About 15 s idle (two interpreters, 2 designs x 2 replicates x 500 people, the report):
    the one test that sees what a user sees."""
    bad = subprocess.run([sys.executable, str(SCRIPT), "designs=", f"out={tmp_path / 'x'}"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    (line,) = bad.stderr.strip().splitlines()
    assert line.startswith("error: designs '': no design given")
    assert not (tmp_path / "x").exists()
    out = tmp_path / "cmp"
    r = subprocess.run([sys.executable, str(SCRIPT), "n=500", "replicates=2",
                        "designs=[ips_smi,ips_smi]", 'model_overrides=["horizon_weeks=60"]',
                        "psa_draws=0", f"out={out}"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"report: {out / 'report' / 'report.html'}" in r.stdout
    assert sorted(p.name for p in (out / "cells").iterdir()) == ["ips_smi", "usual_care"]
    league = pd.read_csv(out / "report" / "league.csv")
    assert set(league["design"]) == {"usual_care", "ips_smi"}  # a design given twice runs once
    assert pd.read_csv(out / "report" / "runs_not_used.csv").empty
    assert not (out / "psa").exists()
