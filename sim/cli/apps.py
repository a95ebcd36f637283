"""Shared plumbing for the analysis experiments (calibration, PSA, GSA, scenario discovery).

Each experiment in ``experiments/`` is a Hydra app whose config lives in
``configs/analysis/<name>.yaml``; Hydra itself writes nothing (``hydra.run.dir: .``, no
``.hydra`` folder, log to stdout). The experiment writes its tables and plots to ``out``
through :func:`staged_output`: a hidden staging folder renamed into place at the end, so a
failed or killed run leaves no half-written results and never touches an earlier run.

    with staged_output(Path(cfg.out)) as tmp:
        table.to_csv(tmp / "table.csv")
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sim.cli.preflight import app_overrides
from sim.config import CONFIG_DIR, load_config
from sim.errors import one_line
from sim.io import staged_dir

REPO = Path(__file__).resolve().parent.parent.parent


@contextmanager
def staged_output(out: Path) -> Iterator[Path]:
    """A staging folder next to ``out``, renamed to ``out`` if the block succeeds."""
    out = Path(out)
    if not out.is_absolute():
        out = REPO / out
    if out.exists():
        raise FileExistsError(f"out: {out} already exists; choose another folder")
    with staged_dir(out) as staging:
        yield staging


def plain(cfg) -> dict:
    """An analysis config (OmegaConf) as plain Python, interpolations resolved."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg, resolve=True)


def design_configs(designs: Sequence[str], model: Sequence[str]) -> dict[str, dict]:
    """Validated model configs per design (usual care first), from ``model`` overrides."""
    designs = list(dict.fromkeys(["usual_care", *designs]))
    return {d: load_config([f"programme={d}", *model]) for d in designs}


def model_overrides(c: dict) -> list[str]:
    """Model overrides from an analysis config's ``population``, ``n``, ``replicates`` and
    ``model_overrides`` keys (no plots or per-agent tables: analyses keep their own)."""
    for key in ("n", "replicates"):
        v = c[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{key}: got {v!r}, expected a positive integer")
    extra = c.get("model_overrides") or []
    if not isinstance(extra, list) or not all(isinstance(o, str) for o in extra):
        raise ValueError(f"model_overrides: got {extra!r}, expected a list of key=value strings")
    return [f"population={c['population']}", f"population.n={c['n']}",
            f"replicates={c['replicates']}", "output.plots=false", "output.write_agents=false",
            *extra]


def fail(message: str) -> int:
    """Print a one-line error and return the exit status for a bad input."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def save_config(cfg, folder: Path) -> None:
    """The analysis config as run (YAML) next to its results."""
    from omegaconf import OmegaConf

    (Path(folder) / "analysis_config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))


def analysis(cfg, check: Callable, run: Callable, write: Callable,
             designs: Callable = lambda c: [c["design"]]) -> tuple[dict, dict]:
    """The shape every analysis app shares: ``check`` the config (plain, one-line
    ValueError), ``run`` it on the model configs of ``designs(c)`` (usual care added; None:
    no model configs), then ``write`` the result and the config into a staged ``out``.
    Returns the checked config and the result."""
    c = check(plain(cfg))
    names = designs(c)
    r = run(c, None if names is None else design_configs(names, model_overrides(c)))
    with staged_output(Path(c["out"])) as folder:
        save_config(cfg, folder)
        write(folder, c, r)
    return c, r


def launch(name: str, task) -> None:
    """Run ``task(cfg)`` as a Hydra app on ``configs/analysis/<name>.yaml``.

    The command line is composed first with the compose API, so a wrong key or value is one
    line on stderr and exit status 2 before Hydra starts; inside the task, ``ValueError``
    (bad factors, targets, a design the registry cannot support), ``ConfigError`` and
    Hydra errors are reported the same way. ``task`` may return an exit status.
    """
    import hydra
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.cli.compose_cache import install as cache_config_files

    cache_config_files()  # the check below, Hydra and the task's composes read each file once
    bad_input = (ValueError, HydraException, OmegaConfBaseException, FileExistsError)
    overrides = app_overrides(sys.argv[1:])
    if overrides is not None:
        GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(version_base="1.3",
                                       config_dir=str(CONFIG_DIR / "analysis")):
                compose(config_name=name, overrides=overrides)
        except bad_input as err:
            sys.exit(fail(one_line(err)))
        finally:
            GlobalHydra.instance().clear()

    def wrapped(cfg):
        try:
            status = task(cfg)
        except bad_input as err:
            sys.exit(fail(one_line(err)))
        if status:
            sys.exit(status)

    hydra.main(version_base="1.3", config_path=str(CONFIG_DIR / "analysis"),
               config_name=name)(wrapped)()
