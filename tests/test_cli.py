"""The Hydra app end to end."""

import json


def test_cli_run_writes_results_and_summary(run_cli, tmp_path):
    out = tmp_path / "run"
    result = run_cli("population.n=3000", "horizon_weeks=60", "seed=3", "output.latest_link=false",
                     f"hydra.run.dir={out}")
    assert result.returncode == 0, result.stderr
    results = out / "results"
    manifest = json.loads((results / "manifest.json").read_text())
    assert manifest["n_agents"] == 3000
    assert manifest["horizon_weeks"] == 60
    assert manifest["config"]["seed"] == 3
    assert (results / "summary.md").exists()
    assert "Step 1" not in result.stderr  # Mesa's per-step log is silenced
    assert f"results: {results}" in result.stdout


def test_cli_overrides_any_parameter(run_cli, tmp_path):
    out = tmp_path / "run"
    result = run_cli("population=workforce", "population.n=2000", "horizon_weeks=20",
                     "pathways.rtw.manual_hr=0.7", "output.plots=false",
                     "output.latest_link=false", f"hydra.run.dir={out}")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "results" / "manifest.json").read_text())
    assert manifest["population"] == "workforce"
    assert manifest["config"]["pathways"]["rtw"]["manual_hr"] == 0.7
    assert "rtw_curves.png" not in manifest["files"]
