import functools
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=64)
def _load(overrides: tuple) -> dict:
    from sim.config import load_config

    return load_config(list(overrides))


@pytest.fixture
def make_config():
    """Compose and validate a config from overrides; returns a fresh deep copy each call."""
    import copy

    def make(*overrides):
        return copy.deepcopy(_load(tuple(overrides)))

    return make


@pytest.fixture
def run_cli():
    """Run ``python -m sim`` in a subprocess from the repo root."""
    import subprocess

    def run(*args, timeout=120):
        return subprocess.run([sys.executable, "-m", "sim", *args], cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)

    return run


# -- scheduling on both cores (make test: -n 2 --dist loadfile --no-loadscope-reorder) -----
# loadfile: each test file runs on one worker (a module-scoped fixture is built once), files
# go to whichever worker is free. (loadgroup's xdist_group marks would be finer, but
# pytest-xdist 3.8 sets ``item._nodeid``, which pytest 9.2 no longer reads: the marks are
# ignored.) --no-loadscope-reorder keeps the order below instead of most-tests-first.

# The longest files, longest first (per-file sums of `--durations=0` of a full run, on
# 2026-11-30 under a load of 10-20: discovery 1003 s, sweep 701, cli_safety 519, explorer 459,
# report_inputs 430, interventions 378, sweep_ray_cluster 341, horizon_checks 301, calibrate
# 266, resources 223, sweep_ray 172; config and crash_safety were cut since). They start
# first, so no long file is left for the end while the other core idles.
RUN_FIRST = (
    "tests/test_discovery.py",
    "tests/test_sweep.py",
    "tests/test_cli_safety.py",
    "tests/test_explorer.py",
    "tests/test_report_inputs.py",
    "tests/test_interventions.py",
    "tests/test_sweep_ray_cluster.py",
    "tests/test_horizon_checks.py",
    "tests/test_calibrate.py",
    "tests/test_resources.py",
    "tests/test_sweep_ray.py",
    "tests/test_crash_safety.py",
    "tests/test_explorer_browser.py",
)


def _first_rank(nodeid: str) -> int:
    return next((i for i, p in enumerate(RUN_FIRST) if nodeid.startswith(p)), len(RUN_FIRST))


def pytest_collection_modifyitems(config, items):
    """With --no-loadscope-reorder (make test), RUN_FIRST files go to the front; the order is
    otherwise kept. Without it (e.g. ``-n 2`` alone, which hands a chunk of the first tests to
    one worker) the order is left alone."""
    if getattr(config.option, "loadscopereorder", True):
        return
    items.sort(key=lambda item: _first_rank(item.nodeid))  # stable


# -- the Ray tests' shared sweep ----------------------------------------------------------

RAY_GRID = ["programme=usual_care,ips_smi", "population.n=300", "horizon_weeks=14",
            "replicates=2", "output.plots=false", "output.write_agents=false",
            "outcomes.rtw_weeks=[13]", "outcomes.snapshot_weeks=[6,13]"]
RAY_TABLES = ("summary.parquet", "comparison.csv", "cells.csv", "failures.csv")


@pytest.fixture(scope="session")
def ray_joblib_reference(tmp_path_factory):
    """RAY_GRID swept by the joblib launcher on 2 workers: the reference of both Ray tests
    (built once if one worker runs both files, else once per worker: no more than the one
    sweep each test ran before)."""
    import subprocess

    pytest.importorskip("ray")
    out = tmp_path_factory.mktemp("ray_reference") / "joblib"
    ref = subprocess.run([sys.executable, "-m", "sim", "-m", *RAY_GRID,
                          "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                          f"hydra.sweep.dir={out}"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr[-3000:]
    return out
