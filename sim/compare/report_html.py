"""The report page: the plain-words answers, the HTML tables, the PSA section
(:func:`load_psa`) and :func:`render_html` (``sim/templates/report.html.j2``, autoescaped)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from sim.compare import report_dcea, report_quality, report_text, report_words
from sim.compare.report_cells import PERSPECTIVES, _one_line
from sim.compare.report_figures import _fig_to_uri, _league_value, _mpl, _names
from sim.compare.report_measures import Comparison
from sim.engine.categories import SMALL_CELL
from sim.errors import ReportError
from sim.evidence.registry import evidence_table, load_registry
from sim.programme.effects import evidence_ids
from sim.uncertainty import decomposition

SECTIONS = ("Answers", "Glossary", "Runs not used", "League table", "How sure, given the evidence",
            "Cost-effectiveness (NICE reference case)",
            "Distributional cost-effectiveness (DCEA)",
            "Return to work by group", "Quality of the return", "Inequality gaps",
            "Equity-efficiency impact plane", "Costs by perspective", "Groups",
            "Evidence", "Assumptions", "Runs and configuration")


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


def _answers(comp: Comparison) -> list[Markup]:
    """The first screen, in plain words. Every value is escaped by ``Markup.format``."""
    names = _names(comp)
    ref_key, w = comp.ref_key, comp.rtw_week
    designs = [d for d in names if d != ref_key]
    lines: list[Markup] = []
    if comp.left_out:
        lines.append(Markup("<b>Runs not used:</b> {} of the {} runs given are not in this "
                            'comparison; <a href="#runs-not-used">see why</a>.').format(
                                len(comp.left_out), comp.runs_given))
    if not designs:
        return [*lines, Markup("Only usual care was run: add designs to compare.")]
    val = lambda d, m, w="estimate": _league_value(comp, d, m, w)  # noqa: E731
    ci = lambda d, m, k=1, fmt="{:+.1f}": _ci(k * val(d, m), k * val(d, m, "low"),  # noqa: E731
                                               k * val(d, m, "high"), fmt)
    best = max(designs, key=lambda d: val(d, "extra_rtw_per_1000"))
    fairest = min(designs, key=lambda d: val(d, "sii"))
    with_gap = [d for d in designs if np.isfinite(val(d, "ethnic_gap"))]
    ref = comp.cells[0].manifest
    seeds = sorted(comp.arms[0].cells)

    def cost_text(d):
        c = val(d, "cost_per_extra_rtw", "level")
        per = (Markup(" (about GBP {:,.0f} per extra person back at work within {} weeks)")
               .format(c, comp.econ_window) if np.isfinite(c) else "")
        return Markup("GBP {:,.0f} per person in the population{}").format(
            val(d, "programme_cost"), per)

    lines.append(Markup(
        "<b>Most people back at work:</b> {} returns {} more people per 1,000 to work within "
        "{} weeks than usual care, and changes days absent per person by {}; it costs {}.")
        .format(names[best], ci(best, "extra_rtw_per_1000"), w, ci(best, "days_absent"),
                cost_text(best)))
    # gaps: "narrows most" only of a change that clears the noise (sim.compare.report_words)
    trio = lambda d, m: tuple(val(d, m, k) for k in ("estimate", "low", "high"))  # noqa: E731
    lines.append(report_words.gap_line(
        "Deprivation gap", "the deprivation gap (slope index of inequality, SII, in RTW "
        "between the most and least deprived ends)", {d: trio(d, "sii") for d in designs},
        names, val(ref_key, "sii", "level")))
    if with_gap:
        lines.append(report_words.gap_line(
            "Ethnic gap", "the average RTW shortfall of minority ethnic groups against White "
            "British", {d: trio(d, "ethnic_gap") for d in with_gap}, names,
            val(ref_key, "ethnic_gap", "level")))
    else:
        lines.append(Markup("<b>Ethnic gap:</b> not measurable: the population has no White "
                            "British group or no minority ethnic group."))
    lines.append(_how_sure(names, best, fairest, val))
    if w != 52:
        lines.append(Markup(
            "<b>Shorter follow-up:</b> these runs have no RTW rate at 52 weeks (horizon {} "
            "weeks), so every RTW measure, gap and SII here is at {} weeks.").format(
                ref.get("horizon_weeks"), w))
    seed_text = (Markup("seed {}").format(seeds[0]) if len(seeds) == 1 else Markup(
        "seeds {} (pooled: each seed's replicates are further independent replicates, "
        "paired with usual care of the same seed)").format(", ".join(map(str, seeds))))
    reps = ref.get("replicates")
    lines.append(Markup("Population: {}, {:,} people per design ({} {} per run), {} "
                        "weeks, {}.").format(ref.get("population"), int(ref.get("n_agents") or 0),
                                             reps, "replicate" if str(reps) == "1"
                                             else "replicates", ref.get("horizon_weeks"),
                                             seed_text))
    return lines


def _table(df: pd.DataFrame, text: bool = False) -> Markup:
    """A DataFrame as an HTML table; pandas escapes every cell and header. ``text``: a table
    of words (left-aligned) rather than numbers."""
    return Markup('<div class="scroll">{}</div>').format(  # scrolls sideways on a phone
        Markup(df.to_html(index=False, escape=True, border=0, na_rep="-",
                          classes="t text" if text else "t")))


def _league_html(comp: Comparison) -> Markup:
    names = _names(comp)
    rows = []
    w, rtw = comp.rtw_week, comp.rtw
    order = sorted(names, key=lambda d: -_league_value(comp, d, "extra_rtw_per_1000"))
    for d in order:
        v = lambda m, w="estimate", d=d: _league_value(comp, d, m, w)  # noqa: E731
        rows.append({
            "design": names[d],
            f"RTW {w} w (%)": f"{100 * v(rtw, 'level'):.1f}",
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
            "replicates": f"{int(v('extra_rtw_per_1000', 'n_replicates'))}",
        })
    return _table(pd.DataFrame(rows))


def _groups_html(comp: Comparison) -> Markup:
    """Display names for groups, and each group's RTW change against usual care."""
    return _table(report_text.groups_table(comp.groups, comp.rtw, comp.ref_key, _names(comp),
                                           SMALL_CELL))


def _left_out_html(comp: Comparison) -> Markup:
    if not comp.left_out:
        return Markup("<p>All {} runs given are in the comparison.</p>").format(comp.runs_given)
    return (Markup('<p id="runs-not-used"><b>{} of the {} runs given are not used</b>, each for '
                   "the reason shown. A comparison needs runs that match in everything but the "
                   "programme and the seed, with a usual-care run of the same seed.</p>")
            .format(len(comp.left_out), comp.runs_given)
            + _table(pd.DataFrame(comp.left_out, columns=["design", "path", "reason"]),
                     text=True))


def _evidence_html(comp: Comparison) -> tuple[Markup, Markup]:
    registry = load_registry()
    try:
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
    return _table(table), _table(a) if not a.empty else Markup("<p>None.</p>")


PSA_FILES = ("summary.csv", "voi.csv", "ceac.csv")
PSA_COLUMNS = {
    "summary": ("design", "rtw_52w_vs_uc", "rtw_52w_vs_uc_low", "rtw_52w_vs_uc_high",
                "net_benefit_vs_uc", "net_benefit_vs_uc_low", "net_benefit_vs_uc_high",
                "p_best_net_benefit", "p_best_rtw", "p_narrows_imd_gradient"),
    "voi": ("parameters", "value_per_person"),
    "ceac": ("design", "wtp", "probability"),
}


def load_psa(folder) -> dict:
    """A PSA run's tables (``experiments/psa.py`` output) for the report; ReportError if
    the folder is not one."""
    folder = Path(folder)
    missing = [f for f in PSA_FILES if not (folder / f).is_file()]
    if missing:
        raise ReportError(f"--psa {folder}: no {missing[0]} (expected the folder of a "
                          "finished `make psa` run)")

    def read(path):
        try:
            return pd.read_csv(path)
        except Exception as err:  # noqa: BLE001 - any parse error: one line
            raise ReportError(f"--psa {path}: unreadable ({_one_line(err)})") from None

    out = {name.split(".")[0]: read(folder / name) for name in PSA_FILES}
    for name, cols in PSA_COLUMNS.items():
        lacking = [c for c in cols if c not in out[name].columns]
        if lacking:
            raise ReportError(f"--psa {folder / (name + '.csv')}: not a PSA table (no column "
                              f"{lacking[0]!r})")
    clamped = folder / "clamped_draws.csv"
    out["clamped"] = read(clamped) if clamped.is_file() else pd.DataFrame()
    draws = folder / "draws.csv"
    out["n_draws"] = len(read(draws)) if draws.is_file() else None
    out["path"] = folder
    return out


def _psa_ceac_uri(psa: dict, names: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4))
    for d, g in psa["ceac"].groupby("design", sort=False):
        ax.plot(g["wtp"], g["probability"], label=_mpl(names.get(d, d)))
    ax.set_xlabel("willingness to pay per discounted week in work (GBP)")
    ax.set_ylabel("P(highest net benefit)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _fig_to_uri(fig)


def _psa_html(psa: dict | None, names: dict) -> Markup:
    if psa is None:
        return Markup(
            "<p>No probabilistic sensitivity analysis attached. The intervals above are over "
            "replicates (simulation noise) with the evidence fixed at its central values. To "
            "see how sure the ranking is given the uncertainty of the evidence, run "
            "<code>make psa</code> and rebuild with <code>--psa outputs/psa/&lt;run&gt;</code>."
            "</p>")
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
    clamped = psa["clamped"]["draw"].nunique() if "draw" in psa["clamped"] else 0
    intro = Markup(
        "<p>Probabilistic sensitivity analysis from <code>{}</code>: {} draws of every evidence "
        "entry from its distribution (entries from one source correlated), each run for every "
        "design with common random numbers. Intervals here are over the evidence, not over "
        "replicates.{}</p>").format(
            str(psa["path"]), psa["n_draws"],
            Markup(" {} draws had a value the model's baseline cannot reproduce and were "
                   "clamped at the feasible boundary.").format(clamped) if clamped else "")
    evpi_text = (Markup("is <b>{:,.0f}</b>").format(float(evpi.iloc[0])) if len(evpi)
                 else Markup("is not available"))
    return (intro + _table(pd.DataFrame(rows))
            + Markup('<img src="{}" alt="acceptability curves">').format(
                _psa_ceac_uri(psa, names))
            + Markup("<p>Value of information (GBP per person in the modelled population): the "
                     "expected gain from deciding with perfect knowledge of all evidence (EVPI) "
                     "{}; per entry (EVPPI), the evidence gaps most worth closing:</p>").format(
                         evpi_text)
            + _table(top.assign(parameters=top["parameters"].map(report_text.entry_label))
                     .rename(columns={"parameters": "evidence entry",
                                         "value_per_person": "EVPPI (GBP per person)"})
                     .round(1)))


def _psa_answer(psa: dict | None, names: dict) -> Markup | None:
    if psa is None or psa["summary"].empty:
        return None
    s = psa["summary"].sort_values("p_best_net_benefit", ascending=False).iloc[0]
    voi = psa["voi"][psa["voi"]["parameters"] != "all (EVPI)"].sort_values(
        "value_per_person", ascending=False)
    gap = (Markup("; the evidence gap most worth closing is <i>{}</i> (EVPPI GBP {:,.0f} per "
                  "person)").format(report_text.entry_label(voi.iloc[0]["parameters"]),
                                    voi.iloc[0]["value_per_person"])
           if len(voi) else "")
    return Markup("<b>How sure, given the evidence:</b> {} has the highest net benefit in "
                  "{:.0%} of {} evidence draws{}.").format(
                      names.get(s.design, s.design), s.p_best_net_benefit, psa["n_draws"], gap)


def _img(uri: str | None, alt: str) -> Markup:
    if uri is None:  # figures left out (a sweep's per-setting report): see FIGURES_OFF
        return Markup("")
    return Markup('<img src="{}" alt="{}">').format(uri, alt)


FIGURES_OFF = Markup(
    "<p><em>Charts are left out of a sweep's per-setting reports (drawing them took about a "
    "quarter of a sweep's CPU time); the tables here hold the same numbers. To draw them: "
    "<code>python -m sim.compare.sweep aggregate &lt;sweep dir&gt; --figures</code>, or run "
    "the sweep with <code>hydra.callbacks.sweep.figures=true</code>.</em></p>")


_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def render_html(comp: Comparison, figs: dict[str, str],
                psa: dict | None = None) -> str:
    """The report page: ``sim/templates/report.html.j2`` with autoescaping on, so every
    string that is not explicitly built as :class:`Markup` (escaped parts) is escaped."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    names = _names(comp)
    w = comp.rtw_week
    evidence, assumptions = _evidence_html(comp)
    manifests = [{"design": arm.key, "seed": c.config.get("seed"),
                  "description": c.config["programme"].get("description", ""),
                  "path": str(c.path),
                  "config_hash": c.manifest.get("config_hash"),
                  "git": json.dumps(c.manifest.get("git")),
                  "people": c.manifest.get("n_agents")}
                 for arm in comp.arms for c in arm.cells.values()]
    answers = _answers(comp)
    psa_line = _psa_answer(psa, names)
    if psa_line is not None:
        answers.append(psa_line)
    # ---- NICE reference case and DCEA (issue 16): built in sim/compare/report_dcea.py ----
    # Every line is escaped HTML already (Markup here; report_dcea escapes what it builds):
    # order them as plain strings, then mark them safe once.
    lines = [str(a) for a in answers]
    lines[1:1] = report_dcea.answer_lines(comp)  # high on the first screen
    lines = report_dcea.order_how_sure(
        lines, None if psa_line is None else str(psa_line),
        report_dcea.psa_tie_line(psa, names), report_dcea.psa_reference_case_line(psa, names))
    answers = [Markup(line) for line in lines]
    # ---- end of the issue-16 hook ----
    sec = dict.fromkeys(SECTIONS, Markup(""))
    sec["Answers"] = Markup("<ul>{}</ul>").format(
        Markup("").join(Markup("<li>{}</li>").format(a) for a in answers))
    sec["Runs not used"] = _left_out_html(comp)
    sec["How sure, given the evidence"] = _psa_html(psa, names)
    sec["Cost-effectiveness (NICE reference case)"] = Markup(report_dcea.reference_case_html(comp))
    sec["Distributional cost-effectiveness (DCEA)"] = Markup(
        report_dcea.dcea_html(comp, draw_figures=bool(figs)))
    sec["League table"] = (
        Markup("<p>Each design against usual care on the same people (paired replicates). "
               "Changes are design minus usual care with 95% intervals over replicates. A "
               "design run with other settings (a variant) has its own row, labelled with the "
               "settings that differ.</p>")
        + (Markup("") if figs else FIGURES_OFF)
        + _league_html(comp) + _img(figs.get("league"), "league chart"))
    sec["Return to work by group"] = _img(figs.get("curves"),
                                          "RTW difference from usual care")
    sec["Quality of the return"] = Markup(report_quality.quality_html(comp))  # issue 20
    sec["Inequality gaps"] = _img(figs.get("gaps"), "gap reductions vs usual care") + Markup(
        # issue 14 hook: escaped in sim.uncertainty.decomposition
        decomposition.report_html(comp.cells))
    sec["Equity-efficiency impact plane"] = _img(figs.get("plane"), "impact plane")
    sec["Costs by perspective"] = (
        Markup("<p>Discounted (3.5% a year beyond year one) cost per person in the "
               "population, change vs usual care.</p>")
        + _table(comp.costs.assign(change=[_ci(e, lo, hi, "{:+,.0f}") for e, lo, hi in
                                           zip(comp.costs["estimate"], comp.costs["low"],
                                               comp.costs["high"], strict=True)])
                 .pivot(index="design", columns="perspective", values="change")
                 .reindex(columns=[label for _, label in PERSPECTIVES])
                 .rename(index=names).reset_index()
                 .rename_axis(columns=None))
        + _img(figs.get("costs"), "costs by perspective"))
    sec["Groups"] = Markup("<p>Means over replicates; groups with fewer than {} people are "
                           "suppressed. Usual care and up to three designs here; every design "
                           "in groups.csv.</p>").format(SMALL_CELL) + _groups_html(comp)
    sec["Evidence"] = evidence
    sec["Assumptions"] = Markup("<p>Parameters without a published figure, with the reasoning "
                                "recorded in the configs and the registry.</p>") + assumptions
    sec["Glossary"] = report_text.glossary_html(w)  # near the top: acronyms expanded
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    return env.get_template("report.html.j2").render(
        sections=[(f"s{k}", title, sec[title]) for k, title in enumerate(SECTIONS)],
        runs=_table(pd.DataFrame(manifests)),
        versions=json.dumps(comp.cells[0].manifest.get("versions"), sort_keys=True),
        ref_config=json.dumps(comp.cells[0].config, indent=1, sort_keys=True, default=str))


_EVIDENCE_CAVEAT = (
    "How much the ranking depends on the evidence is for the probabilistic sensitivity "
    "analysis; most effects outside the six in-silico trials are assumptions (see "
    "Assumptions).")


def _how_sure(names: dict, best, fairest, val) -> Markup:
    """The "How sure" line: shares of paired replicates, or, with one replicate, that the
    run has no measure of its simulation noise (a share of one replicate says nothing)."""
    n_best = int(val(best, "p_best_rtw", "n_replicates"))
    n_better = int(val(best, "p_better_rtw", "n_replicates"))
    if max(n_best, n_better) <= 1:
        return Markup(
            "<b>How sure:</b> not measured: with one replicate per design the run has no "
            "interval for simulation noise (run 2 or more replicates for paired intervals). "
            + _EVIDENCE_CAVEAT)
    return Markup(
        "<b>How sure:</b> {} had the highest RTW rate in {:.0f}% of {} paired replicates "
        "(those every design has) and beat usual care in {:.0f}% of its {}; {} narrowed the "
        "deprivation gradient in {:.0f}%. "
        "Intervals are 95% paired intervals over replicates: they show simulation noise only, "
        "with the evidence held at its published values. " + _EVIDENCE_CAVEAT).format(
            names[best], 100 * val(best, "p_best_rtw", "level"), n_best,
            100 * val(best, "p_better_rtw", "level"), n_better, names[fairest],
            100 * val(fairest, "p_narrows_sii", "level"))
