"""The cluster path run for real: a Ray head started with ``ray start --head`` on 127.0.0.1
(token authentication on, as Ray 2.60 does by default), a sweep through the project's
``ray_cluster`` launcher config joining it as an existing cluster, and tables byte-identical
to the joblib launcher's. The head is stopped by pid afterwards (never ``ray stop``, which
would end every Ray on the machine, including other tests').

Skipped, with the reason, if the head cannot start here.
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import RAY_GRID as GRID
from tests.conftest import RAY_TABLES as TABLES
from tests.conftest import REPO
from tests.test_sweep_ray import _is_loopback, _listening, ray_pids, stop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sweep_on_an_existing_ray_cluster_matches_joblib(tmp_path, ray_joblib_reference):
    pytest.importorskip("ray")
    pytest.importorskip("psutil")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        pytest.skip("the `ray` command is not installed next to this Python")
    ray_tmp = tempfile.mkdtemp(prefix="rtwrc", dir="/tmp")  # short: Ray's socket paths
    port = _free_port()
    env = {**os.environ,
           # as docs/SWEEPS.md says: token auth on, node address kept on loopback
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    try:
        head = subprocess.run(
            [str(ray_bin), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
             "--num-cpus=2", f"--temp-dir={ray_tmp}", "--include-dashboard=false",
             "--disable-usage-stats"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
        if head.returncode != 0:
            pytest.skip(f"ray start failed here: {head.stderr.strip().splitlines()[-1:]}")
        exposed = sorted(s for s in _listening(set(ray_pids(ray_tmp)))
                         if not _is_loopback(s[1]))
        assert exposed == [], f"the head listens beyond loopback: {exposed}"
        cluster_dir = tmp_path / "cluster"
        run = subprocess.run(
            [sys.executable, "-m", "sim", "-m", *GRID, "hydra/launcher=ray_cluster",
             f"hydra.sweep.dir={cluster_dir}"],
            cwd=REPO, env={**env, "RAY_ADDRESS": f"127.0.0.1:{port}"},
            capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Connecting to existing Ray cluster" in run.stdout + run.stderr
    finally:
        stop(ray_pids(ray_tmp))
        time.sleep(0.5)
        left = ray_pids(ray_tmp)
        stop(left)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert ray_pids(ray_tmp) == []

    for name in TABLES:
        assert (cluster_dir / "aggregate" / name).read_bytes() == \
            (ray_joblib_reference / "aggregate" / name).read_bytes(), name
    assert len(list(cluster_dir.glob("cells/*/results/manifest.json"))) == 2
