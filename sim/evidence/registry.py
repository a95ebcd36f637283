"""Evidence registry: every effect size, UK figure and unit cost the model uses, with source.

The registry is the YAML files in ``configs/evidence/`` (``effects.yaml``, ``uk_targets.yaml``,
``labour_market.yaml``, ``costs.yaml``, ``economics.yaml``, ``gradients.yaml``,
``levers.yaml``). Each file is a mapping from entry id to entry; the format, the measure
vocabulary and the conversions are documented in ``docs/EVIDENCE.md``.

    load_registry()            -> {id: EvidenceEntry}, validated (EvidenceError, one line)
    evidence_table(registry)   -> pandas.DataFrame for reports
    sample_entry(entry, rng, n) draws from the entry's uncertainty (for PSA)

Command line: ``python -m sim.evidence.registry [--format markdown|csv] [--dir configs/evidence]``
prints the table.
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from sim.engine.categories import CONDITIONS, ETHNICITIES, SEVERITIES
from sim.errors import EvidenceError
from sim.evidence import conversions

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_DIR = "configs/evidence"
BRIEF_REFERENCES = 87  # reference list of the HEEC evidence brief (seed 000)

# Closed measure vocabulary: name -> (kind, description). Kinds: ratio (> 0, lognormal),
# difference (any sign, normal), proportion ([0, 1], beta), nonnegative (>= 0, gamma),
# narrative (no number; a direction instead).
MEASURES: dict[str, tuple[str, str]] = {
    "hr_time_to_rtw": ("ratio", "hazard ratio of (first) return to work; multiplies the "
                                "weekly RTW hazard as it is"),
    "rr_rtw_at_followup": ("ratio", "risk ratio of having returned to work by the follow-up"),
    "rr_at_work": ("ratio", "risk ratio of being at work at the end of the follow-up"),
    "rr_employment": ("ratio", "risk ratio of (competitive) employment among people out of "
                               "work by the follow-up"),
    "hr_job_loss": ("ratio", "hazard ratio on job loss while absent; used as it is"),
    "hr_relapse": ("ratio", "hazard ratio on relapse (a new spell soon after a return); "
                            "used as it is"),
    "hr_onset": ("ratio", "hazard ratio on the onset of a new sickness-absence spell while in "
                          "work (prevention); used as it is"),
    "rr_phased_return": ("ratio", "multiplier on the probability that a return is phased "
                                  "(graded); used as it is"),
    "rr_uptake": ("ratio", "multiplier on the probability of referral or uptake; used as it is"),
    "hr_dropout": ("ratio", "hazard ratio on the weekly drop-out hazard; used as it is"),
    "effect_exponent": ("ratio", "exponent on the log of a service's hazard ratios for a "
                                 "group (effect modification; 1 = unchanged)"),
    "md_days_absent": ("difference", "mean difference in working days of sickness absence per "
                                     "person over the follow-up (negative = fewer)"),
    "es_unspecified": ("difference", "pooled effect size whose type the source does not "
                                     "state; documentation only"),
    "proportion": ("proportion", "a share between 0 and 1"),
    "rate": ("nonnegative", "a non-negative rate; `unit` says per what"),
    "count": ("nonnegative", "a number of people, days or certificates; `unit` says what"),
    "duration_weeks": ("nonnegative", "a length of time in weeks"),
    "cost_gbp": ("nonnegative", "a cost in pounds sterling; `unit` says per what"),
    "utility": ("proportion", "a health-state utility (EQ-5D index, UK value set; 1 = full "
                              "health) used for QALYs"),
    "utility_decrement": ("difference", "a change in health-state utility against a reference "
                                        "state (negative = worse); `notes` say which reference"),
    "narrative": ("narrative", "no usable number; `direction` gives the qualitative finding"),
}
RATIO_MEASURES = tuple(m for m, (k, _) in MEASURES.items() if k == "ratio")
# Measures whose value multiplies a model quantity as it is (no conversion needed).
DIRECT_MEASURES = ("hr_time_to_rtw", "hr_job_loss", "hr_relapse", "rr_phased_return",
                   "rr_uptake", "hr_dropout", "hr_onset")
# Measures that a conversion turns into a hazard ratio on the model's own baseline: they
# need the follow-up (or horizon) over which the source measured them.
FOLLOWUP_MEASURES = ("rr_rtw_at_followup", "rr_at_work", "rr_employment", "md_days_absent")
# Risk ratios converted on the source trial's own control-arm risk (sim.evidence.conversions).
ANCHORED_RR_MEASURES = ("rr_rtw_at_followup", "rr_at_work", "rr_employment")
UNIT_MEASURES = ("rate", "count", "cost_gbp")
CERTAINTY = ("high", "moderate", "low", "very_low", "not_graded")
DIRECTIONS = ("benefit", "harm", "no_difference", "mixed", "unclear", "higher", "lower")
# Distribution types and their parameters; parameters may be left out when a ``ci`` is
# given, and are then derived from value and ci (see docs/EVIDENCE.md).
DISTRIBUTIONS = {
    "lognormal": ("meanlog", "sdlog"),
    "normal": ("mean", "sd"),
    "beta": ("alpha", "beta"),
    "gamma": ("shape", "scale"),
    "uniform": ("low", "high"),
    "fixed": (),
}
DEFAULT_DISTRIBUTION = {"ratio": "lognormal", "difference": "normal", "proportion": "beta",
                        "nonnegative": "gamma"}
ALLOWED_DISTRIBUTIONS = {
    "ratio": ("lognormal", "gamma", "uniform", "fixed"),
    "difference": ("normal", "uniform", "fixed"),
    "proportion": ("beta", "uniform", "fixed"),
    "nonnegative": ("gamma", "lognormal", "uniform", "fixed"),
}

FIELDS = ("value", "ci", "distribution", "measure", "unit", "followup_weeks",
          "followup_assumed", "population", "source", "brief_ref", "certainty",
          "certainty_note", "conversion", "assumption", "reason", "uncertainty_reported",
          "direction", "studies", "notes", "price_year", "control_risk",
          "control_risk_source")
REQUIRED = ("value", "measure", "population", "source", "brief_ref", "certainty",
            "conversion", "assumption")
POPULATION_FIELDS = ("text", "conditions", "severities", "ethnic_groups", "imd_quintiles",
                     "weeks_off_at_entry", "setting", "enrolment_source")
# where the source's people were when enrolled: employed and off sick, or without a job
# (the in-silico trial enrols them there: sim.evidence.trials)
SETTINGS = ("sick_leave", "out_of_work")
CONVERSION_FIELDS = ("method", "function")
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class EvidenceEntry:
    """One validated registry entry. ``distribution`` has its parameters filled in."""

    id: str
    file: str
    measure: str
    value: float | None
    ci: tuple[float, float] | None
    distribution: dict | None
    population: dict
    conditions: tuple[str, ...]
    source: str
    brief_ref: int | None
    certainty: str
    conversion: dict
    assumption: bool
    reason: str | None = None
    followup_weeks: int | None = None
    followup_assumed: bool = False
    unit: str | None = None
    uncertainty_reported: bool | None = None
    direction: str | None = None
    certainty_note: str | None = None
    studies: str | None = None
    notes: str | None = None
    price_year: int | None = None
    # the source trial's control-arm risk of the outcome by the follow-up: anchors the
    # conversion of a risk ratio (sim.evidence.conversions.trial_hr_from_rr) and the event weights
    control_risk: float | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return MEASURES[self.measure][0]

    @property
    def is_ratio(self) -> bool:
        return self.kind == "ratio"


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------

class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated within one mapping (YAML would keep the last)."""


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


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _read_file(path: Path) -> dict:
    try:
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except EvidenceError as err:
        raise EvidenceError(f"{path}: {err}") from None
    except yaml.YAMLError as err:
        raise EvidenceError(f"{path}: not valid YAML: {_one_line(err)}") from None
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


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------

def _num(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def validate_entry(entry_id, raw, file: str = "<registry>") -> EvidenceEntry:
    """One entry from its YAML mapping; EvidenceError (one line) if anything is wrong."""

    def fail(problem):
        raise EvidenceError(f"{file}: entry {entry_id!r}: {_one_line(problem)}")

    if not isinstance(entry_id, str) or not ID_RE.match(entry_id):
        fail("id must be snake_case (lower-case letters, digits, underscores)")
    if not isinstance(raw, dict):
        fail(f"expected a mapping of fields, got {type(raw).__name__}")
    if "id" in raw and raw["id"] != entry_id:
        fail(f"field id {raw['id']!r} differs from the key")
    for name in raw:
        if name != "id" and name not in FIELDS:
            close = difflib.get_close_matches(str(name), FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            fail(f"unknown field {name!r}{hint}")
    for name in REQUIRED:
        if name not in raw:
            fail(f"missing required field {name!r}")

    measure = raw["measure"]
    if measure not in MEASURES:
        fail(f"unknown measure {measure!r}; expected one of {', '.join(MEASURES)}")
    kind = MEASURES[measure][0]

    assumption = raw["assumption"]
    if not isinstance(assumption, bool):
        fail(f"assumption must be true or false, got {assumption!r}")
    reason = raw.get("reason")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        fail("reason must be non-empty text")
    if assumption and not reason:
        fail("assumption is true but there is no reason (give the reasoning)")

    for name in ("source", "studies", "notes", "certainty_note", "unit"):
        if name in raw and raw[name] is not None and not isinstance(raw[name], str):
            fail(f"{name} must be text")
    if not isinstance(raw["source"], str) or not raw["source"].strip():
        fail("source must be non-empty text")

    brief_ref = raw["brief_ref"]
    if brief_ref is not None and (not isinstance(brief_ref, int) or isinstance(brief_ref, bool)
                                  or not 1 <= brief_ref <= BRIEF_REFERENCES):
        fail(f"brief_ref must be null or a reference number 1-{BRIEF_REFERENCES} of the "
             f"evidence brief, got {brief_ref!r}")

    certainty = raw["certainty"]
    if certainty not in CERTAINTY:
        fail(f"unknown certainty {certainty!r}; expected one of {', '.join(CERTAINTY)}")

    population, conditions = _check_population(raw["population"], fail)
    conversion = _check_conversion(raw["conversion"], fail)

    unit = raw.get("unit")
    if measure in UNIT_MEASURES and not unit:
        fail(f"measure {measure} needs a unit")

    followup = raw.get("followup_weeks")
    if followup is not None and (not isinstance(followup, int) or isinstance(followup, bool)
                                 or followup < 1):
        fail(f"followup_weeks must be a whole number of weeks >= 1, got {followup!r}")
    if measure in FOLLOWUP_MEASURES and followup is None:
        fail(f"measure {measure} needs followup_weeks (the conversion works over it)")
    followup_assumed = raw.get("followup_assumed", False)
    if not isinstance(followup_assumed, bool):
        fail("followup_assumed must be true or false")
    if followup_assumed and not reason:
        fail("followup_assumed is true but there is no reason")

    price_year = raw.get("price_year")
    if price_year is not None and (not isinstance(price_year, int) or isinstance(price_year, bool)):
        fail("price_year must be a year")

    control_risk = raw.get("control_risk")
    if control_risk is not None and not (_num(control_risk) and 0 < control_risk < 1):
        fail(f"control_risk must be a proportion strictly between 0 and 1, got "
             f"{control_risk!r}")
    if control_risk is not None and not str(raw.get("control_risk_source") or "").strip():
        fail("control_risk needs control_risk_source (where the figure comes from, or why "
             "it is assumed)")
    if measure in ANCHORED_RR_MEASURES and control_risk is None:
        fail(f"measure {measure} needs control_risk (the source trial's control-arm risk by "
             "the follow-up), which anchors its conversion")

    value, ci, dist, direction, reported = None, None, None, None, None
    if kind == "narrative":
        if raw["value"] is not None:
            fail("a narrative entry has value null")
        for name in ("ci", "distribution"):
            if raw.get(name) is not None:
                fail(f"a narrative entry has no {name}")
        direction = raw.get("direction")
        if direction not in DIRECTIONS:
            fail(f"a narrative entry needs direction, one of {', '.join(DIRECTIONS)}; "
                 f"got {direction!r}")
    else:
        if raw.get("direction") is not None:
            fail("direction is only for narrative entries")
        value = raw["value"]
        if not _num(value):
            fail(f"value must be a finite number, got {value!r}")
        value = float(value)
        if kind == "ratio" and value <= 0:
            fail(f"ratio measure {measure} must have value > 0, got {value:g}")
        if kind == "proportion" and not 0 <= value <= 1:
            fail(f"a proportion must be between 0 and 1, got {value:g}")
        if kind == "nonnegative" and value < 0:
            fail(f"measure {measure} must be >= 0, got {value:g}")
        ci = _check_ci(raw.get("ci"), value, kind, fail)
        if ci is None and raw.get("distribution") is None:
            fail("no uncertainty: give ci [low, high] (95%) and/or distribution")
        reported = raw.get("uncertainty_reported")
        if not isinstance(reported, bool):
            fail("uncertainty_reported must be true (interval from the source) or false "
                 "(assumed, explained in reason)")
        if not reported and not reason:
            fail("uncertainty_reported is false but there is no reason saying how it was set")
        dist = _check_distribution(raw.get("distribution"), value, ci, kind, fail)

    if control_risk is not None and measure in ANCHORED_RR_MEASURES:
        top = max([value] + list(ci or ()))
        if top * control_risk >= 1:
            fail(f"risk ratio {top:g} with control_risk {control_risk:g} would need more "
                 "than 100% of the treated arm to have the outcome")

    return EvidenceEntry(
        id=entry_id, file=file, measure=measure, value=value, ci=ci, distribution=dist,
        population=population, conditions=conditions, source=raw["source"].strip(),
        brief_ref=brief_ref, certainty=certainty, conversion=conversion,
        assumption=assumption, reason=reason.strip() if reason else None,
        followup_weeks=followup, followup_assumed=followup_assumed, unit=unit,
        uncertainty_reported=reported, direction=direction,
        certainty_note=raw.get("certainty_note"), studies=raw.get("studies"),
        notes=raw.get("notes"), price_year=price_year,
        control_risk=None if control_risk is None else float(control_risk), raw=dict(raw))


def _check_population(pop, fail):
    if not isinstance(pop, dict):
        fail("population must be a mapping with text (and conditions where it applies)")
    for name in pop:
        if name not in POPULATION_FIELDS:
            close = difflib.get_close_matches(str(name), POPULATION_FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            fail(f"unknown field population.{name}{hint}")
    if not isinstance(pop.get("text"), str) or not pop["text"].strip():
        fail("population.text must be non-empty text")
    names = {"conditions": (CONDITIONS, "condition"), "severities": (SEVERITIES, "severity"),
             "ethnic_groups": (ETHNICITIES, "ethnic group"),
             "imd_quintiles": ((1, 2, 3, 4, 5), "IMD quintile")}
    for key, (allowed, what) in names.items():
        if key not in pop:
            continue
        values = pop[key]
        if not isinstance(values, list) or not values:
            fail(f"population.{key} must be a non-empty list")
        for v in values:
            if v not in allowed:
                shown = ", ".join(str(a) for a in allowed)
                fail(f"unknown {what} {v!r} in population.{key}; expected one of {shown}")
        if len(set(values)) != len(values):
            fail(f"repeated {what} in population.{key}")
    entry_week = pop.get("weeks_off_at_entry")
    if entry_week is not None and (not isinstance(entry_week, int) or isinstance(entry_week, bool)
                                   or not 0 <= entry_week <= 520):
        fail(f"population.weeks_off_at_entry must be whole weeks (0-520), got {entry_week!r}")
    if "setting" in pop and pop["setting"] not in SETTINGS:
        fail(f"population.setting must be one of {', '.join(SETTINGS)}, got {pop['setting']!r}")
    if "enrolment_source" in pop and (not isinstance(pop["enrolment_source"], str)
                                      or not pop["enrolment_source"].strip()):
        fail("population.enrolment_source must be non-empty text")
    return dict(pop), tuple(pop.get("conditions", ()))


def _check_conversion(conv, fail):
    if not isinstance(conv, dict):
        fail("conversion must be a mapping with method (text) and function (name or null)")
    for name in conv:
        if name not in CONVERSION_FIELDS:
            fail(f"unknown field conversion.{name}; expected method, function")
    if not isinstance(conv.get("method"), str) or not conv["method"].strip():
        fail("conversion.method must be non-empty text")
    if "function" not in conv:
        fail("conversion.function is missing (a function of sim/evidence/conversions.py, or null)")
    func = conv["function"]
    if func is not None and (func not in conversions.__all__
                             or not callable(getattr(conversions, func, None))):
        fail(f"conversion.function {func!r} is not a function of sim/evidence/conversions.py")
    return dict(conv)


def _check_ci(ci, value, kind, fail):
    if ci is None:
        return None
    if not isinstance(ci, list | tuple) or len(ci) != 2 or not all(_num(x) for x in ci):
        fail(f"ci must be [low, high] with two numbers, got {ci!r}")
    low, high = float(ci[0]), float(ci[1])
    if low > high:
        fail(f"ci low {low:g} is above ci high {high:g}")
    if not low <= value <= high:
        fail(f"ci [{low:g}, {high:g}] does not contain the value {value:g}")
    if kind == "ratio" and low <= 0:
        fail(f"ci of a ratio must be > 0, got [{low:g}, {high:g}]")
    if kind == "proportion" and not (0 <= low and high <= 1):
        fail(f"ci of a proportion must lie in [0, 1], got [{low:g}, {high:g}]")
    if kind == "nonnegative" and low < 0:
        fail(f"ci must be >= 0, got [{low:g}, {high:g}]")
    return low, high


def _check_distribution(dist, value, ci, kind, fail):
    """The distribution with its parameters (derived from value and ci where left out)."""
    if dist is None:
        dist = {"type": DEFAULT_DISTRIBUTION[kind]}
    if not isinstance(dist, dict) or "type" not in dist:
        fail("distribution must be a mapping with a type")
    dtype = dist["type"]
    if dtype not in DISTRIBUTIONS:
        fail(f"unknown distribution type {dtype!r}; expected one of {', '.join(DISTRIBUTIONS)}")
    if dtype not in ALLOWED_DISTRIBUTIONS[kind]:
        fail(f"distribution {dtype} does not suit a {kind} measure; use one of "
             f"{', '.join(ALLOWED_DISTRIBUTIONS[kind])}")
    params = DISTRIBUTIONS[dtype]
    extra = [k for k in dist if k != "type" and k not in params]
    if extra:
        fail(f"unknown distribution parameter {extra[0]!r} for {dtype}; expected "
             f"{', '.join(params) or 'none'}")
    given = [k for k in params if k in dist]
    if given and len(given) != len(params):
        fail(f"distribution {dtype} needs all of {', '.join(params)} or none (derived from ci)")
    if given:
        out = {"type": dtype}
        for k in params:
            if not _num(dist[k]):
                fail(f"distribution.{k} must be a finite number")
            out[k] = float(dist[k])
    elif dtype == "fixed":
        return {"type": "fixed"}
    else:
        if ci is None:
            fail(f"distribution {dtype} has no parameters and there is no ci to derive them")
        try:
            out = {"type": dtype, **_params_from_ci(dtype, value, ci)}
        except ValueError as err:
            fail(f"cannot fit a {dtype} to value {value:g} and ci {list(ci)}: {err}")
    positive = {"lognormal": ("sdlog",), "normal": ("sd",), "beta": ("alpha", "beta"),
                "gamma": ("shape", "scale"), "uniform": ()}[dtype]
    for k in positive:
        if out[k] <= 0:
            fail(f"distribution.{k} must be > 0, got {out[k]:g}")
    if dtype == "uniform":
        if out["low"] >= out["high"]:
            fail("distribution uniform needs low < high")
        if kind == "ratio" and out["low"] <= 0:
            fail("a uniform for a ratio needs low > 0")
        if kind == "proportion" and not (0 <= out["low"] and out["high"] <= 1):
            fail("a uniform for a proportion must lie in [0, 1]")
    return out


def _params_from_ci(dtype, value, ci) -> dict:
    low, high = ci
    if dtype == "lognormal":
        mu, sigma = conversions.lognormal_from_ci(value, low, high)
        return {"meanlog": mu, "sdlog": sigma}
    if dtype == "normal":
        mean, sd = conversions.normal_from_ci(value, low, high)
        return {"mean": mean, "sd": sd}
    if dtype == "beta":
        a, b = conversions.beta_from_ci(value, low, high)
        return {"alpha": a, "beta": b}
    if dtype == "gamma":
        shape, scale = conversions.gamma_from_ci(value, low, high)
        return {"shape": shape, "scale": scale}
    return {"low": low, "high": high}  # uniform


# ---------------------------------------------------------------------------------------
# Sampling and tables
# ---------------------------------------------------------------------------------------

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


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1e5:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:,.2f}".rstrip("0").rstrip(".")
    return f"{x:.4g}"


def format_value(entry: EvidenceEntry) -> str:
    if entry.value is None:
        return f"narrative: {entry.direction}"
    text = _fmt(entry.value)
    if entry.ci is not None:
        text += f" ({_fmt(entry.ci[0])} to {_fmt(entry.ci[1])})"
    elif entry.distribution and entry.distribution["type"] == "fixed":
        text += " (fixed)"
    if entry.unit:
        text += f" {entry.unit}"
    return text


def evidence_table(registry: dict[str, EvidenceEntry], ids=None):
    """One row per entry: id, measure, value (95% CI), population, source/brief ref,
    certainty, assumption, how the model converts it (plus the file it came from).
    ``ids``: only these entries, in this order (e.g.
    ``sim.programme.effects.evidence_ids(cfg)``)."""
    import pandas as pd

    rows = []
    entries = registry.values() if ids is None else [registry[i] for i in ids]
    for e in entries:
        pop = e.population["text"]
        if e.conditions:
            pop += f" [{', '.join(e.conditions)}]"
        src = e.source + (f" [{e.brief_ref}]" if e.brief_ref is not None else "")
        certainty = e.certainty.replace("_", " ")
        conv = e.conversion["method"].strip()
        if e.conversion.get("function"):
            conv = f"{e.conversion['function']}: {conv}"
        rows.append({
            "id": e.id, "measure": e.measure, "value (95% CI)": format_value(e),
            "population": pop, "source/brief ref": src, "certainty": certainty,
            "assumption": "yes" if e.assumption else "no", "conversion": conv,
            "file": Path(e.file).stem,
        })
    return pd.DataFrame(rows, columns=["id", "measure", "value (95% CI)", "population",
                                       "source/brief ref", "certainty", "assumption",
                                       "conversion", "file"])


def to_markdown(df, floatfmt: str | None = None) -> str:
    """A GitHub-flavoured markdown table (no optional dependency needed); ``floatfmt``
    (e.g. ``".4g"``) formats float cells."""
    def cell(x):
        if floatfmt and isinstance(x, float):
            return format(x, floatfmt)
        return _one_line(x).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in df.columns) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in df.itertuples(index=False)]
    return "\n".join(lines)


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
           "evidence_table", "sample_entry", "MEASURES", "DIRECT_MEASURES",
           "RATIO_MEASURES", "FOLLOWUP_MEASURES"]

if __name__ == "__main__":
    raise SystemExit(main())
