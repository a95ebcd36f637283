"""What a sweep costs besides simulate() (issue 19): each config file read once per process,
the per-setting reports on the sweep's own workers."""

import os
import time

import pytest

from sim.cli import compose_cache

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


def test_the_projects_configs_compose_the_same_with_cached_files():
    """The cache changes how often a file is parsed, never the config: twice with it (the
    second from the cache) and once without it give the same config, hydra node included."""
    from omegaconf import OmegaConf

    from sim.config import CONFIG_DIR

    overrides = ["experiment=sweep_bench", "programme=ips_smi", "population=workforce",
                 "hydra/launcher=rtw_joblib", "pathways.rtw.manual_hr=0.85"]
    compose_cache.uninstall()
    try:
        plain = _compose(CONFIG_DIR, overrides)
        compose_cache.install()
        _compose(CONFIG_DIR, overrides)
        cached = _compose(CONFIG_DIR, overrides)
    finally:
        compose_cache.uninstall()
    texts = []
    for cfg in (plain, cached):
        c = OmegaConf.to_container(cfg, resolve=False)
        c["hydra"]["runtime"].pop("cwd")
        texts.append(c)
    assert texts[0] == texts[1]
    assert OmegaConf.is_struct(plain) == OmegaConf.is_struct(cached)


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
