"""Checking one evidence registry entry: :func:`validate_entry`.

An entry is checked in the order a reader meets its parts: its fields, its measure, where
it comes from (source, brief reference, certainty, assumption and reason), whom it is about
(population), how the model uses it (conversion, unit, follow-up, price year, the control
risk that anchors a risk ratio), and last its number and uncertainty (value, 95% interval,
distribution with the parameters derived from the interval where not given). The first
problem found raises :class:`EvidenceError` in one line naming the file and the entry.
"""

from __future__ import annotations

import difflib
import math

from sim.engine.categories import CONDITIONS, ETHNICITIES, SEVERITIES
from sim.errors import EvidenceError
from sim.evidence import conversions
from sim.evidence.measures import (
    ALLOWED_DISTRIBUTIONS,
    ANCHORED_RR_MEASURES,
    BRIEF_REFERENCES,
    CERTAINTY,
    CONVERSION_FIELDS,
    DEFAULT_DISTRIBUTION,
    DIRECTIONS,
    DISTRIBUTIONS,
    FIELDS,
    FOLLOWUP_MEASURES,
    ID_RE,
    MEASURES,
    POPULATION_FIELDS,
    REQUIRED,
    SETTINGS,
    UNIT_MEASURES,
    EvidenceEntry,
    fits_kind,
    flat,
)

# what a value, an interval and a uniform's bounds must be, by kind (checked by fits_kind)
_VALUE_RULE = {"ratio": "ratio measure {measure} must have value > 0",
               "proportion": "a proportion must be between 0 and 1",
               "nonnegative": "measure {measure} must be >= 0"}
_CI_RULE = {"ratio": "ci of a ratio must be > 0", "proportion":
            "ci of a proportion must lie in [0, 1]", "nonnegative": "ci must be >= 0"}
_UNIFORM_RULE = {"ratio": "a uniform for a ratio needs low > 0",
                 "proportion": "a uniform for a proportion must lie in [0, 1]",
                 "nonnegative": "a uniform for a non-negative measure needs low >= 0"}
# population keys naming model categories: (the values allowed, what one value is called)
_POPULATION_VALUES = {"conditions": (CONDITIONS, "condition"),
                      "severities": (SEVERITIES, "severity"),
                      "ethnic_groups": (ETHNICITIES, "ethnic group"),
                      "imd_quintiles": ((1, 2, 3, 4, 5), "IMD quintile")}
# value and 95% interval -> the distribution's parameters (in the order of DISTRIBUTIONS)
_FROM_CI = {"lognormal": conversions.lognormal_from_ci, "normal": conversions.normal_from_ci,
            "beta": conversions.beta_from_ci, "gamma": conversions.gamma_from_ci}
# distribution parameters that must be > 0
_POSITIVE = {"lognormal": ("sdlog",), "normal": ("sd",), "beta": ("alpha", "beta"),
             "gamma": ("shape", "scale"), "uniform": ()}


def _num(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _whole(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _text(x) -> bool:
    return isinstance(x, str) and bool(x.strip())


def _unknown(name, known, what: str) -> str:
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown field {what}{name}{hint}" if what else f"unknown field {name!r}{hint}"


def validate_entry(entry_id, raw, file: str = "<registry>") -> EvidenceEntry:
    """One entry from its YAML mapping; EvidenceError (one line) if anything is wrong."""

    def fail(problem):
        raise EvidenceError(f"{file}: entry {entry_id!r}: {flat(problem)}")

    _check_fields(entry_id, raw, fail)
    measure = raw["measure"]
    if measure not in MEASURES:
        fail(f"unknown measure {measure!r}; expected one of {', '.join(MEASURES)}")
    reason = _check_provenance(raw, fail)
    population, conditions = _check_population(raw["population"], fail)
    conversion = _check_conversion(raw["conversion"], fail)
    followup, followup_assumed = _check_use(raw, measure, reason, fail)
    control_risk = _check_control_risk(raw, measure, fail)
    if MEASURES[measure][0] == "narrative":
        number = _check_narrative(raw, fail)
    else:
        number = _check_number(raw, measure, reason, fail)
    value, ci = number["value"], number["ci"]
    if control_risk is not None and measure in ANCHORED_RR_MEASURES:
        top = max([value] + list(ci or ()))
        if top * control_risk >= 1:
            fail(f"risk ratio {top:g} with control_risk {control_risk:g} would need more "
                 "than 100% of the treated arm to have the outcome")
    return EvidenceEntry(
        id=entry_id, file=file, measure=measure, population=population,
        conditions=conditions, source=raw["source"].strip(), brief_ref=raw["brief_ref"],
        certainty=raw["certainty"], conversion=conversion, assumption=raw["assumption"],
        reason=reason.strip() if reason else None, followup_weeks=followup,
        followup_assumed=followup_assumed, unit=raw.get("unit"),
        certainty_note=raw.get("certainty_note"), studies=raw.get("studies"),
        notes=raw.get("notes"), price_year=raw.get("price_year"),
        control_risk=None if control_risk is None else float(control_risk), raw=dict(raw),
        **number)


def _check_fields(entry_id, raw, fail) -> None:
    """The id, and the entry is a mapping of known fields with every required one."""
    if not isinstance(entry_id, str) or not ID_RE.match(entry_id):
        fail("id must be snake_case (lower-case letters, digits, underscores)")
    if not isinstance(raw, dict):
        fail(f"expected a mapping of fields, got {type(raw).__name__}")
    if "id" in raw and raw["id"] != entry_id:
        fail(f"field id {raw['id']!r} differs from the key")
    for name in raw:
        if name != "id" and name not in FIELDS:
            fail(_unknown(name, FIELDS, ""))
    for name in REQUIRED:
        if name not in raw:
            fail(f"missing required field {name!r}")


def _check_provenance(raw, fail) -> str | None:
    """Assumption and its reason, the text fields, source, brief reference, certainty.
    Returns the reason."""
    assumption = raw["assumption"]
    if not isinstance(assumption, bool):
        fail(f"assumption must be true or false, got {assumption!r}")
    reason = raw.get("reason")
    if reason is not None and not _text(reason):
        fail("reason must be non-empty text")
    if assumption and not reason:
        fail("assumption is true but there is no reason (give the reasoning)")
    for name in ("source", "studies", "notes", "certainty_note", "unit"):
        if name in raw and raw[name] is not None and not isinstance(raw[name], str):
            fail(f"{name} must be text")
    if not _text(raw["source"]):
        fail("source must be non-empty text")
    brief_ref = raw["brief_ref"]
    if brief_ref is not None and (not _whole(brief_ref)
                                  or not 1 <= brief_ref <= BRIEF_REFERENCES):
        fail(f"brief_ref must be null or a reference number 1-{BRIEF_REFERENCES} of the "
             f"evidence brief, got {brief_ref!r}")
    if raw["certainty"] not in CERTAINTY:
        fail(f"unknown certainty {raw['certainty']!r}; expected one of {', '.join(CERTAINTY)}")
    return reason


def _check_population(pop, fail):
    """Whom the source studied: text, the model categories it applies to, enrolment."""
    if not isinstance(pop, dict):
        fail("population must be a mapping with text (and conditions where it applies)")
    for name in pop:
        if name not in POPULATION_FIELDS:
            fail(_unknown(name, POPULATION_FIELDS, "population."))
    if not _text(pop.get("text")):
        fail("population.text must be non-empty text")
    for key, (allowed, what) in _POPULATION_VALUES.items():
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
    if entry_week is not None and (not _whole(entry_week) or not 0 <= entry_week <= 520):
        fail(f"population.weeks_off_at_entry must be whole weeks (0-520), got {entry_week!r}")
    if "setting" in pop and pop["setting"] not in SETTINGS:
        fail(f"population.setting must be one of {', '.join(SETTINGS)}, got {pop['setting']!r}")
    if "enrolment_source" in pop and not _text(pop["enrolment_source"]):
        fail("population.enrolment_source must be non-empty text")
    return dict(pop), tuple(pop.get("conditions", ()))


def _check_conversion(conv, fail):
    """How the model turns the number into an effect: method text and a function name."""
    if not isinstance(conv, dict):
        fail("conversion must be a mapping with method (text) and function (name or null)")
    for name in conv:
        if name not in CONVERSION_FIELDS:
            fail(f"unknown field conversion.{name}; expected method, function")
    if not _text(conv.get("method")):
        fail("conversion.method must be non-empty text")
    if "function" not in conv:
        fail("conversion.function is missing (a function of sim/evidence/conversions.py, or null)")
    func = conv["function"]
    if func is not None and (func not in conversions.__all__
                             or not callable(getattr(conversions, func, None))):
        fail(f"conversion.function {func!r} is not a function of sim/evidence/conversions.py")
    return dict(conv)


def _check_use(raw, measure, reason, fail) -> tuple[int | None, bool]:
    """Unit, follow-up (needed by the conversions) and price year. Returns the follow-up
    weeks and whether they are assumed."""
    if measure in UNIT_MEASURES and not raw.get("unit"):
        fail(f"measure {measure} needs a unit")
    followup = raw.get("followup_weeks")
    if followup is not None and (not _whole(followup) or followup < 1):
        fail(f"followup_weeks must be a whole number of weeks >= 1, got {followup!r}")
    if measure in FOLLOWUP_MEASURES and followup is None:
        fail(f"measure {measure} needs followup_weeks (the conversion works over it)")
    followup_assumed = raw.get("followup_assumed", False)
    if not isinstance(followup_assumed, bool):
        fail("followup_assumed must be true or false")
    if followup_assumed and not reason:
        fail("followup_assumed is true but there is no reason")
    price_year = raw.get("price_year")
    if price_year is not None and not _whole(price_year):
        fail("price_year must be a year")
    return followup, followup_assumed


def _check_control_risk(raw, measure, fail):
    """The source trial's control-arm risk, which anchors a risk ratio's conversion."""
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
    return control_risk


def _check_narrative(raw, fail) -> dict:
    """A finding without a number: value null, no interval, a direction."""
    if raw["value"] is not None:
        fail("a narrative entry has value null")
    for name in ("ci", "distribution"):
        if raw.get(name) is not None:
            fail(f"a narrative entry has no {name}")
    direction = raw.get("direction")
    if direction not in DIRECTIONS:
        fail(f"a narrative entry needs direction, one of {', '.join(DIRECTIONS)}; "
             f"got {direction!r}")
    return {"value": None, "ci": None, "distribution": None, "direction": direction,
            "uncertainty_reported": None}


def _check_number(raw, measure, reason, fail) -> dict:
    """A number: value in its kind's range, its uncertainty (ci and/or distribution) and
    whether the source reported it."""
    kind = MEASURES[measure][0]
    if raw.get("direction") is not None:
        fail("direction is only for narrative entries")
    value = raw["value"]
    if not _num(value):
        fail(f"value must be a finite number, got {value!r}")
    value = float(value)
    if not fits_kind(kind, value):
        fail(f"{_VALUE_RULE[kind].format(measure=measure)}, got {value:g}")
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
    return {"value": value, "ci": ci, "distribution": dist, "direction": None,
            "uncertainty_reported": reported}


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
    if not fits_kind(kind, low, high):
        fail(f"{_CI_RULE[kind]}, got [{low:g}, {high:g}]")
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
    if dtype == "fixed" and not any(k != "type" for k in dist):
        return {"type": "fixed"}
    out = {"type": dtype, **_distribution_params(dist, value, ci, fail)}
    for k in _POSITIVE.get(dtype, ()):
        if out[k] <= 0:
            fail(f"distribution.{k} must be > 0, got {out[k]:g}")
    if dtype == "uniform":
        if out["low"] >= out["high"]:
            fail("distribution uniform needs low < high")
        if not fits_kind(kind, out["low"], out["high"]):
            fail(_UNIFORM_RULE[kind])
    return out


def _distribution_params(dist, value, ci, fail) -> dict:
    """All of the distribution's parameters as given, or none and derived from the ci."""
    dtype, params = dist["type"], DISTRIBUTIONS[dist["type"]]
    extra = [k for k in dist if k != "type" and k not in params]
    if extra:
        fail(f"unknown distribution parameter {extra[0]!r} for {dtype}; expected "
             f"{', '.join(params) or 'none'}")
    given = [k for k in params if k in dist]
    if given and len(given) != len(params):
        fail(f"distribution {dtype} needs all of {', '.join(params)} or none (derived from ci)")
    if given:
        for k in params:
            if not _num(dist[k]):
                fail(f"distribution.{k} must be a finite number")
        return {k: float(dist[k]) for k in params}
    if ci is None:
        fail(f"distribution {dtype} has no parameters and there is no ci to derive them")
    try:
        return params_from_ci(dtype, value, ci)
    except ValueError as err:
        fail(f"cannot fit a {dtype} to value {value:g} and ci {list(ci)}: {err}")


def params_from_ci(dtype: str, value: float, ci) -> dict:
    """The parameters of a ``dtype`` distribution with median (or mean) ``value`` and 95%
    interval ``ci`` (:mod:`sim.evidence.distributions`), named as in ``DISTRIBUTIONS``."""
    low, high = ci
    if dtype == "uniform":
        return {"low": low, "high": high}
    return dict(zip(DISTRIBUTIONS[dtype], _FROM_CI[dtype](value, low, high), strict=True))
