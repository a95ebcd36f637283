"""Calibration of the usual-care hazards to the UK targets (the logic of
``experiments/calibrate.py``).

:func:`settings` checks the analysis config (configs/analysis/calibrate.yaml) before any work;
:func:`run_calibration` fits the multipliers (:func:`sim.results.calibration.fit`), reruns
the hand-tuned baseline and the fit on held-out replicates and builds the tables and the
calibrated pathways (:mod:`sim.uncertainty.calibrate_config`);
:func:`sim.uncertainty.calibrate_report.write_calibration` writes them. Progress goes through
logging (Hydra sends it to stdout).
"""

from __future__ import annotations

import logging
import math
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import CONFIG_DIR, load_config, validate
from sim.results.calibration import (
    METHODS,
    SOURCE_STRENGTH,
    TARGET_EVIDENCE,
    TARGET_MIN_HORIZON,
    TARGET_POPULATION,
    TARGETS,
    fit,
    objective,
    simulated_targets,
    target_intervals,
    z_scores,
)
from sim.stats.tquantile import t_quantile
from sim.uncertainty.calibrate_config import (
    calibrated_pathways,
    check_written,
    config_header,
    lookup,
    yaml_text,
)
from sim.uncertainty.factors import apply, check_factors, parse_factors

log = logging.getLogger(__name__)
REPO = CONFIG_DIR.parent


def _posint(value, key: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key}: got {value!r}, expected an integer >= {minimum}")
    return value


def _number(value, key: str, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value) or (positive and value <= 0):
        raise ValueError(f"{key}: got {value!r}, expected a "
                         f"{'positive' if positive else 'finite'} number")
    return float(value)


def resolve(path: str) -> Path:
    """A path from the config: relative ones are under the repository."""
    p = Path(path)
    return p if p.is_absolute() else REPO / p


def settings(c: dict) -> dict:
    """The analysis config's own keys, checked (one-line ValueError) before any work."""
    _check_targets(c.get("targets"))
    for block, min_reps in (("fit", 1), ("validation", 2)):
        b = c.get(block)
        if not isinstance(b, dict) or set(b) != {"n", "replicates", "seed"}:
            raise ValueError(f"{block}: expected n, replicates and seed")
        _posint(b["n"], f"{block}.n", 100)
        _posint(b["replicates"], f"{block}.replicates", min_reps)
        _posint(b["seed"], f"{block}.seed", 0)
    _check_model(c.get("model_overrides") or [], c.get("targets") or {})
    _check_optimiser(c.get("optimiser") or {})
    factors = _checked_factors(c.get("factors") or {})
    wc = c.get("write_config")
    if not isinstance(wc, str) or not wc.endswith(".yaml"):
        raise ValueError(f"write_config: got {wc!r}, expected a path ending in .yaml")
    target = resolve(wc)
    if not target.parent.is_dir():
        raise ValueError(f"write_config: folder {target.parent} does not exist")
    if target.resolve() == (CONFIG_DIR / "pathways" / "baseline.yaml").resolve():
        raise ValueError("write_config: refusing to overwrite the hand-tuned baseline.yaml")
    if resolve(str(c["out"])).exists():
        raise ValueError(f"out: {c['out']} already exists; choose another folder")
    return {**c, "factors": factors}


def _check_targets(targets) -> None:
    """``targets``: known names with weights >= 0, at least one fitted."""
    if not isinstance(targets, dict) or not targets:
        raise ValueError("targets: expected a mapping {target: weight}")
    for name, w in targets.items():
        if name not in TARGETS:
            raise ValueError(f"targets: unknown target {name!r}, expected some of "
                             f"{list(TARGETS)}")
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(
                w) or w < 0:
            raise ValueError(f"targets.{name}: got weight {w!r}, expected a number >= 0")
    if not any(w > 0 for w in targets.values()):
        raise ValueError("targets: every weight is 0; fit at least one target")


def _check_model(model, weights: dict) -> None:
    """``model_overrides``: strings that leave population, size and seed to the
    calibration, with a horizon long enough for every fitted target."""
    if not isinstance(model, list) or not all(isinstance(o, str) for o in model):
        raise ValueError(f"model_overrides: got {model!r}, expected a list of key=value "
                         "overrides")
    for o in model:
        if o.split("=", 1)[0].lstrip("+~") in ("population", "population.n", "replicates",
                                              "seed"):
            raise ValueError(f"model: {o!r} is set by the calibration (targets, fit, "
                             "validation)")
    needed = {t: TARGET_MIN_HORIZON[t] for t, w in weights.items()
              if t in TARGET_MIN_HORIZON and isinstance(w, (int, float)) and w > 0}
    if needed:
        horizon = load_config(model)["horizon_weeks"]
        for t, weeks in needed.items():
            if horizon < weeks:
                raise ValueError(f"targets.{t}: fitted, but it needs horizon_weeks >= {weeks} "
                                 f"(the runs observe {horizon}); set its weight to 0 or raise "
                                 "horizon_weeks in model_overrides")


def _check_optimiser(opt: dict) -> None:
    known = {"method", "max_evaluations", "xatol", "fatol", "initial_step", "progress_every"}
    if set(opt) != known:
        extra = sorted(set(opt) ^ known)
        raise ValueError(f"optimiser: expected keys {sorted(known)}, got a difference in "
                         f"{extra}")
    if opt["method"] not in METHODS:
        raise ValueError(f"optimiser.method: got {opt['method']!r}, expected one of "
                         f"{list(METHODS)}")
    _posint(opt["max_evaluations"], "optimiser.max_evaluations", 2)
    _posint(opt["progress_every"], "optimiser.progress_every")
    for key in ("xatol", "fatol", "initial_step"):
        _number(opt[key], f"optimiser.{key}")


def _checked_factors(spec: dict) -> list:
    """The factors: scale or exponent, under ``pathways.`` only."""
    factors = parse_factors(spec)
    for f in factors:
        if f.kind not in ("scale", "exponent"):
            raise ValueError(f"factors.{f.name}.kind: got {f.kind!r}, expected scale or "
                             "exponent (the fit searches multipliers or powers)")
        if f.kind == "exponent" and f.low <= 0:
            raise ValueError(f"factors.{f.name}.low: an exponent is searched on the log "
                             f"scale, so low must be > 0, got {f.low:g}")
        for p in f.paths:
            if not p.startswith("pathways."):
                raise ValueError(f"factors.{f.name}.paths: {p!r} is not under pathways. "
                                 "(only the pathways group is written)")
    return factors


def model_configs(c: dict, block: str, populations) -> dict[str, dict]:
    """Validated model configs per population at the ``fit`` or ``validation`` size."""
    b = c[block]
    return {p: load_config([f"population={p}", f"population.n={b['n']}",
                            f"replicates={b['replicates']}", f"seed={b['seed']}",
                            "output.plots=false", "output.write_agents=false",
                            # the factors multiply the hand-tuned baseline, whatever the
                            # default pathways of config.yaml (the calibrated file)
                            "pathways=baseline",
                            *(c.get("model_overrides") or [])])
            for p in populations}


# ---- model evaluations ---------------------------------------------------------------------


def per_replicate(configs: dict, factors, x):
    """Per-replicate simulated targets for multipliers ``x`` (all populations)."""
    return pd.concat([simulated_targets(validate(apply(cfg, factors, x)))
                      for cfg in configs.values()], ignore_index=True)


def summarise(per) -> dict[str, tuple[float, float, float]]:
    """{target: (mean, low, high)}: mean over replicates and its 95% t interval."""
    out = {}
    for name, v in per.groupby("target")["simulated"]:
        v = v.to_numpy(dtype=float)
        mean = float(v.mean())
        half = (float(t_quantile(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
                if v.size > 1 else math.nan)
        out[name] = (mean, mean - half, mean + half)
    return out



# ---- the run -------------------------------------------------------------------------------


def run_calibration(c: dict) -> dict:
    """Fit, validate and tabulate for the checked config ``c`` (:func:`settings`)."""
    t_start = time.perf_counter()
    factors = c["factors"]
    weights = {t: float(w) for t, w in c["targets"].items()}
    fitted_targets = [t for t, w in weights.items() if w > 0]
    populations = list(dict.fromkeys(TARGET_POPULATION[t] for t in TARGETS if t in weights))
    fit_cfgs = model_configs(c, "fit", populations)
    val_cfgs = model_configs(c, "validation", populations)
    check_factors(fit_cfgs, factors)  # every path reaches a config; bounds give valid configs
    intervals = target_intervals()
    uk = {t: intervals[t][0] for t in weights}
    tol = {t: (intervals[t][2] - intervals[t][1]) / 2 for t in weights}
    _log_plan(c, populations, weights, intervals)
    opt = c["optimiser"]

    def stats_fn(x):
        per = per_replicate(fit_cfgs, factors, x)
        return per.groupby("target")["simulated"].mean().to_dict()

    res = fit(stats_fn, factors, {t: uk[t] for t in fitted_targets}, tol, weights,
              method=opt["method"], max_evaluations=opt["max_evaluations"],
              xatol=opt["xatol"], fatol=opt["fatol"], initial_step=opt["initial_step"],
              progress=log.info, every=opt["progress_every"])

    vb = c["validation"]
    log.info("validation: baseline and calibrated, %d x %s people per population (seed %d)",
             vb["replicates"], f"{vb['n']:,}", vb["seed"])
    base = summarise(per_replicate(val_cfgs, factors, np.ones(len(factors))))
    cal = summarise(per_replicate(val_cfgs, factors, res.x))
    # a reported target the horizon does not reach (e.g. week 260 in a 104-week fit) is NaN
    missing = (math.nan, math.nan, math.nan)
    base = {t: base.get(t, missing) for t in TARGETS}
    cal = {t: cal.get(t, missing) for t in TARGETS}
    fitted_uk = {t: uk[t] for t in fitted_targets}
    j_val = tuple(objective({t: v[0] for t, v in s.items()}, fitted_uk, tol, weights)
                  for s in (base, cal))
    table = target_table(weights, intervals, base, cal)

    when = date.today().isoformat()
    start_pw = fit_cfgs[populations[0]]["pathways"]
    objective_text = (f"sum of squared z-scores over {len(fitted_targets)} UK targets, "
                      f"J {res.start_objective:.3g} -> {res.objective:.3g}")
    cal_pw = calibrated_pathways(start_pw, factors, res.x, objective_text, when)
    params = parameter_table(factors, res, start_pw, cal_pw)
    header = config_header(start_pw, factors, res.x, res, fitted_targets, j_val,
                           {**c, "when": when})
    text = yaml_text(cal_pw, header)
    check_written(text, fit_cfgs)  # before anything is replaced
    return {"fit": res, "table": table, "params": params, "text": text, "cal": cal,
            "weights": weights, "fitted_targets": fitted_targets, "j_val": j_val,
            "when": when, "t_start": t_start}


def _log_plan(c: dict, populations, weights: dict, intervals: dict) -> None:
    opt, fb = c["optimiser"], c["fit"]
    log.info("calibrate: %d multipliers, %d fitted targets, populations %s",
             len(c["factors"]), sum(w > 0 for w in weights.values()), ", ".join(populations))
    log.info("  objective J = sum of weight x z^2, z = (simulated - UK) / half-width of the "
             "registry's assumed 95% interval")  # no args: no %-formatting
    for t in weights:
        log.info("    %-30s UK %.4g  95%% [%.4g, %.4g]  weight %g", t, intervals[t][0],
                 intervals[t][1], intervals[t][2], weights[t])
    log.info("  fit: %s on log multipliers, <= %d evaluations of %d x %s people per "
             "population (seed %d, common random numbers)", opt["method"],
             opt["max_evaluations"], fb["replicates"], f"{fb['n']:,}", fb["seed"])


def target_table(weights: dict, intervals: dict, base: dict, cal: dict) -> pd.DataFrame:
    """One row per reported target: UK value and interval, baseline and calibrated mean and
    95% interval (``base``, ``cal``: {target: (mean, low, high)}), z-scores, source."""
    uk = {t: intervals[t][0] for t in weights}
    tol = {t: (intervals[t][2] - intervals[t][1]) / 2 for t in weights}
    z_b = z_scores({t: v[0] for t, v in base.items()}, uk, tol)
    z_c = z_scores({t: v[0] for t, v in cal.items()}, uk, tol)
    return pd.DataFrame([{
        "target": t, "population": TARGET_POPULATION[t], "fitted": weights[t] > 0,
        "weight": weights[t], "uk_value": uk[t], "uk_low": intervals[t][1],
        "uk_high": intervals[t][2], "half_width": tol[t],
        "baseline_mean": base[t][0], "baseline_low": base[t][1], "baseline_high": base[t][2],
        "calibrated_mean": cal[t][0], "calibrated_low": cal[t][1],
        "calibrated_high": cal[t][2], "z_baseline": z_b[t], "z_calibrated": z_c[t],
        "evidence_id": TARGET_EVIDENCE[t], "source": TARGETS[t][1],
        "source_strength": SOURCE_STRENGTH.get(t, ""),
    } for t in TARGETS if t in weights])


def parameter_table(factors, res, start_pw: dict, cal_pw: dict) -> pd.DataFrame:
    """One row per factor and path: bounds, fitted multiplier, whether it sits at a bound,
    its near-best range (evaluations with J within 1 of the best), the numbers before/after."""
    near = res.trace[res.trace["objective"] <= res.objective + 1.0]
    rows = []
    for f, v in zip(factors, res.x, strict=True):
        for p in f.paths:
            before = lookup(start_pw, p.split(".")[1:])
            after = lookup(cal_pw, p.split(".")[1:])
            rows.append({"factor": f.name, "low": f.low, "high": f.high, "multiplier": v,
                         "at_bound": bool(np.isclose(v, f.low, rtol=1e-3)
                                          or np.isclose(v, f.high, rtol=1e-3)),
                         "near_best_low": near[f.name].min(),
                         "near_best_high": near[f.name].max(), "path": p,
                         "hand_tuned": before[0] if len(before) == 1 else before,
                         "calibrated": after[0] if len(after) == 1 else after,
                         "note": f.note})
    return pd.DataFrame(rows)
