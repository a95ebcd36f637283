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


# -- the analysis apps' bad input, in-process ----------------------------------------------

def analysis_bad_input(script: str, args: list[str]) -> str:
    """The one-line message ``sim.cli.apps.launch`` prints for this command line of
    experiments/<script>, without a new interpreter: the same compose of the app's config,
    then the app's task, which must raise one of launch's bad-input errors before any run."""
    import importlib.util

    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.config import CONFIG_DIR
    from sim.errors import one_line

    bad_input = (ValueError, HydraException, OmegaConfBaseException, FileExistsError)
    spec = importlib.util.spec_from_file_location(f"app_{script[:-3]}",
                                                  REPO / "experiments" / script)
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR / "analysis")):
            cfg = compose(config_name=script[:-3], overrides=args)
        app.task(cfg)
    except bad_input as err:
        return one_line(err)
    finally:
        GlobalHydra.instance().clear()
    raise AssertionError(f"{script} {args}: accepted")


# -- scheduling on both cores (make test: -n 2 --dist loadfile --no-loadscope-reorder) -----
# loadfile: each test file runs on one worker (a module-scoped fixture is built once), files
# go to whichever worker is free. (loadgroup's xdist_group marks would be finer, but
# pytest-xdist 3.8 sets ``item._nodeid``, which pytest 9.2 no longer reads: the marks are
# ignored.) --no-loadscope-reorder keeps the order below instead of most-tests-first.

# The longest files, longest first (per-file sums of `--durations=0` of a full run, on
# 2026-11-30 06:45-07:13 under a load of 8-13, the first 184 tests: sweep 534 s, discovery
# 480 (about a third since: 60 weeks), cli_safety 365, sweep_ray_cluster 332, interventions
# 288, explorer 248, calibrate 238, resources 207, report_inputs 206, horizon_checks 184;
# sweep_ray 172 the session before, less now that it reuses the cluster test's reference).
# They start first, so no long file is left for the end while the other core idles.
RUN_FIRST = (
    "tests/test_sweep.py",
    "tests/test_cli_safety.py",
    "tests/test_sweep_ray_cluster.py",  # builds the Ray tests' shared reference early
    "tests/test_interventions.py",
    "tests/test_explorer.py",
    "tests/test_calibrate.py",
    "tests/test_resources.py",
    "tests/test_report_inputs.py",
    "tests/test_horizon_checks.py",
    "tests/test_discovery.py",
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
    """RAY_GRID swept by the joblib launcher on 2 workers: the reference of both Ray tests.
    Built once per test session: the xdist workers share it through their common temporary
    directory (under a lock, so a worker that needs it while another builds it waits)."""
    import fcntl
    import os
    import shutil
    import subprocess

    pytest.importorskip("ray")
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = shared / "ray_reference" / "joblib"
    done = shared / "ray_reference" / "done"
    out.parent.mkdir(exist_ok=True)
    with open(shared / "ray_reference" / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(out, ignore_errors=True)  # a failed attempt of this session's
            ref = subprocess.run([sys.executable, "-m", "sim", "-m", *RAY_GRID,
                                  "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                                  f"hydra.sweep.dir={out}"],
                                 cwd=REPO, capture_output=True, text=True, timeout=300)
            assert ref.returncode == 0, ref.stderr[-3000:]
            done.touch()
    return out
