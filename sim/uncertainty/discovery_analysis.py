"""Scenario discovery with PRIM (the logic of ``experiments/scenario_discovery.py``).

:func:`check_settings` checks the analysis config (configs/analysis/scenario_discovery.yaml),
:func:`run_discovery` evaluates the points (or reuses a GSA's), marks the failures and finds
the PRIM box (:mod:`sim.uncertainty.discovery`), and :func:`write_discovery` writes the
tables, figures and summary.md. Progress of the model runs goes through tqdm.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim.evidence.registry import to_markdown as md
from sim.uncertainty.discovery import Discovery, find_box
from sim.uncertainty.factors import (
    MEASURES,
    check_factors,
    evaluate,
    noise_runs,
    parse_factors,
    responses,
)

log = logging.getLogger(__name__)


def check_settings(c: dict) -> dict:
    """The analysis config's own keys, checked (one-line ValueError)."""
    for key, least in (("samples", 2), ("n_jobs", 1)):  # n_jobs=1: runs in this process
        v = c[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < least:
            raise ValueError(f"{key}: got {v!r}, expected an integer >= {least}")
    v = c["noise_seeds"]
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v == 1:
        raise ValueError(f"noise_seeds: got {v!r}, expected 0 or an integer >= 2")
    f = c["failure"]
    unknown = sorted(set(f) - {"output", "above", "below"})
    if unknown:
        raise ValueError(f"failure: unknown key {unknown[0]!r}, expected output, above, below")
    known = [*MEASURES, *(f"d_{m}" for m in MEASURES)]
    if f.get("output") not in known:
        raise ValueError(f"failure.output: got {f.get('output')!r}, expected one of {known}")
    if (f.get("above") is None) == (f.get("below") is None):
        raise ValueError("failure: give exactly one of above or below")
    return c


def failed(values, failure: dict):
    """Which points fail: the output above ``failure.above`` or below ``failure.below``."""
    v = np.asarray(values, dtype=float)
    return v > failure["above"] if failure.get("above") is not None else v < failure["below"]


def run_discovery(c: dict, configs: dict[str, dict] | None) -> dict:
    """Points (reused from ``samples_from`` or a new Latin hypercube over ``configs``),
    which fail, the noise check and the PRIM box, for the checked config ``c``."""
    factors = parse_factors(c["factors"])
    names = [f.name for f in factors]
    fail_spec = c["failure"]
    out_name = fail_spec["output"]
    start = time.perf_counter()
    noise = None
    if c["samples_from"]:
        path = Path(c["samples_from"])
        if not path.is_file():
            raise ValueError(f"samples_from: {path} is not a file")
        table = pd.read_csv(path)
        missing = [col for col in [*names, out_name] if col not in table]
        if missing:
            raise ValueError(f"samples_from: {path} has no column {missing[0]!r} (were its "
                             "factors the same?)")
        if "plan" in table:  # a GSA run: the Sobol points cover the space; OAT rows do not
            table = table[table["plan"] == "sobol"]
        x = table[names].reset_index(drop=True)
        y = table[[col for col in table.columns if col not in names and col != "plan"]]
        y = y.reset_index(drop=True)
        source = f"{len(x)} points reused from {path}"
        log.info("Scenario discovery: %s", source)
    else:
        check_factors(configs, factors)
        from scipy.stats import qmc  # ~1 s: not before the settings are checked

        lhs = qmc.LatinHypercube(d=len(factors), seed=c["seed"]).random(c["samples"])
        xs = qmc.scale(lhs, [f.low for f in factors], [f.high for f in factors])
        log.info("Scenario discovery for %s: %d factors, %d Latin hypercube points x %d "
                 "designs, %d workers", c["design"], len(factors), c["samples"], len(configs),
                 c["n_jobs"])
        y = responses(evaluate(configs, factors, xs, n_jobs=c["n_jobs"], desc="points"),
                      c["design"]).reset_index(drop=True)
        x = pd.DataFrame(xs, columns=names)
        if c["noise_seeds"]:
            noise = noise_runs(configs, factors, c["design"], c["noise_seeds"])
        source = (f"{c['samples']} Latin hypercube points (seed {c['seed']}), "
                  f"{c['population']}, {c['n']:,} people x {c['replicates']} replicates")
    if out_name not in y:
        raise ValueError(f"failure.output: {out_name!r} is not among the outputs")
    fails = failed(y[out_name], fail_spec)
    samples = x.join(y).assign(failed=fails)
    noise_text = ("No noise check (points reused from another run: see its noise.csv)."
                  if c["samples_from"] else "No noise check (noise_seeds 0).")
    if noise is not None:
        sd = float(noise[out_name].std(ddof=1))
        threshold = fail_spec["above"] if fail_spec.get("above") is not None else \
            fail_spec["below"]
        close = int((np.abs(y[out_name] - threshold) < 2 * sd).sum())
        noise_text = (f"Monte Carlo noise: rerunning the nominal point with {len(noise)} other "
                      f"seeds, {out_name} has SD {sd:.3g}; {close} of {len(y)} points "
                      f"({close / len(y):.0%}) lie within 2 SD of the threshold, so their "
                      "side of it is partly chance (an overstatement under common random "
                      "numbers; raise n or replicates to firm it up).")
    box = None
    if 0 < fails.sum() < len(fails):
        p = c["prim"]
        box = find_box(x, fails, p["min_coverage"], p["peel_alpha"], p["mass_min"],
                       p["max_restricted"])
    return {"factors": factors, "x": x, "samples": samples, "fails": fails, "noise": noise,
            "noise_text": noise_text, "box": box, "source": source,
            "elapsed": time.perf_counter() - start}


def write_discovery(folder: Path, c: dict, r: dict) -> None:
    """The tables, figures and summary.md of :func:`run_discovery`'s result into ``folder``."""
    samples, box = r["samples"], r["box"]
    samples.to_csv(folder / "samples.csv", index=False)
    if r["noise"] is not None:
        r["noise"].to_csv(folder / "noise.csv", index=False)
    if box is not None:
        box.trajectory.to_csv(folder / "trajectory.csv", index=False)
        box.limits.to_csv(folder / "box.csv", index=False)
        plots(folder, box, r["x"], r["fails"])
    n_clamped = int((samples["clamped"].fillna("") != "").sum()) if "clamped" in samples \
        else 0
    (folder / "summary.md").write_text(summary_md(c, r["factors"], r["source"], r["fails"],
                                                  box, r["elapsed"], n_clamped,
                                                  r["noise_text"]))


def plots(folder: Path, box, x, fails) -> None:
    import matplotlib

    matplotlib.use("Agg")  # before pyplot, so no display is needed
    import matplotlib.pyplot as plt

    t = box.trajectory
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    sc = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=22)
    ax.scatter([box.coverage], [box.density], s=160, facecolors="none", edgecolors="red",
               linewidths=2, label="chosen box")
    fig.colorbar(sc, ax=ax, label="factors restricted")
    ax.set_xlabel("coverage (share of all failures inside the box)")
    ax.set_ylabel("density (share of points in the box that fail)")
    ax.set_title("PRIM peeling trajectory")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(folder / "tradeoff.png", dpi=110)
    plt.close(fig)

    lim = box.limits.copy()
    lim["restriction"] = 1 - (lim["high"] - lim["low"]) / (lim["full_high"] - lim["full_low"])
    lim = lim.sort_values(["qp_value", "restriction"], ascending=[True, False])
    dims = list(lim["factor"][:2])
    if len(dims) == 1:
        others = [n for n in x.columns if n != dims[0]]
        dims.append(others[0])
    fig, ax = plt.subplots(figsize=(6.5, 5))
    f = np.asarray(fails)
    ax.scatter(x.loc[~f, dims[0]], x.loc[~f, dims[1]], s=12, color="#999999",
               label="no failure")
    ax.scatter(x.loc[f, dims[0]], x.loc[f, dims[1]], s=16, color="#D55E00", label="failure")
    lims = {r.factor: (r.low, r.high) for r in box.limits.itertuples()}
    x0, x1 = lims.get(dims[0], (x[dims[0]].min(), x[dims[0]].max()))
    y0, y1 = lims.get(dims[1], (x[dims[1]].min(), x[dims[1]].max()))
    ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="black",
                               lw=1.5, label="PRIM box (these two factors)"))
    ax.set_xlabel(dims[0])
    ax.set_ylabel(dims[1])
    ax.set_title(f"Box: coverage {box.coverage:.0%}, density {box.density:.0%} "
                 f"(base rate {box.base_rate:.0%})", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(folder / "box.png", dpi=110)
    plt.close(fig)


def summary_md(c, factors, source, fails, box, elapsed, n_clamped: int = 0,
               noise_text: str = "") -> str:
    f = c["failure"]
    rule = (f"{f['output']} > {f['above']}" if f.get("above") is not None
            else f"{f['output']} < {f['below']}")
    n_fail = int(sum(fails))
    lines = [f"# Scenario discovery: when does {c['design']} fail?", "",
             f"Failure: **{rule}** (d_ = change vs usual care with common random numbers; "
             "for the gap measures sii, imd_gap_abs and ethnic_gap a positive change means "
             f"the gap widens). Points: {source}; {elapsed:.0f} s.", "",
             f"**{n_fail} of {len(fails)} points fail ({n_fail / len(fails):.0%}).**", "",
             noise_text, "",
             f"{n_clamped} points had an evidence value their baseline cannot reproduce, "
             "clamped at the feasible boundary (`clamped` in samples.csv).", ""]
    if box is None:
        lines += ["PRIM needs both failures and successes; none was run.", ""]
    else:
        firm = box.limits[box.limits["qp_value"] <= 0.05]
        strong = (f"the design fails mostly when "
                  f"{Discovery(box.trajectory, box.chosen, firm, 0, 0, 0, 0).describe()}"
                  if len(firm) else "no restriction is significant (quasi-p <= 0.05); the "
                  "failures are not concentrated in a simple box")
        lines += [f"PRIM box: **{box.describe()}**. It holds {box.coverage:.0%} of all "
                  f"failures (coverage) and {box.density:.0%} of the points inside it fail "
                  f"(density), against {box.base_rate:.0%} overall; it spans {box.mass:.0%} "
                  "of the points. Chosen as the densest box on the peeling trajectory with "
                  f"coverage >= {c['prim']['min_coverage']} restricting at most "
                  f"{c['prim']['max_restricted']} factors (`trajectory.csv` has the "
                  "others: denser boxes need more restrictions and cover fewer failures).",
                  "",
                  f"In short: {strong}.", "",
                  "Restrictions (quasi-p-value above 0.05: the restriction adds little):", "",
                  md(box.limits.round(4)), "",
                  "![trade-off](tradeoff.png)", "", "![box](box.png)", ""]
    lines += ["## Factors", "", "| factor | low | nominal | high | note |", "|---|---|---|---|---|"]
    lines += [f"| {x.name} | {x.low:g} | {x.nominal:g} | {x.high:g} | {x.note} |"
              for x in factors]
    return "\n".join(lines) + "\n"


