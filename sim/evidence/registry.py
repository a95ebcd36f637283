"""Evidence registry: every effect size, UK figure and unit cost the model uses, with source.

The registry is the YAML files in ``configs/evidence/`` (``effects.yaml``, ``uk_targets.yaml``,
``labour_market.yaml``, ``costs.yaml``, ``economics.yaml``, ``gradients.yaml``,
``levers.yaml``). Each file is a mapping from entry id to entry; the format, the measure
vocabulary and the conversions are documented in ``docs/EVIDENCE.md``.

    load_registry()            -> {id: EvidenceEntry}, validated (EvidenceError, one line)
    evidence_table(registry)   -> pandas.DataFrame for reports
    sample_entry(entry, rng, n) draws from the entry's uncertainty (for PSA)

This module loads and indexes the files and samples entries; the vocabulary and
:class:`EvidenceEntry` are :mod:`sim.evidence.measures`, checking one entry
:mod:`sim.evidence.validate`, the tables :mod:`sim.evidence.tables`. Their public names are
importable from here as before.

Command line: ``python -m sim.evidence.registry [--format markdown|csv] [--dir configs/evidence]``
prints the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

from sim.errors import EvidenceError
from sim.evidence.measures import (  # noqa: F401 - re-exported: the public vocabulary
    ANCHORED_RR_MEASURES,
    DIRECT_MEASURES,
    FOLLOWUP_MEASURES,
    MEASURES,
    RATIO_MEASURES,
    EvidenceEntry,
    flat,
)
from sim.evidence.tables import evidence_table, format_value, to_markdown
from sim.evidence.validate import validate_entry

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_DIR = "configs/evidence"


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that refuses a key repeated within one mapping (YAML would keep the last).
    libyaml's parser where PyYAML has it: the 200 kB registry took ~0.3 s to parse in pure
    Python, read by every run's config check (issue 19); the same safe constructors."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise EvidenceError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r} "
                                f"(first at line {seen[key] + 1})")
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_mapping)


def _resolve_dir(directory) -> Path:
    path = Path(directory)
    if not path.is_absolute() and not path.exists() and (REPO / path).exists():
        path = REPO / path
    return path


def _read_file(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except EvidenceError as err:
        raise EvidenceError(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        raise EvidenceError(f"{path}: not valid YAML: {flat(err)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EvidenceError(f"{path}: expected a mapping of entry id to entry, got "
                            f"{type(data).__name__}")
    return data


_CACHE: dict[tuple, dict[str, EvidenceEntry]] = {}


def load_registry(directory=DEFAULT_DIR) -> dict[str, EvidenceEntry]:
    """All entries of the ``*.yaml`` files in ``directory`` (sorted by file name), validated.

    A relative ``directory`` is taken from the working directory, else from the repository.
    Raises :class:`EvidenceError` (one line: file, entry id, problem).
    """
    path = _resolve_dir(directory)
    if not path.is_dir():
        raise EvidenceError(f"{path}: evidence directory not found")
    files = sorted(path.glob("*.yaml"))
    if not files:
        raise EvidenceError(f"{path}: no *.yaml evidence files")
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    if key in _CACHE:
        return dict(_CACHE[key])
    registry: dict[str, EvidenceEntry] = {}
    where: dict[str, Path] = {}
    for f in files:
        shown = _shown(f)
        for entry_id, raw in _read_file(f).items():
            if entry_id in registry:
                raise EvidenceError(f"{shown}: entry {entry_id!r}: duplicate id (also in "
                                    f"{_shown(where[entry_id])})")
            registry[entry_id] = validate_entry(entry_id, raw, shown)
            where[entry_id] = f
    _CACHE.clear()
    _CACHE[key] = registry
    return dict(registry)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def sample_entry(entry: EvidenceEntry, rng: np.random.Generator, size=None):
    """Draws of the entry's value from its uncertainty distribution (PSA).

    Lognormal for ratios from their 95% CI (mu = log value, sigma = (log hi - log lo) /
    (2 x 1.959964)), normal for mean differences, beta for proportions, gamma for costs and
    other non-negative figures, unless the entry names another distribution.
    """
    d = entry.distribution
    if d is None:
        raise EvidenceError(f"{entry.file}: entry {entry.id!r}: a {entry.measure} entry has "
                            "no number to sample")
    t = d["type"]
    if t == "lognormal":
        return rng.lognormal(d["meanlog"], d["sdlog"], size)
    if t == "normal":
        return rng.normal(d["mean"], d["sd"], size)
    if t == "beta":
        return rng.beta(d["alpha"], d["beta"], size)
    if t == "gamma":
        return rng.gamma(d["shape"], d["scale"], size)
    if t == "uniform":
        return rng.uniform(d["low"], d["high"], size)
    return np.full(size, entry.value) if size is not None else entry.value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.evidence.registry",
                                     description="Print the evidence registry as a table.")
    parser.add_argument("--format", choices=("markdown", "csv"), default="markdown")
    parser.add_argument("--dir", default=DEFAULT_DIR, help="registry directory")
    args = parser.parse_args(argv)
    try:
        registry = load_registry(args.dir)
    except EvidenceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    df = evidence_table(registry)
    if args.format == "csv":
        sys.stdout.write(df.to_csv(index=False))
    else:
        print(to_markdown(df))
    return 0


__all__ = ["EvidenceEntry", "EvidenceError", "load_registry", "validate_entry",
           "evidence_table", "format_value", "to_markdown", "sample_entry", "MEASURES",
           "DIRECT_MEASURES", "RATIO_MEASURES", "FOLLOWUP_MEASURES", "ANCHORED_RR_MEASURES"]

if __name__ == "__main__":
    raise SystemExit(main())
