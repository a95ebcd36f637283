"""Fit the usual-care (baseline) hazards to the UK targets with a standard optimiser.

    .venv/bin/python experiments/calibrate.py [key=value ...]   # configs/analysis/calibrate.yaml
    .venv/bin/python experiments/calibrate.py fit.n=20000 write_config=/tmp/calibrated.yaml

Parameters: multipliers on numbers of the baseline pathways (``scale`` factors of
:mod:`sim.uncertainty.factors`; nominal 1 = hand-tuned). Objective (sim/results/calibration.py)::

    J = sum over fitted targets t of weight_t * ((simulated_t - UK_t) / h_t)^2

with ``h_t`` the half-width of the target's assumed 95% interval in the evidence registry
(configs/evidence/uk_targets.yaml). Every evaluation runs the populations the targets need
with one fixed seed (common random numbers: J is deterministic); ``scipy.optimize.minimize``
(Nelder-Mead by default) searches log multipliers within bounds from 1. The baseline and the
fit are then rerun on held-out, larger replicates with another seed for the reported means
and 95% intervals.

Writes under ``out`` (staged, renamed into place at the end): ``parameters.csv`` (factor,
bounds, fitted multiplier, near-best range, every number it changes before and after),
``trace.csv`` (every evaluation), ``targets.csv`` (UK value and interval, baseline and
calibrated mean and 95% interval, z-scores), ``calibration.png``, ``summary.md``,
``calibrated.yaml`` and ``analysis_config.yaml``; then replaces ``write_config``
(default configs/pathways/calibrated.yaml, usable as ``pathways=calibrated``) atomically,
after validating it with the model's schema.
"""

from __future__ import annotations

import copy
import math
import time
from datetime import date
from pathlib import Path

from sim.cli.apps import REPO, launch
from sim.io import write_atomic
from sim.results.calibration import SOURCE_STRENGTH

LABELS = {
    "absence_rate_imd1_to_imd5": "workforce: absence rate, most / least\ndeprived quintile",
    "remain_off_52w_given_off_6w": "fit-note cohort: not at work at 52 weeks\n"
                                   "among those off at 6 weeks",
    "absence_rate": "workforce: share of working time lost",
    "days_lost_per_worker_year": "workforce: days lost per worker per year",
    "spells_1_week": "workforce: spells of 1 week",
    "spells_2_4_weeks": "workforce: spells of 2-4 weeks",
    "spells_5plus_weeks": "workforce: spells of 5+ weeks",
    "top5pct_spells_share_of_time": "workforce: share of absent time\nin the longest 5% of spells",
}
ONS_WORKING_DAYS = 5.7 / 0.026  # working days a year implied by ONS's own pair (~219)


# ---- input ---------------------------------------------------------------------------------


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


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else REPO / p


def settings(c: dict) -> dict:
    """The analysis config's own keys, checked (one-line ValueError) before any work."""
    from sim.results.calibration import METHODS, TARGETS
    from sim.uncertainty.factors import parse_factors

    targets = c.get("targets")
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
    for block, min_reps in (("fit", 1), ("validation", 2)):
        b = c.get(block)
        if not isinstance(b, dict) or set(b) != {"n", "replicates", "seed"}:
            raise ValueError(f"{block}: expected n, replicates and seed")
        _posint(b["n"], f"{block}.n", 100)
        _posint(b["replicates"], f"{block}.replicates", min_reps)
        _posint(b["seed"], f"{block}.seed", 0)
    model = c.get("model_overrides") or []
    if not isinstance(model, list) or not all(isinstance(o, str) for o in model):
        raise ValueError(f"model_overrides: got {model!r}, expected a list of key=value "
                         "overrides")
    for o in model:
        if o.split("=", 1)[0].lstrip("+~") in ("population", "population.n", "replicates",
                                              "seed"):
            raise ValueError(f"model: {o!r} is set by the calibration (targets, fit, "
                             "validation)")
    from sim.config import load_config
    from sim.results.calibration import TARGET_MIN_HORIZON

    weights = c.get("targets") or {}
    needed = {t: TARGET_MIN_HORIZON[t] for t, w in weights.items()
              if t in TARGET_MIN_HORIZON and isinstance(w, (int, float)) and w > 0}
    if needed:
        horizon = load_config(model)["horizon_weeks"]
        for t, weeks in needed.items():
            if horizon < weeks:
                raise ValueError(f"targets.{t}: fitted, but it needs horizon_weeks >= {weeks} "
                                 f"(the runs observe {horizon}); set its weight to 0 or raise "
                                 "horizon_weeks in model_overrides")
    opt = c.get("optimiser") or {}
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
    factors = parse_factors(c.get("factors") or {})
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
    wc = c.get("write_config")
    if not isinstance(wc, str) or not wc.endswith(".yaml"):
        raise ValueError(f"write_config: got {wc!r}, expected a path ending in .yaml")
    target = _resolve(wc)
    if not target.parent.is_dir():
        raise ValueError(f"write_config: folder {target.parent} does not exist")
    from sim.config import CONFIG_DIR

    if target.resolve() == (CONFIG_DIR / "pathways" / "baseline.yaml").resolve():
        raise ValueError("write_config: refusing to overwrite the hand-tuned baseline.yaml")
    if _resolve(str(c["out"])).exists():
        raise ValueError(f"out: {c['out']} already exists; choose another folder")
    return {**c, "factors": factors}


def model_configs(c: dict, block: str, populations) -> dict[str, dict]:
    """Validated model configs per population at the ``fit`` or ``validation`` size."""
    from sim.config import load_config

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
    import pandas as pd

    from sim.config import validate
    from sim.results.calibration import simulated_targets
    from sim.uncertainty.factors import apply

    return pd.concat([simulated_targets(validate(apply(cfg, factors, x)))
                      for cfg in configs.values()], ignore_index=True)


def summarise(per) -> dict[str, tuple[float, float, float]]:
    """{target: (mean, low, high)}: mean over replicates and its 95% t interval."""
    from scipy import stats

    out = {}
    for name, v in per.groupby("target")["simulated"]:
        v = v.to_numpy(dtype=float)
        mean = float(v.mean())
        half = (float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
                if v.size > 1 else math.nan)
        out[name] = (mean, mean - half, mean + half)
    return out


# ---- the written config --------------------------------------------------------------------


def _round(value, digits: int = 4):
    if isinstance(value, bool) or isinstance(value, int):
        return value
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, list):
        return [_round(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    return value


def calibrated_pathways(start: dict, factors, x, objective_text: str, when: str) -> dict:
    """The start pathways with each factor's multiplier applied (4 significant figures),
    ``name: calibrated`` and each changed block's source text extended."""
    from sim.uncertainty.factors import apply

    fitted = apply({"pathways": copy.deepcopy(start)}, factors, x, strict=True)["pathways"]
    fitted = _round(fitted)
    origin = start.get("name", "baseline")
    value_of = ("the hand-tuned value" if origin == "baseline"
                else f"the value in pathways={origin}")
    notes: dict[str, list[tuple]] = {}
    for f, v in zip(factors, x, strict=True):
        for p in f.paths:
            block, rest = p.split(".", 2)[1], ".".join(p.split(".")[2:])
            notes.setdefault(block, []).append((f.name, float(v), rest))
    sources = dict(start["sources"])
    for block, items in notes.items():
        parts = []
        for name in dict.fromkeys(n for n, _, _ in items):
            v = next(val for n, val, _ in items if n == name)
            keys = ", ".join(r for n, _, r in items if n == name)
            what = ("exponent" if next(f for f in factors if f.name == name).kind
                    == "exponent" else "multiplier")
            parts.append(f"{what} {v:.3f} on {value_of} of {keys} ({name})")
        sources[block] = (f"{sources[block]} | calibrated by experiments/calibrate.py "
                          f"({objective_text}, {when}): " + "; ".join(parts))
    fitted["name"] = "calibrated"
    fitted["sources"] = sources
    return fitted


def lookup(node, parts: list[str]) -> list:
    """The values a dotted path (``*`` matching any key) reaches in a nested mapping."""
    import fnmatch

    if not parts:
        return [node]
    if not isinstance(node, dict):
        return []
    keys = [k for k in node if fnmatch.fnmatchcase(str(k), parts[0])]
    return [v for k in keys for v in lookup(node[k], parts[1:])]


def yaml_text(pathways: dict, header: list[str]) -> str:
    import textwrap

    import yaml

    rest = {k: v for k, v in pathways.items() if k != "sources"}
    body = yaml.safe_dump(rest, sort_keys=False, default_flow_style=None, width=100,
                          allow_unicode=True)
    if "sources" in pathways:  # block style, one line per source (as in baseline.yaml)
        body += "\n" + yaml.safe_dump({"sources": pathways["sources"]}, sort_keys=False,
                                      default_flow_style=False, width=100_000,
                                      allow_unicode=True)
    lines = []
    for line in header:
        indent = " " * (len(line) - len(line.lstrip()))
        lines += textwrap.wrap(line, 92, initial_indent="", subsequent_indent=indent + "    ",
                               break_on_hyphens=False) or [""]
    return "".join(f"# {line}\n" if line else "#\n" for line in lines) + body


def check_written(text: str, configs: dict) -> None:
    """The YAML, read back, passes the model schema in every population (ConfigError)."""
    import yaml

    from sim.config import validate

    loaded = yaml.safe_load(text)
    for cfg in configs.values():
        c = copy.deepcopy(cfg)
        c["pathways"] = loaded
        validate(c)


# ---- plot and summary ----------------------------------------------------------------------


def plot(folder: Path, table, trace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import numpy as np

    rows = table.reset_index(drop=True)
    k = len(rows)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 1.0 + 0.85 * k),
                                  gridspec_kw={"width_ratios": [2.2, 1]})
    y = np.arange(k)[::-1]
    for yi, r in zip(y, rows.itertuples(), strict=True):
        uk = r.uk_value
        ax.fill_betweenx([yi - 0.3, yi + 0.3], r.uk_low / uk, r.uk_high / uk,
                         color="0.85", zorder=0, label="UK figure, assumed 95% interval"
                         if yi == y[0] else None)
        for dy, kind, style in ((0.12, "baseline", dict(mfc="white", color="tab:gray")),
                                (-0.12, "calibrated", dict(color="tab:blue"))):
            m = getattr(r, f"{kind}_mean") / uk
            lo, hi = getattr(r, f"{kind}_low") / uk, getattr(r, f"{kind}_high") / uk
            ax.errorbar([m], [yi + dy], xerr=[[m - lo], [hi - m]], fmt="o", ms=6, capsize=3,
                        label=(f"{kind} (mean, 95% interval)" if yi == y[0] else None),
                        **style)
        ax.annotate(f"UK {uk:.3g}  base {r.baseline_mean:.3g}  cal {r.calibrated_mean:.3g}",
                    (1.0, yi - 0.42), xycoords=("axes fraction", "data"), ha="right",
                    va="center", fontsize=7.5, color="0.3")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([LABELS.get(t, t) + ("" if f else "\n(reported, not fitted)")
                        for t, f in zip(rows["target"], rows["fitted"], strict=True)],
                       fontsize=8.5)
    ax.set_ylim(-0.6, k - 0.4)
    ax.set_xlabel("simulated / UK figure (1 = on target)")
    ax.set_title("UK targets: hand-tuned baseline vs calibrated (held-out replicates)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, fontsize=8,
              frameon=False)
    ax.grid(axis="x", alpha=0.3)
    best = trace["objective"].cummin()
    ax2.plot(trace["evaluation"], trace["objective"], ".", ms=3, color="0.6",
             label="each evaluation")
    ax2.plot(trace["evaluation"], best, color="tab:blue", label="best so far")
    ax2.set_yscale("log")
    ax2.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax2.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax2.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax2.set_xlabel("evaluation")
    ax2.set_ylabel("objective J (sum of squared z-scores)")
    ax2.set_title("optimiser trace (fit run)")
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(folder / "calibration.png", dpi=130)
    plt.close(fig)


# ---- the task ------------------------------------------------------------------------------


def task(cfg) -> int:
    import numpy as np
    import pandas as pd

    from sim.cli.apps import plain, save_config, staged_output
    from sim.evidence.registry import to_markdown

    def md(df) -> str:
        return to_markdown(df, ".4g") + "\n"
    from sim.config import CONFIG_DIR, load_config
    from sim.results.calibration import (
        TARGET_EVIDENCE,
        TARGET_POPULATION,
        TARGETS,
        fit,
        objective,
        target_intervals,
        z_scores,
    )
    from sim.uncertainty.factors import check_factors

    t_start = time.perf_counter()
    c = settings(plain(cfg))
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
    opt = c["optimiser"]

    print(f"calibrate: {len(factors)} multipliers, {len(fitted_targets)} fitted targets, "
          f"populations {', '.join(populations)}")
    print("  objective J = sum of weight x z^2, z = (simulated - UK) / half-width of the "
          "registry's assumed 95% interval")
    for t in weights:
        print(f"    {t:30s} UK {uk[t]:.4g}  95% [{intervals[t][1]:.4g}, "
              f"{intervals[t][2]:.4g}]  weight {weights[t]:g}")
    fb = c["fit"]
    print(f"  fit: {opt['method']} on log multipliers, <= {opt['max_evaluations']} "
          f"evaluations of {fb['replicates']} x {fb['n']:,} people per population "
          f"(seed {fb['seed']}, common random numbers)", flush=True)

    def stats_fn(x):
        per = per_replicate(fit_cfgs, factors, x)
        return per.groupby("target")["simulated"].mean().to_dict()

    res = fit(stats_fn, factors, {t: uk[t] for t in fitted_targets}, tol, weights,
              method=opt["method"], max_evaluations=opt["max_evaluations"],
              xatol=opt["xatol"], fatol=opt["fatol"], initial_step=opt["initial_step"],
              progress=lambda s: print(s, flush=True), every=opt["progress_every"])

    vb = c["validation"]
    print(f"validation: baseline and calibrated, {vb['replicates']} x {vb['n']:,} people per "
          f"population (seed {vb['seed']})", flush=True)
    ones = np.ones(len(factors))
    per_base = per_replicate(val_cfgs, factors, ones)
    per_cal = per_replicate(val_cfgs, factors, res.x)
    base, cal = summarise(per_base), summarise(per_cal)
    # a reported target the horizon does not reach (e.g. week 260 in a 104-week fit) is NaN
    missing = (math.nan, math.nan, math.nan)
    base = {t: base.get(t, missing) for t in TARGETS}
    cal = {t: cal.get(t, missing) for t in TARGETS}
    mean_of = {k: {t: v[0] for t, v in s.items()} for k, s in (("b", base), ("c", cal))}
    z_b = z_scores(mean_of["b"], uk, tol)
    z_c = z_scores(mean_of["c"], uk, tol)
    j_val_b = objective(mean_of["b"], {t: uk[t] for t in fitted_targets}, tol, weights)
    j_val_c = objective(mean_of["c"], {t: uk[t] for t in fitted_targets}, tol, weights)

    table = pd.DataFrame([{
        "target": t, "population": TARGET_POPULATION[t], "fitted": weights[t] > 0,
        "weight": weights[t], "uk_value": uk[t], "uk_low": intervals[t][1],
        "uk_high": intervals[t][2], "half_width": tol[t],
        "baseline_mean": base[t][0], "baseline_low": base[t][1], "baseline_high": base[t][2],
        "calibrated_mean": cal[t][0], "calibrated_low": cal[t][1],
        "calibrated_high": cal[t][2], "z_baseline": z_b[t], "z_calibrated": z_c[t],
        "evidence_id": TARGET_EVIDENCE[t], "source": TARGETS[t][1],
        "source_strength": SOURCE_STRENGTH.get(t, ""),
    } for t in TARGETS if t in weights])

    trace = res.trace
    near = trace[trace["objective"] <= res.objective + 1.0]
    start_pw = fit_cfgs[populations[0]]["pathways"]
    when = date.today().isoformat()
    objective_text = (f"sum of squared z-scores over {len(fitted_targets)} UK targets, "
                      f"J {res.start_objective:.3g} -> {res.objective:.3g}")
    cal_pw = calibrated_pathways(start_pw, factors, res.x, objective_text, when)
    prows = []
    for f, v in zip(factors, res.x, strict=True):
        for p in f.paths:
            before = lookup(start_pw, p.split(".")[1:])
            after = lookup(cal_pw, p.split(".")[1:])
            prows.append({"factor": f.name, "low": f.low, "high": f.high, "multiplier": v,
                          "at_bound": bool(np.isclose(v, f.low, rtol=1e-3)
                                           or np.isclose(v, f.high, rtol=1e-3)),
                          "near_best_low": near[f.name].min(),
                          "near_best_high": near[f.name].max(), "path": p,
                          "hand_tuned": before[0] if len(before) == 1 else before,
                          "calibrated": after[0] if len(after) == 1 else after,
                          "note": f.note})
    params = pd.DataFrame(prows)

    header = [
        "GENERATED by experiments/calibrate.py - do not edit by hand. Regenerate with",
        "  .venv/bin/python experiments/calibrate.py [overrides]   "
        "(configs/analysis/calibrate.yaml)",
        f"Usual-care pathways fitted to the UK targets on {when}: pathways="
        f"{start_pw.get('name', 'baseline')} with multipliers",
        *(f"  {f.name} x{v:.4f}: {', '.join(p.split('.', 1)[1] for p in f.paths)}"
          for f, v in zip(factors, res.x, strict=True)),
        "Objective: sum of squared z-scores, z = (simulated - UK) / half-width of the "
        f"registry's assumed 95% interval, over {', '.join(fitted_targets)}; "
        f"J {res.start_objective:.3g} -> {res.objective:.3g} on the fit run "
        f"({fb['replicates']} x {fb['n']} people, seed {fb['seed']}), "
        f"{j_val_b:.3g} -> {j_val_c:.3g} on held-out replicates "
        f"({vb['replicates']} x {vb['n']}, seed {vb['seed']}).",
        "Numbers rounded to 4 significant figures. Tables and plot: "
        f"{c['out']}",
        "",
    ]
    text = yaml_text(cal_pw, header)
    check_written(text, fit_cfgs)  # before anything is replaced

    misses = table[table["z_calibrated"].abs() > 1.0]
    rate = cal["absence_rate"][0] if "absence_rate" in cal else None
    lines = [
        "# Calibration of the baseline hazards to the UK targets", "",
        f"Run {when}; {time.perf_counter() - t_start:.0f} s. Config: `analysis_config.yaml`.",
        "",
        "## Objective", "",
        "J = sum over fitted targets t of weight_t x z_t^2, z_t = (simulated_t - UK_t) / h_t, "
        "where h_t is the half-width of the target's 95% interval in the evidence registry "
        "(`configs/evidence/uk_targets.yaml`, entries in `targets.csv`: `evidence_id`). No "
        "source published an interval: they are assumptions (about +/-8% relative for ONS "
        "figures, +/-5 points for the CIPD/CBI spell shares and the HSE 'one in five'), so "
        "J measures distance in units of that assumed uncertainty; J below the number of "
        "fitted targets means inside the intervals on average.", "",
        f"Fitted ({len(fitted_targets)}): {', '.join(fitted_targets)}. Reported only: "
        f"{', '.join(t for t in weights if weights[t] == 0) or 'none'}. Days per worker "
        "are on the ONS definition (outcomes.working_days_per_year = 219, the working days "
        f"ONS's own pair implies: 5.7 / 2.6% = {ONS_WORKING_DAYS:.0f}), so they equal 219 x "
        "the absence rate and only the rate is fitted. The three spell-length shares sum "
        "to 1, so two are fitted and 2-4 weeks is their complement.", "",
        "## Optimiser", "",
        f"`scipy.optimize.minimize`, {res.method}, on log multipliers within the factors' "
        f"bounds, from the hand-tuned baseline (all multipliers 1). Every evaluation runs "
        f"{fb['replicates']} x {fb['n']:,} people per population with seed {fb['seed']} "
        "(common random numbers, so J is deterministic). "
        f"{res.evaluations} evaluations in {res.seconds:.0f} s: "
        f"{res.message.rstrip('.')}.", "",
        "| | hand-tuned (multipliers 1) | calibrated |", "|---|---|---|",
        f"| J on the fit run | {res.start_objective:.3f} | {res.objective:.3f} |",
        f"| J on held-out replicates ({vb['replicates']} x {vb['n']:,}, seed {vb['seed']}) | "
        f"{j_val_b:.3f} | {j_val_c:.3f} |", "",
        "## Fitted multipliers", "",
        "Near-best range: the multiplier's range over evaluated points with J within 1 of "
        "the best (a rough, not a profile, indication of how well the targets pin it down).",
        "",
        md(params[["factor", "low", "high", "multiplier", "near_best_low",
                    "near_best_high", "path", "hand_tuned", "calibrated"]]),
        "## Targets (held-out replicates: mean and 95% interval of the mean)", "",
        md(pd.DataFrame({
            "target": table["target"], "fitted": table["fitted"].map({True: "yes",
                                                                      False: "no"}),
            "UK (95% interval)": [f"{r.uk_value:.4g} ({r.uk_low:.4g}-{r.uk_high:.4g})"
                                  for r in table.itertuples()],
            "baseline": [f"{r.baseline_mean:.4g} ({r.baseline_low:.4g}-"
                         f"{r.baseline_high:.4g})" for r in table.itertuples()],
            "calibrated": [f"{r.calibrated_mean:.4g} ({r.calibrated_low:.4g}-"
                           f"{r.calibrated_high:.4g})" for r in table.itertuples()],
            "z baseline": table["z_baseline"].round(2),
            "z calibrated": table["z_calibrated"].round(2),
            "source strength": table["source_strength"]})), "",
        "## What still misses", "",
    ]
    if misses.empty:
        lines.append("Every target is within its assumed interval (|z| <= 1) after the fit.")
    for r in misses.itertuples():
        why = ""
        if r.target == "days_lost_per_worker_year" and rate is not None:
            why = (f" Not fitted: 219 x the calibrated absence rate = {rate * 219:.2f} days.")
        lines.append(f"- {r.target}: {r.calibrated_mean:.4g} vs {r.uk_value:.4g} "
                     f"(z {r.z_calibrated:+.2f}; source {r.source_strength}).{why}")
    at_bound = params.loc[params["at_bound"], "factor"].unique()
    if len(at_bound):
        lines += ["", f"At a bound: {', '.join(at_bound)} (the fit wanted to go further; "
                  "the bounds are assumptions in the config)."]
    lines += ["", "The targets constrain these multipliers only partly: different "
              "combinations give nearly the same J (see the near-best ranges), so the "
              "fitted values are one good point, not unique estimates.", ""]

    target_path = _resolve(c["write_config"])
    with staged_output(Path(c["out"])) as tmp:
        params.to_csv(tmp / "parameters.csv", index=False)
        trace.to_csv(tmp / "trace.csv", index=False)
        table.to_csv(tmp / "targets.csv", index=False)
        plot(tmp, table, trace)
        (tmp / "summary.md").write_text("\n".join(lines))
        (tmp / "calibrated.yaml").write_text(text)
        save_config(cfg, tmp)
        write_atomic(target_path, text)
    if target_path.parent.resolve() == (CONFIG_DIR / "pathways").resolve():
        load_config([f"pathways={target_path.stem}"])  # loads by name, as users will

    print("\n| target | fitted | UK | baseline | calibrated | z base | z cal |")
    print("|---|---|---|---|---|---|---|")
    for r in table.itertuples():
        print(f"| {r.target} | {'yes' if r.fitted else 'no'} | {r.uk_value:.4g} | "
              f"{r.baseline_mean:.4g} | {r.calibrated_mean:.4g} | {r.z_baseline:+.2f} | "
              f"{r.z_calibrated:+.2f} |")
    print(f"\nJ fit run {res.start_objective:.3f} -> {res.objective:.3f}; held-out "
          f"{j_val_b:.3f} -> {j_val_c:.3f}")
    print("multipliers: " + ", ".join(f"{n}={v:.4f}" for n, v in
                                       zip(res.names, res.x, strict=True)))
    print(f"wrote {c['out']} and {c['write_config']} "
          f"({time.perf_counter() - t_start:.0f} s)")
    return 0


if __name__ == "__main__":
    launch("calibrate", task)
