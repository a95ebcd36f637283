"""Calibration by an optimiser: the objective, the fit, the real model, the experiment."""

import math
import subprocess
import sys

import numpy as np
import pytest
import yaml

from sim.config import validate
from sim.results.calibration import (
    TARGETS,
    fit,
    objective,
    simulated_targets,
    target_intervals,
    z_scores,
)
from sim.uncertainty.factors import Factor, apply, parse_factors
from tests.conftest import analysis_bad_input

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


# ---- the objective -----------------------------------------------------------------------


def test_objective_hand_computed():
    targets = {"a": 0.20, "b": 0.026, "c": 5.7}
    tol = {"a": 0.05, "b": 0.002, "c": 0.45}
    sim = {"a": 0.25, "b": 0.023, "c": 9.9}
    # z_a = 0.05/0.05 = 1, z_b = -0.003/0.002 = -1.5, z_c = 4.2/0.45
    assert z_scores(sim, targets, tol) == pytest.approx({"a": 1.0, "b": -1.5, "c": 4.2 / 0.45})
    assert objective(sim, targets, tol) == pytest.approx(1 + 2.25 + (4.2 / 0.45) ** 2)
    # weight 0 = reported only; weight 2 doubles a term
    assert objective(sim, targets, tol, {"a": 2, "b": 1, "c": 0}) == pytest.approx(2 + 2.25)
    assert objective({**sim, "c": 5.7}, targets, tol) == pytest.approx(3.25)
    # a target the run could not compute makes J infinite (unless it has weight 0)
    assert objective({"a": 0.2, "b": 0.026}, targets, tol) == math.inf
    assert objective({"a": 0.2, "b": 0.026}, targets, tol, {"a": 1, "b": 1}) == 0.0


def test_target_intervals_from_the_registry():
    iv = target_intervals()
    assert set(iv) == set(TARGETS)
    # ONS, four years (2019, 2022, 2023, 2024): mean 2.2%, the interval spans the years
    assert iv["absence_rate"] == pytest.approx((0.022, 0.019, 0.026))
    assert iv["days_lost_per_worker_year"] == pytest.approx((4.8, 4.2, 5.7))
    # Daras et al. 2022: published 95% CI
    assert iv["absence_rate_imd1_to_imd5"] == pytest.approx((1.41, 1.16, 1.70))
    assert iv["remain_off_52w_given_off_6w"] == pytest.approx((0.20, 0.15, 0.25))
    # printed 66% (61-71%) of 102%: value and interval rescaled together
    assert iv["spells_1_week"] == pytest.approx((0.66 / 1.02, 0.61 / 1.02, 0.71 / 1.02))


# ---- the optimiser on a known function ---------------------------------------------------


def _factors(names, low=0.25, high=4.0):
    return [Factor(n, "scale", low, high, 1.0, (f"pathways.{n}",)) for n in names]


@pytest.mark.parametrize("method", ["Nelder-Mead", "Powell"])
def test_fit_recovers_a_smooth_toy_model(method):
    truth = np.array([1.3, 0.7, 1.8])

    def stats(x):  # three smooth, jointly identifying functions of the multipliers
        a, b, c = x
        return {"t1": a * b, "t2": a / c, "t3": b + c ** 2, "t4": math.log(a) + 3 * b}

    targets = stats(truth)
    tol = {k: 0.1 for k in targets}
    res = fit(stats, _factors(["a", "b", "c"]), targets, tol, method=method,
              max_evaluations=2000, xatol=1e-6, fatol=1e-10, progress=None)
    assert res.x == pytest.approx(truth, rel=0.02)
    assert res.objective < 1e-4 < res.start_objective
    # every evaluation is in the trace, the best row is the result
    assert len(res.trace) == res.evaluations
    assert res.trace["objective"].min() == pytest.approx(res.objective)
    assert list(res.trace.columns[:4]) == ["evaluation", "a", "b", "c"]


def test_fit_stays_within_bounds_and_reports_progress():
    lines = []

    def stats(x):  # the optimum (x = 3) lies outside the upper bound 2
        return {"t": float(x[0])}

    res = fit(stats, _factors(["a"], 0.5, 2.0), {"t": 3.0}, {"t": 1.0},
              max_evaluations=100, progress=lines.append, every=5)
    assert res.trace["a"].between(0.5, 2.0).all()
    assert res.x[0] == pytest.approx(2.0, rel=1e-3)
    assert lines and "eval" in lines[0] and "done" in lines[-1]


def test_fit_respects_the_evaluation_budget():
    calls = []

    def stats(x):
        calls.append(x)
        return {"t": float(np.sum(x))}

    res = fit(stats, _factors(["a", "b"]), {"t": 3.0}, {"t": 0.1}, max_evaluations=7,
              progress=None)
    assert len(calls) == res.evaluations <= 7
    assert "budget" in res.message


# ---- the real model: planted multipliers are recovered -----------------------------------

PLANTED = {"rtw_scale": 1.2, "onset": 0.85}


def test_fit_recovers_planted_multipliers_in_the_model(make_config):
    """Targets made by the model itself at multipliers (1.2, 0.85), with the same seed
    (common random numbers), are recovered from (1, 1) within 2%.

    Why 2%: with one uniform draw per person-week, J is a step function of the multipliers;
    near the planted point it is exactly 0 on a small plateau (runs identical to the
    planted one), about 0.3% wide at this size (seeds 5-8 recover both within 0.25% in
    42-54 evaluations). The tight tolerances (1% of each target) make any larger error cost
    J > 1, so 2% leaves room for where Nelder-Mead stops on the plateau's edge without
    hiding a real failure (the start, 20% and 15% away, has J > 100)."""
    factors = parse_factors({
        "rtw_scale": {"kind": "scale", "low": 0.5, "high": 2.0,
                      "paths": ["pathways.rtw.scale_weeks.cmd",
                                "pathways.rtw.scale_weeks.msk"]},
        "onset": {"kind": "scale", "low": 0.5, "high": 2.0,
                  "paths": ["pathways.new_spell.onset_weekly"]},
    })
    # the hand-tuned pathways, fixed, so a refit of the default (calibrated) file does not
    # move this test of the optimiser (with the issue-14 long-tail refit as the default,
    # rtw_scale's plateau at this size is wider: 1.25 was recovered for 1.2)
    cfg = make_config("population=workforce", "population.n=6000", "horizon_weeks=52",
                      "pathways=baseline", "seed=5")

    def stats(x):
        per = simulated_targets(validate(apply(cfg, factors, x)))
        return per.groupby("target")["simulated"].mean().to_dict()

    names = ["absence_rate", "spells_1_week", "spells_5plus_weeks"]
    made = stats(np.array([PLANTED[f.name] for f in factors]))
    targets = {t: made[t] for t in names}
    tol = {t: 0.01 * targets[t] for t in names}  # tight: 1% of each value
    res = fit(stats, factors, targets, tol, max_evaluations=80, xatol=1e-3, progress=None)
    assert res.x == pytest.approx([PLANTED[f.name] for f in factors], rel=0.02)
    assert res.objective < 0.01 * res.start_objective


# ---- the experiment end to end -----------------------------------------------------------

SMALL = ["fit.n=3000", "validation.n=3000", "validation.replicates=2",
         "optimiser.max_evaluations=6", "optimiser.progress_every=2",
         "targets.in_work_260w_given_absent_26w=0",  # a short run: 104 weeks observed
         "model_overrides=['horizon_weeks=104']"]  # the persistence target needs week 104


def _run(*args, timeout=120):
    return subprocess.run([sys.executable, "experiments/calibrate.py", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_experiment_end_to_end(tmp_path, make_config):
    out, written = tmp_path / "run", tmp_path / "cal.yaml"
    r = _run(f"out={out}", f"write_config={written}", *SMALL)
    assert r.returncode == 0, r.stderr
    assert "eval" in r.stdout and "objective" in r.stdout  # progress
    for name in ("parameters.csv", "trace.csv", "targets.csv", "calibration.png",
                 "summary.md", "calibrated.yaml", "analysis_config.yaml"):
        assert (out / name).stat().st_size > 0, name
    assert not list(tmp_path.glob(".*"))  # no staging or temporary file left
    text = written.read_text()
    assert text.startswith("# GENERATED by experiments/calibrate.py")
    assert text == (out / "calibrated.yaml").read_text()
    pathways = yaml.safe_load(text)
    assert pathways["name"] == "calibrated"
    assert "calibrated by experiments/calibrate.py" in pathways["sources"]["rtw"]
    assert "multiplier" in pathways["sources"]["new_spell"]
    cfg = make_config("population=workforce", "population.n=500")
    cfg["pathways"] = pathways
    validate(cfg)  # the model's schema accepts it
    import pandas as pd

    targets = pd.read_csv(out / "targets.csv")
    assert set(targets["target"]) == set(TARGETS)
    assert {"uk_low", "uk_high", "baseline_mean", "baseline_low", "calibrated_mean",
            "calibrated_high", "z_baseline", "z_calibrated", "fitted"} <= set(targets.columns)
    trace = pd.read_csv(out / "trace.csv")
    assert 1 <= len(trace) <= 6 and "objective" in trace
    params = pd.read_csv(out / "parameters.csv")
    assert {"factor", "low", "high", "multiplier", "hand_tuned", "calibrated"} <= set(
        params.columns)


BAD_INPUT = [
    ("+targets.no_such_target=1", "unknown target"),
    ("targets.no_such_target=1", "no_such_target"),
    ("fit.n=-5", "fit.n"),
    ("factors.onset.low=3", "low 3"),
    ("targets.absence_rate=-1", "weight"),
    ("model_overrides=['horizon_weeks=52']", "needs horizon_weeks >= 66"),
    ("optimiser.method=BFGS", "optimiser.method"),
    ("factors.imd_gradient.low=0", "low must be > 0"),
    ("write_config=configs/pathways/baseline.yaml", "baseline"),
]
# through the real command line: a key Hydra rejects before it starts and a setting the
# app's own check rejects inside Hydra
BAD_INPUT_CLI = BAD_INPUT[:2]


@pytest.mark.parametrize("override, message", BAD_INPUT)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, override, message):
    """In-process (tests/conftest.py analysis_bad_input): what the command line would print,
    without a new interpreter per case."""
    out, written = tmp_path / "run", tmp_path / "cal.yaml"
    line = analysis_bad_input("calibrate.py",
                              [f"out={out}", f"write_config={written}", *SMALL, override])
    assert "\n" not in line and message in line
    assert "eval" not in capsys.readouterr().out
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("override, message", BAD_INPUT_CLI)
def test_bad_input_is_one_line_exit_2_through_the_cli(tmp_path, override, message):
    out, written = tmp_path / "run", tmp_path / "cal.yaml"
    r = _run(f"out={out}", f"write_config={written}", *SMALL, override, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines()
             if not ln.startswith("config warning:")]  # RTW weeks a short horizon leaves out
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], r.stderr
    assert "eval" not in r.stdout
    assert not list(tmp_path.iterdir())


def test_shipped_calibrated_config_loads():
    from sim.config import CONFIG_DIR, load_config

    if not (CONFIG_DIR / "pathways" / "calibrated.yaml").exists():
        pytest.skip("configs/pathways/calibrated.yaml not generated yet")
    cfg = load_config(["pathways=calibrated", "population.n=500"])
    assert cfg["pathways"]["name"] == "calibrated"
