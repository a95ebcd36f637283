"""Uncertain factors for sensitivity analysis, scenario discovery and calibration.

A *factor* is one number that an analysis varies, and what it does to a model config:

``evidence``  sets ``evidence_values[id]`` (an effect size, cost or the multi-domain term from
              the registry); its range defaults to the registry's 95% interval and its
              nominal value to the registry value.
``value``     sets every number at ``paths`` to the factor's value (e.g. the referral share).
``scale``     multiplies every number at ``paths`` (a weekly hazard, a scale in weeks).
``exponent``  raises every number at ``paths`` to the factor's power: for gradients of
              ratios, ``0`` removes the gradient, ``1`` keeps it as configured, ``2`` doubles
              it on the log scale (``imd_hr: [0.8, ..., 1.0]`` becomes ``[0.64, ..., 1.0]``).

Paths are dotted keys into the composed config; ``*`` matches every key of a mapping, so
``programme.components.*.access.uptake`` reaches every component of a design. A leaf may be
a number, a list of numbers or a mapping of numbers (every element is changed). A path that
matches nothing in any of the configs an analysis runs is an error.

Spec (YAML, under ``factors:`` in the ``configs/analysis/*.yaml`` files)::

    access_imd_gradient:
      kind: exponent
      paths: [programme.components.*.access.referral_imd_rr]
      low: 0.0
      high: 3.0
      note: "assumption: from no deprivation gradient in access to three times the default"

:func:`parse_factors` checks a spec (one-line ``ValueError`` naming the factor and key);
:func:`check_factors` applies every factor's low and high to every config and validates the
result before any simulation; :func:`apply` gives the config for one sample;
:func:`evaluate` runs designs over a sample matrix (joblib workers; results do not depend
on the worker count because every run's seed is the config's).
"""

from __future__ import annotations

import copy
import fnmatch
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.compare.report import Cell, replicate_measures
from sim.config import ConfigError, validate
from sim.engine.model import RTWModel
from sim.evidence.registry import load_registry
from sim.programme.effects import EffectError, evidence_ids
from sim.results.manifest import config_hash
from sim.simulate import simulate

KINDS = ("evidence", "value", "scale", "exponent")
SPEC_KEYS = {"kind", "paths", "id", "low", "high", "nominal", "note"}
# measures reported per design (and as the change vs usual care); see run_measures
MEASURES = ("rtw_52w", "days_absent", "sii", "imd_gap_abs", "ethnic_gap", "job_loss",
            "weeks_in_work", "cost_programme", "qaly", "cost_nhs_pss")
REFERENCE = "usual_care"


@dataclass(frozen=True)
class Factor:
    name: str
    kind: str
    low: float
    high: float
    nominal: float
    paths: tuple[str, ...] = ()
    id: str | None = None  # registry id for evidence factors
    note: str = ""

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high


def parse_factors(spec: Mapping, registry: Mapping | None = None) -> list[Factor]:
    """Factors from a ``{name: {kind, paths | id, low, high, nominal?, note?}}`` mapping."""
    if not spec:
        raise ValueError("factors: none given, expected at least one")
    out = []
    for name, s in spec.items():
        where = f"factors.{name}"
        if not isinstance(s, Mapping):
            raise ValueError(f"{where}: got {s!r}, expected a mapping with kind, low, high")
        unknown = sorted(set(s) - SPEC_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r}, expected one of "
                             f"{sorted(SPEC_KEYS)}")
        kind = s.get("kind")
        if kind not in KINDS:
            raise ValueError(f"{where}.kind: got {kind!r}, expected one of {list(KINDS)}")
        paths, eid = tuple(s.get("paths") or ()), s.get("id")
        low, high, nominal = s.get("low"), s.get("high"), s.get("nominal")
        if kind == "evidence":
            if registry is None:
                registry = load_registry()
            if eid not in registry:
                raise ValueError(f"{where}.id: {eid!r} is not in the evidence registry")
            entry = registry[eid]
            if entry.value is None:
                raise ValueError(f"{where}.id: {eid!r} is narrative (no number to vary)")
            if paths:
                raise ValueError(f"{where}: an evidence factor takes id, not paths")
            dist = entry.distribution or {}
            bounds = entry.ci or ((dist["low"], dist["high"]) if dist.get("type") == "uniform"
                                  else None)  # an assumed range (e.g. persistence)
            if (low is None or high is None) and bounds is None:
                raise ValueError(f"{where}: {eid!r} has no 95% interval or uniform range; "
                                 "give low and high")
            low = bounds[0] if low is None else low
            high = bounds[1] if high is None else high
            nominal = float(entry.value) if nominal is None else nominal
        else:
            if eid is not None:
                raise ValueError(f"{where}: a {kind} factor takes paths, not id")
            if not paths or not all(isinstance(p, str) and p for p in paths):
                raise ValueError(f"{where}.paths: expected a list of dotted config keys")
            if low is None or high is None:
                raise ValueError(f"{where}: low and high are required for a {kind} factor")
            if nominal is None:
                if kind == "value":
                    raise ValueError(f"{where}.nominal: required for a value factor "
                                     "(the configured value, used by the tornado plot)")
                nominal = 1.0
        for key, v in (("low", low), ("high", high), ("nominal", nominal)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"{where}.{key}: got {v!r}, expected a finite number")
        if not low < high:
            raise ValueError(f"{where}: low {low} must be below high {high}")
        if not low <= nominal <= high:
            raise ValueError(f"{where}.nominal: {nominal} is outside [{low}, {high}]")
        if kind == "scale" and low <= 0:
            raise ValueError(f"{where}.low: got {low}, a scale factor must stay above 0")
        out.append(Factor(name, kind, float(low), float(high), float(nominal), paths, eid,
                          str(s.get("note") or "")))
    return out


def problem(factors: Sequence[Factor]) -> dict:
    """The SALib problem for these factors (uniform on [low, high])."""
    # lazy: sim.uncertainty.gsa imports SALib and scipy.stats (~0.5 s), and every run's gap
    # decomposition imports this module (tests/test_startup.py)
    from sim.uncertainty.gsa import make_problem

    return make_problem([f.name for f in factors], [f.bounds() for f in factors])


# ---- applying factors to a config ------------------------------------------------------


def _matches(node, parts: list[str]) -> Iterable[tuple[dict | list, str | int]]:
    """(container, key) pairs that a dotted path reaches in ``node``."""
    if not parts:
        return
    head, rest = parts[0], parts[1:]
    if not isinstance(node, dict):
        return
    keys = [k for k in node if fnmatch.fnmatchcase(str(k), head)] if "*" in head else (
        [head] if head in node else [])
    for k in keys:
        if rest:
            yield from _matches(node[k], rest)
        else:
            yield node, k


def _transform(value, fn: Callable[[float], float], where: str):
    if isinstance(value, bool):
        raise ValueError(f"{where}: got {value!r}, expected numbers")
    if isinstance(value, int | float):
        return fn(float(value))
    if isinstance(value, list):
        return [_transform(v, fn, where) for v in value]
    if isinstance(value, dict):
        return {k: _transform(v, fn, where) for k, v in value.items()}
    raise ValueError(f"{where}: got {value!r}, expected a number, list or mapping of numbers")


def apply(cfg: dict, factors: Sequence[Factor], x: Sequence[float],
          strict: bool = False) -> dict:
    """A copy of ``cfg`` with each factor set to its value in ``x`` (not validated).

    ``strict``: raise if a path matches nothing in this config (otherwise such a factor is
    simply absent here, e.g. programme paths in the usual-care config).
    """
    if len(x) != len(factors):
        raise ValueError(f"factors: got {len(x)} values for {len(factors)} factors")
    out = copy.deepcopy(cfg)
    for f, v in zip(factors, x, strict=True):
        v = float(v)
        if f.kind == "evidence":
            if f.id in evidence_ids(cfg) or strict:
                out.setdefault("evidence_values", {})
                out["evidence_values"] = {**(out["evidence_values"] or {}), f.id: v}
            continue
        fn = {"value": lambda _a, v=v: v,
              "scale": lambda a, v=v: a * v,
              "exponent": lambda a, v=v: a ** v}[f.kind]
        for path in f.paths:
            hits = list(_matches(out, path.split(".")))
            if strict and not hits:
                raise ValueError(f"factors.{f.name}: path {path!r} matches nothing")
            for container, key in hits:
                container[key] = _transform(container[key], fn, f"factors.{f.name}: {path}")
    if not out.get("evidence_values"):
        out.pop("evidence_values", None)
    return out


def check_factors(configs: Mapping[str, dict], factors: Sequence[Factor]) -> None:
    """Before any work: every path reaches some config, every evidence id is used by some
    design, and each factor's low and high (others nominal) give configs that validate and
    effects the baseline can reproduce. One-line ``ValueError`` naming the factor."""
    for f in factors:
        if f.kind == "evidence":
            if not any(f.id in evidence_ids(c) for c in configs.values()):
                raise ValueError(f"factors.{f.name}: no design here uses {f.id!r}")
            continue
        for path in f.paths:
            if not any(list(_matches(c, path.split("."))) for c in configs.values()):
                raise ValueError(f"factors.{f.name}: path {path!r} matches nothing in the "
                                 f"configs ({', '.join(configs)})")
    nominal = [f.nominal for f in factors]
    for i, f in enumerate(factors):
        for end in (f.low, f.high):
            x = list(nominal)
            x[i] = end
            for design, cfg in configs.items():
                c = apply(cfg, factors, x)
                small = copy.deepcopy(c)
                small["population"]["n"] = min(200, small["population"]["n"])
                small["replicates"] = 1
                try:
                    RTWModel(validate(small))  # converts the effects; no run
                except (ConfigError, EffectError) as err:
                    raise ValueError(f"factors.{f.name} = {end:g} ({design}): {err}") from None


# ---- running designs over samples --------------------------------------------------------


def feasible_evidence(cfg: dict, steps: int = 8) -> tuple[dict, list[dict]]:
    """``cfg`` with every ``evidence_values`` entry that no hazard ratio can reproduce on
    this config's baseline (e.g. a risk ratio whose target exceeds 100% RTW, or below what a
    time-limited service can reach) moved to the feasible boundary, and the list of moves
    (entry, requested, used).

    Whether a value is reproducible depends on the baseline, which other factors change, so
    it is checked per config. The boundary is found by bisection on the line from the
    registry value to the requested one (log scale for ratios) to within 1/2**steps of the
    way; the registry value itself must be feasible.
    """
    registry = load_registry()
    cfg = copy.deepcopy(cfg)
    moves = []

    def bad_entry(c) -> EffectError | None:
        try:
            RTWModel(c)  # builds the population and converts the effects; no run
        except EffectError as err:
            if err.entry_id is None or err.entry_id not in (c.get("evidence_values") or {}):
                raise
            return err
        return None

    while (err := bad_entry(cfg)) is not None:
        eid = err.entry_id
        if any(m["entry"] == eid for m in moves):
            raise err  # its clamped value is still infeasible: the registry value is too
        v, v0 = float(cfg["evidence_values"][eid]), float(registry[eid].value)
        ratio = v > 0 and v0 > 0

        def at(t, v=v, v0=v0, ratio=ratio):
            return (float(np.exp(np.log(v0) + t * (np.log(v) - np.log(v0)))) if ratio
                    else v0 + t * (v - v0))

        lo, hi = 0.0, 1.0
        for _ in range(steps):
            mid = (lo + hi) / 2
            trial = copy.deepcopy(cfg)
            trial["evidence_values"][eid] = at(mid)
            e = bad_entry(trial)
            lo, hi = (mid, hi) if e is None or e.entry_id != eid else (lo, mid)
        cfg["evidence_values"][eid] = at(lo)
        moves.append({"entry": eid, "requested": v, "used": at(lo)})
    return cfg, moves


def run_measures(cfg: dict) -> dict:
    """Run one validated config; replicate means of the outcome, gap and cost measures.

    An evidence value the config's baseline cannot reproduce is clamped at the feasible
    boundary first (:func:`feasible_evidence`); ``clamped`` lists what moved (empty if
    nothing did).
    """
    clamped = ""
    try:
        r = simulate(cfg, core_only=True)
    except EffectError as err:
        if err.entry_id is None:
            raise
        cfg, moves = feasible_evidence(cfg)
        clamped = "; ".join(f"{m['entry']} {m['requested']:.4g} -> {m['used']:.4g}"
                            for m in moves)
        r = simulate(cfg, core_only=True)
    m = replicate_measures(Cell(None, {"config": cfg}, r.summary, r.economics, r.rtw_curves))
    return {"clamped": clamped,
            "rtw_52w": m["rtw_52w"].mean(), "days_absent": m["days_absent"].mean(),
            "sii": m["sii"].mean(), "imd_gap_abs": m["imd_gap_abs"].mean(),
            "ethnic_gap": m["ethnic_gap"].mean(), "job_loss": m["job_loss"].mean(),
            "weeks_in_work": m["weeks_in_work_disc"].mean(),
            "cost_programme": m["cost_programme_disc"].mean(),
            # NICE reference case (issue 16): discounted QALYs, programme + NHS/PSS cost
            "qaly": float(r.economics.loc[r.economics["dimension"] == "all",
                                          "qaly_disc"].mean()),
            "cost_nhs_pss": float(r.economics.loc[r.economics["dimension"] == "all",
                                                  "cost_nhs_pss"].mean())}


def evaluate(configs: Mapping[str, dict], factors: Sequence[Factor], x: np.ndarray,
             n_jobs: int = 1, desc: str = "samples", progress: bool = True) -> pd.DataFrame:
    """Run every design on every row of ``x``; long table (sample, design, measures).

    Every run uses its config's seed (common random numbers across samples and designs), so
    differences between rows come from the factors, not simulation noise, and the table is
    the same for any ``n_jobs``. A config that several rows share (usual care does not see
    evidence or access factors; tornado and Sobol rows repeat configs) is run once.
    """
    from joblib import Parallel, delayed
    from tqdm import tqdm

    x = np.asarray(x, dtype=float)
    unique: dict[str, dict] = {}
    index = []
    for k, row in enumerate(x):
        for d, cfg in configs.items():
            c = validate(apply(cfg, factors, row))
            h = config_hash(c)
            unique.setdefault(h, c)
            index.append((k, d, h))
    keys = list(unique)
    if n_jobs == 1:
        it = (run_measures(unique[h]) for h in keys)
    else:
        it = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(run_measures)(unique[h]) for h in keys)
    done = {}
    for h, m in tqdm(zip(keys, it, strict=True), total=len(keys), desc=desc, unit="run",
                     disable=not progress, mininterval=2.0):
        done[h] = m
    return pd.DataFrame([{"sample": k, "design": d, **done[h]} for k, d, h in index])


def responses(long: pd.DataFrame, design: str) -> pd.DataFrame:
    """One row per sample: ``design``'s measures and their change vs usual care (``d_``)."""
    wide = long.pivot(index="sample", columns="design")
    out = pd.DataFrame(index=wide.index)
    if ("clamped", design) in wide:  # evidence values moved to the feasible boundary
        out["clamped"] = wide[("clamped", design)].fillna("")
    for m in MEASURES:
        out[m] = wide[(m, design)]
        if (m, REFERENCE) in wide and design != REFERENCE:
            out[f"d_{m}"] = wide[(m, design)] - wide[(m, REFERENCE)]
    return out


def noise_runs(configs: Mapping[str, dict], factors: Sequence[Factor], design: str,
               seeds: int) -> pd.DataFrame:
    """The nominal point run with ``seeds`` other model seeds (each run still averages its
    replicates): one row per seed of :func:`responses`. Their spread is the Monte Carlo
    noise of one point; it overstates the noise between points that share random numbers."""
    nominal = np.array([[f.nominal for f in factors]])
    rows = []
    for j in range(seeds):
        shifted = {d: {**c, "seed": c["seed"] + 1000 + j} for d, c in configs.items()}
        rows.append(responses(evaluate(shifted, factors, nominal, progress=False),
                              design).iloc[0])
    return pd.DataFrame(rows).reset_index(drop=True)

