"""Words of the report a reader meets first: the glossary, group and evidence-entry names,
and the Groups table against usual care. Every string is escaped (Markup.format, pandas
``escape=True``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from markupsafe import Markup

from sim.engine.categories import CONDITION_LABELS, ETHNICITY_LABELS
from sim.evidence.registry import load_registry

GLOSSARY = (
    ("RTW", "return to work: the first return (full or phased hours) after the absence "
            "started, within the stated number of weeks"),
    ("IMD", "Index of Multiple Deprivation: areas ranked into fifths (quintiles); quintile 1 "
            "is the most deprived"),
    ("SII", "slope index of inequality: the fitted difference in RTW between the least and "
            "most deprived ends of the IMD ranking (PHE/OHID Fingertips convention); a "
            "negative change means the deprivation gap narrows"),
    ("RII", "relative index of inequality: the same ends as a ratio (least / most deprived)"),
    ("Ethnic gap", "the population-weighted mean shortfall in RTW of each minority ethnic "
                   "group against White British; a negative change means the gap narrows"),
    ("pp", "percentage points"),
    ("CBT", "cognitive behavioural therapy"),
    ("IPS", "Individual Placement and Support (supported employment)"),
    ("SMI", "severe mental illness"),
    ("BPS", "biopsychosocial (rehabilitation that addresses health, psychological and "
            "social barriers together)"),
    ("MDT", "multidisciplinary team"),
    ("VSW", "vocational support worker (WAVE: in primary care, on the fit note pathway)"),
    ("MSK", "musculoskeletal conditions (incl. back pain)"),
    ("OH", "occupational health; SME: small and medium employer"),
    ("QALY", "quality-adjusted life year"),
    ("NMB", "net monetary benefit: willingness to pay x change in discounted weeks in work "
            "minus change in programme cost"),
    ("NHB", "net health benefit: change in QALYs minus change in NHS/PSS cost divided by the "
            "cost-effectiveness threshold"),
    ("ICER", "incremental cost-effectiveness ratio (extra cost per QALY gained)"),
    ("DCEA", "distributional cost-effectiveness analysis (who gains the health)"),
    ("PSA", "probabilistic sensitivity analysis (evidence values drawn from their "
            "distributions)"),
    ("EVPI / EVPPI", "expected value of (partial) perfect information: what knowing all "
                     "(one group of) the evidence exactly would be worth"),
    ("Interval", "95% paired interval over replicates (same people, same luck in the design "
                 "and in usual care); simulation noise only, not evidence uncertainty. An "
                 "interval that includes zero: not distinguishable from no change"),
)


def glossary_html(rtw_week: int) -> Markup:
    rows = Markup("").join(Markup("<dt>{}</dt><dd>{}</dd>").format(term, text)
                           for term, text in GLOSSARY)
    return (Markup("<p>The RTW measure is return within {} weeks. Gaps: charts plot the "
                   "<b>reduction</b> in each gap against usual care, so <b>positive = gap "
                   "narrows</b> (stated on each chart); tables and sentences give the "
                   "<b>change</b> in a gap (design minus usual care), so there a negative "
                   "change means the gap narrows.</p>")
            .format(rtw_week) + Markup('<dl class="glossary">{}</dl>').format(rows))


DIMENSION_LABELS = {"imd_quintile": "Deprivation (IMD quintile)",
                    "ethnicity": "Ethnic group", "condition": "Condition",
                    "disability": "Disability", "employment": "Employment"}
ATTRIBUTE_LABELS = {"disabled": "Disabled", "not_disabled": "Not disabled",
                    "secure": "Secure", "precarious": "Precarious (temporary, zero-hours, agency)"}


def group_label(dimension: str, group) -> str:
    g = str(group)
    if dimension == "imd_quintile":
        return {"1": "1 (most deprived)", "5": "5 (least deprived)"}.get(g, g)
    if dimension == "ethnicity":
        return ETHNICITY_LABELS.get(g, g)
    if dimension == "condition":
        return CONDITION_LABELS.get(g, g)
    if dimension in ("disability", "employment"):
        return ATTRIBUTE_LABELS.get(g, g)
    return g


def groups_table(groups: pd.DataFrame, rtw: str, ref: str, names: dict, small: int,
                 max_designs: int = 3) -> pd.DataFrame:
    """Groups table: RTW and days absent by group, and RTW change against usual care (pp)."""
    g = groups.copy()
    base = g[g["design"] == ref].set_index(["dimension", "group"])[rtw]
    change = 100 * (g[rtw] - base.reindex(list(zip(g["dimension"], g["group"],
                                                      strict=True))).to_numpy())
    too_small = g["n"] < small
    col = f"RTW {rtw[4:-1]} w (%)"
    sup = f"suppressed (<{small})"
    out = pd.DataFrame({
        "design": [names.get(d, d) for d in g["design"]],
        "characteristic": [DIMENSION_LABELS.get(d, d) for d in g["dimension"]],
        "group": [group_label(d, x) for d, x in zip(g["dimension"], g["group"], strict=True)],
        "n": np.where(too_small, f"<{small}", g["n"].map("{:,}".format)),
        col: np.where(too_small, sup, (100 * g[rtw]).round(1).astype(str)),
        "RTW vs usual care (pp)": np.where(
            too_small, sup, np.where(g["design"] == ref, "reference",
                                     [f"{x:+.1f}" for x in change])),
        "days absent": np.where(too_small, sup, g["days_absent"].round(1).astype(str)),
    })
    keep = g["design"].isin([ref, *sorted(set(g["design"]) - {ref})[:max_designs]])
    return out[keep.to_numpy()]


def entry_label(entry_id: str) -> str:
    """An evidence entry by its source (first clause), not its registry id."""
    try:
        registry = load_registry()
    except Exception:  # noqa: BLE001 - no registry: the id is still a name
        return entry_id
    parts = []
    for one in str(entry_id).split("+"):
        e = registry.get(one.strip())
        if e is None:
            parts.append(one)
            continue
        source = " ".join(str(e.source).split())
        head = source.split(";")[0].split(":")[0]
        parts.append(head if len(head) <= 70 else head[:67] + "...")
    return " + ".join(parts)
