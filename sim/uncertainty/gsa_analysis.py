"""Global sensitivity analysis of one design (the logic of ``experiments/gsa.py``).

:func:`check_settings` checks the analysis config (configs/analysis/gsa.yaml),
:func:`run_gsa` runs Sobol, Morris, the tornado and the noise check over the factors
(:mod:`sim.uncertainty.factors`; indices from :mod:`sim.uncertainty.gsa`), and
:func:`write_gsa` writes the tables, figures and summary.md. Progress of the model runs
goes through tqdm (:func:`sim.uncertainty.factors.evaluate`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim.compare.report_words import noise_warning  # an index that noise dominates is no finding
from sim.evidence.registry import to_markdown as md
from sim.io import write_tables
from sim.uncertainty import gsa
from sim.uncertainty.factors import (
    MEASURES,
    check_factors,
    evaluate,
    noise_runs,
    parse_factors,
    problem,
    responses,
)

log = logging.getLogger(__name__)
LABELS = {
    "rtw_52w": "RTW within 52 weeks (share)",
    "days_absent": "days absent per person",
    "sii": "IMD slope index of inequality in RTW within 52 weeks",
    "d_rtw_52w": "change in RTW within 52 weeks vs usual care",
    "d_days_absent": "change in days absent vs usual care",
    "d_sii": "change in IMD SII vs usual care (< 0: narrower)",
}


def check_settings(c: dict) -> dict:
    """The analysis config's own keys, checked (one-line ValueError)."""
    def posint(key, power_of_two=False):
        v = c[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{key}: got {v!r}, expected a positive integer")
        if power_of_two and v & (v - 1):
            raise ValueError(f"{key}: got {v}, expected a power of two (Saltelli sampling)")
        return v

    posint("sobol_n", power_of_two=True)
    posint("n_jobs")
    if posint("morris_trajectories") < 2:
        raise ValueError("morris_trajectories: expected at least 2")
    if posint("morris_levels") % 2:
        raise ValueError(f"morris_levels: got {c['morris_levels']}, expected an even number")
    if posint("noise_seeds") < 2:
        raise ValueError("noise_seeds: expected at least 2 (a standard deviation)")
    known = [*MEASURES, *(f"d_{m}" for m in MEASURES)]
    if not isinstance(c["outputs"], list) or not c["outputs"]:
        raise ValueError(f"outputs: got {c['outputs']!r}, expected a list such as "
                         "'outputs=[rtw_52w,d_sii]'")
    for o in c["outputs"]:
        if o not in known:
            raise ValueError(f"outputs: unknown output {o!r}, expected some of {known}")
    if c["design"] == "usual_care" and any(o.startswith("d_") for o in c["outputs"]):
        raise ValueError("outputs: d_* (change vs usual care) needs a design other than "
                         "usual_care")
    return c


def _save_grid(plt, fig, axes, used: int, title: str, path: Path, legend: bool = False):
    """Finish a grid of per-output panels: blank the unused ones, legend, title, save."""
    for ax in list(axes.flat)[used:]:
        ax.axis("off")
    if legend:
        axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plots(folder: Path, sobol, morris, tornado, outputs, design: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # before pyplot, so no display is needed
    import matplotlib.pyplot as plt

    k = len(outputs)
    cols = min(3, k)
    rows = (k + cols - 1) // cols
    # Sobol: first-order and total indices with 95% intervals, per output
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 0.32 * len(
        sobol["parameter"].unique()) * rows + 1.6 * rows), squeeze=False)
    for ax, o in zip(axes.flat, outputs, strict=False):
        s = sobol[sobol["output"] == o].sort_values("ST")
        y = np.arange(len(s))
        ax.barh(y + 0.2, s["ST"], 0.4, xerr=s["ST_conf"], color="#0072B2", label="total (ST)")
        ax.barh(y - 0.2, s["S1"], 0.4, xerr=s["S1_conf"], color="#E69F00",
                label="first order (S1)")
        ax.set_yticks(y, s["parameter"], fontsize=8)
        ax.set_xlim(left=min(0, float((s["S1"] - s["S1_conf"]).min())))
        ax.axvline(0, color="grey", lw=0.6)
        ax.set_title(LABELS.get(o, o), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    _save_grid(plt, fig, axes, k, f"Sobol indices, {design} (bars: share of output variance; "
               "lines: 95% bootstrap intervals)", folder / "sobol.png", legend=True)

    # Tornado: output at each factor's low / high, others nominal
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 0.32 * len(
        tornado["parameter"].unique()) * rows + 1.6 * rows), squeeze=False)
    for ax, o in zip(axes.flat, outputs, strict=False):
        t = tornado[tornado["output"] == o].sort_values("swing")
        y = np.arange(len(t))
        base = float(t["nominal_output"].iloc[0])
        ax.barh(y, t["change_low"], left=base, color="#56B4E9", label="factor at low")
        ax.barh(y, t["change_high"], left=base, color="#D55E00", alpha=0.8,
                label="factor at high")
        ax.axvline(base, color="black", lw=0.8)
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
        ax.tick_params(axis="x", labelsize=8)
        ax.set_yticks(y, t["parameter"], fontsize=8)
        ax.set_title(LABELS.get(o, o), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    _save_grid(plt, fig, axes, k, f"Tornado, {design}: one factor at a time from its nominal "
               "value (black line) to its low and high", folder / "tornado.png", legend=True)

    # Morris: mu* vs sigma
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    for ax, o in zip(axes.flat, outputs, strict=False):
        m = morris[morris["output"] == o]
        ax.scatter(m["mu_star"], m["sigma"], color="#009E73")
        for r in m.itertuples():
            ax.annotate(r.parameter, (r.mu_star, r.sigma), fontsize=7,
                        xytext=(3, 2), textcoords="offset points")
        ax.set_xlabel("mu* (mean |elementary effect|)", fontsize=8)
        ax.set_ylabel("sigma (interactions / non-linearity)", fontsize=8)
        ax.set_title(LABELS.get(o, o), fontsize=9)
        ax.grid(alpha=0.3)
    _save_grid(plt, fig, axes, k, f"Morris screening, {design}", folder / "morris.png")


def run_gsa(c: dict, configs: dict[str, dict]) -> dict:
    """Sobol, Morris, tornado and the noise check for the checked analysis config ``c``
    (:func:`check_settings`) over ``configs`` (validated model configs by design, usual care
    included): the tables, the samples and what the summary needs."""
    factors = parse_factors(c["factors"])
    check_factors(configs, factors)  # every factor's low and high build a valid model
    prob = problem(factors)
    names = [f.name for f in factors]
    outputs = list(c["outputs"])
    k = len(factors)
    n_sobol = c["sobol_n"] * (k + 2)
    n_morris = c["morris_trajectories"] * (k + 1)
    total = n_sobol + n_morris + 2 * k + 1 + c["noise_seeds"]
    log.info("GSA of %s: %d factors, %d points x %d designs (Sobol %d, Morris %d, tornado "
             "%d, noise %d), %d workers", c["design"], k, total, len(configs), n_sobol,
             n_morris, 2 * k + 1, c["noise_seeds"], c["n_jobs"])
    start = time.perf_counter()

    def run(x, what):
        return responses(evaluate(configs, factors, x, n_jobs=c["n_jobs"], desc=what),
                         c["design"])

    xs = gsa.sobol_design(prob, c["sobol_n"], seed=c["seed"])
    ys = run(xs, "Sobol")
    xm = gsa.morris_design(prob, c["morris_trajectories"], c["morris_levels"], seed=c["seed"])
    ym = run(xm, "Morris")
    xt = gsa.one_at_a_time([f.nominal for f in factors], [f.bounds() for f in factors])
    yt = run(xt, "tornado")
    noise = noise_runs(configs, factors, c["design"], c["noise_seeds"])

    sobol, morris, tornado, noise_tab = [], [], [], []
    for o in outputs:
        sobol.append(gsa.sobol_table(prob, ys[o].to_numpy(), seed=c["seed"]).assign(output=o))
        morris.append(gsa.morris_table(prob, xm, ym[o].to_numpy(), c["morris_levels"],
                                       seed=c["seed"]).assign(output=o))
        tornado.append(gsa.tornado_table(names, yt[o].to_numpy()).assign(output=o))
        var_total = float(np.var(ys[o], ddof=1))
        var_noise = float(np.var(noise[o], ddof=1))
        noise_tab.append({"output": o, "sd_over_factors": var_total ** 0.5,
                          "sd_noise_nominal": var_noise ** 0.5,
                          "noise_share_of_variance": var_noise / var_total if var_total else
                          float("nan")})
    sobol = pd.concat(sobol)[["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]]
    morris = pd.concat(morris)[["output", "parameter", "mu_star", "mu_star_conf", "sigma"]]
    tornado = pd.concat(tornado)
    tornado = tornado[["output", *[col for col in tornado.columns if col != "output"]]]
    noise_tab = pd.DataFrame(noise_tab)
    samples = pd.concat([
        pd.DataFrame(xs, columns=names).assign(plan="sobol").join(ys.reset_index(drop=True)),
        pd.DataFrame(xm, columns=names).assign(plan="morris").join(ym.reset_index(drop=True)),
        pd.DataFrame(xt, columns=names).assign(plan="tornado").join(yt.reset_index(drop=True)),
    ], ignore_index=True)
    elapsed = time.perf_counter() - start

    return {"configs": configs, "factors": factors, "sobol": sobol, "morris": morris,
            "tornado": tornado, "noise": noise_tab, "samples": samples, "total": total,
            "elapsed": elapsed}


def write_gsa(folder: Path, c: dict, r: dict) -> None:
    """The tables, figures and summary.md of :func:`run_gsa`'s result into ``folder``."""
    write_tables(folder, {k: r[k] for k in ("sobol", "morris", "tornado", "noise", "samples")})
    plots(folder, r["sobol"], r["morris"], r["tornado"], list(c["outputs"]), c["design"])
    (folder / "summary.md").write_text(summary_md(c, r["factors"], r["sobol"], r["morris"],
                                                  r["tornado"], r["noise"], r["samples"],
                                                  r["total"], r["elapsed"]))


def summary_md(c, factors, sobol, morris, tornado, noise_tab, samples, total,
               elapsed) -> str:
    lines = [f"# Global sensitivity analysis: {c['design']}", "",
             f"Model: {c['population']}, {c['n']:,} people x {c['replicates']} replicates "
             f"{' '.join(c['model_overrides'])}; sampling seed {c['seed']}. "
             f"{total} points, each run for {c['design']} and usual care with the same model "
             f"seed (common random numbers), replicates averaged; {elapsed:.0f} s.", "",
             "## Factors (uniform on [low, high])", "",
             "| factor | kind | low | nominal | high | note |", "|---|---|---|---|---|---|"]
    for f in factors:
        what = f.id if f.kind == "evidence" else ", ".join(f.paths)
        lines.append(f"| {f.name} | {f.kind}: {what} | {f.low:g} | {f.nominal:g} | "
                     f"{f.high:g} | {f.note} |")
    n_clamped = int((samples.get("clamped", pd.Series(dtype=str)).fillna("") != "").sum())
    lines += ["", f"{n_clamped} of {len(samples)} points had an evidence value that the "
              "point's baseline cannot reproduce (e.g. a risk ratio whose target exceeds 100% "
              "RTW once other factors change the baseline); it was clamped at the feasible "
              "boundary (`clamped` in samples.csv)."]
    lines += ["", "## Noise", "",
              "Share of each output's variance across the Sobol points that Monte Carlo noise "
              "alone could produce (variance over other model seeds at the nominal point / "
              "variance over the points). Small shares mean the indices describe the "
              "factors; for outputs where it is large, raise `model` population.n or "
              "replicates.", "", md(noise_tab.round(4)), ""]
    for o in c["outputs"]:
        s = sobol[sobol["output"] == o].sort_values("ST", ascending=False)
        top = s.iloc[0]
        share = noise_tab.loc[noise_tab["output"] == o, "noise_share_of_variance"]
        warn = noise_warning(float(share.iloc[0]) if len(share) else float("nan"))
        lines += [f"## {LABELS.get(o, o)}", "", *([f"**{warn}.**", ""] if warn else []),
                  f"Largest total index: **{top['parameter']}** (ST {top['ST']:.2f}, 95% "
                  f"{top['ST'] - top['ST_conf']:.2f} to {top['ST'] + top['ST_conf']:.2f}); "
                  f"sum of first-order indices {s['S1'].sum():.2f} (1 = additive).", "",
                  md(s.drop(columns="output").round(3)), "",
                  "Morris:", "",
                  md(morris[morris["output"] == o].drop(columns="output")
                     .sort_values("mu_star", ascending=False).round(4)),
                  "",
                  "Tornado (one at a time):", "",
                  md(tornado[tornado["output"] == o][["parameter", "at_low", "at_high",
                                                       "swing"]].round(4)), ""]
    lines += ["![Sobol](sobol.png)", "", "![Tornado](tornado.png)", "",
              "![Morris](morris.png)", ""]
    return "\n".join(lines)


