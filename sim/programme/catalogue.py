"""Which designs an analysis runs by default, read from the designs' own YAML.

A design joins the default design list of an analysis through a tag in its file,
``configs/programme/<name>.yaml``::

    tags: [compare, psa]   # compare: configs/analysis/compare.yaml; psa: configs/analysis/psa.yaml

so adding a design to the defaults is a YAML-only change (no list in a script or an analysis
config to keep in step). The files are read as plain YAML (no composition), in name order.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from sim.config import CONFIG_DIR, DESIGN_TAGS

TAGGED = re.compile(r"tagged\((\w+)\)")


def designs(config_dir: Path = CONFIG_DIR) -> list[str]:
    """Every design in ``config_dir/programme``, in name order."""
    return sorted(p.stem for p in (Path(config_dir) / "programme").glob("*.yaml"))


def tagged(tag: str, config_dir: Path = CONFIG_DIR) -> list[str]:
    """The designs whose YAML lists ``tag`` under ``tags``, in name order."""
    if tag not in DESIGN_TAGS:
        raise ValueError(f"design tag {tag!r}: expected one of {', '.join(DESIGN_TAGS)}")
    out = []
    for name in designs(config_dir):
        text = (Path(config_dir) / "programme" / f"{name}.yaml").read_text()
        if tag in ((yaml.safe_load(text) or {}).get("tags") or []):
            out.append(name)
    return out


def design_list(value, key: str = "designs") -> list[str]:
    """An analysis config's design list: a list of names, or ``tagged(<tag>)`` for the
    designs carrying that tag (one-line ValueError otherwise)."""
    if isinstance(value, str):
        m = TAGGED.fullmatch(value.strip())
        if not m:
            raise ValueError(f"{key}: got {value!r}, expected a list of designs or "
                             f"tagged(<tag>) with a tag of {', '.join(DESIGN_TAGS)}")
        return tagged(m.group(1))
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key}: got {value!r}, expected a list of design names")
    return list(value)
