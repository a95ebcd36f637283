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

import logging
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


# --------------------------------------------------------------------------------------
# The default multirun launcher (hydra/launcher=rtw_joblib): joblib, with each worker
# composing a cell's config once per set of config-group choices.
# --------------------------------------------------------------------------------------

# Per worker process: (config name, hydra overrides, structural overrides) -> composed config
_SWEEP_CONFIGS: dict = {}


def _is_value_override(ov, repository) -> bool:
    """A ``key=value`` change of the task config: not a config group, add, delete or sweep."""
    key = ov.get_key_element()
    if ov.is_hydra_override() or ov.is_sweep_override() or ov.is_add() or ov.is_delete() \
            or ov.is_force_add() or "@" in key or "/" in key:
        return False
    return not repository.group_exists(key.replace(".", "/"))


def cached_sweep_config(loader, master, overrides: list[str]):
    """The job config Hydra's ``load_sweep_config(master, overrides)`` returns, faster.

    Hydra composes every job from scratch (about 0.3-0.4 s of CPU: it reads and merges
    some 30 YAML files). A sweep over designs x populations x values has few distinct
    config-group choices, so a worker composes once per choice set and then applies the
    plain ``key=value`` overrides with Hydra's own function, in the same order and with
    the same struct checks as a full compose (about 0.07 s: a deep copy).
    ``tests/test_sweep.py`` checks the result equals Hydra's full compose.
    """
    import copy

    from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf, open_dict

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    repository = getattr(loader, "repository", None)
    if repository is None:  # not Hydra's ConfigLoaderImpl: no shortcut
        return loader.load_sweep_config(master, list(overrides))
    values = [ov for ov in parsed if _is_value_override(ov, repository)]
    structural = [ov.input_line for ov in parsed if not _is_value_override(ov, repository)]
    key = (str(master.hydra.job.config_name),
           tuple(OmegaConf.to_container(master.hydra.overrides.hydra)), tuple(structural))
    base = _SWEEP_CONFIGS.get(key)
    if base is None:
        base = _SWEEP_CONFIGS[key] = loader.load_sweep_config(master, structural)
    cfg = copy.deepcopy(base)
    ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
    app = [ov for ov in parsed if not ov.is_hydra_override()]
    with open_dict(cfg.hydra):
        cfg.hydra.overrides.task = [ov.input_line for ov in app]
        conf = cfg.hydra.job.config.override_dirname
        cfg.hydra.job.override_dirname = get_overrides_dirname(
            overrides=app, kv_sep=conf.kv_sep, item_sep=conf.item_sep,
            exclude_keys=conf.exclude_keys)
    OmegaConf.copy_cache(from_config=master, to_config=cfg)
    return cfg


def execute_job_cached(idx, overrides, hydra_context, config, task_function, singleton_state):
    """hydra-joblib-launcher's ``execute_job`` with :func:`cached_sweep_config`."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.singleton import Singleton
    from hydra.core.utils import run_job, setup_globals
    from omegaconf import open_dict

    setup_globals()
    Singleton.set_state(singleton_state)
    sweep_config = cached_sweep_config(hydra_context.config_loader, config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{idx}"
        sweep_config.hydra.job.num = idx
    HydraConfig.instance().set_config(sweep_config)
    return run_job(hydra_context=hydra_context, config=sweep_config,
                   task_function=task_function, job_dir_key="hydra.sweep.dir",
                   job_subdir_key="hydra.sweep.subdir")


def launch_joblib_cached(launcher, job_overrides, initial_job_idx):
    """hydra-joblib-launcher's ``_core.launch``, dispatching :func:`execute_job_cached`."""
    from pathlib import Path

    from hydra.core.singleton import Singleton
    from hydra.core.utils import configure_log, setup_globals
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
    from joblib import Parallel, delayed

    setup_globals()
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    Path(str(launcher.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
    joblib_cfg = launcher.joblib
    joblib_cfg["backend"] = "loky"  # as hydra-joblib-launcher: threads do not suit Hydra
    process_joblib_cfg(joblib_cfg)
    logging.getLogger("hydra_plugins.hydra_joblib_launcher").info(
        "Joblib.Parallel(%s) is launching %d jobs (configs composed once per group choices)",
        ",".join(f"{k}={v}" for k, v in joblib_cfg.items()), len(job_overrides))
    singleton_state = Singleton.get_state()
    return Parallel(**joblib_cfg)(
        delayed(execute_job_cached)(initial_job_idx + idx, overrides, launcher.hydra_context,
                                    launcher.config, launcher.task_function, singleton_state)
        for idx, overrides in enumerate(job_overrides))


def validate_batch_cached(sweeper, batch) -> None:
    """Hydra's ``Sweeper.validate_batch_is_legal`` with :func:`cached_sweep_config`: every
    cell of the batch composes (same overrides, same struct checks and errors), but the
    config-group choices are composed once per set, not once per cell."""
    context = getattr(sweeper, "hydra_context", None)
    loader = context.config_loader if context is not None else sweeper.config_loader
    for overrides in batch:
        cached_sweep_config(loader, sweeper.config, list(overrides))
