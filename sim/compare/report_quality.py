"""The compare report's "Quality of the return" section (issue 20).

Reads each run's ``quality.parquet`` (:mod:`sim.results.quality`; runs written before it
existed have none and are listed as such), averages the whole-population values over
replicates and seeds, and shows each design beside usual care with the change. Every string
shown is escaped (design names come from configs)."""

from __future__ import annotations

import pandas as pd
from markupsafe import escape

from sim.results.quality import QUALITY_METRICS

# the columns shown, in order (all in sim.results.quality.QUALITY_METRICS)
SHOWN = ("first_return_sustained", "first_return_broke_down", "early_return",
         "broke_down_after_early", "same_job", "hours_after_return", "fte_weeks_phased",
         "fte_weeks_presenteeism", "utility_mean")


def arm_quality(arm) -> dict[str, float] | None:
    """Whole-population means over replicates and seeds of one arm, or None when no run of
    it has a quality table."""
    tables = []
    for cell in arm.cells.values():
        path = cell.path / "quality.parquet"
        if path.is_file():
            try:
                tables.append(pd.read_parquet(path))
            except Exception:  # noqa: BLE001 - an unreadable extra table only drops the row
                continue
    if not tables:
        return None
    q = pd.concat(tables, ignore_index=True)
    q = q[q["dimension"] == "all"]
    return q.groupby("metric")["value"].mean().to_dict()


def _cell(value, ref, kind) -> str:
    if value is None or value != value:
        return "-"
    if kind == "pct":
        text = f"{100 * value:.1f}%"
        change = None if ref is None else f"{100 * (value - ref):+.1f} pts"
    else:
        text = f"{value:.2f}"
        change = None if ref is None else f"{value - ref:+.2f}"
    return text if change is None else f"{text} ({change})"


def quality_html(comp) -> str:
    """The section body: one row per design (usual care first), values with the change
    from usual care in brackets."""
    if not comp.arms:
        return ""
    values = [(arm.key, arm_quality(arm)) for arm in comp.arms]
    ref = values[0][1]
    head = "".join(f"<th>{escape(QUALITY_METRICS[m][0])}</th>" for m in SHOWN)
    rows = []
    missing = []
    for key, vals in values:
        if vals is None:
            missing.append(key)
            continue
        base = None if ref is None or key == values[0][0] else ref
        cells = "".join(
            f"<td>{escape(_cell(vals.get(m), None if base is None else base.get(m), kind))}</td>"
            for m, kind in ((m, QUALITY_METRICS[m][1]) for m in SHOWN))
        rows.append(f"<tr><td>{escape(key)}</td>{cells}</tr>")
    intro = ("<p>Whole population, means over replicates; in brackets the change from usual "
             "care. A first return <em>broke down</em> if it did not last the sustained-return "
             "weeks; <em>early</em> returns came before the model's early-return threshold for "
             "the person's severity (WAVE warns against premature returns). FTE weeks lost and "
             "utility per person over the run; presenteeism is an assumption. Groups: each "
             "run's quality.parquet.</p>")
    note = ""
    if missing:
        note = ("<p>No quality table (runs written before it existed): "
                + str(escape(", ".join(missing))) + ".</p>")
    if not rows:
        return intro + note
    table = (f"<table><thead><tr><th>design</th>{head}</tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>")
    return intro + table + note  # plain str: every user string was escaped above


__all__ = ["quality_html", "arm_quality", "SHOWN"]
