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

import contextlib
import logging
import os
import pickle
import sys
import uuid
from pathlib import Path

from sim.cli import fork_pool

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
# The default multirun launcher (hydra/launcher=rtw_joblib): workers forked from this
# process (sim.cli.fork_pool) or joblib's loky, given each cell's config composed once per
# set of config-group choices.
# --------------------------------------------------------------------------------------

# Per process: (config name, hydra overrides, structural overrides) -> the composed config of
# those group choices, pickled (a job unpickles its own copy: faster than a deep copy). The
# parent fills it while Hydra's sweeper checks the cells and ships each job its entry, so
# workers do not compose at all (sim.cli.launchers.launch_joblib_cached).
_SWEEP_CONFIGS: dict = {}


def _is_value_override(ov, repository) -> bool:
    """A ``key=value`` change of the task config: not a config group, add, delete or sweep."""
    key = ov.get_key_element()
    if ov.is_hydra_override() or ov.is_sweep_override() or ov.is_add() or ov.is_delete() \
            or ov.is_force_add() or "@" in key or "/" in key:
        return False
    return not repository.group_exists(key.replace(".", "/"))


# Per process: override line -> Hydra's parsed Override (a copy is handed out each time)
_PARSED: dict = {}
_PARSED_MAX = 4096


def parse_override_lines(lines) -> list:
    """``OverridesParser.create().parse_overrides(lines)``, each distinct line parsed once
    per process. Hydra's parser (ANTLR) takes ~2 ms a line; a sweep's jobs repeat the same
    few lines (``programme=...``, ``experiment=...``), parsed by the parent for every job
    and by the worker again (issue 19). Hydra parses each line on its own, so a line's
    result does not depend on the others; each caller gets a deep copy, so nothing it does
    to one reaches the next. A line that does not parse raises Hydra's own error."""
    import copy

    lines = list(lines)
    missing = list(dict.fromkeys(x for x in lines if x not in _PARSED))
    if missing:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parsed = OverridesParser.create().parse_overrides(missing)
        if len(_PARSED) + len(missing) > _PARSED_MAX:
            _PARSED.clear()
        _PARSED.update(zip(missing, parsed, strict=True))
    return [copy.deepcopy(_PARSED[x]) for x in lines]


# Per process: whether an override line is a plain value change (for one repository, the
# last one asked about), and the master config's part of the cache key (for one master)
_LINE_KIND: dict = {"repository": None, "lines": {}}
_MASTER_KEY: dict = {"master": None, "key": None}


def _value_lines(repository, parsed) -> list[bool]:
    """:func:`_is_value_override` of each parsed line, each distinct line asked once per
    process (a repository lookup per line and job was ~10% of a job's set-up, issue 19)."""
    if _LINE_KIND["repository"] is not repository:
        _LINE_KIND.update(repository=repository, lines={})
    kinds = _LINE_KIND["lines"]
    if len(kinds) > _PARSED_MAX:
        kinds.clear()
    for ov in parsed:
        if ov.input_line not in kinds:
            kinds[ov.input_line] = _is_value_override(ov, repository)
    return [kinds[ov.input_line] for ov in parsed]


def _master_key(master) -> tuple:
    """The master config's part of the cache key (its config name and Hydra overrides)."""
    from omegaconf import OmegaConf

    if _MASTER_KEY["master"] is not master:
        _MASTER_KEY.update(master=master, key=(
            str(master.hydra.job.config_name),
            tuple(OmegaConf.to_container(master.hydra.overrides.hydra))))
    return _MASTER_KEY["key"]


def _split(repository, master, overrides: list[str]):
    """(parsed overrides, value overrides, cache key of the group choices, structural lines)."""
    parsed = parse_override_lines(overrides)
    kinds = _value_lines(repository, parsed)
    values = [ov for ov, is_value in zip(parsed, kinds, strict=True) if is_value]
    structural = [ov.input_line for ov, is_value in zip(parsed, kinds, strict=True)
                  if not is_value]
    return parsed, values, (*_master_key(master), tuple(structural)), structural


def composed_base(loader, master, overrides: list[str]) -> dict:
    """``{key: pickled config}`` of the group choices of a job (composed on first use in this
    process), to ship to the worker that runs it; empty if ``loader`` is not Hydra's."""
    repository = getattr(loader, "repository", None)
    if repository is None:
        return {}
    _, _, key, structural = _split(repository, master, overrides)
    if key not in _SWEEP_CONFIGS:
        composed = loader.load_sweep_config(master, structural)
        _SWEEP_CONFIGS[key] = pickle.dumps(composed, protocol=pickle.HIGHEST_PROTOCOL)
    return {key: _SWEEP_CONFIGS[key]}


def seed_group_choices(loader, config_name: str, hydra_overrides: list[str],
                       structural: list[str]):
    """The config of a sweep cell's group choices, as the launcher will need it, composed
    by the pre-flight (:mod:`sim.cli.preflight`) before Hydra starts, and kept under the
    launcher's key so that :func:`composed_base` ships it without composing it again (the
    parent composed every set of group choices twice, ~0.13 CPU-s each, issue 19).

    It is what Hydra's ``load_sweep_config`` composes for a job with the group-choice lines
    ``structural`` under a master config of ``config_name`` whose command line held the
    Hydra overrides ``hydra_overrides``: ``load_configuration`` of the Hydra overrides, then
    the job's lines, in a run (the launcher copies the master's resolver cache onto every
    job config itself). None, and nothing kept, if ``loader`` is not Hydra's or a line of
    ``structural`` is one the launcher applies as a value."""
    from hydra.types import RunMode

    repository = getattr(loader, "repository", None)
    if repository is None or any(_is_value_override(ov, repository)
                                 for ov in parse_override_lines(structural)):
        return None
    key = (str(config_name), tuple(hydra_overrides), tuple(structural))
    if key in _SWEEP_CONFIGS:
        return pickle.loads(_SWEEP_CONFIGS[key])
    cfg = loader.load_configuration(config_name=config_name,
                                    overrides=[*hydra_overrides, *structural],
                                    run_mode=RunMode.RUN)
    _SWEEP_CONFIGS[key] = pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL)
    return cfg


def cached_sweep_config(loader, master, overrides: list[str], shipped: dict | None = None):
    """The job config Hydra's ``load_sweep_config(master, overrides)`` returns, faster.

    Hydra composes every job from scratch (about 0.3-0.5 s of CPU: it reads and merges
    some 30 YAML files). A sweep over designs x populations x values has few distinct
    config-group choices, so a process composes once per choice set (or receives it,
    ``shipped``, from :func:`composed_base` in the parent) and then applies the plain
    ``key=value`` overrides to its own copy with Hydra's own function, in the same order
    and with the same struct checks as a full compose (about 0.01 s: an unpickle).
    ``tests/test_sweep.py`` checks the result equals Hydra's full compose.
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
    from omegaconf import OmegaConf, open_dict

    repository = getattr(loader, "repository", None)
    if repository is None:  # not Hydra's ConfigLoaderImpl: no shortcut
        return loader.load_sweep_config(master, list(overrides))
    parsed, values, key, structural = _split(repository, master, overrides)
    if key not in _SWEEP_CONFIGS and shipped and key in shipped:
        _SWEEP_CONFIGS[key] = shipped[key]
    if key not in _SWEEP_CONFIGS:
        composed_base(loader, master, overrides)
    cfg = pickle.loads(_SWEEP_CONFIGS[key])
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


# Per worker process: the launch's shared arguments (Hydra context, master config, task
# function), unpickled once per launch instead of once per job; keyed by the launch's token
# (one entry: a new launch replaces it).
_SHARED: dict = {}


def _shared(token: str, blob: bytes):
    if token not in _SHARED:
        from joblib.externals import cloudpickle

        _SHARED.clear()
        _SHARED[token] = cloudpickle.loads(blob)
    return _SHARED[token]


def execute_job_cached(idx, overrides, token: str, shared: bytes, singleton_state: bytes,
                       base: dict | None = None, validated: bytes | None = None,
                       ship: int | None = None):
    """hydra-joblib-launcher's ``execute_job`` with :func:`cached_sweep_config` (``base``:
    the job's composed group choices from the parent) and :func:`run_job_lean`.
    ``validated``: the cell's config as the parent's pre-flight validated it (pickled),
    handed to :func:`sim.compare.sweep.run_cell` for these override lines only.
    ``ship``: bytes of the cell's tables this job may send back with its JobReturn (as
    ``rtw_tables``, :mod:`sim.compare.sweep_tables`), None for none.

    ``shared``: the launch's (Hydra context, master config, task function), pickled once by
    the parent and unpickled once per worker (``token`` names the launch);
    ``singleton_state``: Hydra's singletons, pickled once, unpickled per job so every job
    starts from the parent's state as with hydra-joblib-launcher. Records this worker's CPU
    time at the job's start, after its config and at its end for experiments/sweep_bench.py."""
    from hydra.core.utils import setup_globals
    from omegaconf import open_dict

    from sim.compare import sweep_tables
    from sim.compare.sweep import record_timing

    record_timing("job_start")
    sweep_tables.clear_outbox()
    with no_collection():  # ~800 OmegaConf nodes unpickled a job
        hydra_context, config, task_function = _shared(token, shared)
        setup_globals()
        set_singleton_state(pickle.loads(singleton_state))
        sweep_config = cached_sweep_config(hydra_context.config_loader, config,
                                           list(overrides), base)
        with open_dict(sweep_config):
            sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{idx}"
            sweep_config.hydra.job.num = idx
        set_hydra_config(sweep_config)
    record_timing("job_config")
    with prevalidated(list(overrides), validated):
        ret = run_job_lean(hydra_context, sweep_config, task_function)
    tables = sweep_tables.collect(ship)
    if tables is not None:
        ret.rtw_tables = tables
    record_timing("job_end")
    return ret


@contextlib.contextmanager
def no_collection():
    """Python's cyclic garbage collector paused within the block (as it was after it).

    Unpickling a job's composed config makes ~800 OmegaConf nodes (each a container object
    with its metadata), and the collections those allocations set off, over everything a
    worker has imported, were about half the unpickling: ~10 -> ~5 ms of CPU a job (issue
    19). The block frees nothing in cycles that a later collection would not; the objects
    made in it are counted towards the next one as usual."""
    import gc

    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def set_hydra_config(config) -> None:
    """``HydraConfig.instance().set_config(config)`` without its deep copy (issue 19).

    Hydra makes ``config.hydra`` read-only and keeps a copy of it (``masked_copy``) whose
    parent it sets back to ``config``, so that interpolations from the Hydra node still
    reach the job's own keys; ``HydraConfig.get()`` returns that copy. Here
    ``HydraConfig.get()`` returns the node itself: the same parent, values and flags
    (tests/test_sweep.py). The copy was about 45% of a job's set-up in a reused worker
    (~14 ms a job). Nothing changes the node afterwards but :func:`run_job_lean`, which
    sets ``runtime.output_dir`` on both, as Hydra's ``run_job`` would by setting the
    config again."""
    from hydra.conf import HydraConf
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    OmegaConf.set_readonly(config.hydra, True)
    node_type = OmegaConf.get_type(config, "hydra")
    assert node_type is not None and issubclass(node_type, HydraConf)  # as Hydra checks
    HydraConfig.instance().cfg = config


# The validated config of the job running in this process, from the parent's pre-flight:
# (override lines, pickled config), set by execute_job_cached for the job's run_cell
_PREVALIDATED: list = []


@contextlib.contextmanager
def prevalidated(task_overrides: list[str], blob: bytes | None):
    """Within the block, :func:`sim.compare.sweep.run_cell` of exactly these override lines
    takes ``blob`` (the config the sweep's pre-flight composed and validated, pickled by
    this sweep's own parent) instead of converting and validating its job's config again."""
    _PREVALIDATED[:] = [(tuple(task_overrides), blob)] if blob is not None else []
    try:
        yield
    finally:
        _PREVALIDATED.clear()


def prevalidated_config(task_overrides: list[str]) -> dict | None:
    """The pre-flight's validated config of this job's cell, or None (then validate)."""
    if _PREVALIDATED and _PREVALIDATED[0][0] == tuple(task_overrides):
        return pickle.loads(_PREVALIDATED[0][1])  # from this sweep's own parent process
    return None


def release_workers(stopped: bool = False) -> None:
    """End this process's idle workers at once, when a sweep has nothing more for them
    (its jobs and its index page done: :meth:`sim.compare.sweep.SweepCallback.on_multirun_end`),
    or when it was stopped: the forked ones (:func:`sim.cli.fork_pool.release`) and loky's.

    At the process's exit loky would tell them to stop and wait for each to tear its
    interpreter down (~0.15-0.2 s each, after the last cell, while the other core waited).
    They hold nothing unwritten then (each cell's files were written and fsynced before its
    job returned), so they are killed instead (loky's ``kill_workers``); a later joblib call
    in this process starts a new pool. ``stopped``: the sweep was stopped (Ctrl-C, a dead
    worker): loky's own reads are ended first (:func:`_end_loky_reads`)."""
    from joblib.externals.loky import reusable_executor

    fork_pool.release()
    executor = reusable_executor._executor  # the pool joblib reuses, if one was started
    if executor is not None:
        if stopped:
            _end_loky_reads(executor)
        executor.shutdown(wait=True, kill_workers=True)


def _end_loky_reads(executor) -> None:
    """Kill loky's workers and close this process's end of their result pipe. loky's
    thread that reads results, as Python's ``ProcessPoolExecutor``'s, waits for the whole
    of each: a worker stopped while sending one (Ctrl-C, out of memory) left it, and
    ``shutdown()`` joining it, waiting for ever. With no writer left its read ends
    (tests/test_fork_pool.py)."""
    import signal

    for process in list((getattr(executor, "_processes", None) or {}).values()):
        try:
            os.kill(process.pid, signal.SIGKILL)
        except (OSError, TypeError):  # already gone (or never started: no pid)
            pass
    writer = getattr(getattr(executor, "_result_queue", None), "_writer", None)
    if writer is not None:
        try:
            writer.close()
        except OSError:
            pass


def set_singleton_state(state: dict) -> None:
    """Hydra's ``Singleton.set_state(state)``, keeping this process's plugin registry.

    ``set_state`` replaces every singleton and then rebuilds the plugin registry (it is not
    in the parent's state): it scans and imports every ``hydra_plugins`` module again, most
    of a job's set-up time in a reused worker. The registry found in this process is the
    same every time, so a job after the first keeps it."""
    from hydra.core.plugins import Plugins
    from hydra.core.singleton import Singleton

    plugins = Singleton._instances.get(Plugins)
    if plugins is not None and Plugins not in state["instances"]:
        state = {**state, "instances": {**state["instances"], Plugins: plugins}}
    Singleton.set_state(state)


def run_job_lean(hydra_context, config, task_function):
    """Hydra's ``run_job`` (hydra.core.utils) for one sweep job, without its copies.

    Hydra deep-copies the job's config twice (the task's config and the Hydra node it
    returns, ~70 ms of CPU a cell) and returns both to the parent, which unpickles them.
    Here the task function gets the job's own config (composed for this job alone; its
    ``hydra`` node is left in, :func:`sim.compare.sweep.run_cell` leaves it out) and the
    parent gets a JobReturn with the status and return value only (the basic sweeper reads
    nothing else). The rest is Hydra's: the job's folder, its log file, the callbacks,
    ``env_set``, failures as a FAILED JobReturn. A job that changes directory
    (``hydra.job.chdir``) or saves Hydra's config (``hydra.output_subdir``) runs through
    Hydra's own ``run_job``."""
    from pathlib import Path

    from hydra.core.hydra_config import HydraConfig
    from hydra.core.utils import (
        JobReturn,
        JobRuntime,
        JobStatus,
        _flush_loggers,
        configure_log,
        env_override,
        run_job,
    )
    from omegaconf import OmegaConf, open_dict, read_write

    if config.hydra.job.chdir or config.hydra.output_subdir is not None:
        return run_job(hydra_context=hydra_context, config=config,
                       task_function=task_function, job_dir_key="hydra.sweep.dir",
                       job_subdir_key="hydra.sweep.subdir")
    callbacks = hydra_context.callbacks
    orig_hydra_cfg = HydraConfig.instance().cfg
    output_dir = Path(str(OmegaConf.select(config, "hydra.sweep.dir")),
                      str(OmegaConf.select(config, "hydra.sweep.subdir"))).absolute()
    for node in (config, HydraConfig.instance().cfg):  # as set_config(config) again, cheaper
        with read_write(node.hydra.runtime), open_dict(node.hydra.runtime):
            node.hydra.runtime.output_dir = str(output_dir)
    try:
        ret = JobReturn()
        ret.overrides = OmegaConf.to_container(config.hydra.overrides.task)
        output_dir.mkdir(parents=True, exist_ok=True)
        ret.working_dir = os.getcwd()
        configure_log(config.hydra.job_logging, config.hydra.verbose)
        with env_override(config.hydra.job.env_set):
            callbacks.on_job_start(config=config, task_function=task_function)
            try:
                ret.return_value = task_function(config)
                ret.status = JobStatus.COMPLETED
            except Exception as e:  # noqa: BLE001 - as Hydra: the sweeper re-raises it
                ret.return_value = e
                ret.status = JobStatus.FAILED
        ret.task_name = JobRuntime.instance().get("name")
        _flush_loggers()
        callbacks.on_job_end(config=config, job_return=ret)
        return ret
    finally:
        HydraConfig.instance().cfg = orig_hydra_cfg


def launch_joblib_cached(launcher, job_overrides, initial_job_idx):
    """hydra-joblib-launcher's ``_core.launch``, dispatching :func:`execute_job_cached` with
    each job's composed group choices (composed once in this process, by the sweeper's check
    of the cells, and shipped pickled: the workers do not compose). The arguments every job
    shares are pickled once (not once per job) and unpickled once per worker."""
    from hydra.core.singleton import Singleton
    from hydra.core.utils import configure_log, setup_globals
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
    from joblib import Parallel, delayed
    from joblib.externals import cloudpickle

    setup_globals()
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    Path(str(launcher.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
    joblib_cfg = launcher.joblib
    # fork: workers forked from this process (sim.cli.fork_pool), when it can; else loky,
    # as hydra-joblib-launcher (threads do not suit Hydra)
    forked = fork_pool.workers_for(joblib_cfg.get("backend"), joblib_cfg.get("n_jobs", -1))
    joblib_cfg["backend"] = "loky"
    process_joblib_cfg(joblib_cfg)
    logging.getLogger("hydra_plugins.hydra_joblib_launcher").info(
        "%s is launching %d jobs (configs composed once per group choices)",
        f"a pool of {forked} forked workers" if forked else "Joblib.Parallel(" + ",".join(
            f"{k}={v}" for k, v in joblib_cfg.items()) + ")", len(job_overrides))
    state = cloudpickle.dumps(Singleton.get_state(), protocol=pickle.HIGHEST_PROTOCOL)
    shared = cloudpickle.dumps((launcher.hydra_context, launcher.config,
                                launcher.task_function), protocol=pickle.HIGHEST_PROTOCOL)
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    loader = launcher.hydra_context.config_loader
    shipped = []
    for overrides in job_overrides:
        try:
            shipped.append(composed_base(loader, launcher.config, list(overrides)))
        except Exception:  # noqa: BLE001 - the worker composes it and reports Hydra's error
            shipped.append({})
    from sim.compare import sweep_tables

    ship = sweep_tables.allowance(len(job_overrides))
    # the returns in order, each as soon as it and those before it are in: the parent takes
    # each cell's tables (and measures, sweep_tables) while the next jobs run
    jobs = [(initial_job_idx + idx, overrides, token, shared, state, base,
             _VALIDATED.get(tuple(overrides)), ship)
            for idx, (overrides, base) in enumerate(zip(job_overrides, shipped, strict=True))]
    returns = []
    try:
        if forked:
            results = fork_pool.pool(forked).map(execute_job_cached, *zip(*jobs, strict=True))
        else:
            results = Parallel(**{**joblib_cfg, "return_as": "generator"})(
                delayed(execute_job_cached)(*job) for job in jobs)
        for ret in results:
            # the cell's tables, kept for the aggregate (and out of Hydra's way)
            sweep_tables.receive(ret.__dict__.pop("rtw_tables", None))
            returns.append(ret)
    except (Exception, KeyboardInterrupt) as err:
        interrupted = isinstance(err, KeyboardInterrupt)
        if not (interrupted or _worker_died(err)):
            raise
        release_workers(stopped=True)
        what = ("interrupted" if interrupted else "error: a sweep worker process died while "
                f"running cells ({type(err).__name__}: out of memory, or killed)")
        print(f"{what}; the complete cells are kept in {launcher.config.hydra.sweep.dir}: "
              "run the same command again to run the rest", file=sys.stderr)
        sys.exit(130 if interrupted else 1)
    return returns


def _worker_died(err: BaseException) -> bool:
    """Whether ``err`` reports a worker that ended abruptly (Python's or loky's)."""
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(err, BrokenProcessPool) or type(err).__name__ == "TerminatedWorkerError"


# The cells (override-line tuples) this process's pre-flight (sim.cli.preflight.check)
# validated, and each one's config (pickled), shipped with its job: sim.compare.sweep.run_cell
# then neither converts nor validates it again (~9 ms a cell, issue 19).
_CHECKED: set = set()
_VALIDATED: dict = {}
_VALIDATED_MAX = 20_000  # cells kept (a few kB each); a larger sweep's jobs validate their own


def mark_checked(cells, validated: dict | None = None) -> None:
    """Record the cells this invocation's pre-flight validated (:func:`validate_batch_cached`
    does not compose them again) and, ``validated``, each one's config (override lines ->
    config), replacing an earlier pre-flight's record in the same process."""
    _CHECKED.clear()
    _CHECKED.update(tuple(cell) for cell in cells)
    _VALIDATED.clear()
    if validated and len(validated) <= _VALIDATED_MAX:
        _VALIDATED.update((tuple(cell), pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL))
                          for cell, cfg in validated.items() if tuple(cell) in _CHECKED)


def validate_batch_cached(sweeper, batch) -> None:
    """Hydra's ``Sweeper.validate_batch_is_legal`` with :func:`cached_sweep_config`: every
    cell of the batch composes (same overrides, same struct checks and errors), but the
    config-group choices are composed once per set, not once per cell. Cells this process's
    pre-flight already composed and validated, with exactly these override lines
    (:func:`mark_checked`), are not composed again (about 40 ms of the parent's CPU each)."""
    context = getattr(sweeper, "hydra_context", None)
    loader = context.config_loader if context is not None else sweeper.config_loader
    for overrides in batch:
        if tuple(overrides) in _CHECKED:
            continue
        cached_sweep_config(loader, sweeper.config, list(overrides))
