"""NICE reference case and distributional cost-effectiveness analysis (DCEA) for the report.

Reads only the cell-level ``economics`` tables of a :class:`sim.compare.report.Comparison` (per
replicate and group: people, mean discounted QALYs, NHS/PSS cost and the other
perspectives), so it works for any comparison, and returns tables and HTML that
:mod:`sim.compare.report` places in its own sections.

Reference case (NICE manual PMG36): health effects in QALYs (EQ-5D, UK value set), costs to
the NHS and PSS (programme + health-care use), both discounted at 3.5% a year; the ICER
against usual care and the net health benefit ``NHB = dQALY - dCost / k`` at each threshold
``k`` of ``economics.qaly_thresholds``. Wider-perspective figures (employer, Exchequer,
individual, societal) are shown beside, never added into, these.

DCEA (York conventions: Cookson, Griffin, Norheim, Culyer & Asaria, *Distributional
Cost-Effectiveness Analysis: Quantifying Health Equity Impacts and Trade-Offs*, OUP 2020;
Asaria, Griffin & Cookson, Value in Health 2016):

* equity-relevant subgroups: IMD quintile x ethnic group (the ``imd_ethnicity`` cells),
  each weighted by its population; summaries by IMD quintile and by ethnic group;
* health under each design: the group's mean discounted QALYs, less the health opportunity
  cost of the design's extra NHS/PSS spending (``dCost / k`` per person), shared equally
  per person across groups (the health displaced elsewhere in the NHS falls on the whole
  population, not on the participants; Love-Koh et al. 2020 estimate a pro-rich gradient in
  this burden, which this base case leaves out);
* social welfare: Atkinson (relative) and Kolm (absolute) equally distributed equivalent
  health over a range of inequality aversion (:func:`sim.stats.metrics.atkinson_ede`,
  :func:`sim.stats.metrics.kolm_ede`), reported as the change against usual care;
* inequality: the concentration index of health by IMD rank
  (:func:`sim.stats.metrics.concentration_index`, quintile 1 most deprived, so C > 0 means health
  is concentrated among the less deprived);
* the equity-efficiency impact plane: x = net health benefit per person (efficiency),
  y = reduction in the concentration index (equity); north-east is a win-win;
* the probability each design is both more efficient (NHB > 0) and more equal (|C| lower
  than usual care), over replicates (simulation noise only, with the evidence fixed).

Health here is QALYs over the model horizon, not lifetime health, so the same inequality
aversion parameter means more aversion than in a lifetime analysis; the figures are
sensitivity ranges, not the NICE-elicited values of Robson et al. (2017).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from sim.engine.categories import ETHNICITY_LABELS, SMALL_CELL
from sim.evidence.registry import evidence_table, load_registry
from sim.programme.effects import evidence_ids
from sim.results.economics import economics_evidence_ids, icer, net_health_benefit
from sim.stats.metrics import atkinson_ede, concentration_index, kolm_ede, paired_difference

REFERENCE = "usual_care"
ATKINSON_EPSILONS = (0.0, 1.0, 3.0, 5.0, 10.0)
KOLM_ALPHAS = (0.0, 0.5, 1.0, 2.0, 5.0)  # per QALY
NEEDED = ("qaly_disc", "cost_nhs_pss", "cost_societal")


class DceaData:
    """Per design, replicate and group: people, QALYs, NHS/PSS and societal cost."""

    def __init__(self, comp):
        self.comp = comp
        self.cells = {c.design: c for c in comp.cells}
        econ = comp.cells[0].config["economics"]
        self.thresholds = [float(k) for k in econ.get("qaly_thresholds") or (20000, 30000)]
        self.available = REFERENCE in self.cells and all(
            all(col in c.economics for col in NEEDED) for c in comp.cells)

    def table(self, design: str, dimension: str) -> pd.DataFrame:
        e = self.cells[design].economics
        return e[e["dimension"] == dimension]


def _names(comp) -> dict:
    acronyms = {"mdt": "MDT", "cbt": "CBT", "bps": "BPS", "ips": "IPS", "smi": "SMI",
                "vsw": "VSW", "rtw": "RTW"}
    return {c.design: " ".join(acronyms.get(w, w) for w in c.design.split("_"))
            for c in comp.cells}


def _designs(data: DceaData) -> list[str]:
    return [REFERENCE] + sorted(d for d in data.cells if d != REFERENCE)


# ---- NICE reference case ------------------------------------------------------------


def reference_case(comp) -> pd.DataFrame:
    """Per design vs usual care: change in discounted QALYs and NHS/PSS cost per person
    (mean and paired 95% interval over replicates), ICER (ratio of the mean changes; NaN when
    dominant or dominated), NHB at each threshold, and beside them the wider-perspective
    changes (societal cost, programme cost). Empty if the runs predate QALYs."""
    data = DceaData(comp)
    if not data.available:
        return pd.DataFrame()
    base = data.table(REFERENCE, "all").set_index("replicate")
    rows = []
    for d in _designs(data):
        m = data.table(d, "all").set_index("replicate").loc[base.index]
        row = {"design": d, "qaly_per_person": float(m["qaly_disc"].mean()),
               "cost_nhs_pss_per_person": float(m["cost_nhs_pss"].mean())}
        for col, name in (("qaly_disc", "d_qaly"), ("cost_nhs_pss", "d_cost_nhs_pss"),
                          ("cost_societal", "d_cost_societal"),
                          ("cost_programme", "d_cost_programme")):
            res = paired_difference(m[col].to_numpy(), base[col].to_numpy())
            row[name], row[f"{name}_low"], row[f"{name}_high"] = res.estimate, res.low, res.high
        row["icer"] = icer(row["d_cost_nhs_pss"], row["d_qaly"])
        for k in data.thresholds:
            nhb = net_health_benefit((m["qaly_disc"] - base["qaly_disc"]).to_numpy(),
                                     (m["cost_nhs_pss"] - base["cost_nhs_pss"]).to_numpy(), k)
            res = paired_difference(nhb, np.zeros_like(nhb))
            row[f"nhb_{k:g}"], row[f"nhb_{k:g}_low"], row[f"nhb_{k:g}_high"] = (
                res.estimate, res.low, res.high)
        rows.append(row)
    return pd.DataFrame(rows)


# ---- DCEA -----------------------------------------------------------------------------


def _health(data: DceaData, design: str, dimension: str, k: float) -> pd.DataFrame:
    """Per replicate and group: people and health = mean QALYs - opportunity cost per
    person of the design's extra NHS/PSS spending at threshold ``k``."""
    t = data.table(design, dimension)[["replicate", "group", "n", "qaly_disc"]].copy()
    cost = data.table(design, "all").set_index("replicate")["cost_nhs_pss"]
    base = data.table(REFERENCE, "all").set_index("replicate")["cost_nhs_pss"]
    t["health"] = t["qaly_disc"] - ((cost - base) / k).reindex(t["replicate"]).to_numpy()
    return t


def dcea(comp, threshold: float | None = None) -> dict[str, pd.DataFrame]:
    """DCEA tables at ``threshold`` (default: the lowest of ``qaly_thresholds``):

    * ``by_group``: design, dimension (imd_quintile, ethnicity), group, people, mean QALYs,
      and net health benefit per person against usual care (mean over replicates);
    * ``per_replicate``: design, replicate, NHB per person, concentration index of health
      by IMD, Atkinson and Kolm EDE at each aversion level (imd x ethnicity cells);
    * ``summary``: design, NHB, change in C (and its reduction), change in each EDE vs
      usual care (mean and 95% interval over replicates), P(more efficient and more equal).

    Computed once per comparison and threshold (the report's DCEA section and its CSV
    tables both ask; about a fifth of a sweep's per-setting report CPU); each call gets
    its own copies of the tables.
    """
    memo = comp.__dict__.setdefault("_dcea", {})
    # what the tables are made of: a cell or table replaced (as a test may do) recomputes
    inputs = [(c, c.manifest, c.economics) for c in comp.cells]
    hit = memo.get(threshold)
    if hit is None or len(hit[0]) != len(inputs) or any(
            a is not b for old, new in zip(hit[0], inputs, strict=True)
            for a, b in zip(old, new, strict=True)):
        hit = memo[threshold] = (inputs, _dcea(comp, threshold))
    return {name: table.copy() for name, table in hit[1].items()}


def _dcea(comp, threshold: float | None) -> dict[str, pd.DataFrame]:
    data = DceaData(comp)
    if not data.available:
        return {}
    k = float(threshold if threshold is not None else min(data.thresholds))
    designs = _designs(data)
    by_group = []
    for dim in ("imd_quintile", "ethnicity"):
        base = _health(data, REFERENCE, dim, k).set_index(["replicate", "group"])
        for d in designs:
            h = _health(data, d, dim, k).set_index(["replicate", "group"])
            nhb = (h["health"] - base["health"].reindex(h.index)).groupby("group").mean()
            g = h.groupby("group").agg(n=("n", "sum"), qaly=("qaly_disc", "mean"))
            g["nhb_vs_usual_care"] = nhb
            g = g.reset_index()
            g.insert(0, "dimension", dim)
            g.insert(0, "design", d)
            by_group.append(g)
    per_rep = []
    for d in designs:
        cells = _health(data, d, "imd_ethnicity", k)
        imd = _health(data, d, "imd_quintile", k)
        allp = data.table(d, "all").set_index("replicate")
        ball = data.table(REFERENCE, "all").set_index("replicate")
        for rep, g in cells.groupby("replicate"):
            q = imd[imd["replicate"] == rep]
            row = {"design": d, "replicate": int(rep),
                   "nhb": float(allp.at[rep, "qaly_disc"] - ball.at[rep, "qaly_disc"]
                                - (allp.at[rep, "cost_nhs_pss"]
                                   - ball.at[rep, "cost_nhs_pss"]) / k),
                   "mean_health": float(np.average(g["health"], weights=g["n"])),
                   "concentration_index": concentration_index(
                       q["health"].to_numpy(), q["group"].astype(int).to_numpy(),
                       q["n"].to_numpy()).index}
            health = np.clip(g["health"].to_numpy(), 0.0, None)
            for eps in ATKINSON_EPSILONS:
                row[f"atkinson_ede_{eps:g}"] = atkinson_ede(health, g["n"].to_numpy(),
                                                            eps).ede
            for alpha in KOLM_ALPHAS:
                row[f"kolm_ede_{alpha:g}"] = kolm_ede(g["health"].to_numpy(),
                                                      g["n"].to_numpy(), alpha).ede
            per_rep.append(row)
    per_rep = pd.DataFrame(per_rep)
    base = per_rep[per_rep["design"] == REFERENCE].set_index("replicate")
    summary = []
    measures = (["nhb", "concentration_index"]
                + [f"atkinson_ede_{e:g}" for e in ATKINSON_EPSILONS]
                + [f"kolm_ede_{a:g}" for a in KOLM_ALPHAS])
    for d in designs:
        m = per_rep[per_rep["design"] == d].set_index("replicate").loc[base.index]
        row = {"design": d, "threshold": k}
        for col in measures:
            b = np.zeros(len(m)) if col == "nhb" else base[col].to_numpy()
            res = paired_difference(m[col].to_numpy(), b)
            row[col], row[f"{col}_low"], row[f"{col}_high"] = res.estimate, res.low, res.high
        more_equal = np.abs(m["concentration_index"].to_numpy()) < np.abs(
            base["concentration_index"].to_numpy())
        row["p_more_efficient_and_equal"] = float(np.mean((m["nhb"].to_numpy() > 0)
                                                          & more_equal))
        summary.append(row)
    return {"by_group": pd.concat(by_group, ignore_index=True), "per_replicate": per_rep,
            "summary": pd.DataFrame(summary)}


# ---- HTML -------------------------------------------------------------------------------


def _fig_uri(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _ci(est, lo, hi, fmt):
    if not np.isfinite(est):
        return "-"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return fmt.format(est)
    return f"{fmt.format(est)} ({fmt.format(lo)} to {fmt.format(hi)})"


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, border=0, classes="t", na_rep="-")


def _esc(x) -> str:
    return html.escape(str(x))


def _icer_text(icer: float, d_qaly: float, d_cost: float) -> str:
    if np.isfinite(icer):
        return f"{icer:,.0f}"
    if d_qaly > 0 and d_cost <= 0:
        return "dominant (more QALYs, lower cost)"
    if d_qaly <= 0 and d_cost >= 0:
        return "dominated"
    return "-"


def reference_case_html(comp) -> str:
    ref = reference_case(comp)
    if ref.empty:
        return ("<p>Not available: these runs predate QALYs and NHS/PSS costs in "
                "<code>economics.parquet</code>; rerun them.</p>")
    names = _names(comp)
    ks = DceaData(comp).thresholds
    rows = []
    for r in ref.itertuples():
        row = {"design": names.get(r.design, r.design),
               "QALYs / person": f"{r.qaly_per_person:.4f}",
               "change in QALYs / person": _ci(r.d_qaly, r.d_qaly_low, r.d_qaly_high,
                                                "{:+.4f}"),
               "change in NHS/PSS cost / person (GBP)": _ci(
                   r.d_cost_nhs_pss, r.d_cost_nhs_pss_low, r.d_cost_nhs_pss_high, "{:+,.0f}"),
               "ICER (GBP per QALY)": ("reference" if r.design == REFERENCE
                                       else _icer_text(r.icer, r.d_qaly, r.d_cost_nhs_pss))}
        for k in ks:
            row[f"NHB at GBP {k:,.0f}/QALY (QALYs / person)"] = _ci(
                getattr(r, f"nhb_{k:g}"), getattr(r, f"nhb_{k:g}_low"),
                getattr(r, f"nhb_{k:g}_high"), "{:+.4f}")
        row["wider: change in societal cost / person (GBP)"] = _ci(
            r.d_cost_societal, r.d_cost_societal_low, r.d_cost_societal_high, "{:+,.0f}")
        rows.append(row)
    thresholds = " and ".join(f"GBP {k:,.0f}" for k in ks)
    return ("<p>NICE reference case: QALYs from EQ-5D utilities by state (UK value set), "
            "costs to the NHS and PSS (programme + health-care use by state), both "
            f"discounted at 3.5% a year; net health benefit (NHB) at {thresholds} per QALY. "
            "Changes are design minus usual care with 95% paired intervals over replicates "
            "(simulation noise only). The last column is the wider (societal) perspective, "
            "shown beside the reference case and not added into it.</p>"
            + _table(pd.DataFrame(rows)) + perspectives_html(comp) + inputs_html(comp))


def inputs_html(comp) -> str:
    """The economic inputs the runs use (rates, utilities, NHS/PSS costs), with sources."""
    registry = load_registry()
    ids = [i for i in economics_evidence_ids(comp.cells[0].config) if i in registry]
    if not ids:
        return ""
    table = evidence_table(registry, ids=ids).drop(columns=["measure", "file"])
    return ("<details><summary>Economic inputs: tax, NI, sick pay and benefit rates, "
            "utilities and NHS/PSS costs, with sources (assumption = yes: no source, a "
            "range instead)</summary>" + _table(table) + "</details>")


def perspectives_html(comp) -> str:
    """Costs per person under usual care by perspective, and the check that they add up."""
    data = DceaData(comp)
    if not data.available:
        return ""
    e = data.table(REFERENCE, "all")
    parts = [("cost_programme", "programme (NHS commissioner)"),
             ("cost_nhs", "NHS/PSS health-care use"),
             ("cost_employer", "employer (sick pay + net productivity loss + recruitment)"),
             ("cost_exchequer", "Exchequer (benefits + tax and NI not collected)"),
             ("cost_individual", "individual (net income lost less benefits)")]
    rows = [{"perspective": label, "usual care, GBP / person": f"{e[c].mean():,.0f}"}
            for c, label in parts if c in e]
    total = sum(e[c].mean() for c, _ in parts if c in e)
    rows.append({"perspective": "sum of the perspectives",
                 "usual care, GBP / person": f"{total:,.0f}"})
    rows.append({"perspective": "societal (programme + NHS/PSS + lost output + recruitment)",
                 "usual care, GBP / person": f"{e['cost_societal'].mean():,.0f}"})
    return ("<p>Costs by perspective under usual care (discounted, per person). Sick pay, "
            "benefits and taxes are transfers: they cancel, so the perspectives add up to "
            "the societal cost (checked for every person in every run).</p>"
            + _table(pd.DataFrame(rows)))


def _plane_uri(summary: pd.DataFrame, names: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    palette = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
               "#000000")
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    for i, r in enumerate(summary[summary["design"] != REFERENCE].itertuples()):
        x, y = 1000 * r.nhb, -1000 * r.concentration_index
        xe = 1000 * np.array([[r.nhb - r.nhb_low], [r.nhb_high - r.nhb]])
        ye = 1000 * np.array([[r.concentration_index_high - r.concentration_index],
                              [r.concentration_index - r.concentration_index_low]])
        ax.errorbar(x, y, xerr=np.nan_to_num(np.abs(xe)), yerr=np.nan_to_num(np.abs(ye)),
                    fmt="o", color=palette[i % len(palette)], capsize=3,
                    label=names.get(r.design, r.design))
    ax.axhline(0, color="grey", lw=1)
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel(f"net health benefit per 1,000 people (QALYs) at GBP "
                  f"{summary['threshold'].iloc[0]:,.0f} per QALY")
    ax.set_ylabel("reduction in the concentration index of health by IMD (x 1,000)")
    ax.set_title("Equity-efficiency impact plane (DCEA)\n(top right: more health and "
                 "less deprivation-related inequality)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    return _fig_uri(fig)


def dcea_html(comp, draw_figures: bool = True) -> str:
    """The DCEA section; ``draw_figures=False`` leaves its impact-plane chart out (a sweep's
    per-setting report)."""
    out = dcea(comp)
    if not out:
        return ("<p>Not available: these runs predate QALYs and NHS/PSS costs in "
                "<code>economics.parquet</code>; rerun them.</p>")
    names = _names(comp)
    s = out["summary"]
    k = s["threshold"].iloc[0]
    rows = []
    for _, r in s.iterrows():
        row = {"design": names.get(r["design"], r["design"]),
               "NHB / 1,000 people (QALYs)": _ci(1000 * r["nhb"], 1000 * r["nhb_low"],
                                                 1000 * r["nhb_high"], "{:+.1f}"),
               "change in C by IMD (x 1,000)": _ci(
                   1000 * r["concentration_index"], 1000 * r["concentration_index_low"],
                   1000 * r["concentration_index_high"], "{:+.2f}")}
        for e in ATKINSON_EPSILONS[1:]:
            v = r[f"atkinson_ede_{e:g}"]
            row[f"Atkinson EDE change, eps={e:g} (QALYs / 1,000)"] = f"{1000 * v:+.2f}"
        for a in KOLM_ALPHAS[1:]:
            v = r[f"kolm_ede_{a:g}"]
            row[f"Kolm EDE change, alpha={a:g} (QALYs / 1,000)"] = f"{1000 * v:+.2f}"
        row["P(more efficient and more equal)"] = f"{r['p_more_efficient_and_equal']:.0%}"
        rows.append(row)
    g = out["by_group"].copy()
    labels = dict(ETHNICITY_LABELS)
    g["group"] = [labels.get(x, x) if dim == "ethnicity" else f"IMD Q{x}"
                  for dim, x in zip(g["dimension"], g["group"], strict=True)]
    wide = g.pivot_table(index=["dimension", "group"], columns="design",
                         values="nhb_vs_usual_care", sort=False)
    wide = (1000 * wide.drop(columns=[REFERENCE], errors="ignore")).round(1)
    wide.columns = [names.get(c, c) for c in wide.columns]
    qaly = g[g["design"] == REFERENCE].set_index(["dimension", "group"])[["n", "qaly"]]
    wide.insert(0, "usual care QALYs / person", qaly["qaly"].round(4))
    wide.insert(0, "people (all replicates)", qaly["n"].astype(int))
    small = wide["people (all replicates)"] < SMALL_CELL
    wide = wide.astype(object)
    wide.loc[small, wide.columns[1:]] = "suppressed"
    wide.loc[small, "people (all replicates)"] = f"<{SMALL_CELL}"
    wide = wide.reset_index().drop(columns="dimension")
    return (f"<p>Distributional cost-effectiveness analysis (York conventions: Cookson et al. "
            f"2020; Asaria, Griffin &amp; Cookson 2016) at GBP {k:,.0f} per QALY. Health = "
            "mean discounted QALYs of each IMD quintile x ethnic group, less the health "
            "displaced elsewhere in the NHS by the design's extra cost, shared equally per "
            "person. Equally distributed equivalent (EDE) health: the level that, shared "
            "equally, is as good as the actual distribution; Atkinson (relative, eps) and "
            "Kolm (absolute, alpha per QALY) over a range of inequality aversion; eps = 0 "
            "or alpha = 0 is the plain mean. C: concentration index of health by IMD rank "
            "(C &gt; 0: concentrated among the less deprived; a negative change narrows "
            "it). Probabilities are over replicates (simulation noise, evidence fixed). "
            "Health is over the model horizon, not lifetime.</p>"
            + _table(pd.DataFrame(rows))
            + (f'<img src="{_plane_uri(s, names)}" alt="DCEA impact plane">'
               if draw_figures else "")
            + "<p>Net health benefit per 1,000 people against usual care, by IMD quintile "
            "and by ethnic group (QALYs; the opportunity cost is shared equally; groups "
            f"under {SMALL_CELL} people suppressed):</p>"
            + _table(wide))


def answer_lines(comp) -> list[str]:
    """First-screen lines: the reference-case result, the thresholds, and the assumptions
    the ranking depends on."""
    ref = reference_case(comp)
    if ref.empty:
        return []
    names = _names(comp)
    ks = DceaData(comp).thresholds
    k = min(ks)
    others = ref[ref["design"] != REFERENCE]
    lines = []
    if len(others):
        best = others.sort_values(f"nhb_{k:g}", ascending=False).iloc[0]
        lo, hi = best[f"nhb_{k:g}_low"], best[f"nhb_{k:g}_high"]
        ties = [names.get(d, d) for d, l2, h2 in zip(others["design"],
                                                     others[f"nhb_{k:g}_low"],
                                                     others[f"nhb_{k:g}_high"], strict=True)
                if d != best["design"] and np.isfinite(lo) and h2 >= lo and l2 <= hi]
        nhb = _ci(1000 * best[f"nhb_{k:g}"], 1000 * lo, 1000 * hi, "{:+.1f}")
        icer_text = _esc(_icer_text(best["icer"], best["d_qaly"], best["d_cost_nhs_pss"]))
        name = _esc(names.get(best["design"], best["design"]))
        if best[f"nhb_{k:g}"] > 0:
            lines.append(
                f"<b>Cost-effectiveness (NICE reference case):</b> {name} has the highest net "
                f"health benefit at GBP {k:,.0f} per QALY, {nhb} QALYs per 1,000 people "
                f"against usual care (ICER: {icer_text})"
                + (f"; its interval overlaps {_esc(', '.join(ties))}, so these tie"
                   if ties else "") + ".")
        else:
            lines.append(
                f"<b>Cost-effectiveness (NICE reference case):</b> no design has a positive "
                f"net health benefit at GBP {k:,.0f} per QALY over this horizon, so usual care "
                f"is preferred on QALYs and NHS/PSS costs; the closest is {name}, {nhb} QALYs "
                f"per 1,000 people (ICER: {icer_text}). Wider-perspective savings are in the "
                "cost-effectiveness section, not added in.")
    registry_flags = _assumed_economics(comp)
    lines.append(
        "<b>Thresholds and assumptions:</b> QALYs at "
        + " and ".join(f"GBP {x:,.0f}" for x in ks)
        + " per QALY (NICE); the commissioner's net monetary benefit values a discounted week "
        f"in work at GBP {comp.cells[0].config['economics']['willingness_to_pay_per_week_in_work']:,.0f}"  # noqa: E501
        " (an assumption, not a NICE measure). The ranking depends on assumed inputs: "
        + _esc(", ".join(registry_flags) if registry_flags else "none")
        + " (see Assumptions).")
    return lines


TIE_POINTS = 0.05  # probability-best within this many points of the best counts as a tie


def _paired_nb_intervals(psa: dict, best: str) -> dict[str, tuple[float, float]]:
    """95% interval over evidence draws of (design - best) net benefit, paired by draw,
    from the PSA's ``results.csv``; empty if the file is not there."""
    path = psa.get("path")
    results = None if path is None else Path(path) / "results.csv"
    if results is None or not results.is_file():
        return {}
    r = pd.read_csv(results)
    wide = r.pivot(index="draw", columns="design", values="net_benefit")
    if best not in wide:
        return {}
    diff = wide.sub(wide[best], axis=0)
    return {d: tuple(np.percentile(diff[d].dropna(), [2.5, 97.5])) for d in wide
            if d != best and diff[d].notna().sum() >= 2}


def psa_tie_line(psa: dict | None, names: dict) -> str | None:
    """First-screen line from a PSA run: the design most often best on net benefit and any
    design that ties with it: probability of best within 5 points, or a 95% interval over
    evidence draws of its net benefit minus the best's (paired by draw, from
    ``results.csv``; the marginal intervals vs usual care when that file is absent) that
    includes zero."""
    if psa is None or psa.get("summary") is None or psa["summary"].empty:
        return None
    s = psa["summary"].sort_values("p_best_net_benefit", ascending=False)
    best = s.iloc[0]
    paired = _paired_nb_intervals(psa, best["design"])
    ties = []
    for _, r in s.iloc[1:].iterrows():
        close = best["p_best_net_benefit"] - r["p_best_net_benefit"] <= TIE_POINTS
        if r["design"] in paired:
            lo, hi = paired[r["design"]]
            overlap = lo <= 0 <= hi
        else:
            overlap = (r["net_benefit_vs_uc_high"] >= best["net_benefit_vs_uc_low"]
                       and r["net_benefit_vs_uc_low"] <= best["net_benefit_vs_uc_high"])
        if close or overlap:
            ties.append(f"{names.get(r['design'], r['design'])} "
                        f"({r['p_best_net_benefit']:.0%})")
    name = _esc(names.get(best["design"], best["design"]))
    how = ("the 95% interval of its net benefit minus the best's over the draws includes 0"
           if paired else "overlapping 95% intervals of the net-benefit change")
    if not ties:
        return (f"<b>Ties:</b> none; {name} ({best['p_best_net_benefit']:.0%} of evidence "
                "draws) is ahead of every other design on net benefit.")
    return (f"<b>Ties with the best:</b> {name} is most often best on net benefit "
            f"({best['p_best_net_benefit']:.0%} of evidence draws), but "
            + _esc("; ".join(ties)) + f" tie with it (probability of best within "
            f"{100 * TIE_POINTS:.0f} points, or {how}): the evidence does not separate them.")


def psa_reference_case_line(psa: dict | None, names: dict) -> str | None:
    """First-screen line: how often each design has the highest net health benefit (QALYs,
    NICE reference case) over the PSA's evidence draws; None for a PSA run without QALYs."""
    if psa is None or psa.get("summary") is None or "p_best_nhb_qaly" not in psa["summary"]:
        return None
    s = psa["summary"].sort_values("p_best_nhb_qaly", ascending=False)
    best = s.iloc[0]
    k = float(best["qaly_threshold"])
    others = [f"{names.get(r['design'], r['design'])} {r['p_best_nhb_qaly']:.0%}"
              for _, r in s.iloc[1:].iterrows() if r["p_best_nhb_qaly"] > 0]
    n = psa.get("n_draws")
    return (f"<b>How sure, reference case:</b> over {n if n else 'the'} evidence draws, "
            f"{_esc(names.get(best['design'], best['design']))} has the highest net health "
            f"benefit at GBP {k:,.0f} per QALY in {best['p_best_nhb_qaly']:.0%} of draws"
            + (f" (then {_esc(', '.join(others))})" if others else "")
            + " (effects drawn from the evidence; utilities and NHS/PSS costs at their "
            "registry values).")


def order_how_sure(answers: list[str], *evidence_lines: str | None) -> list[str]:
    """First-screen order: with a PSA, its "how sure, given the evidence" lines (and the
    tie line) come first and the replicate line follows, relabelled as simulation noise."""
    evidence = [x for x in evidence_lines if x]
    if not evidence:
        return answers
    out = [a for a in answers if a not in evidence]
    k = next((i for i, a in enumerate(out) if a.startswith("<b>How sure:</b>")), len(out))
    if k < len(out):
        out[k] = out[k].replace("<b>How sure:</b>", "<b>Simulation noise (replicates, "
                                "evidence fixed):</b>", 1)
    out[k:k] = evidence
    return out


def _assumed_economics(comp) -> list[str]:
    """Registry ids behind the economics and programme costs that are flagged assumptions."""
    registry = load_registry()
    ids = []
    for c in comp.cells:
        ids += economics_evidence_ids(c.config)
        ids += [i for i in evidence_ids(c.config) if i.startswith("cost_")]
    ids = list(dict.fromkeys(ids))
    return [i for i in ids if i in registry and registry[i].assumption]


def tables(comp) -> dict[str, pd.DataFrame]:
    """CSV tables for the report folder."""
    out = {"reference_case": reference_case(comp)}
    out.update({f"dcea_{k}": v for k, v in dcea(comp).items()})
    return {k: v for k, v in out.items() if not v.empty}
