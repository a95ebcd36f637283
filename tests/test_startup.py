"""Start-up cost (issue 19): a plain run imports no part of scipy (scipy.stats and
scipy.optimize about 0.4 s, scipy.special alone 0.3-0.5 s: the evidence registry's 95%
intervals needed only its normal quantile) nor matplotlib (about 0.3 s), nor mesa's spaces
(scipy.spatial, networkx: about 0.5 s, skipped by sim.engine.mesa_core), and the values that
replaced them are exactly scipy's."""

import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from sim.evidence import conversions
from sim.stats import metrics

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from sim.config import load_config
from sim.simulate import simulate
from sim.results.output import write_results
import sim.__main__  # the CLI module itself
import tempfile, pathlib
results = simulate(load_config(["population.n=300", "horizon_weeks=30", "output.plots=false"]))
with tempfile.TemporaryDirectory() as tmp:
    write_results(results, pathlib.Path(tmp) / "results")
heavy = sorted(m for m in ("scipy", "scipy.special", "scipy.stats", "scipy.optimize",
                           "matplotlib", "scipy.spatial", "networkx", "mesa.discrete_space",
                           "sim.compare.sweep")
               if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_plain_run_does_not_import_heavy_modules():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         cwd=REPO, check=True)
    assert out.stdout.strip().splitlines()[-1] == "none"


def test_lazy_quantiles_equal_scipy_stats():
    assert conversions.Z95 == float(stats.norm.ppf(0.975))
    for level in (0.5, 0.8, 0.9, 0.95, 0.99):
        assert conversions.z_for_level(level) == float(stats.norm.ppf(0.5 + level / 2))
        assert metrics._z(level) == float(stats.norm.ppf(0.5 + level / 2.0))


MESA_PROBE = """
import sys
from sim.engine import mesa_core
from sim.engine.model import RTWModel
core = mesa_core.load()
assert "mesa" not in sys.modules and "scipy.spatial" not in sys.modules
import mesa  # the real package afterwards: same classes, and the rest of it is there
import mesa.discrete_space
assert mesa.Model is core.Model and mesa.Agent is core.Agent
assert mesa.DataCollector is core.DataCollector and issubclass(RTWModel, mesa.Model)
assert mesa_core.load().Model is mesa.Model  # once mesa is imported it is used as it is
print("ok", mesa.__version__)
"""


def test_mesa_core_classes_are_the_real_packages():
    out = subprocess.run([sys.executable, "-c", MESA_PROBE], capture_output=True, text=True,
                         cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")


HYDRA_HELP = """
import sys
sys.argv = [sys.argv[0], "--help"]
from sim.__main__ import main  # Hydra's own help: no preflight, so no shared repository
main()
"""


def test_help_lists_groups_from_one_repository_with_hydras_text():
    """``python -m sim --help`` (config groups listed from one repository, issue 19: 1.7 ->
    1.1 s CPU) prints exactly what Hydra's own help prints. About 3 s: two fresh processes,
    one of them Hydra's slow listing, which is the reference."""
    fast = subprocess.run([sys.executable, "-m", "sim", "--help"], capture_output=True,
                          text=True, cwd=REPO, check=True).stdout
    slow = subprocess.run([sys.executable, "-c", HYDRA_HELP], capture_output=True, text=True,
                          cwd=REPO, check=True).stdout
    assert "== Configuration groups ==" in fast and "programme: " in fast
    assert fast == slow


ANALYSIS_PROBE = """
import importlib.util, sys
from pathlib import Path
for path in sorted(Path("experiments").glob("*.py")):
    spec = importlib.util.spec_from_file_location("probe_" + path.stem, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))  # not run: no __main__
heavy = sorted(m for m in ("SALib", "scipy.stats", "scipy.optimize", "scipy.special",
                           "ema_workbench", "matplotlib") if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_analysis_entry_points_check_their_input_before_the_heavy_libraries():
    """Every experiment script's imports (the analysis modules whose checks run first on
    bad input) load no SALib, scipy.stats or scipy.optimize (about 1-1.5 s together), no
    EMA workbench and no matplotlib: they are imported where a run uses them, so a typo is
    reported in about half the time it took (gsa.py sobol_n=6: 4.45 -> 2.01 s here)."""
    out = subprocess.run([sys.executable, "-c", ANALYSIS_PROBE], capture_output=True,
                         text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "none"


@pytest.mark.parametrize("args, message", [
    (["--steady", "nosuch"], "--steady: got 'nosuch', expected one of"),
    (["--population", "workforc"], "--population: got 'workforc', expected one of"),
    (["--weeks", "104", "0"], "--weeks: got 0, expected positive integers"),
])
def test_bench_refuses_bad_arguments_in_one_line_before_any_run(args, message):
    """`make bench` runs minutes of subprocesses; a misspelt population used to end, after
    the first of them, in a traceback of the failed worker."""
    r = subprocess.run([sys.executable, "experiments/bench.py", *args], capture_output=True,
                       text=True, cwd=REPO, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert r.stderr.startswith(f"bench: {message}") and r.stdout == ""
