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


# -- scheduling on both cores (make test: -n 2; pyproject adds --dist loadgroup) ----------

# The longest tests and module groups, longest first (`--durations` of a full run, see the
# README's tests section): they start first, so no long test is left for the end while the
# other core idles. A prefix is a file or a file::test.
RUN_FIRST = (
    "tests/test_sweep_ray_cluster.py",
    "tests/test_sweep_ray.py::test_ray_launcher",
    "tests/test_sweep.py",
    "tests/test_discovery.py::test_gsa_and_scenario_discovery_end_to_end",
    "tests/test_crash_safety.py",
)


def _first_rank(nodeid: str) -> int:
    return next((i for i, p in enumerate(RUN_FIRST) if nodeid.startswith(p)), len(RUN_FIRST))


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    """RUN_FIRST tests go to the front (the order is otherwise kept), and the tests of a
    module that share a module-scoped fixture stay on one worker (one xdist group), so that
    fixture is built once."""
    items.sort(key=lambda item: _first_rank(item.nodeid))  # stable
    for item in items:
        defs = getattr(item, "_fixtureinfo", None)
        defs = defs.name2fixturedefs.values() if defs else ()
        if any(d.scope == "module" for seq in defs for d in seq):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


# -- the Ray tests' shared sweep (both run in one xdist group, so this runs once) ----------

RAY_GRID = ["programme=usual_care,ips_smi", "population.n=300", "horizon_weeks=14",
            "replicates=2", "output.plots=false", "output.write_agents=false",
            "outcomes.rtw_weeks=[13]", "outcomes.snapshot_weeks=[6,13]"]
RAY_TABLES = ("summary.parquet", "comparison.csv", "cells.csv", "failures.csv")


@pytest.fixture(scope="session")
def ray_joblib_reference(tmp_path_factory):
    """RAY_GRID swept by the joblib launcher on 2 workers: the Ray launchers' reference."""
    import subprocess

    pytest.importorskip("ray")
    out = tmp_path_factory.mktemp("ray_reference") / "joblib"
    ref = subprocess.run([sys.executable, "-m", "sim", "-m", *RAY_GRID,
                          "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                          f"hydra.sweep.dir={out}"],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr[-3000:]
    return out
