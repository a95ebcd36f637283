"""rtw-sim's Hydra launcher plugin (Hydra loads launchers only from ``hydra_plugins``).

``hydra_plugins/`` here has no ``__init__.py`` on purpose: it is a namespace package
shared with the installed plugins (joblib, ray, submitit). The checks are in sim.cli.launchers.
"""

try:
    from hydra_plugins.hydra_ray_launcher.ray_launcher import RayLauncher
except ImportError:  # hydra-ray-launcher not installed: nothing to offer
    RayLauncher = None

if RayLauncher is not None:

    class LoopbackRayLauncher(RayLauncher):
        """hydra-ray-launcher's launcher with a local Ray bound to 127.0.0.1 only."""

        def __init__(self, ray, allow_ray_on_network: bool = False) -> None:
            super().__init__(ray=ray)
            self.allow_ray_on_network = bool(allow_ray_on_network)

        def launch(self, job_overrides, initial_job_idx):
            from omegaconf import OmegaConf

            # lazy: Hydra imports this module while scanning plugins at every start; sim is
            # needed only when this launcher actually launches
            from sim.cli.launchers import prepare_local_ray

            init = OmegaConf.to_container(self.ray_cfg.init, resolve=True) or {}
            prepare_local_ray(init, self.allow_ray_on_network)
            return super().launch(job_overrides, initial_job_idx)


try:
    from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
except ImportError:  # hydra-joblib-launcher not installed: nothing to offer
    JoblibLauncher = None

if JoblibLauncher is not None:

    class CachingJoblibLauncher(JoblibLauncher):
        """hydra-joblib-launcher's launcher; the parent composes a cell's config once per set
        of config-group choices and ships it to the worker, which applies the cell's
        key=value overrides (sim.cli.launchers.cached_sweep_config)."""

        def launch(self, job_overrides, initial_job_idx):
            from sim.cli.launchers import launch_joblib_cached

            return launch_joblib_cached(self, job_overrides, initial_job_idx)


try:
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
except ImportError:  # pragma: no cover - Hydra is a dependency
    BasicSweeper = None

if BasicSweeper is not None:

    class CachingBasicSweeper(BasicSweeper):
        """Hydra's basic sweeper; its check that every cell composes before launching
        composes once per set of config-group choices (sim.cli.launchers.cached_sweep_config)
        instead of once per cell (about 0.35 s of CPU each, in the parent, before any cell
        runs). The cells, their order and the errors are Hydra's own."""

        def validate_batch_is_legal(self, batch) -> None:
            from sim.cli.launchers import validate_batch_cached

            validate_batch_cached(self, batch)
