"""Check the command line's config before Hydra starts (and creates any directory).

Hydra reports composition problems (a key that does not exist, a missing config group
option) over several lines; the pre-flight composes the same config with the compose API,
expands sweeps (``a=1,2``) into their cells, validates each, and reports the first
problem in one line. Overrides of Hydra's own settings (``hydra.*``, ``hydra/...``) are
left to Hydra.
"""

from __future__ import annotations

import itertools

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


def _cells(overrides: list[str]) -> list[list[str]]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    choices = []
    for ov in parsed:
        if ov.is_sweep_override():
            prefix = {"ADD": "+", "FORCE_ADD": "++", "DEL": "~"}.get(ov.type.name, "")
            key = ov.get_key_element()
            choices.append([f"{prefix}{key}={v}" for v in ov.sweep_string_iterator()])
        else:
            choices.append([ov.input_line])
    total = 1
    for c in choices:
        total *= len(c)
    if total <= MAX_CELLS:
        return [list(cell) for cell in itertools.product(*choices)]
    base = [c[0] for c in choices]  # vary one override at a time
    cells = []
    for i, c in enumerate(choices):
        for v in c:
            cells.append(base[:i] + [v] + base[i + 1:])
    return cells


def check(argv: list[str], config_name: str = "config") -> str | None:
    """None if every cell of the command line's config is valid, else a one-line error."""
    overrides = app_overrides(argv)
    if overrides is None:
        return None
    from hydra import compose, initialize_config_dir

    try:
        cells = _cells(overrides)
    except Exception as err:  # override syntax errors
        return one_line(err)
    with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        for cell in cells:
            where = f" (in sweep cell: {' '.join(cell)})" if len(cells) > 1 else ""
            try:
                cfg = to_plain(compose(config_name=config_name, overrides=cell))
                cfg.pop("hydra", None)
                check_memory(validate(cfg))
            except (ConfigError, ResourceError) as err:
                return f"{err}{where}"
            except Exception as err:
                return f"{one_line(err)}{where}"
    return None
