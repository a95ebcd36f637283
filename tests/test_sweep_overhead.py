"""What a sweep costs besides simulate() (issue 19): each config file read once per process,
the per-setting reports on the sweep's own workers."""

import os
import time

import pytest

from sim.cli import compose_cache, launchers

CONFIG = """defaults:
  - group: a
  - _self_
top: 1
"""


@pytest.fixture
def cache():
    compose_cache.uninstall()
    compose_cache.install()
    yield compose_cache
    compose_cache.uninstall()


def _compose(config_dir, overrides=()):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir)):
        return compose(config_name="config", overrides=list(overrides),
                       return_hydra_config=True)


def test_cached_file_loads_give_hydras_config_and_see_edits(tmp_path, cache):
    from omegaconf import OmegaConf

    (tmp_path / "group").mkdir()
    (tmp_path / "config.yaml").write_text(CONFIG)
    (tmp_path / "group" / "a.yaml").write_text("x: 1\nnested: {y: [1, 2]}\n")
    (tmp_path / "group" / "b.yaml").write_text("x: 2\n")
    first = _compose(tmp_path)
    assert cache._LOADED  # the files were kept
    first.group.nested.y.append(3)  # a caller may change its config: no later one sees it
    first.group.x = 5
    again = _compose(tmp_path)
    assert again.group.x == 1 and list(again.group.nested.y) == [1, 2]
    # an edited file is read again (another size, another modification time)
    (tmp_path / "group" / "a.yaml").write_text("x: 10\nnested: {y: [7]}\n")
    edited = _compose(tmp_path)
    assert edited.group.x == 10 and list(edited.group.nested.y) == [7]
    assert _compose(tmp_path, ["group=b"]).group.x == 2
    # a removed file fails as it does without the cache
    (tmp_path / "group" / "b.yaml").unlink()
    with pytest.raises(Exception) as cached_error:
        _compose(tmp_path, ["group=b"])
    cache.uninstall()
    with pytest.raises(Exception) as hydra_error:
        _compose(tmp_path, ["group=b"])
    assert str(cached_error.value) == str(hydra_error.value)
    assert OmegaConf.to_yaml(_compose(tmp_path)) == OmegaConf.to_yaml(edited)


def _seen(cfg):
    """What a config holds (hydra node included, but for the working directory) and its
    flags."""
    from omegaconf import OmegaConf

    c = OmegaConf.to_container(cfg, resolve=False)
    c.get("hydra", {}).get("runtime", {}).pop("cwd", None)
    return c, OmegaConf.is_struct(cfg), OmegaConf.is_readonly(cfg.hydra)


def _plain_and_cached(config_dir, cells):
    """Each cell composed by Hydra alone, then with the cache installed (twice: the second
    from the cache)."""
    compose_cache.uninstall()
    try:
        plain = [_seen(_compose(config_dir, cell)) for cell in cells]
        compose_cache.install()
        first = [_seen(_compose(config_dir, cell)) for cell in cells]
        again = [_seen(_compose(config_dir, cell)) for cell in cells]
    finally:
        compose_cache.uninstall()
    return plain, first, again


def test_the_projects_configs_compose_the_same_with_cached_files():
    """The cache (file loads, and the copies it skips) changes how often a file is parsed,
    never the config: every design and every population, with and without the cache, give
    the same config, hydra node and flags included."""
    from sim.config import CONFIG_DIR

    designs = sorted(p.stem for p in (CONFIG_DIR / "programme").glob("*.yaml"))
    populations = sorted(p.stem for p in (CONFIG_DIR / "population").glob("*.yaml"))
    cells = [["experiment=sweep_bench", f"programme={d}",
              f"population={populations[i % len(populations)]}",
              "hydra/launcher=rtw_joblib", "pathways.rtw.manual_hr=0.85"]
             for i, d in enumerate(designs)]
    plain, first, again = _plain_and_cached(CONFIG_DIR, cells)
    assert len(cells) >= 10 and plain == first == again


def test_a_group_used_twice_composes_as_hydra_does(tmp_path):
    """A config file used twice in one compose (under two packages), changed in its first
    use by a config merged in between: the second use has its own nodes, as the file reads,
    as with Hydra's copies."""
    (tmp_path / "db").mkdir()
    (tmp_path / "config.yaml").write_text(
        "defaults:\n  - db@src: mysql\n  - patch\n  - db@dst: mysql\n  - _self_\n"
        "src:\n  host: s\n")
    (tmp_path / "patch.yaml").write_text(
        "# @package _global_\nsrc:\n  port: 1\n  nested: {a: [9]}\n")
    (tmp_path / "db" / "mysql.yaml").write_text(
        "host: h\nport: 3306\nnested: {a: [1, 2], b: x}\n")
    plain, first, again = _plain_and_cached(tmp_path, [[], ["dst.port=7"]])
    assert plain == first == again
    assert plain[0][0]["src"] == {"host": "s", "port": 1, "nested": {"a": [9], "b": "x"}}
    assert plain[0][0]["dst"] == {"host": "h", "port": 3306, "nested": {"a": [1, 2], "b": "x"}}


def test_a_defaults_list_with_an_interpolation_composes_as_hydra_does(tmp_path):
    """A group chosen by interpolation in a defaults list (Hydra resolves it against the
    group choices known so far) composes as without the cache, the choice overridden too."""
    for group, options in (("db", ("mysql", "pg")), ("size", ("small", "big"))):
        (tmp_path / group).mkdir()
        for i, name in enumerate(options):
            (tmp_path / group / f"{name}.yaml").write_text(f"name: {name}\nn: {i}\n")
    (tmp_path / "config.yaml").write_text(
        "defaults:\n  - size: small\n  - db: ${size}_db\n  - _self_\n")
    for name in ("small_db", "big_db"):
        (tmp_path / "db" / f"{name}.yaml").write_text(f"name: {name}\n")
    plain, first, again = _plain_and_cached(tmp_path, [[], ["size=big"]])
    assert plain == first == again
    assert [p[0]["db"]["name"] for p in plain] == ["small_db", "big_db"]


def _pid_after(seconds):
    time.sleep(seconds)
    return os.getpid()


def test_setting_reports_run_on_the_sweeps_own_workers():
    """~3 s: two loky workers start once (on the old settings, twice).
joblib reuses its loky workers only for the same executor settings: the reports'
    Parallel matches hydra-joblib-launcher's, so they run in the sweep's workers (libraries
    loaded) instead of two new processes (~1.2 s of start-up each)."""
    from hydra import compose, initialize_config_dir
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg
    from joblib import Parallel, delayed
    from omegaconf import OmegaConf

    from sim.compare import report_sweep
    from sim.config import CONFIG_DIR

    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        cfg = compose(config_name="config", overrides=["hydra.launcher.n_jobs=2"],
                      return_hydra_config=True)
    joblib_cfg = OmegaConf.to_container(cfg.hydra.launcher)
    joblib_cfg.pop("_target_")
    joblib_cfg["backend"] = "loky"  # as sim.cli.launchers.launch_joblib_cached
    process_joblib_cfg(joblib_cfg)
    jobs = set(Parallel(**joblib_cfg)(delayed(_pid_after)(0.3) for _ in range(4)))
    reports = set(Parallel(n_jobs=2, **report_sweep.PARALLEL_ARGS)(
        delayed(_pid_after)(0.3) for _ in range(4)))
    assert len(jobs) == 2 and reports == jobs


def test_release_workers_ends_the_pool_and_a_later_call_starts_another():
    """At a sweep's end its idle loky workers are killed (no interpreter teardown to wait
    for at exit); joblib then starts a new pool for whatever comes next."""
    from joblib import Parallel, delayed
    from joblib.externals.loky import reusable_executor

    pids = set(Parallel(n_jobs=2, backend="loky")(delayed(os.getpid)() for _ in range(4)))
    executor = reusable_executor._executor
    assert executor is not None and os.getpid() not in pids
    launchers.release_workers()
    assert executor._flags.shutdown
    for pid in pids:  # the workers are gone (killed, then reaped by loky)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    launchers.release_workers()  # nothing running: nothing to do
    again = set(Parallel(n_jobs=2, backend="loky")(delayed(os.getpid)() for _ in range(2)))
    assert again and not again & pids


def test_the_sweep_callback_releases_the_workers_even_when_its_aggregate_fails(
        tmp_path, monkeypatch):
    from omegaconf import OmegaConf

    from sim.compare import sweep as sweep_module

    released = []
    monkeypatch.setattr(launchers, "release_workers", lambda: released.append(True))

    import gc

    frozen = []

    def full_disk(*args, **kwargs):
        frozen.append(gc.get_freeze_count())  # the aggregate runs with the sweep frozen
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(sweep_module, "aggregate", full_disk)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    gc.unfreeze()
    with pytest.raises(SystemExit):
        sweep_module.SweepCallback().on_multirun_end(config)
    assert released == [True]
    assert frozen[0] > 1000 and gc.get_freeze_count() == 0  # and thawed after


def test_no_collection_pauses_the_collector_and_restores_it_even_on_error():
    """A job's config is unpickled with the cyclic collector paused (issue 19); afterwards
    it runs again, also when the unpickling fails, and a collector paused by the caller
    stays paused."""
    import gc

    assert gc.isenabled()
    with launchers.no_collection():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), launchers.no_collection():
        raise ValueError("a config that does not unpickle")
    assert gc.isenabled()
    gc.disable()
    try:
        with launchers.no_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_load_config_reads_each_file_once_and_gives_hydras_config():
    """``sim.config.load_config`` (the explorer, the analysis commands, the tests) installs
    the cache: a second compose parses no file again, and the config is Hydra's own."""
    from hydra import compose, initialize_config_dir

    from sim.config import CONFIG_DIR, load_config, to_plain, validate

    overrides = ["programme=multicomponent", "population=workforce", "population.n=700"]
    compose_cache.uninstall()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
            plain = to_plain(compose(config_name="config", overrides=overrides))
        plain.pop("hydra", None)
        hydras = validate(plain)
        assert not compose_cache._LOADED
        first = load_config(overrides)
        kept = dict(compose_cache._LOADED)
        assert kept  # the files were read into the cache
        again = load_config([*overrides[:2], "population.n=900"])
        assert compose_cache._LOADED == kept  # no file was read again
    finally:
        compose_cache.uninstall()
    assert first == hydras
    assert again["population"]["n"] == 900
