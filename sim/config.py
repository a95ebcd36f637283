"""Loading and validating configuration.

Hydra composes ``configs/config.yaml`` and its groups; :func:`validate` then checks the
result against the schema below before any simulation work starts. Every problem is
reported as one line naming the key path, the value and what was expected, e.g.::

    population.ethnicity_shares: shares sum to 0.95, expected 1

The schema is declarative: each node says its type, its range, and for name-keyed
blocks, which names are allowed (conditions, ethnic groups, ...). Unknown keys are errors,
so a typo in a hand-edited YAML never silently falls back to a default.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sim.engine.categories import (
    AGE_BANDS,
    CONDITION_PROXY,
    CONDITIONS,
    DEPRIVATION_INDICES,
    ETHNICITIES,
    SEVERITIES,
    SEXES,
    STATES,
)
from sim.errors import ConfigError, ConfigWarning  # defined there; still importable from here
from sim.programme.eligibility import ATTRIBUTES as ELIGIBILITY_ATTRIBUTES
from sim.programme.eligibility import OPTIONAL as ELIGIBILITY_OPTIONAL
from sim.vocabulary import COMBINE_RULES, COMPONENT_STATES, DOMAINS, EFFECT_KEYS, PRIORITIES

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
SHARE_TOLERANCE = 1e-6


_format_warning = warnings.formatwarning


def _format_config_warning(message, category, filename, lineno, line=None):
    """ConfigWarnings print as one line (``config warning: ...``); others as usual."""
    if isinstance(category, type) and issubclass(category, ConfigWarning):
        return f"config warning: {message}\n"
    return _format_warning(message, category, filename, lineno, line)


_show_warning = warnings.showwarning
_SHOWN: set[str] = set()  # a config is validated several times (pre-flight, run): say it once


def _show_config_warning(message, category, filename, lineno, file=None, line=None):
    if isinstance(category, type) and issubclass(category, ConfigWarning):
        if str(message) in _SHOWN:
            return
        _SHOWN.add(str(message))
    _show_warning(message, category, filename, lineno, file, line)


warnings.formatwarning = _format_config_warning
warnings.showwarning = _show_config_warning


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
    derive: bool = False  # a missing name with a proxy (CONDITION_PROXY) takes its value

    def check(self, path, value):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: got {_repr(value)}, expected a mapping by {self.what}")
        if self.derive:
            value = {**value, **{name: value[proxy] for name, proxy in CONDITION_PROXY.items()
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


# ---- the schema ----------------------------------------------------------------------


def _by(names, what, item, shares=False):
    return ByName(names, item, what, shares)


def _by_condition(item):
    """A pathways or component table by condition: long COVID may be left out (it then
    takes its proxy's value, sim.engine.categories.CONDITION_PROXY)."""
    return ByName(CONDITIONS, item, "condition", derive=True)


IMD5 = Vector(5, RATIO)
POPULATION_OPTIONAL = ("onset_multiplier", "start_state_shares", "deprivation_index",
                       "simd_gradient", "disability", "precarious", "long_covid")

POPULATION = Struct(
    {
        "name": Name(),
        "description": Str(),
        "mode": Str(("cohort", "workforce", "jobseekers", "out_of_work")),
        "n": Int(1, 50_000_000),
        "warmup_weeks": Int(0, 520),
        "female_share": PROB,
        "age_band_shares": _by(AGE_BANDS, "age band", PROB, shares=True),
        "ethnicity_shares": _by(ETHNICITIES, "ethnic group", PROB, shares=True),
        "imd_by_ethnicity": _by(ETHNICITIES, "ethnic group", Vector(5, PROB, shares=True)),
        "condition_by_imd": _by(CONDITIONS, "condition", Vector(5, PROB)),
        "severity_by_condition": _by(
            CONDITIONS, "condition", _by(SEVERITIES, "severity", PROB, shares=True)
        ),
        "manual_by_imd": Vector(5, PROB),
        "manual_rr_by_ethnicity": _by(ETHNICITIES, "ethnic group", RATIO),
        "sme_share": PROB,
        "oh_access": Struct(
            {"share": PROB, "sme_rr": RATIO, "manual_rr": RATIO, "imd_rr": IMD5,
             "precarious_rr": RATIO},
            optional=("precarious_rr",),
        ),
        # issue 20 (sim.engine.population): optional, absent = none / the default
        "onset_multiplier": Num(0.0, 100.0, gt=True),  # x every background onset hazard
        "start_state_shares": _by(("unemployed", "inactive", "inactive_benefit"),
                                  "starting state", PROB, shares=True),
        "deprivation_index": Str(DEPRIVATION_INDICES),
        "simd_gradient": Num(0.0, 5.0),  # exponent on the pathways' IMD gradients under SIMD
        "disability": Struct({
            "share": PROB,
            "condition_rr": _by(CONDITIONS, "condition", RATIO),
            "severity_rr": _by(SEVERITIES, "severity", RATIO),
        }),
        # long COVID's hazards relative to its proxy's (sim.engine.pathways.population_adjusted)
        "long_covid": Struct({
            "rtw_scale_x": RATIO,
            "phased_share_x": RATIO,
            "inactivity_x": RATIO,
        }),
        "precarious": Struct({
            "share": PROB,
            "age_rr": _by(AGE_BANDS, "age band", RATIO),
            "imd_rr": IMD5,
            "job_loss_hr": RATIO,
            "rtw_hr": RATIO,
        }),
    },
    optional=POPULATION_OPTIONAL,
    sources=True,
)

PATHWAYS = Struct(
    {
        "name": Str(),
        "rtw": Struct(
            {
                "scale_weeks": _by_condition(Num(0.0, 1e4, gt=True)),
                "shape": _by_condition(Num(0.0, 5.0, gt=True)),
                "severity_hr": _by(SEVERITIES, "severity", RATIO),
                "imd_hr": IMD5,
                "ethnicity_hr": _by(ETHNICITIES, "ethnic group", RATIO),
                "age_hr": _by(AGE_BANDS, "age band", RATIO),
                "manual_hr": RATIO,
                "sme_hr": RATIO,
                "oh_access_hr": RATIO,
                "duration_decline_per_year": Num(0.0, 50.0),
            }
        ),
        "phased_return": Struct(
            {
                "share": _by_condition(PROB),
                "oh_access_rr": RATIO,
                "to_full_weekly_hazard": RATE,
                "hours_fraction": PROB,
            }
        ),
        "job_loss": Struct(
            {
                "weekly_hazard": RATE,
                "duration_slope_per_year": Num(0.0, 100.0),
                "ssp_end_week": Int(1, 520),
                "ssp_end_hr": RATIO,
                "imd_hr": IMD5,
                "ethnicity_hr": _by(ETHNICITIES, "ethnic group", RATIO),
                "manual_hr": RATIO,
                "sme_hr": RATIO,
                "oh_access_hr": RATIO,
            }
        ),
        "inactivity": Struct(
            {
                "weekly_hazard": RATE,
                "duration_slope_per_year": Num(0.0, 100.0),
                "ssp_end_hr": RATIO,
                "condition_hr": _by_condition(RATIO),
                "severity_hr": _by(SEVERITIES, "severity", RATIO),
                "age_hr": _by(AGE_BANDS, "age band", RATIO),
                "ethnicity_hr": _by(ETHNICITIES, "ethnic group", RATIO),
                "benefit_share": PROB,
                "post_ssp_weekly": RATE,
            }
        ),
        "new_spell": Struct(
            {
                "onset_weekly": _by_condition(RATE),
                "imd_hr": IMD5,
                "manual_hr": RATIO,
                "relapse_excess_weekly": RATE,
                "relapse_decay_weeks": Num(0.0, 520.0, gt=True),
                "relapse_window_weeks": Int(1, 520),
                "relapse_condition_hr": _by_condition(RATIO),
                "early_return_hr": RATIO,
                "early_return_before_weeks": _by(SEVERITIES, "severity", Int(0, 520)),
                "phased_return_hr": RATIO,
                "sex_hr": _by(SEXES, "sex", RATIO),
                "age_hr": _by(AGE_BANDS, "age band", RATIO),
            }
        ),
        "unemployed": Struct(
            {
                "reemployment_weekly": RATE,
                "condition_hr": _by_condition(RATIO),
                "imd_hr": IMD5,
                "ethnicity_hr": _by(ETHNICITIES, "ethnic group", RATIO),
                "age_hr": _by(AGE_BANDS, "age band", RATIO),
                "to_inactive_weekly": RATE,
            }
        ),
        "separation": Struct(
            {
                "weekly_hazard": RATE,
                "imd_hr": IMD5,
                "manual_hr": RATIO,
            }
        ),
        "out_of_work": Struct(
            {
                "inactive_to_work_weekly": RATE,
                "inactive_to_seeking_weekly": RATE,
                "inactive_to_benefit_weekly": RATE,
                "benefit_to_work_weekly": RATE,
                "benefit_to_seeking_weekly": RATE,
                "duration_decline_per_year": Num(0.0, 50.0),
            }
        ),
        "retirement": Struct(
            {
                "early_weekly": _by(AGE_BANDS, "age band", RATE),
                "state_pension_age": Int(50, 80),
            }
        ),
    },
    sources=True,
)

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


ELIGIBILITY_KEYS = {key: Subset(names, what)
                    for key, (_, names, what) in ELIGIBILITY_ATTRIBUTES.items()}


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


RATIO_OR_ID = EvidenceRef(RATIO)
COST_OR_ID = EvidenceRef(Num(0.0, 1e7))
ETH_RR = _by(ETHNICITIES, "ethnic group", RATIO)

COMPONENT = Struct(
    {
        "label": Str(),
        "domain": Str(DOMAINS),
        "duration_weeks": Int(1, 520),
        "effect_lag_weeks": Int(0, 520),
        "eligibility": Struct({
            "state": Str(COMPONENT_STATES),
            "refer_at_week": Int(0, 520),
            # conditions, severities, IMD, age, sex, ... (sim.programme.eligibility)
            **ELIGIBILITY_KEYS,
        }, optional=ELIGIBILITY_OPTIONAL),
        "access": Struct({
            "name": Str(),
            "referral": PROB,
            "referral_imd_rr": IMD5,
            "referral_ethnicity_rr": ETH_RR,
            "uptake": PROB,
            "uptake_imd_rr": IMD5,
            "uptake_ethnicity_rr": ETH_RR,
            "dropout_weekly_hazard": RATE,
        }, sources=True),
        "capacity": Struct({
            "starts_per_week_per_100k": Num(0.0, 1e9),
            "priority": Str(PRIORITIES),
            "max_wait_weeks": Int(0, 520),
        }, optional=("starts_per_week_per_100k",)),
        "effects": Struct(
            dict.fromkeys(EFFECT_KEYS, RATIO_OR_ID), optional=EFFECT_KEYS,
        ),
        "effect_modification": Struct({
            "condition": _by_condition(Num(0.0, 10.0)),
            "severity": _by(SEVERITIES, "severity", Num(0.0, 10.0)),
        }),
        "cost": Struct({
            "fixed_per_week_gbp": COST_OR_ID,
            "per_participant_gbp": COST_OR_ID,
            "per_participant_week_gbp": COST_OR_ID,
        }),
        # how long the weekly effects outlive the service (sim.programme.persistence); absent: they
        # stop when it ends
        "persistence": Struct({
            "half_life_weeks": EvidenceRef(Num(0.0, 520.0)),
            "lasting": EvidenceRef(PROB),
        }),
    },
    optional=("persistence",),
    sources=True,
)

MODIFIER = Choice("kind", {
    "cultural_adaptation": Struct({
        "kind": Str(),
        "label": Str(),
        "uptake_rr": ETH_RR,
        "dropout_hr": ETH_RR,
        "cost_per_participant_gbp": COST_OR_ID,
        "effect_exponent": EvidenceRef(Num(0.0, 10.0)),
        "effect_groups": Subset(ETHNICITIES, "ethnic group"),
    }, optional=("effect_exponent", "effect_groups"), sources=True),
    "targeting": Struct({
        "kind": Str(),
        "label": Str(),
        **ELIGIBILITY_KEYS,  # restricts who is served by any person attribute
        "referral_imd_rr": IMD5,
        "priority": Str(PRIORITIES),
    }, optional=(*ELIGIBILITY_ATTRIBUTES, "referral_imd_rr", "priority"), sources=True),
})

PROGRAMME = Struct(
    {
        "name": Name(),
        "description": Str(),
        "combine": Struct({
            "rule": Str(COMBINE_RULES),
            "multidomain_hr": RATIO_OR_ID,
        }),
        "components": Mapping(COMPONENT),
        "modifiers": Mapping(MODIFIER),
        "variant": Str(),  # set by sim.programme.variants: the label of the variant applied
    },
    optional=("components", "modifiers", "variant"),
)

GBP_OR_ID = EvidenceRef(Num(0.0, 1e7))
RATE_OR_ID = EvidenceRef(PROB)
UTILITY_OR_ID = EvidenceRef(Num(-1.0, 1.0))
STATE_NAMES = STATES  # every labour-market state (sim.engine.categories)

ECONOMICS = Struct(
    {
        "name": Str(),
        "discount_rate": Num(0.0, 0.5),
        "weekly_wage": _by(("non_manual", "manual"), "occupation", Num(0.0, 1e5)),
        "output_per_labour_cost": Num(0.0, 10.0),
        "ssp_weekly": GBP_OR_ID,
        "ssp_max_weeks": Int(0, 520),
        "occupational_sick_pay": _by(("large", "sme"), "employer size", PROB),
        "occupational_sick_pay_weeks": Int(0, 520),
        # the benefit rule is keyed by state (sim.results.economics.BENEFIT_RULES)
        "benefit_weekly": _by(("absent_after_sick_pay", "unemployed", "inactive_benefit"),
                              "benefit", GBP_OR_ID),
        "tax": Struct({
            "personal_allowance_weekly": GBP_OR_ID,
            "basic_rate": RATE_OR_ID,
            "higher_rate_threshold_weekly": GBP_OR_ID,
            "higher_rate": RATE_OR_ID,
            "employee_ni_threshold_weekly": GBP_OR_ID,
            "employee_ni_rate": RATE_OR_ID,
            "upper_earnings_limit_weekly": GBP_OR_ID,
            "employee_ni_upper_rate": RATE_OR_ID,
            "employer_ni_threshold_weekly": GBP_OR_ID,
            "employer_ni_rate": RATE_OR_ID,
        }),
        "recruitment_cost_per_job_loss": Num(0.0, 1e7),
        "willingness_to_pay_per_week_in_work": Num(0.0, 1e7),
        "qaly_thresholds": List(Num(0.0, 1e7, gt=True), min_len=1),
        "utility_in_work": UTILITY_OR_ID,
        "utility_decrement": _by(("absent", "phased", "unemployed", "inactive",
                                  "inactive_benefit"), "state", UTILITY_OR_ID),
        "nhs_cost_weekly": _by(STATE_NAMES, "state", GBP_OR_ID),
    },
    sources=True,
)

OUTCOMES = Struct(
    {
        "sustained_weeks": Int(1, 104),
        "snapshot_weeks": List(Int(0, 520)),
        "rtw_weeks": List(Int(1, 520), min_len=1),
        "working_days_per_year": Num(1.0, 366.0),
        # people in each counterfactual run of the gap decomposition (sim.uncertainty.decomposition;
        # 0 = none); optional so configs saved before it existed still load
        "decomposition_n": Int(0, 10_000_000),
    },
    optional=("decomposition_n",),
)

OUTPUT = Struct(
    {
        "write_agents": Bool(),
        "plots": Bool(),
        "latest_link": Bool(),
    }
)

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


SCHEMA = Struct(
    {
        "seed": Int(0, 2**63 - 1),
        "horizon_weeks": Int(1, 520),
        "replicates": Int(1, 10_000),
        "engine": Str(("vectorised", "agents")),
        "population": POPULATION,
        "pathways": PATHWAYS,
        "programme": PROGRAMME,
        "economics": ECONOMICS,
        "outcomes": OUTCOMES,
        "output": OUTPUT,
        "evidence_values": EvidenceValues(),
        "variant": Str(),  # the chosen named design variant (sim.programme.variants), or null
        # label -> {programme.<key>: value}; checked by sim.programme.variants
        "variants": AnyValue(),
    },
    optional=("evidence_values", "variant", "variants"),
)


def validate(cfg: dict) -> dict:
    """Check a plain-dict config against the schema; return the checked copy."""
    from sim.programme.variants import VariantError, apply_variant  # a named design variant

    try:
        cfg = apply_variant(cfg) if isinstance(cfg, dict) else cfg
    except VariantError as err:
        raise ConfigError(str(err)) from None
    out = SCHEMA.check("", cfg)
    if out.get("evidence_values") is None:  # optional: absent unless PSA sets it
        out.pop("evidence_values", None)
    _check_cross_fields(out)
    # lazy on purpose (no cycle since sim.errors): sim.programme.effects imports numpy, ~0.9 s more
    # before the CLI pre-flight can answer a bad command line (measured under load)
    from sim.programme.effects import check_evidence_refs  # the registry ids the config names

    check_evidence_refs(out)
    return out


def _check_cross_fields(cfg):
    pop = cfg["population"]
    cond = pop["condition_by_imd"]
    for q in range(5):
        total = sum(cond[c][q] for c in CONDITIONS)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ConfigError(
                f"population.condition_by_imd: shares for IMD quintile {q + 1} sum to "
                f"{total:.6g}, expected 1"
            )
    _check_population_modes(pop)
    if pop["mode"] != "workforce" and pop["warmup_weeks"] != 0:
        raise ConfigError(
            f"population.warmup_weeks: got {pop['warmup_weeks']}, expected 0 for a "
            f"{pop['mode']} population (everyone starts together at week 0)"
        )
    _check_horizon(cfg)
    agents = pop["n"] * cfg["replicates"]
    if cfg["engine"] == "agents" and agents > 200_000:
        raise ConfigError(
            f"engine: 'agents' with {agents} people would take hours; use "
            "engine=vectorised or at most 200000 people"
        )


def _check_population_modes(pop):
    """Keys that belong to one mode or one deprivation index only (issue 20)."""
    shares = pop["start_state_shares"]
    if pop["mode"] == "out_of_work" and shares is None:
        raise ConfigError("population.start_state_shares: missing, required for mode "
                          "out_of_work (shares of unemployed, inactive, inactive_benefit)")
    if pop["mode"] != "out_of_work" and shares is not None:
        raise ConfigError(f"population.start_state_shares: only for mode out_of_work, "
                          f"got mode {pop['mode']!r}")
    if pop["deprivation_index"] is None:
        pop["deprivation_index"] = "imd"
    if pop["deprivation_index"] == "simd" and pop["simd_gradient"] is None:
        raise ConfigError("population.simd_gradient: missing, required with "
                          "deprivation_index simd (exponent on the IMD gradients; 1 = same)")


def _check_horizon(cfg):
    """Settings that reach beyond the observed weeks.

    Errors, when the setting can never work: ``outcomes.sustained_weeks`` longer than the
    horizon (no return could ever be seen to last), and a component's
    ``eligibility.refer_at_week`` that no absence reaches while the programme runs
    (observation weeks; a workforce's warm-up adds its weeks of earlier absences).
    A warning, when the run is right but reports less than the config lists: RTW weeks
    beyond the horizon are left out, and the warning names each. Snapshot weeks beyond the
    horizon and sustained-RTW weeks whose returns cannot be followed ``sustained_weeks``
    before the horizon (sim.results.outcomes) are left out too, without a warning (documented in
    configs/config.yaml).
    """
    horizon = cfg["horizon_weeks"]
    out = cfg["outcomes"]
    sustained = out["sustained_weeks"]
    if sustained > horizon:
        raise ConfigError(
            f"outcomes.sustained_weeks: got {sustained}, expected at most horizon_weeks "
            f"({horizon}): no return could be followed {sustained} weeks in work")
    reach = horizon + cfg["population"]["warmup_weeks"]
    for key, spec in ((cfg["programme"] or {}).get("components") or {}).items():
        week = spec["eligibility"]["refer_at_week"]
        if week >= reach:
            extra = (f" + population.warmup_weeks ({cfg['population']['warmup_weeks']})"
                     if reach != horizon else "")
            raise ConfigError(
                f"programme.components.{key}.eligibility.refer_at_week: got {week}, expected "
                f"less than horizon_weeks ({horizon}){extra}: no absence reaches week "
                f"{week} while the programme runs, so nobody would be referred")
    # Only the headline RTW weeks warn: the default snapshot weeks reach 260 and the last
    # RTW week's sustained figure needs sustained_weeks more, so warning on those would
    # print on every run shorter than five years (both are left out, as documented).
    missing = [f"rtw_{w}w and sustained_rtw_{w}w (outcomes.rtw_weeks {w})"
               for w in out["rtw_weeks"] if w > horizon]
    if missing:
        warnings.warn(f"horizon_weeks={horizon}: not reported: {'; '.join(missing)}",
                      ConfigWarning, stacklevel=2)


def to_plain(cfg) -> dict:
    """An OmegaConf/DictConfig (or plain dict) as a resolved plain dict."""
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg


def load_config(overrides: Sequence[str] = (), config_name: str = "config",
                config_dir: str | Path | None = None) -> dict:
    """Compose the Hydra config with ``overrides`` (as on the command line) and validate it.
    ``config_dir``: another configs/ tree (default: the repository's).

    >>> cfg = load_config(["population=workforce", "population.n=1000"])
    >>> cfg["population"]["mode"]
    'workforce'
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    # Inside a running Hydra app (the analysis experiments are one) Hydra is already
    # initialised with another config dir: set it aside, compose, and put it back.
    outer = GlobalHydra.instance()
    saved = outer.hydra if outer.is_initialized() else None
    outer.clear()
    try:
        with initialize_config_dir(version_base="1.3",
                                   config_dir=str(Path(config_dir or CONFIG_DIR).resolve())):
            composed = compose(config_name=config_name, overrides=list(overrides))
    finally:
        if saved is not None:
            GlobalHydra.instance().clear()
            GlobalHydra.instance().initialize(saved)
    plain = to_plain(composed)
    plain.pop("hydra", None)
    return validate(plain)
