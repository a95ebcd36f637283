"""A sweep's cells from its override lines, as Hydra's basic sweeper makes them (issue 19:
apart from :mod:`sim.compare.sweep`, whose imports - the model, pandas, pyarrow - took
~0.5 s of the pre-flight before it could start its second process,
:func:`sim.cli.prefill.prefill`)."""

from __future__ import annotations

from sim.config import CONFIG_DIR


def grid(task_overrides: list[str], sweeper_params: dict | None = None) -> list[list[str]]:
    """The cells Hydra's basic sweeper makes of ``params`` + command-line overrides."""
    return cells_of(parse_overrides(override_lines(task_overrides, sweeper_params)))


def override_lines(task_overrides: list[str], sweeper_params: dict | None = None) -> list:
    """A preset's ``hydra.sweeper.params`` as override lines, then the command line's."""
    return [f"{k}={v}" for k, v in (sweeper_params or {}).items()] + list(task_overrides)


def cells_of(parsed: list) -> list[list[str]]:
    """The cells of overrides already parsed by :func:`parse_overrides`."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    return BasicSweeper.split_arguments(parsed, None)[0]


def parse_overrides(lines: list[str]) -> list:
    """Hydra's parse of override lines, able to list glob sweeps (``programme=glob(*)``:
    every design in configs/programme/) before Hydra runs, as its sweeper will."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(lines)
    for ov in parsed:
        ov.config_loader = _GroupOptions()
    return parsed


class _GroupOptions:
    """What Hydra's config loader tells a glob sweep: the options of a config group (here
    from configs/; a --config-dir added on the command line is not searched)."""

    def get_group_options(self, group: str, results_filter=None) -> list[str]:
        return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))
