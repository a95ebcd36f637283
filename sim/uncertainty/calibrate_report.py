"""What ``experiments/calibrate.py`` writes: tables, the figure, summary.md and the console
table (the run itself is :mod:`sim.uncertainty.calibrate_analysis`)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim.evidence.registry import to_markdown
from sim.io import write_atomic, write_tables
from sim.results.figures import pyplot, save

log = logging.getLogger(__name__)

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



def md(df) -> str:
    return to_markdown(df, ".4g") + "\n"


def write_calibration(folder: Path, c: dict, r: dict, target_path: Path) -> None:
    """The run's tables, figure, summary.md and calibrated.yaml into ``folder``, then the
    calibrated config to ``target_path`` (atomically)."""
    write_tables(folder, {"parameters": r["params"], "trace": r["fit"].trace,
                          "targets": r["table"]})
    plot(folder, r["table"], r["fit"].trace)
    (folder / "summary.md").write_text("\n".join(summary_lines(c, r)))
    (folder / "calibrated.yaml").write_text(r["text"])
    write_atomic(target_path, r["text"])


def console_lines(r: dict) -> list[str]:
    """The targets table and the multipliers, for the log at the end of a run."""
    res, (j_val_b, j_val_c) = r["fit"], r["j_val"]
    out = ["", "| target | fitted | UK | baseline | calibrated | z base | z cal |",
           "|---|---|---|---|---|---|---|"]
    out += [f"| {t.target} | {'yes' if t.fitted else 'no'} | {t.uk_value:.4g} | "
            f"{t.baseline_mean:.4g} | {t.calibrated_mean:.4g} | {t.z_baseline:+.2f} | "
            f"{t.z_calibrated:+.2f} |" for t in r["table"].itertuples()]
    return [*out, "", f"J fit run {res.start_objective:.3f} -> {res.objective:.3f}; held-out "
            f"{j_val_b:.3f} -> {j_val_c:.3f}",
            "multipliers: " + ", ".join(f"{n}={v:.4f}" for n, v in
                                         zip(res.names, res.x, strict=True))]


def plot(folder: Path, table, trace) -> None:
    plt = pyplot()
    import matplotlib.ticker  # loaded with pyplot; named here for its locators

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
    save(fig, folder / "calibration.png", dpi=130)


def summary_lines(c: dict, r: dict) -> list[str]:
    """summary.md: objective, optimiser, fitted multipliers, targets, what still misses."""
    res, table, params, cal, weights = r["fit"], r["table"], r["params"], r["cal"], r["weights"]
    fitted_targets, when, t_start = r["fitted_targets"], r["when"], r["t_start"]
    (j_val_b, j_val_c), fb, vb = r["j_val"], c["fit"], c["validation"]
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
    for m in misses.itertuples():
        why = ""
        if m.target == "days_lost_per_worker_year" and rate is not None:
            why = (f" Not fitted: 219 x the calibrated absence rate = {rate * 219:.2f} days.")
        lines.append(f"- {m.target}: {m.calibrated_mean:.4g} vs {m.uk_value:.4g} "
                     f"(z {m.z_calibrated:+.2f}; source {m.source_strength}).{why}")
    at_bound = params.loc[params["at_bound"], "factor"].unique()
    if len(at_bound):
        lines += ["", f"At a bound: {', '.join(at_bound)} (the fit wanted to go further; "
                  "the bounds are assumptions in the config)."]
    lines += ["", "The targets constrain these multipliers only partly: different "
              "combinations give nearly the same J (see the near-best ranges), so the "
              "fitted values are one good point, not unique estimates.", ""]
    return lines
