"""The decision report: compare programme designs with usual care, for commissioners.

Input: the ``results/`` directories of runs ("cells") of one or more designs, at least one
of them ``usual_care``, on the same population, seed, replicates and horizon, so replicate
r of each design holds the same people with the same luck (common random numbers). Only
cell-level tables are read (``group_summary``, ``economics``, ``rtw_curves``, manifest), so
the report also works for sweeps that did not keep per-person tables.

    python -m sim.report outputs/compare/<time>/cells [more dirs ...] [--out DIR]

What it computes, per design and replicate, then as paired differences with usual care
(mean over replicates and a paired t interval, :func:`sim.metrics.paired_difference`):

* RTW within 52 weeks, days absent, job loss;
* the deprivation gap: IMD quintile 1 minus quintile 5 (absolute, percentage points, and
  relative, ratio), and the slope index of inequality across the five quintiles
  (Fingertips convention, :func:`sim.metrics.slope_index`; SII > 0 means the least deprived
  do better);
* the ethnic gap: the population-weighted mean of each minority group's shortfall in RTW
  against White British;
* costs per person by perspective (discounted), programme cost per extra person back at
  work, net monetary benefit per person at the configured willingness to pay.

"How sure": replicate intervals reflect simulation noise only (the evidence is held at its
point values); the probabilistic sensitivity analysis varies the evidence.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.categories import ETHNICITIES, ETHNICITY_LABELS
from sim.metrics import paired_difference, slope_index

REFERENCE = "usual_care"
SMALL_CELL = 10  # groups with fewer people than this are suppressed in tables
# Okabe-Ito: a colour-blind-safe qualitative palette
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
PERSPECTIVES = (("cost_programme", "Programme (NHS / commissioner)"),
                ("cost_employer", "Employer (sick pay, net productivity loss, recruitment)"),
                ("cost_exchequer", "Exchequer (benefits, lost tax)"),
                ("cost_individual", "Individual (lost income)"))
SECTIONS = ("Answers", "League table", "How sure, given the evidence",
            "Cost-effectiveness (NICE reference case)",
            "Distributional cost-effectiveness (DCEA)",
            "Return to work by group", "Inequality gaps",
            "Equity-efficiency impact plane", "Costs by perspective", "Groups",
            "Evidence", "Assumptions", "Runs and configuration", "How to read this report")


class ReportError(ValueError):
    """A problem with the report's inputs (one line)."""


@dataclass
class Cell:
    """One run of one design: its manifest and cell-level tables."""

    path: Path
    manifest: dict
    summary: pd.DataFrame
    economics: pd.DataFrame
    rtw_curves: pd.DataFrame

    @property
    def config(self) -> dict:
        return self.manifest["config"]

    @property
    def design(self) -> str:
        return self.config["programme"]["name"]

    @property
    def label(self) -> str:
        return self.config["programme"].get("description", self.design).split(":")[0]

    def pairing_key(self) -> str:
        """Everything but the programme (and output settings) must match to pair cells."""
        cfg = {k: v for k, v in self.config.items()
               if k not in ("programme", "output", "evidence_values")}
        return json.dumps(cfg, sort_keys=True, default=str)


@dataclass
class Comparison:
    """Tidy tables of a comparison (see :func:`compare_cells`)."""

    per_replicate: pd.DataFrame  # design, replicate, measure, value
    league: pd.DataFrame  # design x measure: estimate, low, high (paired vs usual care)
    groups: pd.DataFrame  # design, dimension, group, n, rtw_52w, days_absent (means)
    curves: pd.DataFrame  # design, dimension, group, week, share
    costs: pd.DataFrame  # design, perspective, delta per person: estimate, low, high
    cells: list = field(default_factory=list)


# ---- loading ------------------------------------------------------------------------


def _results_dirs(path: Path) -> list[Path]:
    path = Path(path)
    if (path / "manifest.json").is_file():
        return [path]
    if (path / "results" / "manifest.json").is_file():
        return [path / "results"]
    found = sorted(p.parent for p in path.glob("**/results/manifest.json")
                   if not any(part.startswith(".") for part in p.parts[len(path.parts):]))
    if not found:
        raise ReportError(f"{path}: no complete results (no results/manifest.json below it)")
    return found


def load_cells(paths) -> list[Cell]:
    """The complete cells found at or below ``paths`` (results dirs, run dirs or sweeps)."""
    cells = []
    for given in paths:
        for d in _results_dirs(Path(given)):
            manifest = json.loads((d / "manifest.json").read_text())
            missing = [f for f in ("group_summary.parquet", "economics.parquet",
                                   "rtw_curves.parquet") if not (d / f).is_file()]
            if missing:
                raise ReportError(f"{d}: incomplete results, missing {', '.join(missing)}")
            cells.append(Cell(d, manifest, pd.read_parquet(d / "group_summary.parquet"),
                              pd.read_parquet(d / "economics.parquet"),
                              pd.read_parquet(d / "rtw_curves.parquet")))
    if not cells:
        raise ReportError("no results given")
    return cells


# ---- per-replicate measures -----------------------------------------------------------


def _metric(summary, dimension, metric):
    sub = summary[(summary["dimension"] == dimension) & (summary["metric"] == metric)]
    return sub.pivot_table(index="replicate", columns="group", values="value", aggfunc="sum"), \
        sub.pivot_table(index="replicate", columns="group", values="n", aggfunc="sum")


def replicate_measures(cell: Cell) -> pd.DataFrame:
    """Per replicate: the outcome, gap and cost measures of one cell (wide)."""
    s, e = cell.summary, cell.economics
    overall, _ = _metric(s, "all", "rtw_52w")
    out = pd.DataFrame(index=overall.index)
    out["rtw_52w"] = overall["all"]
    for m in ("days_absent", "job_loss", "programme_cost"):
        v, _ = _metric(s, "all", m)
        out[m] = v["all"] if "all" in v else 0.0
    imd, imd_n = _metric(s, "imd_quintile", "rtw_52w")
    cols = [str(q) for q in range(1, 6)]
    out["imd_gap_abs"] = imd["5"] - imd["1"]  # least minus most deprived
    out["imd_gap_rel"] = imd["5"] / imd["1"]
    out["sii"] = [slope_index(imd.loc[r, cols].to_numpy(), imd_n.loc[r, cols].to_numpy(),
                              ci="none").sii for r in imd.index]
    eth, eth_n = _metric(s, "ethnicity", "rtw_52w")
    minorities = [g for g in ETHNICITIES[1:] if g in eth]
    short = (eth[ETHNICITIES[0]].to_numpy()[:, None] - eth[minorities].to_numpy())
    weights = eth_n[minorities].to_numpy()
    out["ethnic_gap"] = (short * weights).sum(axis=1) / weights.sum(axis=1)
    ea = e[e["dimension"] == "all"].set_index("replicate")
    for col, _ in PERSPECTIVES:
        out[col + "_disc"] = ea[col]
    out["weeks_in_work_disc"] = ea["weeks_in_work_disc"]
    out["returned_52w"] = ea["returned"]
    out["people"] = ea["n"]
    return out


def compare_cells(cells: list[Cell]) -> Comparison:
    """Pair each design's cell with usual care on the same population and compare them."""
    by_key: dict[str, dict[str, Cell]] = {}
    for c in cells:
        by_key.setdefault(c.pairing_key(), {})[c.design] = c
    groups = [g for g in by_key.values() if REFERENCE in g]
    if not groups:
        raise ReportError("no usual_care run to compare with: include programme=usual_care "
                          "with the same population, seed, replicates and horizon")
    group = max(groups, key=len)  # the largest set of comparable designs
    ref = group[REFERENCE]
    wtp = ref.config["economics"]["willingness_to_pay_per_week_in_work"]
    measures = {d: replicate_measures(c) for d, c in group.items()}
    base = measures[REFERENCE]
    rows, league = [], []
    for design, m in measures.items():
        m = m.loc[base.index]
        for col in m.columns:
            rows += [{"design": design, "replicate": r, "measure": col, "value": v}
                     for r, v in m[col].items()]
        delta = {
            "rtw_52w": m["rtw_52w"],
            "extra_rtw_per_1000": 1000 * m["rtw_52w"],
            "days_absent": m["days_absent"],
            "job_loss": m["job_loss"],
            "imd_gap_abs": m["imd_gap_abs"],
            "imd_gap_rel": m["imd_gap_rel"],
            "sii": m["sii"],
            "ethnic_gap": m["ethnic_gap"],
            "programme_cost": m["cost_programme_disc"],
        }
        for name, values in delta.items():
            b = base[name] if name in base else 1000 * base["rtw_52w"]
            if name == "programme_cost":
                b = base["cost_programme_disc"]
            res = paired_difference(values.to_numpy(), b.to_numpy())
            league.append({"design": design, "measure": name, "level": float(values.mean()),
                           "estimate": res.estimate, "low": res.low, "high": res.high,
                           "n_replicates": res.n})
        extra = m["returned_52w"] - base["returned_52w"]
        d_cost = (m["cost_programme_disc"] - base["cost_programme_disc"]) * m["people"]
        cper = np.where(extra > 0, d_cost / extra.where(extra > 0, 1), np.nan)
        nmb = wtp * (m["weeks_in_work_disc"] - base["weeks_in_work_disc"]) - (
            m["cost_programme_disc"] - base["cost_programme_disc"])
        for name, values in (("cost_per_extra_rtw", pd.Series(cper)), ("nmb_per_person", nmb)):
            v = values.to_numpy(dtype=float)
            ok = np.isfinite(v)
            res = paired_difference(v[ok], np.zeros(ok.sum())) if ok.sum() else None
            league.append({"design": design, "measure": name,
                           "level": float(np.nanmean(v)) if ok.any() else np.nan,
                           "estimate": res.estimate if res else np.nan,
                           "low": res.low if res else np.nan, "high": res.high if res else np.nan,
                           "n_replicates": int(ok.sum())})
        # how sure: share of replicates in which the design beats usual care
        league.append({"design": design, "measure": "p_better_rtw",
                       "level": float((m["rtw_52w"] > base["rtw_52w"]).mean()),
                       "estimate": np.nan, "low": np.nan, "high": np.nan,
                       "n_replicates": len(m)})
        league.append({"design": design, "measure": "p_narrows_sii",
                       "level": float((m["sii"] < base["sii"]).mean()),
                       "estimate": np.nan, "low": np.nan, "high": np.nan,
                       "n_replicates": len(m)})
    per_rep = pd.DataFrame(rows)
    league = pd.DataFrame(league)
    # probability best (highest RTW, and highest NMB) across replicates
    wide = per_rep[per_rep["measure"] == "rtw_52w"].pivot(index="replicate", columns="design",
                                                         values="value")
    best = wide.idxmax(axis=1).value_counts(normalize=True)
    league = pd.concat([league, pd.DataFrame(
        [{"design": d, "measure": "p_best_rtw", "level": float(best.get(d, 0.0)),
          "estimate": np.nan, "low": np.nan, "high": np.nan, "n_replicates": len(wide)}
         for d in measures])], ignore_index=True)
    return Comparison(per_rep, league, _group_table(group), _curves(group),
                      _cost_table(measures, base), list(group.values()))


def _group_table(group: dict[str, Cell]) -> pd.DataFrame:
    frames = []
    for design, c in group.items():
        s = c.summary[c.summary["dimension"].isin(["imd_quintile", "ethnicity", "condition"])
                      & c.summary["metric"].isin(["rtw_52w", "days_absent"])]
        g = (s.groupby(["dimension", "group", "metric"], sort=False)
             .agg(value=("value", "mean"), n=("n", "sum")).reset_index())
        wide = g.pivot_table(index=["dimension", "group"], columns="metric",
                             values="value").reset_index().rename_axis(columns=None)
        n = g[g["metric"] == "days_absent"].set_index(["dimension", "group"])["n"]
        wide["n"] = [int(n.get((d, gr), 0)) for d, gr in zip(wide["dimension"], wide["group"],
                                                             strict=True)]
        wide.insert(0, "design", design)
        frames.append(wide)
    return pd.concat(frames, ignore_index=True)


def _curves(group: dict[str, Cell]) -> pd.DataFrame:
    frames = []
    for design, c in group.items():
        r = c.rtw_curves.groupby(["dimension", "group", "week"], sort=False)[
            ["returned", "n"]].sum().reset_index()
        r["share"] = r["returned"] / r["n"]
        r.insert(0, "design", design)
        frames.append(r)
    return pd.concat(frames, ignore_index=True)


def _cost_table(measures: dict, base: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for design, m in measures.items():
        m = m.loc[base.index]
        for col, label in PERSPECTIVES:
            res = paired_difference(m[col + "_disc"].to_numpy(), base[col + "_disc"].to_numpy())
            rows.append({"design": design, "perspective": label, "level": m[col + "_disc"].mean(),
                         "estimate": res.estimate, "low": res.low, "high": res.high})
    return pd.DataFrame(rows)


# ---- figures --------------------------------------------------------------------------


def _fig_to_uri(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _names(comp: Comparison) -> dict:
    acronyms = {"mdt": "MDT", "cbt": "CBT", "bps": "BPS", "ips": "IPS", "smi": "SMI",
                "vsw": "VSW", "rtw": "RTW"}
    return {c.design: " ".join(acronyms.get(w, w) for w in c.design.split("_"))
            for c in comp.cells}


def _league_value(comp, design, measure, what="estimate"):
    row = comp.league[(comp.league["design"] == design) & (comp.league["measure"] == measure)]
    return float(row[what].iloc[0]) if len(row) else np.nan


def figures(comp: Comparison) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = _names(comp)
    designs = [d for d in names if d != REFERENCE]
    designs.sort(key=lambda d: _league_value(comp, d, "extra_rtw_per_1000"))
    out = {}

    # 1. league: extra returns per 1,000 and change in SII, with intervals
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(designs) + 1.6), sharey=True)
    for ax, measure, scale, title in (
        (axes[0], "extra_rtw_per_1000", 1, "Extra people back at work within 52 weeks\n"
                                           "per 1,000 people (vs usual care)"),
        (axes[1], "sii", 100, "Change in deprivation gradient (SII, percentage points)\n"
                              "negative = gap narrows"),
    ):
        est = [scale * _league_value(comp, d, measure) for d in designs]
        lo = [scale * _league_value(comp, d, measure, "low") for d in designs]
        hi = [scale * _league_value(comp, d, measure, "high") for d in designs]
        y = np.arange(len(designs))
        err = np.array([np.subtract(est, lo), np.subtract(hi, est)])
        ax.errorbar(est, y, xerr=np.nan_to_num(err), fmt="o", color=PALETTE[0], capsize=3)
        ax.axvline(0, color="grey", lw=1)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(np.arange(len(designs)), [names[d] for d in designs])
    axes[0].set_xlabel("people per 1,000 (95% interval over replicates)")
    axes[1].set_xlabel("percentage points (95% interval over replicates)")
    out["league"] = _fig_to_uri(fig)

    # 2. RTW curves by IMD quintile and by ethnic group: usual care vs the design with
    # most extra returns (rows: grouping; columns: design)
    best = designs[-1] if designs else REFERENCE
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharey=True)
    eth_labels = dict(ETHNICITY_LABELS)
    groupings = (("imd_quintile", ["1", "2", "3", "4", "5"],
                  lambda q: {"1": "Q1 most deprived", "5": "Q5 least deprived"}.get(q, f"Q{q}")),
                 ("ethnicity", list(ETHNICITIES), lambda e: eth_labels.get(e, e)))
    for row, (dim, groups, label_of) in enumerate(groupings):
        for col, design in enumerate((REFERENCE, best)):
            ax = axes[row, col]
            cur = comp.curves[(comp.curves["design"] == design)
                              & (comp.curves["dimension"] == dim)]
            for k, g in enumerate(groups):
                c = cur[cur["group"] == g]
                if c.empty or c["n"].iloc[0] < SMALL_CELL:
                    continue  # small groups are not drawn
                ax.step(c["week"], 100 * c["share"], where="post",
                        color=PALETTE[k % len(PALETTE)], label=label_of(g))
            ax.set_title(f"{names[design]}: by {'IMD quintile' if row == 0 else 'ethnic group'}")
            ax.set_xlabel("weeks since the absence began")
            ax.grid(alpha=0.3)
        axes[row, 0].set_ylabel("back at work (%)")
        axes[row, 1].legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    out["curves"] = _fig_to_uri(fig)

    # 3. gaps per design: absolute and relative IMD gap, ethnic gap
    order = [REFERENCE] + designs[::-1]
    fig, axes = plt.subplots(1, 3, figsize=(13, 0.4 * len(order) + 1.8), sharey=True)
    for ax, measure, scale, xlabel in (
        (axes[0], "imd_gap_abs", 100, "Q5 minus Q1 RTW at 52 weeks (percentage points)"),
        (axes[1], "imd_gap_rel", 1, "relative gap: Q5 RTW at 52 weeks is this\n"
                                    "% higher than Q1 (ratio - 1, x 100)"),
        (axes[2], "ethnic_gap", 100, "White British minus minority groups\n"
                                     "(weighted mean, percentage points)"),
    ):
        vals = [scale * _league_value(comp, d, measure, "level") for d in order]
        if measure == "imd_gap_rel":  # bars from zero: no truncated axis
            vals = [100 * (v - 1) for v in vals]
        ax.barh(np.arange(len(order)), vals,
                color=[PALETTE[1] if d == REFERENCE else PALETTE[0] for d in order])
        ax.set_xlabel(xlabel, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(np.arange(len(order)), [names[d] for d in order])
    axes[0].invert_yaxis()
    fig.suptitle("Inequality gaps in return to work within 52 weeks (orange: usual care)",
                 fontsize=11)
    out["gaps"] = _fig_to_uri(fig)

    # 4. equity-efficiency impact plane
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    for k, d in enumerate(designs):
        x = 100 * _league_value(comp, d, "rtw_52w")
        y = -100 * _league_value(comp, d, "sii")
        xe = 100 * np.array([[x / 100 - _league_value(comp, d, "rtw_52w", "low")],
                             [_league_value(comp, d, "rtw_52w", "high") - x / 100]])
        ye = 100 * np.array([[_league_value(comp, d, "sii", "high") + y / 100],
                             [-y / 100 - _league_value(comp, d, "sii", "low")]])
        ax.errorbar(x, y, xerr=np.nan_to_num(np.abs(xe)), yerr=np.nan_to_num(np.abs(ye)),
                    fmt="o", color=PALETTE[k % len(PALETTE)], capsize=3, label=names[d])
    ax.axhline(0, color="grey", lw=1)
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel("change in RTW within 52 weeks vs usual care (percentage points)")
    ax.set_ylabel("reduction in deprivation gradient (SII, percentage points)")
    ax.set_title("Equity-efficiency impact plane\n(top right: more returns and a smaller gap)",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    out["plane"] = _fig_to_uri(fig)

    # 5. costs by perspective (change per person vs usual care)
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(designs) + 1.8))
    width = 0.8 / len(PERSPECTIVES)
    for k, (_, label) in enumerate(PERSPECTIVES):
        sub = comp.costs[comp.costs["perspective"] == label].set_index("design")
        ax.barh(np.arange(len(designs)) + (k - 1.5) * width,
                [sub.loc[d, "estimate"] for d in designs], height=width,
                color=PALETTE[k], label=label)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(np.arange(len(designs)), [names[d] for d in designs])
    ax.set_xlabel("change in discounted cost per person vs usual care (GBP; negative = saving)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="x", alpha=0.3)
    out["costs"] = _fig_to_uri(fig)
    return out


# ---- HTML ---------------------------------------------------------------------------


def _num(x, fmt):
    """Format, writing a value that rounds to zero as plain 0 (no "-0.0" / "+0.0")."""
    text = fmt.format(x)
    if text.lstrip("+-").replace("0", "").replace(".", "").replace(",", "") == "":
        return text.lstrip("+-")
    return text


def _ci(est, lo, hi, fmt="{:+.1f}"):
    if not np.isfinite(est):
        return "-"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return _num(est, fmt)
    return f"{_num(est, fmt)} ({_num(lo, fmt)} to {_num(hi, fmt)})"


def _sure(lo, hi) -> str:
    """Plain words on whether an interval excludes zero."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return " (one replicate: no interval)"
    if lo <= 0 <= hi:
        return " - the interval includes zero, so this is not distinguishable from no change"
    return ""


def _answers(comp: Comparison) -> list[str]:
    names = _names(comp)
    designs = [d for d in names if d != REFERENCE]
    if not designs:
        return ["Only usual care was run: add designs to compare."]
    val = lambda d, m, w="estimate": _league_value(comp, d, m, w)  # noqa: E731
    best = max(designs, key=lambda d: val(d, "extra_rtw_per_1000"))
    fairest = min(designs, key=lambda d: val(d, "sii"))
    eth = min(designs, key=lambda d: val(d, "ethnic_gap"))
    ref = comp.cells[0].manifest
    reps = int(comp.league["n_replicates"].max())
    lines = []

    def cost_text(d):
        c = val(d, "cost_per_extra_rtw", "level")
        cost = val(d, "programme_cost")
        per = f" (about GBP {c:,.0f} per extra person back at work)" if np.isfinite(c) else ""
        return f"GBP {cost:,.0f} per person in the population{per}"

    lines.append(
        f"<b>Most people back at work:</b> {names[best]} returns "
        f"{_ci(val(best, 'extra_rtw_per_1000'), val(best, 'extra_rtw_per_1000', 'low'), val(best, 'extra_rtw_per_1000', 'high'))} "  # noqa: E501
        f"more people per 1,000 to work within 52 weeks than usual care, and changes days "
        f"absent per person by {_ci(val(best, 'days_absent'), val(best, 'days_absent', 'low'), val(best, 'days_absent', 'high'))}; "  # noqa: E501
        f"it costs {cost_text(best)}.")
    sii = val(fairest, "sii")
    verb = "narrows" if sii < 0 else "does not narrow"
    lines.append(
        f"<b>Deprivation gap:</b> {names[fairest]} {verb} it most: the slope index of "
        f"inequality in RTW changes by "
        f"{_ci(100 * sii, 100 * val(fairest, 'sii', 'low'), 100 * val(fairest, 'sii', 'high'))}"
        f" percentage points (gap between most and least deprived ends, usual care "
        f"{100 * val(REFERENCE, 'sii', 'level'):.1f} points)"
        f"{_sure(val(fairest, 'sii', 'low'), val(fairest, 'sii', 'high'))}; it costs "
        f"{cost_text(fairest)}.")
    eg = val(eth, "ethnic_gap")
    lines.append(
        f"<b>Ethnic gap:</b> {names[eth]} changes the average RTW shortfall of minority "
        f"ethnic groups against White British most, by "
        f"{_ci(100 * eg, 100 * val(eth, 'ethnic_gap', 'low'), 100 * val(eth, 'ethnic_gap', 'high'))}"  # noqa: E501
        f" percentage points (usual care {100 * val(REFERENCE, 'ethnic_gap', 'level'):.1f})"
        f"{_sure(val(eth, 'ethnic_gap', 'low'), val(eth, 'ethnic_gap', 'high'))}.")
    lines.append(
        f"<b>How sure:</b> {names[best]} had the highest RTW rate in "
        f"{100 * val(best, 'p_best_rtw', 'level'):.0f}% of {reps} paired replicates and beat usual "
        f"care in {100 * val(best, 'p_better_rtw', 'level'):.0f}%; {names[fairest]} narrowed the "
        f"deprivation gradient in {100 * val(fairest, 'p_narrows_sii', 'level'):.0f}%. Intervals "
        "are 95% paired intervals over replicates: they show simulation noise only, with the "
        "evidence held at its published values. How much the ranking depends on the evidence "
        "is for the probabilistic sensitivity analysis; most effects outside the six in-silico "
        "trials are assumptions (see Assumptions).")
    lines.append(f"Population: {ref['population']}, {ref['n_agents']:,} people per design "
                 f"({ref['replicates']} replicates), {ref['horizon_weeks']} weeks, seed "
                 f"{ref['seed']}.")
    return lines


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, border=0, classes="t", na_rep="-")


def _league_html(comp: Comparison) -> str:
    names = _names(comp)
    rows = []
    order = sorted(names, key=lambda d: -_league_value(comp, d, "extra_rtw_per_1000"))
    for d in order:
        v = lambda m, w="estimate", d=d: _league_value(comp, d, m, w)  # noqa: E731
        rows.append({
            "design": names[d],
            "RTW 52 w (%)": f"{100 * v('rtw_52w', 'level'):.1f}",
            "extra RTW per 1,000": _ci(v("extra_rtw_per_1000"), v("extra_rtw_per_1000", "low"),
                                       v("extra_rtw_per_1000", "high")),
            "days absent (change)": _ci(v("days_absent"), v("days_absent", "low"),
                                        v("days_absent", "high")),
            "SII change (pp)": _ci(100 * v("sii"), 100 * v("sii", "low"),
                                   100 * v("sii", "high"), "{:+.2f}"),
            "ethnic gap change (pp)": _ci(100 * v("ethnic_gap"), 100 * v("ethnic_gap", "low"),
                                          100 * v("ethnic_gap", "high"), "{:+.2f}"),
            "programme cost / person (GBP)": f"{v('programme_cost', 'level'):,.0f}",
            "cost per extra RTW (GBP)": ("-" if not np.isfinite(v("cost_per_extra_rtw", "level"))
                                         else f"{v('cost_per_extra_rtw', 'level'):,.0f}"),
            "NMB / person (GBP)": _ci(v("nmb_per_person"), v("nmb_per_person", "low"),
                                      v("nmb_per_person", "high"), "{:+,.0f}"),
            "P(best RTW)": f"{v('p_best_rtw', 'level'):.0%}",
        })
    return _table(pd.DataFrame(rows))


def _groups_html(comp: Comparison) -> str:
    g = comp.groups.copy()
    labels = dict(ETHNICITY_LABELS)
    g["group"] = [labels.get(x, x) if dim == "ethnicity" else x
                  for dim, x in zip(g["dimension"], g["group"], strict=True)]
    small = g["n"] < SMALL_CELL
    g["RTW 52 w (%)"] = np.where(small, "suppressed (<10)",
                                 (100 * g["rtw_52w"]).round(1).astype(str))
    g["days absent"] = np.where(small, "suppressed (<10)", g["days_absent"].round(1).astype(str))
    g["n"] = np.where(small, f"<{SMALL_CELL}", g["n"].map("{:,}".format))
    keep = g["design"].isin([REFERENCE, *sorted(set(g["design"]) - {REFERENCE})[:3]])
    return _table(g.loc[keep, ["design", "dimension", "group", "n", "RTW 52 w (%)",
                               "days absent"]])


def _evidence_html(comp: Comparison) -> tuple[str, str]:
    from sim.evidence import evidence_table, load_registry

    registry = load_registry()
    try:
        from sim.effects import evidence_ids

        ids = set()
        for c in comp.cells:
            ids |= set(evidence_ids(c.config))
        table = evidence_table(registry, ids=sorted(ids)) if ids else evidence_table(registry)
    except ImportError:
        table = evidence_table(registry)
    assumptions = []
    for c in comp.cells:
        cfg = c.config
        blocks = [("population", cfg["population"]), ("pathways", cfg["pathways"]),
                  ("economics", cfg["economics"])]
        for key, comp_cfg in (cfg["programme"].get("components") or {}).items():
            blocks.append((f"programme.components.{key}", comp_cfg))
            blocks.append((f"programme.components.{key}.access", comp_cfg.get("access", {})))
        for where, block in blocks:
            for param, text in (block.get("sources") or {}).items():
                if isinstance(text, str) and text.strip().lower().startswith("assumption"):
                    assumptions.append({"where": where, "parameter": param, "reasoning": text})
    for e in registry.values():
        if e.assumption:
            assumptions.append({"where": f"evidence registry ({e.file})", "parameter": e.id,
                                "reasoning": e.reason or ""})
    a = pd.DataFrame(assumptions).drop_duplicates() if assumptions else pd.DataFrame()
    return _table(table), _table(a) if not a.empty else "<p>None.</p>"


PSA_FILES = ("summary.csv", "voi.csv", "ceac.csv")


def load_psa(folder) -> dict:
    """A PSA run's tables (``experiments/psa.py`` output) for the report; ReportError if
    the folder is not one."""
    folder = Path(folder)
    missing = [f for f in PSA_FILES if not (folder / f).is_file()]
    if missing:
        raise ReportError(f"--psa {folder}: no {missing[0]} (expected the folder of a "
                          "finished `make psa` run)")
    out = {name.split(".")[0]: pd.read_csv(folder / name) for name in PSA_FILES}
    clamped = folder / "clamped_draws.csv"
    out["clamped"] = pd.read_csv(clamped) if clamped.is_file() else pd.DataFrame()
    draws = folder / "draws.csv"
    out["n_draws"] = len(pd.read_csv(draws)) if draws.is_file() else None
    out["path"] = folder
    return out


def _psa_ceac_uri(psa: dict, names: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4))
    for d, g in psa["ceac"].groupby("design", sort=False):
        ax.plot(g["wtp"], g["probability"], label=names.get(d, d))
    ax.set_xlabel("willingness to pay per discounted week in work (GBP)")
    ax.set_ylabel("P(highest net benefit)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _fig_to_uri(fig)


def _psa_html(psa: dict | None, names: dict) -> str:
    if psa is None:
        return ("<p>No probabilistic sensitivity analysis attached. The intervals above are "
                "over replicates (simulation noise) with the evidence fixed at its central "
                "values. To see how sure the ranking is given the uncertainty of the evidence, "
                "run <code>make psa</code> and rebuild with <code>--psa "
                "outputs/psa/&lt;run&gt;</code>.</p>")
    s = psa["summary"]
    pct = "{:.0%}".format
    rows = []
    for r in s.itertuples():
        rows.append({
            "design": names.get(r.design, r.design),
            "RTW change vs usual care, pp (95% over draws)": _ci(
                100 * r.rtw_52w_vs_uc, 100 * r.rtw_52w_vs_uc_low, 100 * r.rtw_52w_vs_uc_high,
                "{:+.2f}"),
            "net benefit change, GBP (95%)": _ci(r.net_benefit_vs_uc, r.net_benefit_vs_uc_low,
                                                 r.net_benefit_vs_uc_high, "{:+,.0f}"),
            "P(best net benefit)": pct(r.p_best_net_benefit),
            "P(most RTW)": pct(r.p_best_rtw),
            "P(narrows IMD gradient)": pct(r.p_narrows_imd_gradient)})
    voi = psa["voi"].sort_values("value_per_person", ascending=False)
    evpi = voi[voi["parameters"] == "all (EVPI)"]["value_per_person"]
    top = voi[voi["parameters"] != "all (EVPI)"].head(5)
    n = psa["n_draws"]
    clamped = psa["clamped"]["draw"].nunique() if len(psa["clamped"]) else 0
    return (f"<p>Probabilistic sensitivity analysis from <code>{html.escape(str(psa['path']))}"
            f"</code>: {n} draws of every evidence entry from its distribution (entries from "
            "one source correlated), each run for every design with common random numbers. "
            "Intervals here are over the evidence, not over replicates."
            + (f" {clamped} draws had a value the model's baseline cannot reproduce and were "
               "clamped at the feasible boundary." if clamped else "") + "</p>"
            + _table(pd.DataFrame(rows))
            + f'<img src="{_psa_ceac_uri(psa, names)}" alt="acceptability curves">'
            + "<p>Value of information (GBP per person in the modelled population): the "
            "expected gain from deciding with perfect knowledge of all evidence (EVPI) "
            + (f"is <b>{float(evpi.iloc[0]):,.0f}</b>" if len(evpi) else "is not available")
            + "; per entry (EVPPI), the evidence gaps most worth closing:</p>"
            + _table(top.rename(columns={"parameters": "evidence entry",
                                         "value_per_person": "EVPPI (GBP per person)"})
                     .round(1)))


def _psa_answer(psa: dict | None, names: dict) -> str | None:
    if psa is None:
        return None
    s = psa["summary"].sort_values("p_best_net_benefit", ascending=False).iloc[0]
    voi = psa["voi"][psa["voi"]["parameters"] != "all (EVPI)"].sort_values(
        "value_per_person", ascending=False)
    gap = (f"; the evidence gap most worth closing is <i>{html.escape(voi.iloc[0]['parameters'])}"
           f"</i> (EVPPI GBP {voi.iloc[0]['value_per_person']:,.0f} per person)"
           if len(voi) else "")
    return (f"<b>How sure, given the evidence:</b> {names.get(s.design, s.design)} has the "
            f"highest net benefit in {s.p_best_net_benefit:.0%} of {psa['n_draws']} evidence "
            f"draws{gap}.")


def render_html(comp: Comparison, figs: dict[str, str],
                psa: dict | None = None) -> str:
    evidence, assumptions = _evidence_html(comp)
    manifests = [{"design": c.design, "path": str(c.path),
                  "config_hash": c.manifest.get("config_hash"),
                  "git": json.dumps(c.manifest.get("git")),
                  "people": c.manifest.get("n_agents")} for c in comp.cells]
    ref_cfg = json.dumps(comp.cells[0].config, indent=1, sort_keys=True, default=str)
    versions = json.dumps(comp.cells[0].manifest.get("versions"), sort_keys=True)
    sec = dict.fromkeys(SECTIONS, "")
    answers = _answers(comp)
    if (line := _psa_answer(psa, _names(comp))) is not None:
        answers.append(line)
    sec["Answers"] = "<ul>" + "".join(f"<li>{line}</li>" for line in answers) + "</ul>"
    sec["How sure, given the evidence"] = _psa_html(psa, _names(comp))
    # ---- NICE reference case and DCEA (issue 16): built in sim/report_dcea.py ----
    from sim import report_dcea

    answers[1:1] = report_dcea.answer_lines(comp)  # high on the first screen
    answers = report_dcea.order_how_sure(
        answers, _psa_answer(psa, _names(comp)), report_dcea.psa_tie_line(psa, _names(comp)),
        report_dcea.psa_reference_case_line(psa, _names(comp)))
    sec["Answers"] = "<ul>" + "".join(f"<li>{line}</li>" for line in answers) + "</ul>"
    sec["Cost-effectiveness (NICE reference case)"] = report_dcea.reference_case_html(comp)
    sec["Distributional cost-effectiveness (DCEA)"] = report_dcea.dcea_html(comp)
    # ---- end of the issue-16 hook ----
    sec["League table"] = (
        "<p>Each design against usual care on the same people (paired replicates). Changes "
        "are design minus usual care with 95% intervals over replicates.</p>"
        + _league_html(comp) + f'<img src="{figs["league"]}" alt="league chart">')
    sec["Return to work by group"] = f'<img src="{figs["curves"]}" alt="RTW curves">'
    sec["Inequality gaps"] = f'<img src="{figs["gaps"]}" alt="gap chart">'
    sec["Equity-efficiency impact plane"] = f'<img src="{figs["plane"]}" alt="impact plane">'
    sec["Costs by perspective"] = (
        "<p>Discounted (3.5% a year beyond year one) cost per person in the population, "
        "change vs usual care.</p>"
        + _table(comp.costs.assign(change=[_ci(e, lo, hi, "{:+,.0f}") for e, lo, hi in
                                           zip(comp.costs["estimate"], comp.costs["low"],
                                               comp.costs["high"], strict=True)])
                 .pivot(index="design", columns="perspective", values="change")
                 .reindex(columns=[label for _, label in PERSPECTIVES])
                 .rename(index=_names(comp)).reset_index()
                 .rename_axis(columns=None))
        + f'<img src="{figs["costs"]}" alt="costs by perspective">')
    sec["Groups"] = ("<p>Means over replicates; groups with fewer than "
                     f"{SMALL_CELL} people are suppressed.</p>" + _groups_html(comp))
    sec["Evidence"] = evidence
    sec["Assumptions"] = ("<p>Parameters without a published figure, with the reasoning "
                          "recorded in the configs and the registry.</p>" + assumptions)
    sec["Runs and configuration"] = (
        _table(pd.DataFrame(manifests)) + f"<p>Package versions: <code>{html.escape(versions)}"
        "</code></p><details><summary>Configuration of the usual-care run</summary><pre>"
        + html.escape(ref_cfg) + "</pre></details>")
    sec["How to read this report"] = (
        "<p>RTW: first return to work (full or phased) within 52 weeks of the absence "
        "starting. SII: slope index of inequality across IMD quintiles (PHE/OHID Fingertips "
        "convention: weighted regression on the cumulative population mid-point rank, "
        "quintile 1 most deprived), the fitted difference between the least and most "
        "deprived ends; some publications divide it by the mean instead. Ethnic gap: "
        "population-weighted mean of each minority group's shortfall against White British. "
        "NMB: willingness to pay x change in discounted weeks in work minus change in "
        "programme cost. See docs/REPORT.md.</p>")
    body = "".join(f'<h2 id="s{k}">{html.escape(t)}</h2>{sec[t]}'
                   for k, t in enumerate(SECTIONS))
    nav = " | ".join(f'<a href="#s{k}">{html.escape(t)}</a>' for k, t in enumerate(SECTIONS))
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em;color:#222}"
             "table.t{border-collapse:collapse;font-size:13px;margin:0.5em 0}"
             "table.t td,table.t th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:"
             "right}table.t td:first-child{text-align:left}img{max-width:100%}"
             "li{margin:0.4em 0}nav{font-size:13px;margin-bottom:1em}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>rtw-sim: which RTW "
            f"programme design?</title><style>{style}</style></head><body>"
            "<h1>Return-to-work programme designs: who gains, how much, at what cost</h1>"
            f"<nav>{nav}</nav>{body}</body></html>")


def write_report(paths, out_dir, psa_dir=None) -> Path:
    """Build the report from results under ``paths`` into ``out_dir`` (atomically);
    ``psa_dir``: a finished PSA run (``experiments/psa.py``) to show how sure the ranking is."""
    out_dir = Path(out_dir)
    psa = load_psa(psa_dir) if psa_dir is not None else None
    comp = compare_cells(load_cells(paths))
    staging = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        (staging / "report.html").write_text(render_html(comp, figures(comp), psa))
        comp.league.to_csv(staging / "league.csv", index=False)
        comp.per_replicate.to_csv(staging / "per_replicate.csv", index=False)
        comp.costs.to_csv(staging / "costs.csv", index=False)
        comp.groups.to_csv(staging / "groups.csv", index=False)
        from sim.report_dcea import tables as dcea_tables  # issue 16: reference case, DCEA

        for name, table in dcea_tables(comp).items():
            table.to_csv(staging / f"{name}.csv", index=False)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir / "report.html"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the design comparison report.")
    ap.add_argument("paths", nargs="+", help="results dirs, run dirs or a sweep dir")
    ap.add_argument("--out", default=None, help="output dir (default: <first path>/report)")
    ap.add_argument("--psa", default=None, help="a PSA run folder (make psa) to include")
    args = ap.parse_args(argv)
    out = Path(args.out) if args.out else Path(args.paths[0]) / "report"
    try:
        path = write_report(args.paths, out, args.psa)
    except ReportError as err:
        print(f"report error: {err}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
