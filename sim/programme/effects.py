"""From evidence to model effects: each component's enrolled-period hazard ratio.

A component's effect (``effects.rtw_hr`` ...) is either a number (a hazard ratio, with its
source in the component's ``sources``) or the id of an evidence registry entry
(``configs/evidence/``). Registry entries are converted according to their measure, on the
source trial's own terms and never re-solved on this model's baseline (issue 15;
:func:`anchored_hr`, docs/EVIDENCE.md s2.5):

* ``hr_time_to_rtw`` with a ``followup_weeks``: a trial-level HR; without a follow-up
  (e.g. the multi-domain term) it is used as it is, as are ``hr_job_loss``,
  ``hr_relapse`` and ``rr_phased_return``;
* ``rr_rtw_at_followup`` / ``rr_at_work`` / ``rr_employment``: the trial-level HR the risk
  ratio implies at the source trial's control-arm risk (``control_risk``) by its
  follow-up;
* the enrolled-period HR is that trial HR ** (1 / W), W the event-weighted share of the
  follow-up in which the component's effect reaches a participant: from
  ``effect_lag_weeks`` while enrolled (less drop-out, :func:`exposure_of`), then fading as
  its ``persistence`` says (:mod:`sim.programme.persistence`), times the mean effect-modification
  exponent over the source's population (:func:`mean_exponent`; a person with exponent m
  gets HR ** m);
* ``md_days_absent``: the hazard ratio that shortens the mean working days absent over the
  follow-up by the mean difference on the model's own baseline (the one conversion left on
  it: no source gives its control arm's days; it ignores persistence, and only
  cross-checks use it).

The conversion functions are in :mod:`sim.evidence.conversions`. ``evidence_values`` in the config
(id -> value) replaces registry values, which is how probabilistic sensitivity analysis
draws them.
"""

from __future__ import annotations

import numpy as np

from sim.engine.categories import ABSENT, CONDITIONS, SEVERITIES
from sim.errors import ConfigError, EffectError
from sim.evidence import conversions
from sim.evidence.registry import ANCHORED_RR_MEASURES, MEASURES, EvidenceError, load_registry
from sim.programme.eligibility import static_mask
from sim.programme.persistence import Persistence, expected_profile
from sim.vocabulary import DIRECT_EFFECTS, EFFECT_MEASURES, MULTIDOMAIN_DOMAINS, NEEDS_STATE

MAX_STRATA = 4000  # people sampled to describe the eligible population's baseline
# Registry measures a component's persistence may name.
PERSISTENCE_MEASURES = {"half_life_weeks": ("duration_weeks",), "lasting": ("proportion",)}


def _registry():

    return load_registry()


def entry_value(entry, overrides: dict | None):
    if overrides and entry.id in overrides:
        return float(overrides[entry.id])
    return float(entry.value)


def eligible_sample(spec: dict, model) -> np.ndarray:
    """Up to MAX_STRATA people meeting the component's static eligibility (deterministic)."""

    idx = np.flatnonzero(static_mask(spec["eligibility"], model.people))
    if idx.size > MAX_STRATA:
        idx = idx[np.linspace(0, idx.size - 1, MAX_STRATA).astype(np.int64)]
    return idx


def absent_baseline(model, idx: np.ndarray, start_week: int, weeks: int):
    """Weekly RTW and competing (job loss + inactivity) hazards of people ``idx`` over spell
    weeks ``start_week .. start_week + weeks - 1``, and the weight of each person: the
    chance of still being absent at ``start_week`` (who reaches the referral)."""
    pw = model.pathways
    d = np.minimum(np.arange(start_week + weeks), pw.n_weeks - 1)
    cs = model.condition_severity[idx]
    h_rtw = pw.rtw_table[cs][:, d] * pw.rtw_mult[idx, None]
    h_other = (pw.job_loss_table[d][None, :] * pw.job_loss_mult[idx, None]
               + pw.inactivity_table[cs][:, d] * pw.inactivity_mult[idx, None])
    before = (h_rtw[:, :start_week] + h_other[:, :start_week]).sum(axis=1)
    weights = np.exp(-before)
    return h_rtw[:, start_week:], h_other[:, start_week:], weights


def unemployed_baseline(model, idx: np.ndarray, start_week: int, weeks: int):
    """Weekly re-employment and inactivity hazards of people ``idx`` from week
    ``start_week`` of unemployment (re-employment falls with time out of work, as in
    ``Pathways.unemployed_decision``), weighted by the chance of still being out of work
    ``start_week`` weeks after job loss."""
    pw = model.pathways
    d = np.minimum(np.arange(start_week, start_week + weeks), pw.n_weeks - 1)
    h_re = pw.reemploy_hazard[idx, None] * pw.out_decline[None, d]
    h_other = np.repeat((pw.unemployed_inactive_hazard[idx] + pw.retire_hazard[idx])[:, None],
                        weeks, axis=1)
    before = np.minimum(np.arange(start_week), pw.n_weeks - 1)
    cum_re = pw.reemploy_hazard[idx] * pw.out_decline[before].sum()
    weights = np.exp(-(cum_re + start_week * h_other[:, 0]))
    return h_re, h_other, weights


def modification_exponents(spec: dict, model, idx: np.ndarray) -> np.ndarray | None:
    """Per person ``idx``: the component's effect-modification exponent on log HR
    (condition x severity, as sim.programme.interventions applies it), or None if all are 1."""

    mod = spec["effect_modification"]
    cond = np.array([float(mod["condition"][c]) for c in CONDITIONS])
    sev = np.array([float(mod["severity"][s]) for s in SEVERITIES])
    exponent = cond[model.people.condition[idx]] * sev[model.people.severity[idx]]
    return None if np.all(exponent == 1.0) else exponent


def exposure_of(spec: dict) -> tuple[int, int, float]:
    """(lag weeks, duration weeks, weekly drop-out probability) of a component: how long its
    effect acts on a participant who starts at the referral week (see sim.evidence.conversions)."""
    dropout = float(-np.expm1(-spec["access"]["dropout_weekly_hazard"]))
    return int(spec["effect_lag_weeks"]), int(spec["duration_weeks"]), dropout


def convert(entry, value: float, effect_key: str, spec: dict, model) -> float:
    """Hazard ratio for ``effect_key`` of a component from registry ``entry``."""
    measure = entry.measure
    where = f"evidence entry {entry.id!r} (measure {measure})"
    trial_hr = (measure == "hr_time_to_rtw" and effect_key in ("rtw_hr", "reemploy_hr")
                and entry.followup_weeks is not None)
    if trial_hr or (measure in ANCHORED_RR_MEASURES
                    and measure in EFFECT_MEASURES.get(effect_key, ())):
        try:
            return anchored_hr(entry, value, spec, model.cfg.get("evidence_values"),
                               mean_exponent(spec, model, entry))
        except ValueError as err:
            raise EffectError(f"{where}: {str(err).splitlines()[0]}", entry.id) from err
    if measure in DIRECT_EFFECTS:
        if effect_key not in DIRECT_EFFECTS[measure]:
            raise EffectError(f"{where} cannot set {effect_key} (it sets "
                              f"{', '.join(DIRECT_EFFECTS[measure])})")
        return value
    idx = eligible_sample(spec, model)
    if idx.size == 0:
        raise EffectError(f"{where}: no one in this population is eligible for the component, "
                          "so its baseline cannot be built")
    refer = int(spec["eligibility"]["refer_at_week"])
    follow = int(entry.followup_weeks or 52)
    acts = {"exposure": exposure_of(spec),
            "exponent": modification_exponents(spec, model, idx)}
    try:
        if measure == "md_days_absent" and effect_key == "rtw_hr":
            h, other, w = absent_baseline(model, idx, refer, follow)
            # not at the top: a cycle (outcomes -> interventions -> this module)
            from sim.results.outcomes import days_per_week

            days = days_per_week(model.cfg)
            return float(conversions.hr_from_mean_difference_days(
                value, h, other, weights=w, days_per_week=days, horizon_weeks=follow, **acts))
    except ValueError as err:
        raise EffectError(f"{where}: {str(err).splitlines()[0]}", entry.id) from err
    raise EffectError(f"{where} cannot set {effect_key}")


def mean_exponent(spec: dict, model, entry) -> float:
    """Mean effect-modification exponent of the component over the people it serves who
    are in the source's population (its conditions): the source's pooled log HR is this
    times the base log HR. 1 without effect modification."""
    idx = eligible_sample(spec, model)
    if entry.conditions:

        cond = np.asarray(CONDITIONS)[model.people.condition[idx]]
        idx = idx[np.isin(cond, entry.conditions)]
    exponent = modification_exponents(spec, model, idx) if idx.size else None
    return 1.0 if exponent is None else float(np.mean(exponent))


def anchored_hr(entry, value: float, spec: dict, overrides: dict | None = None,
                exponent: float = 1.0) -> float:
    """Enrolled-period HR of a component from a registry entry, anchored on the source trial
    (never on this model's baseline; see sim.evidence.conversions): the trial-level HR (the value of
    an ``hr_time_to_rtw``; for a risk ratio, the HR it implies at the source's control-arm
    risk ``control_risk`` by its follow-up) spread over the weeks of the source's follow-up
    in which the component acts on a participant, fully while enrolled and then as its
    ``persistence`` says, weighted by where the control arm's events fall."""
    follow = int(entry.followup_weeks)
    if entry.measure in ANCHORED_RR_MEASURES:
        trial = conversions.trial_hr_from_rr(value, entry.control_risk)
    else:
        trial = value
    lag, duration, dropout = exposure_of(spec)
    profile = expected_profile(follow, lag, duration, dropout,
                               resolve_persistence(spec.get("persistence"), overrides))
    weights = conversions.event_weights(follow, entry.control_risk)
    if not exponent > 0:
        raise ValueError("effect modification removes the effect in the whole source "
                         "population, so no base HR gives the source's")
    return conversions.enrolled_hr_from_trial_hr(trial, profile * exponent, weights)


def resolve_design(cfg: dict, model) -> dict:
    """{component key: {effect key: hazard ratio or None}} for the config's programme."""
    design = cfg["programme"]
    overrides = cfg.get("evidence_values")
    components = design.get("components") or {}
    registry = None
    out = {}
    for key, spec in components.items():
        resolved = {}
        for effect_key, ref in (spec["effects"] or {}).items():
            if ref is None:
                resolved[effect_key] = None
            elif isinstance(ref, str):
                registry = registry if registry is not None else _registry()
                if ref not in registry:
                    raise EffectError(f"programme.components.{key}.effects.{effect_key}: "
                                      f"unknown evidence id {ref!r}")
                entry = registry[ref]
                resolved[effect_key] = convert(entry, entry_value(entry, overrides),
                                               effect_key, spec, model)
            else:
                resolved[effect_key] = float(ref)
        out[key] = resolved
    return out


def read_evidence_ids(cfg: dict) -> list[str]:
    """Registry ids whose values the chosen design reads, in order of first use.

    Effects and costs of each component, the cost of a cultural-adaptation modifier (the
    only modifier kind with a cost), and the multi-domain term when the design has
    components in at least two of the health, coordination and workplace domains (with
    fewer, nobody can be in two domains at once and the term never acts). An
    ``evidence_values`` entry for any other id cannot change a result.
    """
    design = cfg.get("programme") or {}
    components = design.get("components") or {}
    found = []
    for spec in components.values():
        found += [v for v in (spec.get("effects") or {}).values() if isinstance(v, str)]
        found += [v for v in (spec.get("cost") or {}).values() if isinstance(v, str)]
        found += [v for v in (spec.get("persistence") or {}).values() if isinstance(v, str)]
    for mod in (design.get("modifiers") or {}).values():
        found += [v for k, v in (mod or {}).items()
                  if k in ("cost_per_participant_gbp", "effect_exponent") and isinstance(v, str)]
        if (mod or {}).get("kind") == "outreach":
            found += [mod[k] for k in ("referral_rr", "uptake_rr") if isinstance(mod.get(k), str)]
    ref = (design.get("combine") or {}).get("multidomain_hr")
    domains = {(spec or {}).get("domain") for spec in components.values()}
    if isinstance(ref, str) and len(domains & set(MULTIDOMAIN_DOMAINS)) >= 2:
        found.append(ref)
    return list(dict.fromkeys(found))


def evidence_ids(cfg: dict) -> list[str]:
    """Registry ids a config uses (what the design reads, :func:`read_evidence_ids`, and
    evidence_values overrides), in order of first use: for a report's evidence table,
    ``sim.evidence.registry.evidence_table(load_registry(), ids=evidence_ids(cfg))``."""
    found = read_evidence_ids(cfg) + list(cfg.get("evidence_values") or {})
    return list(dict.fromkeys(found))


def check_evidence_refs(cfg: dict) -> None:
    """Every evidence id a config names exists and suits its use; ConfigError (one line).

    Checked before any work starts (``sim.config.validate`` calls it): the registry itself
    loads (an entry whose CI does not contain its value fails here, whatever the design),
    each effect names an
    entry whose measure can set it, on a component acting on the state the conversion
    needs; each cost names a cost; the multi-domain term names a hazard ratio; and any
    ``evidence_values`` override lies in its measure's range and names an entry the
    design reads (:func:`read_evidence_ids`; otherwise the run would be unchanged).
    """

    design = cfg.get("programme") or {}
    refs = []  # (path, id, allowed measures, component spec or None)
    for key, spec in (design.get("components") or {}).items():
        base = f"programme.components.{key}"
        for effect_key, ref in (spec.get("effects") or {}).items():
            if isinstance(ref, str):
                refs.append((f"{base}.effects.{effect_key}", ref,
                             EFFECT_MEASURES.get(effect_key, ()), (spec, effect_key)))
        for cost_key, ref in (spec.get("cost") or {}).items():
            if isinstance(ref, str):
                refs.append((f"{base}.cost.{cost_key}", ref, ("cost_gbp",), None))
        for key_p, ref in (spec.get("persistence") or {}).items():
            if isinstance(ref, str):
                refs.append((f"{base}.persistence.{key_p}", ref, PERSISTENCE_MEASURES[key_p],
                             None))
    for key, mod in (design.get("modifiers") or {}).items():
        ref = (mod or {}).get("cost_per_participant_gbp")
        if isinstance(ref, str):
            refs.append((f"programme.modifiers.{key}.cost_per_participant_gbp", ref,
                         ("cost_gbp",), None))
        ref = (mod or {}).get("effect_exponent")
        if isinstance(ref, str):
            refs.append((f"programme.modifiers.{key}.effect_exponent", ref,
                         ("effect_exponent",), None))
        for rr_key in ("referral_rr", "uptake_rr"):  # outreach
            ref = (mod or {}).get(rr_key) if (mod or {}).get("kind") == "outreach" else None
            if isinstance(ref, str):
                refs.append((f"programme.modifiers.{key}.{rr_key}", ref, ("rr_uptake",), None))
    ref = (design.get("combine") or {}).get("multidomain_hr")
    if isinstance(ref, str):
        refs.append(("programme.combine.multidomain_hr", ref, ("hr_time_to_rtw",), None))
    # economics: rates, benefits and unit costs are costs; tax rates proportions; utilities
    refs += _economics_refs(cfg.get("economics") or {})
    overrides = cfg.get("evidence_values") or {}
    try:  # a broken registry stops every run, even one that names no entry
        registry = load_registry()
    except EvidenceError as err:
        raise ConfigError(f"evidence registry: {err}") from None
    for path, ref, allowed, spec in refs:
        if ref not in registry:
            close = [i for i in registry if i.startswith(ref.split("_")[0])][:3]
            hint = f" (similar: {', '.join(close)})" if close else ""
            raise ConfigError(f"{path}: unknown evidence id {ref!r}, expected an id of "
                              f"configs/evidence/*.yaml{hint}")
        entry = registry[ref]
        if entry.measure not in allowed:
            shown = ", ".join(allowed) if allowed else "none (give a number)"
            raise ConfigError(f"{path}: evidence {ref!r} has measure {entry.measure}, "
                              f"expected one of {shown}")
        spec, effect_key = spec if spec is not None else (None, None)
        need = NEEDS_STATE.get(effect_key)
        if spec is not None and need and spec["eligibility"]["state"] != need:
            raise ConfigError(f"{path}: evidence {ref!r} ({entry.measure}) is converted on "
                              f"people who are {need}, but the component acts on "
                              f"{spec['eligibility']['state']} people")
    for ref, value in overrides.items():
        entry = registry.get(ref)
        if entry is None:
            raise ConfigError(f"evidence_values.{ref}: unknown evidence id {ref!r}")
        kind = MEASURES[entry.measure][0]
        bad = {"ratio": value <= 0, "proportion": not 0 <= value <= 1,
               "nonnegative": value < 0, "narrative": True}.get(kind, False)
        if bad:
            raise ConfigError(f"evidence_values.{ref}: got {value!r}, outside the range of "
                              f"a {kind} measure ({entry.measure})")
    read = read_evidence_ids(cfg)
    for ref in overrides:  # an override nothing reads would leave the run byte-identical
        if ref not in read:
            name = design.get("name", "?")
            reads = ", ".join(read) if read else "no registry entry"
            raise ConfigError(f"evidence_values.{ref}: programme {name!r} never reads this "
                              f"entry, so overriding it would change nothing; it reads "
                              f"{reads}")


def _economics_refs(econ: dict) -> list:
    """(path, id, allowed measures, None) for every registry id in the economics block."""
    def allowed(key, parent):
        if parent == "utility_decrement":
            return ("utility_decrement",)
        if key == "utility_in_work":
            return ("utility",)
        if parent == "tax" and key.endswith("_rate"):
            return ("proportion",)
        return ("cost_gbp",)

    refs = []
    for key, value in econ.items():
        if key in ("sources", "name"):
            continue
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, ref in items:
            if isinstance(ref, str):
                path = f"economics.{key}" + (f".{sub}" if sub else "")
                refs.append((path, ref, allowed(sub or key, key if sub else None), None))
    return refs


def resolve_persistence(spec: dict | None, overrides=None) -> Persistence:
    """A component's persistence block (numbers or registry ids) as a Persistence."""
    if not spec:
        return Persistence()
    return Persistence(resolve_cost(spec["half_life_weeks"], overrides),
                       resolve_cost(spec["lasting"], overrides))


def resolve_cost(ref, overrides=None, registry=None) -> float:
    """A cost given as a number or as a registry id (``registry``: the loaded registry, for
    a caller resolving many; default: :func:`sim.evidence.registry.load_registry`)."""
    if isinstance(ref, str):
        registry = _registry() if registry is None else registry
        if ref not in registry:
            raise EffectError(f"unknown evidence id {ref!r} for a cost")
        return entry_value(registry[ref], overrides)
    return float(ref)


__all__ = ["resolve_design", "resolve_cost", "check_evidence_refs", "evidence_ids",
           "read_evidence_ids",
           "EffectError",
           "ABSENT"]
