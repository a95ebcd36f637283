"""Check the command line's config before Hydra starts (and creates any directory).

Hydra reports composition problems (a key that does not exist, a missing config group
option) over several lines; the pre-flight composes the same config with the compose API,
expands sweeps (``a=1,2``) into their cells, validates each, and reports the first
problem in one line. Overrides of Hydra's own settings (``hydra.*``, ``hydra/...``) are
left to Hydra. In a multirun, the grid of an ``experiment=<name>`` preset
(``hydra.sweeper.params``) is expanded too, exactly as Hydra's basic sweeper combines it
with the command line, so every cell the sweep will run is checked.
"""

from __future__ import annotations

from sim.config import CONFIG_DIR, ConfigError, to_plain, validate
from sim.resources import ResourceError, check_memory

MAX_CELLS = 5000  # beyond this a sweep is validated one override at a time


def one_line(err: BaseException) -> str:
    """An exception (and its cause) as one line."""
    parts = []
    while err is not None and len(parts) < 3:
        text = " ".join(line.strip() for line in str(err).splitlines()
                        if line.strip() and "HYDRA_FULL_ERROR" not in line
                        and not line.strip().startswith(("provider=", "Config search path",
                                                         "full_key:", "object_type=")))
        if text and text not in parts:
            parts.append(text)
        err = err.__cause__
    return "; ".join(parts)


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
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sim.sweep import grid

    lines = [f"{k}={v}" for k, v in (sweeper_params or {}).items()] + list(overrides)
    parsed = OverridesParser.create().parse_overrides(lines)
    total = 1
    for ov in parsed:
        if ov.is_sweep_override():
            total *= len(list(ov.sweep_string_iterator()))
    if total <= MAX_CELLS:
        return grid(list(overrides), sweeper_params)
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


def _compose_cell(cell: list[str], config_name: str, cache: dict) -> dict:
    """The cell's config: composed once per set of group choices, values set on a copy.

    Composition costs ~0.1-0.3 s; a 100-cell sweep over a few designs and populations has
    few distinct group choices, so values are applied the way Hydra applies them after
    composition (in order) to a plain copy. A key that does not exist, or a config with
    interpolations, falls back to a full compose (Hydra's own behaviour and errors).
    """
    import copy

    from hydra import compose
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    parsed = OverridesParser.create().parse_overrides(cell)
    values = [ov for ov in parsed if _is_plain_value(ov)]
    structural = tuple(ov.input_line for ov in parsed if not _is_plain_value(ov))
    if structural not in cache:
        composed = compose(config_name=config_name, overrides=list(structural))
        plain = OmegaConf.to_container(composed, resolve=False)
        plain.pop("hydra", None)
        cache[structural] = None if _has_interpolation(plain) else plain
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


def _validate_cells(cells: list[list[str]], config_name: str) -> str | None:
    cache: dict = {}
    for cell in cells:
        where = f" (in sweep cell: {' '.join(cell)})" if len(cells) > 1 else ""
        try:
            check_memory(validate(_compose_cell(cell, config_name, cache)))
        except (ConfigError, ResourceError) as err:
            return f"{err}{where}"
        except Exception as err:
            return f"{one_line(err)}{where}"
    return None


def check(argv: list[str], config_name: str = "config") -> str | None:
    """None if every cell of the command line's config is valid, else a one-line error."""
    overrides = app_overrides(argv)
    if overrides is None:
        return None
    from hydra import initialize_config_dir

    try:
        cells = _cells(overrides)
    except Exception as err:  # override syntax errors
        return one_line(err)
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        if is_multirun(argv):
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
                        return f"{one_line(err)} (in hydra.sweeper.params of experiment={name})"
        return _validate_cells(cells, config_name)
