"""The evidence registry as a table: for reports, docs and the command line.

    evidence_table(registry)   -> pandas.DataFrame, one row per entry
    to_markdown(df)            -> a GitHub-flavoured markdown table
    format_value(entry)        -> "1.29 (1.03 to 1.61)"

The command line that prints it is ``python -m sim.evidence.registry`` (its ``main``).
"""

from __future__ import annotations

from pathlib import Path

from sim.evidence.measures import EvidenceEntry, flat


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1e5:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:,.2f}".rstrip("0").rstrip(".")
    return f"{x:.4g}"


def format_value(entry: EvidenceEntry) -> str:
    if entry.value is None:
        return f"narrative: {entry.direction}"
    text = _fmt(entry.value)
    if entry.ci is not None:
        text += f" ({_fmt(entry.ci[0])} to {_fmt(entry.ci[1])})"
    elif entry.distribution and entry.distribution["type"] == "fixed":
        text += " (fixed)"
    if entry.unit:
        text += f" {entry.unit}"
    return text


def evidence_table(registry: dict[str, EvidenceEntry], ids=None):
    """One row per entry: id, measure, value (95% CI), population, source/brief ref,
    certainty, assumption, how the model converts it (plus the file it came from).
    ``ids``: only these entries, in this order (e.g.
    ``sim.programme.effects.evidence_ids(cfg)``)."""
    import pandas as pd

    rows = []
    entries = registry.values() if ids is None else [registry[i] for i in ids]
    for e in entries:
        pop = e.population["text"]
        if e.conditions:
            pop += f" [{', '.join(e.conditions)}]"
        src = e.source + (f" [{e.brief_ref}]" if e.brief_ref is not None else "")
        certainty = e.certainty.replace("_", " ")
        conv = e.conversion["method"].strip()
        if e.conversion.get("function"):
            conv = f"{e.conversion['function']}: {conv}"
        rows.append({
            "id": e.id, "measure": e.measure, "value (95% CI)": format_value(e),
            "population": pop, "source/brief ref": src, "certainty": certainty,
            "assumption": "yes" if e.assumption else "no", "conversion": conv,
            "file": Path(e.file).stem,
        })
    return pd.DataFrame(rows, columns=["id", "measure", "value (95% CI)", "population",
                                       "source/brief ref", "certainty", "assumption",
                                       "conversion", "file"])


def to_markdown(df, floatfmt: str | None = None) -> str:
    """A GitHub-flavoured markdown table (no optional dependency needed); ``floatfmt``
    (e.g. ``".4g"``) formats float cells."""
    def cell(x):
        if floatfmt and isinstance(x, float):
            return format(x, floatfmt)
        return flat(x).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in df.columns) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in df.itertuples(index=False)]
    return "\n".join(lines)
