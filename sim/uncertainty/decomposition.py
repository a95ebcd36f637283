"""How much of each equity gap is evidence and how much is assumption.

For the deprivation gap (slope index of inequality, SII, across IMD quintiles: least minus
most deprived) and the White British vs minority ethnic gap (White British minus the pooled
minority groups), in 52-week RTW and in working days absent, three runs of the same design
with the same seed (common random numbers) are compared:

``full``              the run's own config;
``no_assumed``        the deprivation and ethnicity multipliers of the usual-care hazards that
                      are flagged assumptions set to 1 (:data:`ASSUMED_PATHS`);
``no_group_hazards``  also those calibrated to a UK source set to 1 (:data:`SOURCED_PATHS`:
                      the onset and RTW deprivation multipliers, whose joint strength is
                      fitted to Daras et al. 2022's absence ratio, registry
                      ``daras2022_absence_imd_q1_q5``).

Then (a sequential decomposition, assumed multipliers removed first)::

    assumed   = gap(full) - gap(no_assumed)
    sourced   = gap(no_assumed) - gap(no_group_hazards)
    structure = gap(no_group_hazards)

``structure`` is what remains when no hazard depends on deprivation or ethnicity: the groups
differ only in who they are (condition mix, severity, occupation, OH access, employer size,
age and sex, whose multipliers stay on) and in a design's access gradients. The three parts
add up to the gap exactly. The split between ``assumed`` and ``sourced`` depends on the
order when the two interact; the order here credits evidence last (the conservative way
for a claim that a gap is evidence-based).

Cost: the three runs use ``outcomes.decomposition_n`` people (at most the run's own size),
one replicate and the vectorised engine (the engines agree exactly), so the ``full`` gap
here is a smaller-sample estimate of the run's gap; both are reported.
"""

from __future__ import annotations

import copy
import html

import numpy as np
import pandas as pd

from sim.errors import ConfigError
from sim.simulate import simulate_summary
from sim.stats.metrics import slope_index

# usual-care hazard multipliers by deprivation or ethnicity that are flagged assumptions
# (registry: imd / ethnicity entries with assumption: true; configs/pathways sources)
ASSUMED_PATHS = (
    "pathways.new_spell.ethnicity_onset_hr",  # 1 by default (ethnicity_onset_hr_assumed)
    "pathways.rtw.ethnicity_hr",
    "pathways.job_loss.imd_hr",
    "pathways.job_loss.ethnicity_hr",
    "pathways.inactivity.ethnicity_hr",
    "pathways.unemployed.imd_hr",
    "pathways.unemployed.ethnicity_hr",
    "pathways.separation.imd_hr",
)
# ... and those whose strength is calibrated to a UK source (Daras et al. 2022)
SOURCED_PATHS = (
    "pathways.new_spell.imd_hr",
    "pathways.rtw.imd_hr",
)
RUNS = ("full", "no_assumed", "no_group_hazards")
METRICS = (("rtw_52w", "RTW within 52 weeks (share)"),
           ("days_absent", "working days absent per person"))
GAPS = (("imd_sii", "deprivation: SII, least minus most deprived"),
        ("ethnicity", "ethnicity: White British minus minority groups"))
COLUMNS = ["gap", "metric", "gap_run", "gap_full", "structure", "sourced", "assumed",
           "share_structure", "share_sourced", "share_assumed", "n"]


def _neutral(cfg: dict, paths) -> dict:
    """A copy of ``cfg`` with every number at ``paths`` set to 1 (no group difference)."""
    # not at the top: a cycle (factors -> sim.compare.report -> report_html -> this module)
    from sim.uncertainty.factors import Factor, apply

    f = Factor("neutral", "exponent", 0.0, 1.0, 1.0, tuple(paths), None, "")
    return apply(cfg, [f], [0.0])


def counterfactual_configs(cfg: dict, n: int) -> dict[str, dict]:
    """The three configs of :data:`RUNS` at ``n`` people, one replicate, vectorised."""
    base = copy.deepcopy(cfg)
    base["population"] = {**base["population"], "n": int(n)}
    base["replicates"] = 1
    base["engine"] = "vectorised"
    base["output"] = {**base["output"], "write_agents": False, "plots": False}
    no_assumed = _neutral(base, ASSUMED_PATHS)
    return {"full": base, "no_assumed": no_assumed,
            "no_group_hazards": _neutral(no_assumed, SOURCED_PATHS)}


def _group_means(summary: pd.DataFrame, dimension: str, metric: str) -> pd.DataFrame:
    sub = summary[(summary["dimension"] == dimension) & (summary["metric"] == metric)]
    if sub.empty:
        return pd.DataFrame(columns=["group", "value", "n"])
    tot = sub.assign(w=sub["value"] * sub["n"]).groupby("group", sort=False)[["w", "n"]].sum()
    return pd.DataFrame({"group": tot.index, "value": tot["w"] / tot["n"], "n": tot["n"]})


def gaps(summary: pd.DataFrame) -> dict[tuple[str, str], float]:
    """``{(gap, metric): value}`` from a :func:`sim.results.outcomes.group_summary` table (pooled
    over replicates). NaN where a metric or group is missing."""

    out = {}
    for metric, _ in METRICS:
        imd = _group_means(summary, "imd_quintile", metric)
        value = np.nan
        if len(imd) == 5:
            imd = imd.assign(q=imd["group"].astype(int)).sort_values("q")
            value = float(slope_index(imd["value"], imd["n"], ci="none").sii)
        out[("imd_sii", metric)] = value
        eth = _group_means(summary, "ethnicity", metric)
        white = eth[eth["group"] == "white_british"]
        minority = eth[eth["group"] != "white_british"]
        value = np.nan
        if len(white) and minority["n"].sum() > 0:
            m = float((minority["value"] * minority["n"]).sum() / minority["n"].sum())
            value = float(white["value"].iloc[0]) - m
        out[("ethnicity", metric)] = value
    return out


def decomposition_size(cfg: dict, n: int | None = None) -> int:
    """People in each counterfactual run: ``n``, default ``outcomes.decomposition_n``,
    capped at the run's population size (0: no decomposition)."""
    if n is None:
        n = int(cfg["outcomes"].get("decomposition_n") or 0)
    return max(min(int(n), int(cfg["population"]["n"])), 0)


def counterfactual_gaps(cfg: dict, n: int | None = None) -> dict:
    """``{run: gaps(...)}`` of the three runs of :data:`RUNS` (a function of the config
    alone: ``python -m sim`` computes it in a helper process while the run itself goes on,
    :mod:`sim.results.helper`)."""
    n = decomposition_size(cfg, n)
    return {name: gaps(simulate_summary(c))  # only the summary: no other tables
            for name, c in counterfactual_configs(cfg, n).items()}


def decompose(cfg: dict, run_summary: pd.DataFrame | None = None,
              n: int | None = None, values: dict | None = None) -> pd.DataFrame:
    """The decomposition table (:data:`COLUMNS`) for ``cfg``; ``run_summary`` (the run's own
    group summary) gives ``gap_run``. ``n`` defaults to ``outcomes.decomposition_n``,
    capped at the run's population size; 0 gives an empty table. ``values``: the
    :func:`counterfactual_gaps` of ``cfg`` and ``n`` if already computed."""

    n = decomposition_size(cfg, n)
    if n <= 0:
        return pd.DataFrame(columns=COLUMNS)
    if values is None:
        values = counterfactual_gaps(cfg, n)
    own = gaps(run_summary) if run_summary is not None else {}
    rows = []
    for gap, _ in GAPS:
        for metric, _ in METRICS:
            key = (gap, metric)
            full, mid, none = (values[r][key] for r in RUNS)
            assumed, sourced, structure = full - mid, mid - none, none
            ok = bool(np.isfinite(full) and abs(full) > 1e-12)

            def share(v, full=full, ok=ok):
                return v / full if ok else np.nan

            rows.append({"gap": gap, "metric": metric, "gap_run": own.get(key, np.nan),
                         "gap_full": full, "structure": structure, "sourced": sourced,
                         "assumed": assumed, "share_structure": share(structure),
                         "share_sourced": share(sourced), "share_assumed": share(assumed),
                         "n": n})
    return pd.DataFrame(rows, columns=COLUMNS)


def _fmt(v, metric: str) -> str:
    if v is None or not np.isfinite(v):
        return "-"
    return f"{100 * v:+.1f} pts" if metric == "rtw_52w" else f"{v:+.2f}"


def _pct(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{100 * v:.0f}%"


def _rows(table: pd.DataFrame):
    gap_label, metric_label = dict(GAPS), dict(METRICS)
    for r in table.itertuples():
        yield (gap_label.get(r.gap, r.gap), metric_label.get(r.metric, r.metric),
               _fmt(r.gap_run, r.metric), _fmt(r.gap_full, r.metric),
               f"{_fmt(r.structure, r.metric)} ({_pct(r.share_structure)})",
               f"{_fmt(r.sourced, r.metric)} ({_pct(r.share_sourced)})",
               f"{_fmt(r.assumed, r.metric)} ({_pct(r.share_assumed)})")


HEADER = ("gap", "outcome", "gap in this run", "gap (decomposition runs)",
          "population structure", "sourced hazard differences", "assumed hazard differences")
EXPLANATION = (
    "Counterfactual runs with the same seed (common random numbers), {n:,} people, one "
    "replicate: assumed deprivation / ethnicity multipliers of the usual-care hazards set "
    "to 1, then also those calibrated to a UK source (the onset and RTW deprivation "
    "multipliers, fitted to Daras et al. 2022). Structure is the gap left when no hazard "
    "depends on deprivation or ethnicity (condition mix, severity, occupation, OH access, "
    "employer size, age and sex). The three parts add up to the gap; shares can exceed 100% "
    "or be negative when parts pull in opposite directions. Table: gap_decomposition.csv.")


def decomposition_markdown(table: pd.DataFrame) -> str:
    """The summary.md section (empty string for an empty table)."""
    if table is None or table.empty:
        return ""
    lines = ["## How much of each gap is evidence, and how much assumption", "",
             EXPLANATION.format(n=int(table["n"].iloc[0])), "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(table)]
    return "\n".join(lines)


def report_section(table: pd.DataFrame) -> str:
    """The HTML report's section (escaped; empty string for an empty table)."""
    if table is None or table.empty:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADER)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in _rows(table))
    text = html.escape(EXPLANATION.format(n=int(table["n"].iloc[0])))
    return (f"<section id=\"gap-decomposition\"><h2>How much of each gap is evidence, and "
            f"how much assumption</h2><p>{text}</p><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></section>")


def for_results(results, pending=None) -> pd.DataFrame:
    """The decomposition of a finished run (computed once, kept on ``results``).
    ``pending``: a callable returning :func:`counterfactual_gaps` of the run's config (a
    helper process's result, :mod:`sim.results.helper`), else they are computed here."""
    import warnings

    from sim.results.helper import HelperError

    table = getattr(results, "decomposition", None)
    if table is None or table.empty:
        try:
            values = pending() if pending is not None else None
            table = decompose(results.config, results.summary, values=values)
        except HelperError as err:
            if not isinstance(err.original, ConfigError):
                raise
            warnings.warn(f"gap decomposition left out: {err.original}", stacklevel=2)
            table = pd.DataFrame(columns=COLUMNS)
        except ConfigError as err:  # a config changed after the run no longer validates
            warnings.warn(f"gap decomposition left out: {err}", stacklevel=2)
            table = pd.DataFrame(columns=COLUMNS)
        results.decomposition = table
    return table


def report_html(cells, limit: int = 4) -> str:
    """Sections for the comparison report: each design's ``gap_decomposition.csv`` (the
    first ``limit`` designs that have one; runs written before it existed have none)."""
    parts = []
    for cell in cells:
        path = cell.path / "gap_decomposition.csv"
        if len(parts) >= limit or not path.is_file():
            continue
        try:
            table = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError):
            continue
        if table.empty or not set(COLUMNS) <= set(table.columns):
            continue
        name = html.escape(str(cell.config["programme"].get("name", "")))
        parts.append(f"<h3>{name}</h3>" + report_section(table))
    return "".join(parts)
