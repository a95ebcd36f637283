"""Check the command line's config before Hydra starts (and creates any directory).

Hydra reports composition problems (a key that does not exist, a missing config group
option) over several lines; the pre-flight composes the same config with the compose API,
expands sweeps (``a=1,2``) into their cells, validates each, and reports the first
problem in one line. Overrides of Hydra's own settings (``hydra.*``, ``hydra/...``) are
left to Hydra. In a multirun, the grid of an ``experiment=<name>`` preset
(``hydra.sweeper.params``) is expanded too, exactly as Hydra's basic sweeper combines it
with the command line, so every cell the sweep will run is checked.

The command line is parsed with Hydra's own parser, so flags (``-cd``/``--config-dir``,
``-cn``/``--config-name``, ``-cp``/``--config-path``) are honoured: the check composes
exactly the config Hydra will run. :func:`prepare` then gives every single run a new
directory of its own (created here, atomically, so parallel runs never share one) and
refuses a ``hydra.run.dir`` that already holds files, so nothing a user had is ever
overwritten or removed.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from sim.cli.resources import ResourceError, check_memory
from sim.config import CONFIG_DIR, ConfigError, to_plain, validate
from sim.errors import one_line
from sim.io import OutputError, claim_dir, describe_os_error, remove_stale_staging

MAX_CELLS = 5000  # beyond this a sweep is validated one override at a time
NAME_KEYS = ("population.name", "programme.name")  # names that become parts of paths
INFO_FLAGS = ("help", "hydra_help", "cfg", "info", "shell_completion", "experimental_rerun")


def is_multirun(argv: list[str]) -> bool:
    return any(arg in ("-m", "--multirun") for arg in argv)


def app_overrides(argv: list[str]) -> list[str] | None:
    """The app's overrides from a command line, or None if it has flags we do not parse."""
    out = []
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        if arg in ("-m", "--multirun"):
            continue
        if arg.startswith("-"):
            return None  # --cfg, --help, -cd ...: let Hydra handle the whole line
        key = arg.lstrip("+~").split("=", 1)[0]
        if key == "hydra" or key.startswith(("hydra.", "hydra/")):
            continue
        out.append(arg)
    return out


def _cells(overrides: list[str], sweeper_params: dict | None = None) -> list[list[str]]:
    """The sweep's cells (Hydra's basic-sweeper rules); one override at a time if huge."""
    # lazy: Hydra's sweeper, needed only for multiruns; a single run's pre-flight stays light
    if not sweeper_params and _no_sweep(overrides):
        return [list(overrides)]  # one cell: the sweep machinery is not needed (~0.3 s)
    from sim.compare.sweep_grid import cells_of, override_lines, parse_overrides

    parsed = parse_overrides(override_lines(overrides, sweeper_params))
    total = 1
    for ov in parsed:
        if ov.is_sweep_override():
            total *= len(list(ov.sweep_string_iterator()))
    if total <= MAX_CELLS:
        return cells_of(parsed)
    choices: dict = {}  # vary one override at a time (later overrides of a key win)
    for ov in parsed:
        key = ov.get_key_element()
        if ov.is_sweep_override():
            choices[key] = [f"{key}={v}" for v in ov.sweep_string_iterator()]
        else:
            choices[key] = [f"{key}={ov.get_value_element_as_str()}"]
    lists = list(choices.values())
    base = [c[0] for c in lists]
    cells = []
    for i, c in enumerate(lists):
        for v in c:
            cells.append(base[:i] + [v] + base[i + 1:])
    return cells


def _no_sweep(overrides: list[str]) -> bool:
    """True if no override sweeps (``a=1,2``, ``range``, ``glob``): the line is one cell."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return not any(ov.is_sweep_override()
                   for ov in OverridesParser.create().parse_overrides(list(overrides)))


def _preset_params(overrides: list[str], config_name: str) -> dict[str, dict]:
    """``hydra.sweeper.params`` of each ``experiment=`` choice on the command line."""
    from hydra import compose
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    out = {}
    for ov in OverridesParser.create().parse_overrides(overrides):
        if ov.get_key_element().lstrip("+") != "experiment":
            continue
        values = list(ov.sweep_string_iterator()) if ov.is_sweep_override() else [
            ov.get_value_element_as_str()]
        for value in values:
            cfg = compose(config_name=config_name, overrides=[f"experiment={value}"],
                          return_hydra_config=True)
            params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}
            if OmegaConf.is_config(params):
                params = OmegaConf.to_container(params, resolve=True)
            out[value] = {str(k): str(v) for k, v in params.items()}
    return out


def _is_plain_value(ov) -> bool:
    """A ``key=value`` override of an existing value (not a config group, add or delete)."""
    key = ov.get_key_element()
    if ov.is_sweep_override() or key.startswith(("+", "~")) or "@" in key or "/" in key:
        return False
    return not (CONFIG_DIR / key.replace(".", "/")).is_dir()


def _has_interpolation(node) -> bool:
    if isinstance(node, dict):
        return any(_has_interpolation(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_interpolation(v) for v in node)
    return isinstance(node, str) and "${" in node


def _compose_cell(cell: list[str], config_name: str, cache: dict,
                  hydra_overrides: list[str] | None = None) -> dict:
    """The cell's config: composed once per set of group choices, values set on a copy.

    Composition costs ~0.1-0.3 s; a 100-cell sweep over a few designs and populations has
    few distinct group choices, so values are applied the way Hydra applies them after
    composition (in order) to a plain copy. A key that does not exist, or a config with
    interpolations, falls back to a full compose (Hydra's own behaviour and errors).
    ``hydra_overrides`` (a multirun: the command line's Hydra overrides): the group choices
    are composed as the launcher will need them and kept for it
    (:func:`sim.cli.prefill.compose_choices`, which may have filled ``cache`` already on
    two cores: :func:`sim.cli.prefill.prefill`).
    """
    import copy

    from omegaconf import OmegaConf

    from sim.cli.launchers import parse_override_lines
    from sim.cli.prefill import compose_choices

    parsed = parse_override_lines(cell)  # each distinct line parsed once (~1-2 ms a line)
    plain = [_is_plain_value(ov) for ov in parsed]
    values = [ov for ov, is_value in zip(parsed, plain, strict=True) if is_value]
    structural = tuple(ov.input_line for ov, is_value in zip(parsed, plain, strict=True)
                       if not is_value)
    if structural not in cache:
        compose_choices(structural, config_name, cache, hydra_overrides)
    base = cache[structural]
    if base is None:
        return _full_compose(cell, config_name)
    cfg = copy.deepcopy(base)
    for ov in values:
        *parents, leaf = ov.get_key_element().split(".")
        node = cfg
        for name in parents:
            node = node.get(name) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            return _full_compose(cell, config_name)  # Hydra's own error message
        value = ov.value()
        if isinstance(value, str) and "${" in value:
            return _full_compose(cell, config_name)  # interpolations resolve as Hydra would
        node[leaf] = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
    return cfg


def _full_compose(cell: list[str], config_name: str) -> dict:
    from hydra import compose

    plain = to_plain(compose(config_name=config_name, overrides=cell))
    plain.pop("hydra", None)
    return plain


def _validate_cells(cells: list[list[str]], config_name: str,
                    cache: dict | None = None,
                    hydra_overrides: list[str] | None = None,
                    validated: dict | None = None) -> str | None:
    """None if every cell's config is valid and fits in memory, else the first problem in
    one line. ``validated``: filled with each cell's validated config (override lines ->
    config), for the launcher to ship to the cell's job (:func:`mark_checked`)."""
    cache = {} if cache is None else cache
    for cell in cells:
        where = f" (in sweep cell: {' '.join(cell)})" if len(cells) > 1 else ""
        try:
            checked = validate(_compose_cell(cell, config_name, cache, hydra_overrides))
            check_memory(checked)
            if validated is not None:
                validated[tuple(cell)] = checked
        except (ConfigError, ResourceError) as err:
            return f"{err}{where}"
        except Exception as err:
            return f"{_design_hint(err, cell) or one_line(err)}{where}"
    return None


def _design_hint(err: BaseException, cell: list[str]) -> str | None:
    """A programme setting the chosen design does not have (e.g. usual care has no
    components): Hydra suggests ``+key=value``, which would add a broken half-component.
    Say what works instead: a named variant (sim.programme.variants), which leaves designs without
    the setting unchanged."""
    text = one_line(err)
    if "Could not override 'programme." not in text:
        return None
    key = text.split("'", 2)[1]
    design = next((o.split("=", 1)[1] for o in cell if o.lstrip("+").startswith("programme=")),
                  "the chosen design")
    return (f"{key}: programme {design} has no such setting, so it cannot be swept across "
            f"designs; name each setting as a variant instead, e.g. "
            f"variants={{w1:{{{key}:1}},w4:{{{key}:4}}}} variant=w1,w4 (or in an experiment "
            f"YAML; README 'Design variants'); designs without the setting run unchanged")


def parse_command_line(argv: list[str]):
    """Hydra's own parse of ``argv`` (flags and overrides), or None if argparse rejects it."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()
    parser.exit_on_error = False
    try:
        return parser.parse_args(argv)
    except (SystemExit, Exception):  # noqa: BLE001 - Hydra prints its own usage error
        return None


@contextmanager
def hydra_context(args, task_function=None):
    """Initialise Hydra with the search path it will use for this command line."""
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import (
        compute_search_path_dir,
        create_config_search_path,
        detect_calling_file_or_module_from_task_function,
    )
    from hydra.core.global_hydra import GlobalHydra

    config_path = str(CONFIG_DIR)
    calling_file = calling_module = None
    if args is not None and args.config_path is not None:
        config_path = args.config_path
        if task_function is not None:
            calling_file, calling_module = detect_calling_file_or_module_from_task_function(
                task_function)
        else:
            calling_file = str(Path(__file__).parents[1].joinpath("__main__.py"))
    search_path = create_config_search_path(
        compute_search_path_dir(calling_file, calling_module, config_path))
    if args is not None and args.config_dir is not None:
        extra = os.path.abspath(args.config_dir)
        if not os.path.isdir(extra):
            raise ConfigError(f"--config-dir: {extra} is not a directory")
        search_path.prepend(provider="command-line", path=f"file://{extra}")
    GlobalHydra.instance().clear()
    Hydra.create_main_hydra2(task_name="rtw_sim", config_search_path=search_path)
    try:
        yield
    finally:
        GlobalHydra.instance().clear()


def _check_literal_names(overrides: list[str]) -> str | None:
    """Names that become paths may not carry interpolations (``${oc.env:HOME}`` ...)."""
    for arg in overrides:
        key, _, value = arg.lstrip("+~").partition("=")
        if key in NAME_KEYS and "${" in value:
            return (f"{key}: got {value!r}, expected a plain name (interpolations are not "
                    "allowed in names: they become parts of file paths)")
    return None


def check(argv: list[str], config_name: str = "config", task_function=None,
          settings: dict | None = None) -> str | None:
    """None if every cell of the command line's config is valid, else a one-line error.

    Flags (``-cd``, ``-cn``, ``-cp``) are honoured; for commands that run nothing
    (``--help``, ``--cfg`` ...) and lines argparse rejects, Hydra answers itself.
    ``settings`` (a dict) is filled with :func:`_hydra_settings`' answer: for a single run
    from the same compose that checks the config (composed once here, not once to check
    and once more for its Hydra settings, ~0.2-0.3 s each, issue 19); for a sweep before
    its cells are checked, so that their group choices are composed as the launcher will
    need them and kept for it (:func:`_launch_hydra_overrides`).
    """
    args = parse_command_line(argv)
    if args is None or any(getattr(args, flag, None) for flag in INFO_FLAGS):
        return None
    config_name = args.config_name or config_name
    overrides = app_overrides(list(args.overrides))
    if overrides is None:
        return None
    problem = _check_literal_names(overrides)
    if problem:
        return problem
    try:
        cells = _cells(overrides)
    except Exception as err:  # override syntax errors
        return one_line(err)
    try:
        with hydra_context(args, task_function):
            if args.multirun:
                try:
                    presets = _preset_params(overrides, config_name)
                except Exception as err:  # an unknown preset: Hydra's message, one line
                    return one_line(err)
                if presets:
                    cells = []
                    for name, params in presets.items():
                        fixed = [o if o.lstrip("+").split("=", 1)[0] != "experiment"
                                 else f"experiment={name}" for o in overrides]
                        try:
                            cells += _cells(fixed, params)
                        except Exception as err:
                            return (f"{one_line(err)} (in hydra.sweeper.params of "
                                    f"experiment={name})")
            cache: dict = {}
            if settings is not None and not args.multirun and len(cells) == 1:
                try:
                    settings.update(_hydra_settings(args, config_name, task_function, cache,
                                                    cells[0]))
                except Exception:  # noqa: BLE001 - the cell's own check says what is wrong
                    cache.clear()  # (with its hints); a bad hydra.* override: prepare's
            elif settings is not None and args.multirun:
                try:
                    settings.update(_hydra_settings(args, config_name, task_function,
                                                    inside=True))
                except Exception:  # noqa: BLE001 - a bad hydra.* override: prepare's compose
                    pass  # reports it in one line
            # a sweep: the cells' group choices composed as the launcher will compose them
            hydra_overrides = (_launch_hydra_overrides(args, settings)
                               if args.multirun and settings else None)
            if args.multirun:  # the group choices composed on two cores
                from sim.cli.prefill import prefill

                prefill(cells, config_name, cache, hydra_overrides, forked=_after_fork)
            validated: dict = {}
            problem = _validate_cells(cells, config_name, cache, hydra_overrides,
                                      validated if args.multirun else None)
            from sim.cli.launchers import mark_checked

            # Hydra's sweeper need not compose them again, nor their jobs validate them
            # again (and nothing of an earlier pre-flight in this process is taken as checked)
            ok = problem is None and args.multirun
            mark_checked(cells if ok else (), validated if ok else None)
            return problem
    except ConfigError as err:
        return str(err)
    except Exception as err:  # a broken config file (YAML tags, syntax): one line
        return one_line(err)


def _after_fork() -> None:
    """What a sweep's pre-flight does first once its child composes beside it
    (:func:`sim.cli.prefill.prefill`): import the sweep's machinery (the model, pandas,
    pyarrow: ~0.5 s of one core), which Hydra's sweep callback needs next anyway."""
    import sim.compare.sweep  # noqa: F401


# the sweep callback's on/off settings (configs/config.yaml, hydra.callbacks.sweep)
SWEEP_SWITCHES = ("aggregate", "report", "figures", "setting_reports")


def _check_switches(switches: dict) -> None:
    """A sweep setting that is not true or false: one line, before any work (Hydra would
    take any non-empty string as on)."""
    for key, value in switches.items():
        if not isinstance(value, bool):
            raise ConfigError(f"hydra.callbacks.sweep.{key}: got {value!r}, expected true "
                              "or false")


def _launch_hydra_overrides(args, settings: dict) -> list[str]:
    """The Hydra overrides the sweep's master config will record
    (``hydra.overrides.hydra``, a key of :func:`sim.cli.launchers.seed_group_choices`): the
    command line's, then what :func:`prepare` adds (no per-job ``.hydra`` copies unless
    asked; the sweep directory it creates, when that is the configured one, as it is
    unless a directory of that name appeared meanwhile) and what Hydra adds for ``-m``. A
    wrong guess costs nothing but the launcher's own compose: the configs are kept under
    the lines they were composed with."""
    from sim.cli.launchers import parse_override_lines

    lines = [o.input_line for o in parse_override_lines(args.overrides)
             if o.is_hydra_override()]
    if not settings["output_subdir_given"]:
        lines.append("hydra.output_subdir=null")
    if not settings["sweep_dir_given"] and settings["sweep_dir"]:
        lines.append(f"hydra.sweep.dir={_quote(Path(str(settings['sweep_dir'])))}")
    if str(settings.get("mode")) != "RunMode.MULTIRUN":  # hydra/_internal/utils.py _run_app
        lines.append("hydra.mode=MULTIRUN")
    return lines


def _hydra_settings(args, config_name: str, task_function=None, cache: dict | None = None,
                    cell: list[str] | None = None, inside: bool = False) -> dict:
    """The resolved ``hydra.run.dir`` / ``hydra.sweep.dir`` and which the user set.

    With ``cache`` (the caller is inside :func:`hydra_context`, checking the single
    ``cell``): the same compose also seeds :func:`_compose_cell`'s cache, so the cell's
    check composes nothing more. The app part of a compose with Hydra's node is the config
    a compose without it gives (Hydra's node is dropped; the cell's values, already in it,
    are set again to the same values)."""
    from contextlib import nullcontext

    from hydra import compose
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    parsed = OverridesParser.create().parse_overrides(list(args.overrides))
    overrides = [o.input_line for o in parsed if not o.is_sweep_override()]
    given = {o.get_key_element().lstrip("+~") for o in parsed}
    with hydra_context(args, task_function) if cache is None and not inside else nullcontext():
        cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
        run_dir = OmegaConf.select(cfg, "hydra.run.dir", default=None)
        people = (OmegaConf.select(cfg, "population.n", default=0)
                  * OmegaConf.select(cfg, "replicates", default=1))
        sweep_dir = OmegaConf.select(cfg, "hydra.sweep.dir", default=None)
        switches = {k: OmegaConf.select(cfg, f"hydra.callbacks.sweep.{k}", default=False)
                    for k in SWEEP_SWITCHES}
        mode = OmegaConf.select(cfg, "hydra.mode", default=None)
        if cache is not None:
            _seed_cache(cache, cfg, cell)
    return {"run_dir": run_dir, "sweep_dir": sweep_dir, "people": people,
            "sweep_switches": switches, "mode": mode,
            "run_dir_given": "hydra.run.dir" in given,
            "sweep_dir_given": "hydra.sweep.dir" in given,
            "output_subdir_given": "hydra.output_subdir" in given}


def _seed_cache(cache: dict, cfg, cell: list[str]) -> None:
    """Put the app part of ``cfg`` (composed with Hydra's node) into :func:`_compose_cell`'s
    cache under ``cell``'s group choices."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    parsed = OverridesParser.create().parse_overrides(cell)
    structural = tuple(ov.input_line for ov in parsed if not _is_plain_value(ov))
    plain = OmegaConf.to_container(cfg, resolve=False)
    plain.pop("hydra", None)
    cache[structural] = None if _has_interpolation(plain) else plain


def _quote(path: Path) -> str:
    text = str(path).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _run_dir(settings: dict) -> tuple[Path, bool]:
    """This run's directory: (path, created here). Raises OutputError if unusable."""
    raw = settings["run_dir"]
    if raw is None or not str(raw).strip():
        raise OutputError("hydra.run.dir: empty; give a new directory for this run's "
                          "results (or leave it at its default)")
    path = Path(str(raw))
    if not settings["run_dir_given"]:
        return claim_dir(path), True  # default: a new directory, never shared
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise OutputError(f"hydra.run.dir: {path} exists and is not a directory; give a new "
                          "directory for this run")
    if path.is_dir():
        try:
            empty = not any(path.iterdir())
        except OSError as err:
            raise OutputError(f"hydra.run.dir: {path}: {describe_os_error(err)}") from err
        if not empty:
            raise OutputError(f"hydra.run.dir: {path} already exists and is not empty; every "
                              "run needs a directory of its own (give a new one)")
        if not os.access(path, os.W_OK):
            raise OutputError(f"hydra.run.dir: {path} is not writable")
        return path, False
    return claim_dir(path), True


# what a sweep writes at its top level: a folder holding any of them is a sweep's
SWEEP_MARKS = ("sweep.json", "multirun.yaml", "cells", "progress.jsonl")


def _check_sweep_dir(raw) -> None:
    """A sweep directory the user named: empty (the working directory) or a folder of
    other files is refused (a sweep writes cells/, aggregate/, report/ ... into it); a new
    folder, an empty one or an earlier sweep's (resumed or extended) is taken."""
    if raw is None or not str(raw).strip():
        raise OutputError("hydra.sweep.dir: empty; give a new directory for the sweep (or "
                          "an earlier sweep's, to resume it)")
    path = Path(str(raw))
    if path.exists() and not path.is_dir():
        raise OutputError(f"hydra.sweep.dir: {path} exists and is not a directory")
    try:
        names = {p.name for p in path.iterdir()} if path.is_dir() else set()
    except OSError as err:
        raise OutputError(f"hydra.sweep.dir: {path}: {describe_os_error(err)}") from err
    if names and not names & set(SWEEP_MARKS):
        raise OutputError(f"hydra.sweep.dir: {path} holds files and is not a sweep's "
                          "directory; give a new directory (or an earlier sweep's, to "
                          "resume it)")


# Measured: a run's results take ~90-150 bytes a person (agents.parquet and the tables)
# plus ~0.3 MB of figures and Hydra's files; the check asks for 150 B a person + 2 MB.
DISK_BYTES_PER_PERSON = 150
DISK_BYTES_FIXED = 2 * 1024**2


def _check_disk(run_dir: Path, people: int) -> None:
    """Refuse before any work if the run's results cannot fit on the disk."""
    import shutil

    need = DISK_BYTES_FIXED + DISK_BYTES_PER_PERSON * int(people)
    try:
        free = shutil.disk_usage(run_dir).free
    except OSError:
        return
    if free < need:
        raise OutputError(f"not enough free disk space for {run_dir}: {free / 1e6:.1f} MB "
                          f"free, about {need / 1e6:.1f} MB needed; free some space or "
                          "choose another hydra.run.dir")


def prepare(argv: list[str], task_function=None) -> tuple[list[str], Path | None]:
    """Check a ``python -m sim`` command line and give a single run its own directory.

    Returns the command line to hand to Hydra (with ``hydra.run.dir`` / ``hydra.sweep.dir``
    pinned to the directory created here, if it was not given) and the directory this
    invocation created (None if it created none). Raises ConfigError or OutputError with
    a one-line message before any work and before any directory exists.
    """
    settings: dict = {}  # a single run's Hydra settings, from the check's own compose
    problem = check(argv, task_function=task_function, settings=settings)
    if problem:
        raise ConfigError(problem)
    args = parse_command_line(argv)
    if args is None or any(getattr(args, flag, None) for flag in INFO_FLAGS):
        if args is not None and (args.help or args.hydra_help):
            from sim.cli.compose_cache import list_groups_once

            list_groups_once()
        return list(argv), None
    config_name = args.config_name or "config"
    try:
        settings = settings or _hydra_settings(args, config_name, task_function)
    except Exception as err:  # noqa: BLE001 - bad hydra.* overrides: Hydra's message, one line
        raise ConfigError(one_line(err)) from err
    if args.multirun:
        _check_switches(settings["sweep_switches"])
        # Each cell's results carry their config (manifest.json, cell.json); Hydra's per-job
        # copies are off so that a full disk fails one cell, not Hydra's launcher.
        extra = [] if settings["output_subdir_given"] else ["hydra.output_subdir=null"]
        if settings["sweep_dir_given"]:
            _check_sweep_dir(settings["sweep_dir"])
        if settings["sweep_dir_given"] or not settings["sweep_dir"]:
            return [*argv, *extra], None  # an explicit sweep dir resumes or extends it
        created = claim_dir(Path(str(settings["sweep_dir"])))
        return [*argv, *extra, f"hydra.sweep.dir={_quote(created)}"], created
    run_dir, created = _run_dir(settings)
    try:
        _check_disk(run_dir, settings["people"])
    except OutputError:
        if created:
            run_dir.rmdir()  # empty, and created just now by this invocation
        raise
    for sibling in run_dir.parent.iterdir() if run_dir.parent.is_dir() else ():
        if sibling != run_dir and (sibling / ".hydra").is_dir():
            remove_stale_staging(sibling)  # results staging left by killed runs
    argv = list(argv) if settings["run_dir_given"] else [*argv,
                                                         f"hydra.run.dir={_quote(run_dir)}"]
    return argv, run_dir if created else None
