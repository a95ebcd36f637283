"""The Ray launcher on a local Ray bound to 127.0.0.1 (every socket), stopped afterwards.

Skipped (with the reason) if Ray cannot start here. Every Ray process of the test is
found by the test's own temporary directory in its command line and ended by pid.
"""

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from tests.conftest import RAY_GRID as GRID
from tests.conftest import RAY_TABLES as TABLES
from tests.conftest import REPO


def ray_pids(marker: str) -> list[int]:
    """Every process whose command line holds ``marker``, and their descendants (Ray's
    agents are named ``ray::DashboardAgent`` ...: only their parent raylet holds it).
    ``-ww``: without it ps cuts lines at 80 columns when not on a terminal (as under pytest),
    and the marker of gcs_server and raylet sits beyond that: they were never found."""
    import psutil

    out = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True,
                         text=True).stdout
    found = {int(line.split(None, 1)[0]) for line in out.splitlines()
             if marker in line and str(os.getpid()) != line.split(None, 1)[0]}
    for pid in list(found):
        try:
            found |= {p.pid for p in psutil.Process(pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass
    return sorted(found)


def stop(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(addr, "ipv4_mapped", None)
    return addr.is_loopback or (mapped is not None and mapped.is_loopback)


def _listening(pids: set[int]) -> dict:
    """{(process name, ip, port, kind)} of the TCP listeners and bound UDP sockets of pids."""
    import psutil

    found = set()
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            name = proc.name()
            conns = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        for c in conns:
            if c.type == socket.SOCK_STREAM and c.status == psutil.CONN_LISTEN:
                found.add((name, c.laddr.ip, c.laddr.port, "tcp"))
            elif c.type == socket.SOCK_DGRAM and c.laddr and not c.raddr:
                found.add((name, c.laddr.ip, c.laddr.port, "udp"))
    return found


def _tree(root: int, marker: str | None) -> set[int]:
    import psutil

    pids = set(ray_pids(marker)) if marker else set()
    try:
        proc = psutil.Process(root)
        pids |= {root} | {p.pid for p in proc.children(recursive=True)}
    except psutil.NoSuchProcess:
        pass
    return pids


def test_ray_launcher_listens_on_loopback_only_matches_joblib_and_leaves_no_process(
        tmp_path, ray_joblib_reference):
    """Issue 12 (3): every socket of the sweep's Ray (GCS, raylet, workers, dashboard and
    runtime-env agents, the driver) listens on 127.0.0.1 only, checked by listing the
    listening sockets of the driver's process tree while the sweep runs. The tables equal
    the joblib launcher's (which equal the basic launcher's: tests/test_sweep.py)."""
    pytest.importorskip("ray")
    pytest.importorskip("psutil")
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    ray_tmp = tempfile.mkdtemp(prefix="rtwray", dir="/tmp")  # short: Ray's socket paths
    ray_dir = tmp_path / "ray"
    cmd = [sys.executable, "-m", "sim", "-m", *GRID, "hydra/launcher=ray_local",
           "+hydra.launcher.ray.init.num_cpus=2", f"+hydra.launcher.ray.init._temp_dir={ray_tmp}",
           f"hydra.sweep.dir={ray_dir}"]
    seen: set = set()
    try:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 90
        polls = 0
        while proc.poll() is None and time.monotonic() < deadline:
            # the driver's process tree every 0.2 s; every 1 s also any process named by
            # the test's Ray directory (`ps` over the machine costs more)
            pids = _tree(proc.pid, ray_tmp if polls % 5 == 0 else None)
            seen |= _listening(pids)
            polls += 1
            time.sleep(0.2)
        exposed = sorted(s for s in seen if not _is_loopback(s[1]))
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
            assert exposed == [], f"listening beyond loopback: {exposed}"
            pytest.skip("Ray did not start and finish 2 tiny cells within 90 s here")
        stdout, stderr = proc.communicate()
        if proc.returncode != 0 and "Started a local Ray instance" not in stderr:
            pytest.skip(f"Ray cannot start here: {stderr.strip().splitlines()[-1:]}")
        assert proc.returncode == 0, stderr[-2000:]
        assert "'_node_ip_address': '127.0.0.1'" in stdout + stderr
        # Ray's processes exit with the driver (a loaded machine may take some seconds)
        deadline = time.monotonic() + 20
        while (left := ray_pids(ray_tmp)) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop(ray_pids(ray_tmp))
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert left == [], f"Ray processes outlived the sweep: {left}"
    names = {name for name, *_ in seen}
    assert {"gcs_server", "raylet"} <= names, f"Ray's servers not seen listening: {seen}"
    assert exposed == [], f"listening beyond loopback: {exposed}"

    for name in TABLES:
        assert (ray_dir / "aggregate" / name).read_bytes() == \
            (ray_joblib_reference / "aggregate" / name).read_bytes(), name


REFUSED = [
    ("+hydra.launcher.ray.init.dashboard_host=0.0.0.0",
     "hydra.launcher.ray.init.dashboard_host: got '0.0.0.0', expected 127.0.0.1"),
    ("hydra.launcher.ray.init._node_ip_address=192.0.2.1",
     "hydra.launcher.ray.init._node_ip_address: got '192.0.2.1', expected 127.0.0.1"),
    ("hydra.launcher.ray.init.address=auto",
     "hydra.launcher.ray.init.address: got 'auto', expected 'local'"),
]


def _refusal_line(line: str, message: str) -> None:
    assert line.startswith(f"config error: {message}")
    assert line.endswith("add hydra.launcher.allow_ray_on_network=true")


def test_ray_local_refuses_network_settings_without_opt_in(tmp_path):
    """Settings that would open Ray's unauthenticated ports: one line, exit 2, before
    Ray starts or anything is written; the line names the opt-in. Through the command line
    once; every setting goes through the same guard in this process in the test below."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    override, message = REFUSED[0]
    sweep = tmp_path / "sweep"
    r = subprocess.run([sys.executable, "-m", "sim", "-m", "programme=usual_care",
                        "population.n=300", "hydra/launcher=ray_local", override,
                        f"hydra.sweep.dir={sweep}"], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    _refusal_line(lines[0], message)
    assert "Started a local Ray" not in r.stdout + r.stderr
    assert not sweep.exists()


@pytest.mark.parametrize("override,message", REFUSED)
def test_sweep_guard_refuses_each_network_setting(capsys, override, message):
    """The guard the command line runs before a multirun, on Hydra's composed config (in
    this process: a new interpreter per setting adds nothing the test above does not
    check)."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sim.cli.resources import guard_sweep
    from sim.config import CONFIG_DIR

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
            cfg = compose("config", overrides=["programme=usual_care", "population.n=300",
                                               "hydra/launcher=ray_local", override],
                          return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    with pytest.raises(SystemExit) as exit_:
        guard_sweep(cfg)
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    _refusal_line(lines[0], message)


def test_network_exposure_rules():
    from sim.cli.launchers import network_exposure

    ok = {"address": "local", "_node_ip_address": "127.0.0.1", "include_dashboard": False}
    assert network_exposure(ok) is None
    assert network_exposure({**ok, "dashboard_host": "localhost"}) is None
    assert "address" in network_exposure({**ok, "address": None})
    assert "_node_ip_address: missing" in network_exposure(
        {"address": "local", "include_dashboard": False})
    assert "dashboard_host" in network_exposure({**ok, "dashboard_host": "0.0.0.0"})
