"""The local Ray launcher (``hydra/launcher=ray_local``): every socket on 127.0.0.1 only.

The launcher class is ``hydra_plugins.rtw_sim.LoopbackRayLauncher`` (Hydra loads
launchers only from the ``hydra_plugins`` package), a subclass of hydra-ray-launcher's
``RayLauncher`` that calls :func:`prepare_local_ray` before Ray starts. Why: with Ray 2.60,
``ray.init(_node_ip_address="127.0.0.1")`` is not enough. ``ray.init`` passes the address
through ``ray._private.services.resolve_ip_for_localhost``, which replaces a loopback
address by the machine's own address (``get_node_ip_address()``), so the GCS server,
raylet, workers and the driver's core worker listened on ``*`` (all interfaces) and the
dashboard and runtime-env agents on the host address (seen with ``ss -ltnp``; Ray has no
authentication on these ports). ``get_node_ip_address()`` keeps the loopback address
when ``ray_constants.ENABLE_RAY_CLUSTER`` is false, which the environment variable
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` sets (it is read when ``ray`` is imported and
used nowhere else in Ray's Python code than there and in ``ray start``). With it, and
the node address 127.0.0.1, the GCS, raylet and core-worker gRPC servers bind 127.0.0.1
(their "listen on localhost only" branch) and the agents bind the node address, i.e.
127.0.0.1 (tested in tests/test_sweep_ray.py by listing the sockets during a sweep).

The launcher sets that variable before Ray is imported (Ray's child processes inherit
it), refuses settings that would open a port to the network (an ``address`` other than
``local``, a non-loopback ``_node_ip_address`` or ``dashboard_host``) unless
``hydra.launcher.allow_ray_on_network=true`` names the risk, and refuses a Ray that was
already imported with cluster mode on. Each refusal is one line and exit code 2, before
any cell runs.
"""

from __future__ import annotations

import os
import sys

LOOPBACK = ("127.0.0.1", "localhost", "::1")
CLUSTER_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
OPT_IN = "hydra.launcher.allow_ray_on_network=true"


def network_exposure(init: dict) -> str | None:
    """Why a ``ray.init`` config would listen beyond this machine, or None."""
    address = init.get("address")
    if address not in ("local",):
        return (f"hydra.launcher.ray.init.address: got {address!r}, expected 'local' (a "
                "fresh Ray on this machine; use hydra/launcher=ray_cluster to join a cluster)")
    for key in ("_node_ip_address", "dashboard_host"):
        value = init.get(key)
        if value is not None and str(value) not in LOOPBACK:
            return (f"hydra.launcher.ray.init.{key}: got {value!r}, expected 127.0.0.1 "
                    "(Ray's ports have no authentication)")
    if init.get("_node_ip_address") is None:
        return ("hydra.launcher.ray.init._node_ip_address: missing, expected 127.0.0.1 "
                "(Ray's ports have no authentication)")
    return None


def _refuse(message: str) -> None:
    print(f"config error: {message}; to run Ray reachable from the network anyway, add "
          f"{OPT_IN}", file=sys.stderr)
    sys.exit(2)


def prepare_local_ray(init: dict, allow_ray_on_network: bool = False) -> None:
    """Before ``ray.init(**init)``: refuse (one line, exit 2) settings that would open a port
    to the network, and keep Ray's node address on loopback (see the module docstring)."""
    if allow_ray_on_network:
        return
    problem = network_exposure(init or {})
    if problem:
        _refuse(problem)
    if "ray" in sys.modules:  # imported before us: its constant is already set
        from ray._private import ray_constants

        if ray_constants.ENABLE_RAY_CLUSTER:
            _refuse("ray was imported before the launcher could keep it on 127.0.0.1 "
                    f"(set {CLUSTER_ENV}=0 before importing ray)")
    else:
        os.environ[CLUSTER_ENV] = "0"


__all__ = ["prepare_local_ray", "network_exposure"]
