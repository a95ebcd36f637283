"""The explorer's views: pure functions from an :class:`~sim.explorer.runs.Outcome` (or a live
model) to the DataFrames and dicts the page draws. Nothing here draws or knows Solara."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.engine.categories import (
    AGE_BANDS,
    CONDITION_LABELS,
    CONDITIONS,
    DISABILITY,
    EMPLOYER_SIZES,
    EMPLOYMENT_TYPES,
    ETHNICITIES,
    ETHNICITY_LABELS,
    OCCUPATIONS,
    SEVERITIES,
    SEXES,
    STATES,
)
from sim.explorer.runs import Outcome
from sim.explorer.scenario import MINORITIES, REFERENCE
from sim.stats.metrics import slope_index


def design_label(name: str) -> str:
    acronyms = {"mdt": "MDT", "cbt": "CBT", "bps": "BPS", "ips": "IPS", "smi": "SMI",
                "vsw": "VSW", "rtw": "RTW", "msk": "MSK", "ot": "OT"}
    return " ".join(acronyms.get(w, w) for w in name.split("_"))


def curve_arrays(outcome: Outcome, dimension: str) -> dict[str, np.ndarray]:
    """:func:`curves_view` as numpy columns (design, group, week, share, vs_usual_care), in
    the comparison's row order: what the page's figure reads (no DataFrame to build)."""
    cur = outcome.comparison.curves
    keep = (cur["dimension"] == dimension).to_numpy()
    design, group = cur["design"].to_numpy()[keep], cur["group"].to_numpy()[keep]
    week, share = cur["week"].to_numpy()[keep], cur["share"].to_numpy()[keep]
    ref = design == REFERENCE
    usual = dict(zip(zip(group[ref].tolist(), week[ref].tolist(), strict=True),
                     share[ref].tolist(), strict=True))
    base = np.array([usual.get(k, np.nan) for k in zip(group.tolist(), week.tolist(),
                                                        strict=True)], dtype=float)
    return {"design": design, "group": group, "week": week, "share": share,
            "vs_usual_care": share - base}


def curves_view(outcome: Outcome, dimension: str) -> pd.DataFrame:
    """RTW curves by group: design, group, week, share and the difference from usual care
    (NaN where usual care has no row). (On numpy columns: ~4x faster than pandas indexing
    for the few hundred rows of a dimension.)"""
    a = curve_arrays(outcome, dimension)
    cur = outcome.comparison.curves
    return pd.DataFrame({"design": pd.array(a["design"], dtype=cur["design"].dtype),
                         "group": pd.array(a["group"], dtype=cur["group"].dtype),
                         "week": a["week"], "share": a["share"],
                         "vs_usual_care": a["vs_usual_care"]})


def ethnic_gap(values: dict, counts: dict) -> tuple[float, float]:
    """Population-weighted mean shortfall of minority groups against White British (the
    report's definition) and its binomial standard error (groups independent)."""
    wb = ETHNICITIES[0]
    groups = [g for g in MINORITIES if counts.get(g, 0) > 0]
    w = np.array([counts[g] for g in groups], dtype=float)
    w /= w.sum()
    p = np.array([values[g] for g in groups])
    n = np.array([counts[g] for g in groups], dtype=float)
    gap = float(values[wb] - (w * p).sum())
    var = values[wb] * (1 - values[wb]) / counts[wb] + float((w**2 * p * (1 - p) / n).sum())
    return gap, math.sqrt(var)


def _gap_levels(arm):
    """One arm's SII (with its simulation interval) and ethnic gap (with its standard
    error) of RTW within 52 weeks, pooled over replicates; once per arm (usual care's
    serves every design compared with it)."""
    cached = arm.__dict__.get("_gap_levels")
    if cached is not None:
        return cached
    s = arm.results.summary
    s = s[s["metric"] == "rtw_52w"]
    pooled = {}
    for dim in ("imd_quintile", "ethnicity"):
        sub = s[s["dimension"] == dim].copy()
        sub["x"] = sub["value"] * sub["n"]
        g = sub.groupby("group")[["x", "n"]].sum()
        pooled[dim] = (g["x"] / g["n"]).to_dict(), g["n"].to_dict()
    v, n = pooled["imd_quintile"]
    q = [str(k) for k in range(1, 6)]
    sii = slope_index([v[k] for k in q], [n[k] for k in q], denominators=[n[k] for k in q],
                      ci="simulation", n_sim=20_000, rng=0)
    gap, se = ethnic_gap(*pooled["ethnicity"])
    arm.__dict__["_gap_levels"] = sii, gap, se
    return sii, gap, se


def gaps_view(outcome: Outcome) -> pd.DataFrame:
    """Per design: SII (Fingertips simulation interval) and ethnic gap (binomial interval)
    of RTW within 52 weeks, levels pooled over replicates, plus the change vs usual care with
    its 95% paired interval over replicates (NaN with one replicate)."""
    rows = []
    league = outcome.comparison.league
    for arm in ([outcome.reference] if outcome.design is outcome.reference
                else [outcome.reference, outcome.design]):
        name = arm.config["programme"]["name"]
        sii, gap, se = _gap_levels(arm)
        lg = league[league["design"] == name].set_index("measure")
        for measure, level, low, high in (
            ("sii", sii.sii, sii.sii_low, sii.sii_high),
            ("ethnic_gap", gap, gap - 1.96 * se, gap + 1.96 * se),
        ):
            rows.append({"design": name, "measure": measure, "level": level,
                         "low": low, "high": high,
                         "change": lg.loc[measure, "estimate"] if measure in lg.index else 0.0,
                         "change_low": lg.loc[measure, "low"] if measure in lg.index else np.nan,
                         "change_high": lg.loc[measure, "high"] if measure in lg.index
                         else np.nan})
    return pd.DataFrame(rows)


def costs_view(outcome: Outcome) -> pd.DataFrame:
    """Discounted cost per person by perspective: level and change vs usual care (the
    report's cost table)."""
    return outcome.comparison.costs[["design", "perspective", "level", "estimate", "low",
                                     "high"]].copy()


ATTRIBUTE_NAMES = {
    "age_band": AGE_BANDS, "sex": SEXES, "ethnicity": ETHNICITIES, "condition": CONDITIONS,
    "severity": SEVERITIES, "occupation": OCCUPATIONS, "employer_size": EMPLOYER_SIZES,
    "disability": DISABILITY, "employment": EMPLOYMENT_TYPES, "state": STATES,
}
LABELS = {"ethnicity": ETHNICITY_LABELS, "condition": CONDITION_LABELS}


def describe_person(model, index: int) -> dict:
    """``model.person(i).describe()`` with codes turned into readable names."""
    raw = model.person(index).describe()
    out = {}
    for key, value in raw.items():
        if key in ATTRIBUTE_NAMES and isinstance(value, int):
            name = ATTRIBUTE_NAMES[key][value]
            value = LABELS.get(key, {}).get(name, name)
        elif key == "oh_access":
            value = bool(value)
        elif key == "weeks_by_state" and isinstance(value, list):
            value = dict(zip(STATES, value, strict=True))
        out[key] = value
    return out
