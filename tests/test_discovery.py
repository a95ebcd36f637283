"""PRIM scenario discovery on planted boxes, and the experiments end to end at tiny sizes."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.uncertainty.discovery import find_box
from tests.conftest import analysis_bad_input

REPO = Path(__file__).resolve().parent.parent


def planted(n=1000, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(size=(n, 4)), columns=["a", "b", "c", "d"])
    y = ((x["a"] > 0.7) & (x["b"] < 0.3)).to_numpy()
    flip = rng.uniform(size=n) < noise
    return x, y ^ flip


@pytest.mark.parametrize("noise", [0.0, 0.02])
def test_prim_recovers_a_planted_box(noise):
    x, y = planted(noise=noise)
    d = find_box(x, y, min_coverage=0.7)
    lim = d.limits.set_index("factor")
    # only the two planted factors are restricted, at about the planted edges
    restricted = [f for f, r in lim.iterrows()
                  if r["low"] > r["full_low"] + 0.02 or r["high"] < r["full_high"] - 0.02]
    assert sorted(restricted) == ["a", "b"]
    assert lim.at["a", "low"] == pytest.approx(0.7, abs=0.05)
    assert lim.at["b", "high"] == pytest.approx(0.3, abs=0.05)
    assert d.coverage >= 0.7
    assert d.density >= (0.95 if noise == 0 else 0.75)
    assert lim.loc[["a", "b"], "qp_value"].max() < 1e-6
    assert d.describe().startswith("a >= 0.7") and " and b <= 0." in d.describe()
    assert d.base_rate == pytest.approx(y.mean())


def test_prim_box_restricts_at_most_max_restricted_factors():
    x, y = planted()
    d = find_box(x, y, min_coverage=0.7, max_restricted=1)
    lim = d.limits.set_index("factor")
    narrowed = [f for f, r in lim.iterrows()
                if r["low"] > r["full_low"] or r["high"] < r["full_high"]]
    assert len(narrowed) == 1 and narrowed[0] in ("a", "b")
    assert d.density < 0.95  # one factor alone cannot isolate the planted box
    assert d.density > 2 * d.base_rate


def test_prim_refuses_an_outcome_without_both_kinds():
    x, _ = planted(n=50)
    with pytest.raises(ValueError, match="0 of 50 cases"):
        find_box(x, np.zeros(50, bool))
    with pytest.raises(ValueError, match="min_coverage"):
        find_box(x, np.arange(50) < 10, min_coverage=0)


# 60 weeks: the outputs need 52 (rtw_52w, the SII) and per-week overhead, not people, sets
# the cost of a run this small (260 weeks took 4x as long)
SMALL = ["n=400", "replicates=1", 'model_overrides=["horizon_weeks=60"]',
         *[f"~factors.{f}" for f in ("cbt_days", "multidomain_hr", "persistence_half_life",
                                     "persistence_lasting",
                                     "access_ethnicity_gradient", "rtw_ethnicity_gradient",
                                     "rtw_duration_scale", "graded_return_hr", "uptake",
                                     "ethnicity_onset_hr")]]


def run(script, *args):
    return subprocess.run([sys.executable, str(REPO / "experiments" / script), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


def test_gsa_and_scenario_discovery_end_to_end(tmp_path):
    gsa_out = tmp_path / "gsa"
    r = run("gsa.py", *SMALL, "n_jobs=2",  # two joblib workers: the parallel path end to end
            "sobol_n=4", "morris_trajectories=2", "noise_seeds=2", f"out={gsa_out}")
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("sobol.csv", "morris.csv", "tornado.csv", "noise.csv", "samples.csv",
                 "sobol.png", "tornado.png", "morris.png", "summary.md",
                 "analysis_config.yaml"):
        assert (gsa_out / name).stat().st_size > 0, name
    sobol = pd.read_csv(gsa_out / "sobol.csv")
    assert set(sobol["parameter"]) == {"coordinator_hr", "access_imd_gradient",
                                       "rtw_imd_gradient"}
    assert set(sobol["output"]) == {"rtw_52w", "days_absent", "sii", "d_rtw_52w",
                                    "d_days_absent", "d_sii"}
    samples = pd.read_csv(gsa_out / "samples.csv")
    assert len(samples) == 4 * 5 + 2 * 4 + 7  # Sobol n(k+2), Morris r(k+1), tornado 2k+1
    tor = pd.read_csv(gsa_out / "tornado.csv")
    # usual care does not see the programme's coordinator HR: its change is all the design's
    row = tor[(tor["output"] == "d_days_absent") & (tor["parameter"] == "coordinator_hr")]
    assert float(row["at_high"].iloc[0]) < float(row["at_low"].iloc[0])

    # scenario discovery reusing the GSA points: no new runs; a threshold that splits them
    median = float(samples.loc[samples["plan"] == "sobol", "d_days_absent"].median())
    sd_out = tmp_path / "sd"
    r = run("scenario_discovery.py", *SMALL, "n_jobs=1",
            f"samples_from={gsa_out / 'samples.csv'}",
            "failure.output=d_days_absent", f"failure.above={median}", f"out={sd_out}")
    assert r.returncode == 0, r.stderr[-2000:]
    box = pd.read_csv(sd_out / "box.csv")
    assert len(box) >= 1 and set(box["factor"]) <= {"coordinator_hr", "access_imd_gradient",
                                                    "rtw_imd_gradient"}
    out = pd.read_csv(sd_out / "samples.csv")
    assert out["failed"].sum() == (out["d_days_absent"] > median).sum() > 0
    for name in ("trajectory.csv", "tradeoff.png", "box.png", "summary.md"):
        assert (sd_out / name).stat().st_size > 0, name


BAD_INPUT = [
    ("gsa.py", ["sobol_n=6"], "sobol_n: got 6, expected a power of two"),
    ("gsa.py", ["design=no_such_design"], "programme/no_such_design"),
    ("gsa.py", ["factors.uptake.high=1.5"], "factors.uptake = 1.5"),
    ("gsa.py", ["outputs=[rtw_52w,nonsense]"], "unknown output 'nonsense'"),
    ("gsa.py", ["sobl_n=64"], "sobl_n"),
    ("gsa.py", ["outputs=rtw_52w"], "expected a list such as"),
    ("scenario_discovery.py", ["failure.output=foo"], "failure.output: got 'foo'"),
    ("scenario_discovery.py", ["failure.below=0.1"], "exactly one of above or below"),
    ("scenario_discovery.py", ["samples_from=/nonexistent.csv"], "is not a file"),
    ("scenario_discovery.py", ["n_jobs=0"], "n_jobs: got 0, expected an integer >= 1"),
]
# through the real command line: a key Hydra rejects before it starts (sobl_n) and a
# setting each app's own check rejects inside Hydra
BAD_INPUT_CLI = [BAD_INPUT[0], BAD_INPUT[4], BAD_INPUT[8]]


@pytest.mark.parametrize("script, args, message", BAD_INPUT)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, script, args, message):
    out = tmp_path / "out"
    line = analysis_bad_input(script, [*args, "n=300", f"out={out}"])
    assert "\n" not in line and message in line
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("script, args, message", BAD_INPUT_CLI)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, script, args, message):
    out = tmp_path / "out"
    r = run(script, *args, "n=300", f"out={out}")
    assert r.returncode == 2, r.stderr[-1000:]
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


def test_scenario_discovery_fresh_sample_with_noise_check(tmp_path):
    out = tmp_path / "sd"
    # one process: 2 joblib workers cost more to start than these 16 small runs
    r = run("scenario_discovery.py", *SMALL, "n_jobs=1", "samples=6", "noise_seeds=2",
            "failure.output=d_rtw_52w", "failure.above=null", "failure.below=0.004",
            f"out={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    samples = pd.read_csv(out / "samples.csv")
    assert len(samples) == 6 and (samples["failed"] == (samples["d_rtw_52w"] < 0.004)).all()
    noise = pd.read_csv(out / "noise.csv")
    # other seeds give other populations (at 400 people a change can tie by chance: 1/400)
    assert len(noise) == 2 and noise["rtw_52w"].nunique() == 2
    assert "Monte Carlo noise" in (out / "summary.md").read_text()
