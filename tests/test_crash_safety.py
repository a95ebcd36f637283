"""Killing a run at any moment leaves complete results or none, never a partial set."""

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO


def _complete(results_dir):
    manifest = json.loads((results_dir / "manifest.json").read_text())
    return all((results_dir / name).stat().st_size > 0 for name in manifest["files"])


@pytest.mark.parametrize("delay", [0.8, 1.8, 2.6])
def test_sigkill_leaves_all_or_nothing(tmp_path, delay):
    out = tmp_path / "run"
    args = [sys.executable, "-m", "sim", "population.n=400000", "horizon_weeks=104",
            "output.latest_link=false", f"hydra.run.dir={out}"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    results = out / "results"
    if results.exists():
        assert _complete(results)  # it finished before the signal
    else:
        # only Hydra's bookkeeping (.hydra/, the log) and a hidden staging directory may
        # remain: nothing a reader or an aggregation would take for results
        leftovers = [p.name for p in out.iterdir()] if out.exists() else []
        assert all(name.startswith(".") or name == "rtw_sim.log" for name in leftovers), \
            leftovers
    # running again completes
    again = subprocess.run(args[:-1] + [f"hydra.run.dir={tmp_path / 'again'}"], cwd=REPO,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert _complete(tmp_path / "again" / "results")
