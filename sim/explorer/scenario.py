"""The explorer's scenario: what a user set in the page -> a config the CLI's schema accepts.

:class:`Controls` holds the page's settings, as typed (text fields give strings).
:func:`build_scenario` composes the chosen population preset and design with Hydra (each
preset x design once per process, ~0.4-1 CPU-s; the page composes them ahead of time in a
helper process: :mod:`sim.explorer.compose`), applies the settings to
the composed config and checks it with the CLI's own schema (:func:`sim.config.validate`), so
a bad value gives the CLI's one-line message. It also writes the ``python -m sim`` overrides
that reproduce the config exactly.
"""

from __future__ import annotations

import copy
import re
import shlex
from collections import OrderedDict
from dataclasses import dataclass, field, fields

import yaml

from sim.config import CONFIG_DIR, ConfigError, validate
from sim.engine.categories import ETHNICITIES
from sim.errors import ExplorerError
from sim.explorer import compose
from sim.programme.effects import read_evidence_ids

REFERENCE = "usual_care"
PRESETS = tuple(sorted(p.stem for p in (CONFIG_DIR / "population").glob("*.yaml")))
DESIGNS = tuple(sorted(p.stem for p in (CONFIG_DIR / "programme").glob("*.yaml")))
DEFAULT_N = 20_000  # a new lever value costs ~1 CPU-s at this size, a cached one ~0.01 (make bench)
MAX_PEOPLE = 500_000  # people x replicates: beyond this the page would not answer quickly
# What "IMD targeting" sets as every service's eligible quintiles
IMD_TARGETS = OrderedDict([
    ("design default", None),
    ("all quintiles", [1, 2, 3, 4, 5]),
    ("quintiles 1-3", [1, 2, 3]),
    ("quintiles 1-2", [1, 2]),
    ("quintile 1 only", [1]),
])
# A few key evidence values; the page shows each one's registry value and 95% interval.
KEY_EVIDENCE = OrderedDict([
    ("ev_coordinator", "coordination_vogel2017_hr"),
    ("ev_cbt", "work_focused_cbt_hr"),
    ("ev_mdt", "mdt_tingulstad2022_rr"),
    ("ev_multidomain", "multidomain_bonus_hr"),
])
MINORITIES = ETHNICITIES[1:]


# ---- controls ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Controls:
    """What the user set. Text fields stay as typed; ``""`` means "the design's own value"."""

    population: str = "fit_note_cohort"
    n: object = str(DEFAULT_N)
    design: str = "multicomponent"
    refer_at_week: object = ""
    capacity: object = ""  # starts per week per 100,000 people, every service of the design
    imd_target: str = "design default"
    minority_referral: object = ""  # referral, minority ethnic groups (x White British)
    minority_uptake: object = ""  # uptake, minority ethnic groups (x White British)
    deprived_uptake: object = ""  # uptake, IMD quintiles 1-2 (x quintile 5)
    dropout: object = ""  # weekly drop-out hazard
    seed: object = "1"
    replicates: object = "1"
    ev_coordinator: object = ""
    ev_cbt: object = ""
    ev_mdt: object = ""
    ev_multidomain: object = ""
    follow: object = "0"  # row of the person to follow

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def parse_value(value):
    """A typed-in value as the number it spells, as Hydra would read it from a command line
    (``"3"`` -> 3, ``"0.5"`` -> 0.5); ``""`` or None -> None (keep the design's value);
    anything else stays a string, for the schema to reject in its own words."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    text = value.strip()
    if text == "":
        return None
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text) else text


def _format(value) -> str:
    """A value as a Hydra override value that reads back as the same Python value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ",".join(_format(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} on a command line")


def _get(cfg: dict, path: str):
    node = cfg
    for key in path.split("."):
        node = node[key]
    return node


def _set(cfg: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    node = cfg
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


def _composed(population: str, design: str) -> dict:
    """The preset x design config as Hydra composes it (cached, and composed ahead of time
    in a helper process once the page has started: :mod:`sim.explorer.compose`; callers
    get a copy)."""
    return copy.deepcopy(compose.composed(population, design))


def background_pairs() -> list[tuple[str, str]]:
    """What the page composes ahead of time, in order: usual care and every design on the
    default preset, then on the other presets."""
    first = Controls().population
    designs = [REFERENCE, Controls().design] + [d for d in DESIGNS
                                                if d not in (REFERENCE, Controls().design)]
    return [(p, d) for p in [first] + [q for q in PRESETS if q != first] for d in designs]


def _check_choice(key: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: unknown value {value!r}, expected one of {', '.join(choices)}")


@dataclass
class Scenario:
    """A checked pair of configs (the design and usual care on the same people)."""

    controls: Controls
    config: dict  # the design's validated config
    reference: dict  # usual care, identical but for the programme
    overrides: list[str]  # python -m sim overrides reproducing ``config``
    reference_overrides: list[str]
    settings: dict = field(default_factory=dict)  # path -> value the user changed
    follow: int = 0
    unused_evidence: list[str] = field(default_factory=list)  # set, but not in this design

    def command(self, reference: bool = False) -> str:
        ov = self.reference_overrides if reference else self.overrides
        return "python -m sim " + " ".join(shlex.quote(o) for o in ov)

    def yaml(self) -> str:
        """The exact config as YAML, with the command that reproduces it on top."""
        head = ("# rtw-sim scenario exported from the explorer.\n"
                "# Reproduce it (same tables) with:\n"
                f"#   {self.command()}\n"
                "# and its usual-care comparator with:\n"
                f"#   {self.command(reference=True)}\n")
        if self.settings:
            head += "# Settings changed in the explorer (not registry or preset values):\n"
            head += "".join(f"#   {k} = {v!r}\n" for k, v in self.settings.items())
        return head + yaml.safe_dump(self.config, sort_keys=False, allow_unicode=False)


def _component_settings(c: Controls, base: dict) -> list[tuple[str, object]]:
    comps = base["programme"].get("components") or {}
    out = []
    refer = parse_value(c.refer_at_week)
    capacity = parse_value(c.capacity)
    target = IMD_TARGETS[c.imd_target]
    m_ref, m_up = parse_value(c.minority_referral), parse_value(c.minority_uptake)
    d_up, drop = parse_value(c.deprived_uptake), parse_value(c.dropout)
    for name in comps:
        p = f"programme.components.{name}"
        if refer is not None:
            out.append((f"{p}.eligibility.refer_at_week", refer))
        if capacity is not None:
            out.append((f"{p}.capacity.starts_per_week_per_100k", capacity))
        if target is not None:
            out.append((f"{p}.eligibility.imd_quintiles", list(target)))
        for value, key in ((m_ref, "referral_ethnicity_rr"), (m_up, "uptake_ethnicity_rr")):
            if value is not None:
                out += [(f"{p}.access.{key}.{g}", value) for g in MINORITIES]
        if d_up is not None:
            old = list(_get(base, f"{p}.access.uptake_imd_rr"))
            out.append((f"{p}.access.uptake_imd_rr", [d_up, d_up, *old[2:]]))
        if drop is not None:
            out.append((f"{p}.access.dropout_weekly_hazard", drop))
    return out


def build_scenario(c: Controls) -> Scenario:
    """Check the controls with the CLI's schema; ConfigError (one line) if a value is bad."""
    _check_choice("population", c.population, PRESETS)
    _check_choice("programme", c.design, DESIGNS)
    _check_choice("imd_target", c.imd_target, tuple(IMD_TARGETS))
    base = _composed(c.population, c.design)
    common = []  # settings shared by the design and usual care
    for path, raw in (("population.n", c.n), ("seed", c.seed), ("replicates", c.replicates)):
        value = parse_value(raw)
        if value is not None:
            common.append((path, value))
        else:
            raise ConfigError(f"{path}: empty, expected a number")
    evidence = []
    for key, entry in KEY_EVIDENCE.items():
        value = parse_value(getattr(c, key))
        if value is not None:
            evidence.append((entry, value))
    own = _component_settings(c, base)

    def make(population_design: dict, settings) -> dict:
        cfg = population_design  # (a copy already: _composed; ~3 CPU-ms a copy)
        for path, value in settings:
            _set(cfg, path, value)
        reads = set(read_evidence_ids(cfg))  # the schema refuses values a design never reads
        if own := {k: v for k, v in evidence if k in reads}:
            cfg["evidence_values"] = own
        return cfg

    cfg = make(base, common + own)
    cfg = validate(cfg)
    people = cfg["population"]["n"] * cfg["replicates"]
    if people > MAX_PEOPLE:
        raise ConfigError(f"population.n: {cfg['population']['n']} x {cfg['replicates']} "
                          f"replicates = {people} people, expected at most {MAX_PEOPLE} in the "
                          "explorer (use python -m sim for larger runs)")
    ref = validate(make(_composed(c.population, REFERENCE), common))
    follow = parse_value(c.follow)
    if isinstance(follow, bool) or not isinstance(follow, int) or not 0 <= follow < people:
        raise ExplorerError(f"follow: got {c.follow!r}, expected a person number from 0 to "
                            f"{people - 1}")

    def overrides(design, settings, arm):
        out = [f"population={c.population}", f"programme={design}"]
        out += [f"{p}={_format(v)}" for p, v in settings]
        out += [f"+evidence_values.{k}={_format(v)}"
                for k, v in (arm.get("evidence_values") or {}).items()]
        return out

    changed = {p: v for p, v in common + own}
    changed.update({f"evidence_values.{k}": v for k, v in evidence})
    used = set(read_evidence_ids(cfg))
    unused = [k for k, _ in evidence if k not in used]
    return Scenario(c, cfg, ref, overrides(c.design, common + own, cfg),
                    overrides(REFERENCE, common, ref), changed, follow, unused)
