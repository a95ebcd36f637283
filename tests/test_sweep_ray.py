"""The Ray launcher on a local Ray bound to 127.0.0.1, stopped afterwards.

Skipped (with the reason) if Ray cannot start here. Every Ray process of the test is
found by the test's own temporary directory in its command line and ended by pid.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from tests.conftest import REPO

GRID = ["programme=usual_care,ips_smi", "population.n=300", "horizon_weeks=10",
        "replicates=2", "output.plots=false", "output.write_agents=false"]


def ray_pids(marker: str) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split(None, 1)[0]) for line in out.splitlines()
            if marker in line and str(os.getpid()) != line.split(None, 1)[0]]


def stop(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_ray_launcher_matches_basic_launcher_and_leaves_no_process(tmp_path):
    pytest.importorskip("ray")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    ray_tmp = tempfile.mkdtemp(prefix="rtwray", dir="/tmp")  # short: Ray's socket paths
    ray_dir, basic_dir = tmp_path / "ray", tmp_path / "basic"
    cmd = [sys.executable, "-m", "sim", "-m", *GRID, "hydra/launcher=ray_local",
           "+hydra.launcher.ray.init.num_cpus=2", f"+hydra.launcher.ray.init._temp_dir={ray_tmp}",
           f"hydra.sweep.dir={ray_dir}"]
    try:
        try:
            result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=90)
        except subprocess.TimeoutExpired:
            pytest.skip("Ray did not start and finish 2 tiny cells within 90 s here")
        if result.returncode != 0 and "Started a local Ray instance" not in result.stderr:
            pytest.skip(f"Ray cannot start here: {result.stderr.strip().splitlines()[-1:]}")
        assert result.returncode == 0, result.stderr[-2000:]
        assert "'_node_ip_address': '127.0.0.1'" in result.stdout + result.stderr
        time.sleep(1.0)  # Ray's processes exit with the driver
        left = ray_pids(ray_tmp)
    finally:
        stop(ray_pids(ray_tmp))
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert left == [], f"Ray processes outlived the sweep: {left}"

    basic = subprocess.run([sys.executable, "-m", "sim", "-m", *GRID, "hydra/launcher=basic",
                            f"hydra.sweep.dir={basic_dir}"], cwd=REPO, capture_output=True,
                           text=True, timeout=90)
    assert basic.returncode == 0, basic.stderr
    for name in ("summary.parquet", "comparison.csv", "cells.csv", "failures.csv"):
        assert (ray_dir / "aggregate" / name).read_bytes() == \
            (basic_dir / "aggregate" / name).read_bytes(), name
