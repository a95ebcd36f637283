"""The building blocks of the config schema (:mod:`sim.config_schema`): typed nodes that
check one value each and report a problem as one line naming the key path, the value and
what was expected (:class:`sim.errors.ConfigError`)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sim.errors import ConfigError

SHARE_TOLERANCE = 1e-6


def _repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- schema nodes ---------------------------------------------------------------------


@dataclass
class Num:
    """A number in [lo, hi]; ``gt`` makes the lower bound strict; ``integer`` forbids floats."""

    lo: float = -math.inf
    hi: float = math.inf
    gt: bool = False
    integer: bool = False

    def check(self, path, value):
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "an integer" if self.integer else "a number"
            raise ConfigError(f"{path}: got {_repr(value)}, expected {kind}")
        if self.integer and not isinstance(value, int):
            raise ConfigError(f"{path}: got {_repr(value)}, expected an integer")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{path}: got {_repr(value)}, expected a finite number")
        if (self.gt and value <= self.lo) or value < self.lo or value > self.hi:
            low = "(" if self.gt else "["
            raise ConfigError(
                f"{path}: got {_repr(value)}, expected a value in {low}{self.lo}, {self.hi}]"
            )
        return value


def Int(lo=-math.inf, hi=math.inf):  # noqa: N802 - reads like a type in the schema
    return Num(lo, hi, integer=True)


PROB = Num(0.0, 1.0)
RATIO = Num(0.0, 1e6, gt=True)  # hazard/risk ratios and multipliers must be > 0
RATE = Num(0.0, 50.0)  # weekly hazards (rates) are >= 0


@dataclass
class Str:
    choices: Sequence[str] | None = None

    def check(self, path, value):
        if not isinstance(value, str):
            raise ConfigError(f"{path}: got {_repr(value)}, expected a string")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(
                f"{path}: unknown value {value!r}, expected one of {', '.join(self.choices)}"
            )
        return value


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,79}")


@dataclass
class Name:
    """A name that becomes part of a file path: a safe file name, no traversal."""

    def check(self, path, value):
        Str().check(path, value)
        if not NAME_PATTERN.fullmatch(value) or ".." in value:
            raise ConfigError(
                f"{path}: got {_repr(value)}, expected a safe file name (it names output "
                "directories): 1-80 letters, digits, '_', '-', '.', '+', starting with a "
                "letter or digit, no '..'"
            )
        return value


@dataclass
class Bool:
    def check(self, path, value):
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: got {_repr(value)}, expected true or false")
        return value


@dataclass
class Vector:
    """A fixed-length list (e.g. one value per IMD quintile), optionally summing to one."""

    length: int
    item: object
    shares: bool = False

    def check(self, path, value):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: got {_repr(value)}, expected a list of {self.length}")
        if len(value) != self.length:
            raise ConfigError(
                f"{path}: has {len(value)} values, expected {self.length}"
            )
        out = [self.item.check(f"{path}[{i}]", v) for i, v in enumerate(value)]
        if self.shares:
            _check_sum(path, sum(out))
        return out


@dataclass
class List:
    item: object
    min_len: int = 0

    def check(self, path, value):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: got {_repr(value)}, expected a list")
        if len(value) < self.min_len:
            raise ConfigError(f"{path}: has {len(value)} items, expected at least {self.min_len}")
        return [self.item.check(f"{path}[{i}]", v) for i, v in enumerate(value)]


@dataclass
class ByName:
    """A mapping keyed by exactly the names of one category (every name, no others)."""

    names: Sequence[str]
    item: object
    what: str
    shares: bool = False
    # {missing name: proxy name}: a missing name with a proxy takes the proxy's value
    # (long COVID takes CMD's in pathways and component tables, CONDITION_PROXY)
    derive: dict | None = None

    def check(self, path, value):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: got {_repr(value)}, expected a mapping by {self.what}")
        if self.derive:
            value = {**value, **{name: value[proxy] for name, proxy in self.derive.items()
                                 if name in self.names and name not in value
                                 and proxy in value}}
        for key in value:
            if key not in self.names:
                raise ConfigError(
                    f"{path}: unknown {self.what} {key!r}, expected one of {', '.join(self.names)}"
                )
        for name in self.names:
            if name not in value:
                raise ConfigError(f"{path}: missing {self.what} {name!r}")
        out = {k: self.item.check(f"{path}.{k}", value[k]) for k in self.names}
        if self.shares:
            _check_sum(path, sum(out.values()))
        return out


@dataclass
class Struct:
    """A mapping with known keys; keys in ``optional`` may be absent (then ``None``)."""

    keys: dict
    optional: Sequence[str] = field(default_factory=tuple)
    sources: bool = False  # requires a ``sources`` block naming the provenance of each key

    def check(self, path, value):
        if not isinstance(value, dict):
            raise ConfigError(f"{_p(path)}: got {_repr(value)}, expected a mapping")
        allowed = set(self.keys) | ({"sources"} if self.sources else set())
        for key in value:
            if key not in allowed:
                raise ConfigError(
                    f"{_join(path, key)}: unknown key (allowed here: {', '.join(sorted(allowed))})"
                )
        out = {}
        for key, spec in self.keys.items():
            if key not in value or value[key] is None:
                if key in self.optional:
                    out[key] = None
                    continue
                raise ConfigError(f"{_join(path, key)}: missing required key")
            out[key] = spec.check(_join(path, key), value[key])
        if self.sources:
            used = [k for k in self.keys if out.get(k) is not None]
            out["sources"] = _check_sources(path, value.get("sources"), self.keys, used)
        return out


class AnyValue:
    def check(self, path, value):
        return value


def _p(path):
    return path or "config"


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def _check_sum(path, total):
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ConfigError(f"{path}: shares sum to {total:.6g}, expected 1")


SOURCE_FREE = {"name", "mode", "n", "description", "warmup_weeks", "label", "kind",
               "access", "deprivation_index"}  # access presets carry their own sources


def _check_sources(path, sources, keys, used):
    """Every parameter must say where its value comes from (or that it is an assumption)."""
    where = _join(path, "sources")
    if not isinstance(sources, dict):
        raise ConfigError(f"{where}: missing; give a source or 'assumption: <why>' per parameter")
    for key in sources:
        if key not in keys:
            raise ConfigError(f"{where}.{key}: names no parameter of {_p(path)}")
    for key in used:
        if key in SOURCE_FREE:
            continue
        text = sources.get(key)
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(
                f"{where}.{key}: missing; give a source or 'assumption: <why>' for {key!r}"
            )
    return dict(sources)


class EvidenceRef:
    """A number, or the id of an evidence registry entry (checked against the registry)."""

    def __init__(self, number: Num):
        self.number = number

    def check(self, path, value):
        if isinstance(value, str):
            if not value.strip():
                raise ConfigError(f"{path}: empty evidence id")
            return value
        return self.number.check(path, value)


class Mapping:
    """A mapping with free keys (instance names) whose values follow one schema."""

    def __init__(self, item):
        self.item = item

    def check(self, path, value):
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: got {_repr(value)}, expected a mapping of names")
        return {str(k): self.item.check(f"{path}.{k}", v) for k, v in value.items()}


class Subset:
    """A non-empty list of distinct names from one category (or 1..5 for IMD quintiles)."""

    def __init__(self, names, what):
        self.names, self.what = tuple(names), what

    def check(self, path, value):
        if not isinstance(value, list | tuple) or not value:
            raise ConfigError(f"{path}: got {_repr(value)}, expected a non-empty list of "
                              f"{self.what}s")
        for v in value:
            if v not in self.names or not any(  # true is not the IMD quintile 1
                    isinstance(v, bool) == isinstance(n, bool) for n in self.names if n == v):
                shown = ", ".join(str(n) for n in self.names)
                raise ConfigError(f"{path}: unknown {self.what} {v!r}, expected one of {shown}")
        if len(set(value)) != len(value):
            raise ConfigError(f"{path}: repeated {self.what} in {_repr(value)}")
        return list(value)


class Choice:
    """One of several schemas, chosen by the value of a discriminating key."""

    def __init__(self, key, options):
        self.key, self.options = key, options

    def check(self, path, value):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: got {_repr(value)}, expected a mapping")
        kind = value.get(self.key)
        if kind not in self.options:
            raise ConfigError(f"{_join(path, self.key)}: unknown value {kind!r}, expected one "
                              f"of {', '.join(self.options)}")
        return self.options[kind].check(path, value)


class EvidenceValues:
    """Optional ``evidence_values``: {registry id: number} replacing registry values (PSA)."""

    def check(self, path, value):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: got {_repr(value)}, expected a mapping of evidence id "
                              "to number")
        # lazy on purpose: sim.evidence.registry imports scipy.stats (0.43 s on an idle machine,
        # docs STACK_NOTES; 20 s measured under load), and the CLI pre-flight imports this
        # module to answer a bad command line at once; only configs with evidence_values pay
        from sim.evidence.registry import load_registry

        registry = load_registry()
        out = {}
        for key, number in value.items():
            if key not in registry:
                raise ConfigError(f"{path}.{key}: unknown evidence id {key!r}, expected an id "
                                  "of configs/evidence/*.yaml")
            out[str(key)] = float(Num().check(f"{path}.{key}", number))
        return out
