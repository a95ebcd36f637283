"""``aggregate/comparison.csv`` of a sweep: every design vs usual care, in every setting.

One row per design x setting x measure (x group for the by-group measures), long and
tidy: the design's label (``design``: the programme name, with a named variant's label in
brackets), its ``programme``, the reference, one column per other swept setting
(``population``, assumption settings, ``variant`` ...), then ``dimension``, ``group``,
``metric``, ``n_replicates``, ``design_value`` and ``reference_value`` (means over
replicates), ``difference`` (design minus usual care, paired replicate by replicate: same
people, same luck) and its 95% paired t interval ``low``-``high`` (NaN with one
replicate), as :func:`sim.stats.metrics.paired_difference`.

Measures, from each cell's ``group_summary`` and ``economics`` tables:

* overall (``dimension = all``): RTW and sustained RTW at each reported week, days absent,
  job loss, inactivity, on a health benefit, relapse, programme cost;
* the same by IMD quintile and by ethnic group (``dimension = imd_quintile / ethnicity``);
* inequality (``dimension = inequality``, ``group`` = the measure it is of, e.g.
  ``rtw_52w``): ``sii`` and ``rii`` by IMD (Fingertips convention: least minus / over
  most deprived, :func:`sim.stats.metrics.slope_index`), ``imd_gap`` (quintile 5 minus 1),
  ``concentration_index`` over IMD (> 0: concentrated among the less deprived),
  ``ethnic_gap`` (population-weighted mean shortfall of minority groups against White
  British, percentage points as a share) and ``ethnic_gap_rel`` (their weighted mean over
  White British's: < 1 means minority groups do worse). For every one of them a fall is a
  narrowing gap when the outcome is good (RTW); ``ethnic_gap_rel`` and ``rii`` narrow
  towards 1;
* economics (``dimension = economics``, per person, discounted): costs by perspective
  (``cost_<perspective>``), ``qaly``, ``weeks_in_work``, and the two net benefits whose
  difference is the net benefit of the design: ``nmb`` (willingness to pay per week in
  work x weeks in work minus programme cost; the report's NMB) and ``nhb_<k>`` (QALYs
  minus NHS/PSS cost / k, for each threshold k of ``economics.qaly_thresholds``; the
  difference is the net health benefit).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.results.parquet import read_parquet
from sim.stats.metrics import concentration_index, slope_index
from sim.stats.ranked import RankedGroups

REFERENCE_PROGRAMME = "usual_care"
BY_GROUP = ("imd_quintile", "ethnicity")
OVERALL = ("days_absent", "job_loss", "inactive", "health_benefit", "relapse",
           "programme_cost")
COSTS = ("cost_programme", "cost_nhs_pss", "cost_employer", "cost_exchequer",
         "cost_individual", "cost_societal")
WHITE_BRITISH = "white_british"
COLUMNS = ("design", "programme", "reference")
VALUES = ("dimension", "group", "metric", "n_replicates", "design_value", "reference_value",
          "difference", "low", "high")


def _is_outcome(metric: str) -> bool:
    return metric in OVERALL or (metric.startswith(("rtw_", "sustained_rtw_"))
                                 and metric.endswith("w"))


def _rows(values: dict, dimension: str, metric: str, group: str) -> list[dict]:
    return [{"replicate": r, "dimension": dimension, "group": group, "metric": metric,
             "value": float(v)} for r, v in values.items()]


def _inequality(imd, eth, metric: str, memo: dict | None = None) -> list[dict]:
    """Per replicate: SII, RII, Q5-Q1 gap, concentration index, ethnic gaps of ``metric``
    (``imd``/``eth``: :func:`_wide`'s (replicates, groups, values, denominators), or None;
    ``memo``: :func:`_ranked`'s, kept by the caller across cells)."""

    rows: list[dict] = []
    memo = {} if memo is None else memo
    q = [str(i) for i in range(1, 6)]
    if imd is not None and set(q) <= set(imd[1]):
        reps, columns, values, denominators = imd
        at = [columns.index(g) for g in q]
        out: dict[str, dict] = {"sii": {}, "rii": {}, "imd_gap": {},
                                "concentration_index": {}}
        # column-major, as pandas hands a frame's columns over: each replicate's row is a
        # strided view, summed and multiplied in the same order as always (same bits)
        for r, y, w in zip(reps, np.asfortranarray(values[:, at]),
                           np.asfortranarray(denominators[:, at]), strict=True):
            if not (np.isfinite(y).all() and np.isfinite(w).all()):
                continue  # a quintile with no value in this replicate
            groups = _ranked(w, memo)
            if groups is None:  # a weight of 0: the functions' own checks and errors
                s = slope_index(y, w, ci="none")
                out["sii"][r], out["rii"][r] = s.sii, s.rii
            else:
                out["sii"][r], out["rii"][r] = groups.slope(y)
            out["imd_gap"][r] = y[4] - y[0]
            if not y @ w > 0:
                out["concentration_index"][r] = np.nan
            elif groups is None:
                out["concentration_index"][r] = concentration_index(y, np.arange(1, 6), w).index
            else:
                out["concentration_index"][r] = groups.concentration(y, w)
        for name, vals in out.items():
            rows += _rows(vals, "inequality", name, metric)
    if eth is None:
        return rows
    reps, columns, values, denominators = eth
    minorities = [j for j, g in enumerate(columns) if g != WHITE_BRITISH]
    if WHITE_BRITISH in columns and minorities:
        # column-major as above: the row sums add in the same order as always
        vals = np.asfortranarray(values[:, minorities])
        w = np.where(np.isfinite(vals), np.asfortranarray(denominators[:, minorities]),
                     0.0)  # empty: 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_min = np.nansum(np.nan_to_num(vals) * w, axis=1) / w.sum(axis=1)
        wb = values[:, columns.index(WHITE_BRITISH)].copy()
        rows += _rows(dict(zip(reps, wb - mean_min, strict=True)), "inequality",
                      "ethnic_gap", metric)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(wb > 0, mean_min / wb, np.nan)
        rows += _rows(dict(zip(reps, rel, strict=True)), "inequality", "ethnic_gap_rel",
                      metric)
    return rows


def _ranked(w: np.ndarray, memo: dict) -> RankedGroups | None:
    """The weight-only part of the SII and concentration index for the denominators ``w``
    (the same for every measure of a replicate and most cells of a population and seed:
    :mod:`sim.stats.ranked`), kept in ``memo``; None if a weight is not positive."""
    key = (w.tobytes(), w.strides)
    groups = memo.get(key)
    if groups is None:
        if not RankedGroups.usable(w):
            return None
        groups = memo[key] = RankedGroups(w)
    return groups


def _wide(summary: pd.DataFrame, metrics) -> dict:
    """(metric, dimension) -> (replicates, groups, values, denominators), the arrays
    replicate x group: the first row of
    each (metric, dimension, replicate, group), the groups of all these rows as columns
    (sorted; NaN where a key has no such group), the replicates of the key as the index.

    What ``set_index(...).unstack("group")`` of the rows gives, built with numpy: the
    reshape ran once per cell and was a third of a sweep's aggregation (issue 19)."""
    sub = summary[summary["metric"].isin(metrics) & summary["dimension"].isin(BY_GROUP)]
    if sub.empty:
        return {}
    groups = sub["group"].to_numpy(object)
    if not all(isinstance(g, str) for g in groups):  # missing groups: pandas' own rules
        return _wide_pandas(sub)
    columns = sorted(set(groups))
    col = {g: i for i, g in enumerate(columns)}
    cells: dict = {}
    for m, d, r, g, v, n in zip(sub["metric"].to_numpy(object),
                                sub["dimension"].to_numpy(object),
                                sub["replicate"].to_numpy(), groups,
                                sub["value"].to_numpy(float), sub["n"].to_numpy(float),
                                strict=True):
        cells.setdefault((m, d), {}).setdefault(r, {}).setdefault(col[g], (v, n))
    out = {}
    for key, reps in cells.items():
        order = sorted(reps)
        values = np.full((len(order), len(columns)), np.nan)
        denominators = np.full((len(order), len(columns)), np.nan)
        for i, r in enumerate(order):
            for j, (v, n) in reps[r].items():
                values[i, j], denominators[i, j] = v, n
        out[key] = (order, columns, values, denominators)
    return out


def _wide_pandas(sub: pd.DataFrame) -> dict:
    wide = sub.set_index(["metric", "dimension", "replicate", "group"])[["value", "n"]]
    wide = wide[~wide.index.duplicated()].unstack("group")
    out = {}
    for key in wide.index.droplevel("replicate").unique():
        part = wide.loc[key]
        out[key] = (list(part.index), list(part["value"].columns),
                    part["value"].to_numpy(float), part["n"].to_numpy(float))
    return out


def _economics(econ: pd.DataFrame, config: dict) -> list[dict]:
    """The economics measures of the ``all`` rows, per replicate. The columns are taken as
    numpy arrays keyed by replicate (what ``set_index("replicate")[col].to_dict()`` gave,
    a later duplicate replicate winning as there, the same sums element by element; a frame
    and a dict per column were most of this function's time, issue 19)."""
    # the ``all`` rows of the columns used, taken from each column's array (filtering the
    # whole frame took every column of it, issue 19)
    rows_all = (econ["dimension"] == "all").to_numpy(bool)
    reps = econ["replicate"].to_numpy()[rows_all].tolist()
    used = (*COSTS, "qaly_disc", "weeks_in_work_disc")
    col = {c: econ[c].to_numpy()[rows_all] for c in used if c in econ.columns}
    rows: list[dict] = []

    def add(values, metric: str) -> None:
        rows.extend(_rows(dict(zip(reps, values.tolist(), strict=True)), "economics", metric,
                          "all"))

    for c in COSTS:
        if c in col:
            add(col[c], c)
    if "qaly_disc" in col:
        add(col["qaly_disc"], "qaly")
    add(col["weeks_in_work_disc"], "weeks_in_work")
    eco = config.get("economics") or {}
    wtp = eco.get("willingness_to_pay_per_week_in_work")
    if wtp is not None:
        add(wtp * col["weeks_in_work_disc"] - col["cost_programme"], "nmb")
    if "qaly_disc" in col and "cost_nhs_pss" in col:
        for k in eco.get("qaly_thresholds") or ():
            add(col["qaly_disc"] - col["cost_nhs_pss"] / float(k), f"nhb_{float(k):g}")
    return rows


def cell_measures(results_dir: Path, summary: pd.DataFrame, economics=None,
                  manifest: dict | None = None, memo: dict | None = None) -> pd.DataFrame:
    """Every measure of one cell, per replicate (long: replicate, dimension, group, metric,
    value), from its ``group_summary`` (``summary``), ``economics`` and manifest (read from
    ``results_dir`` unless given). ``memo``: a dict the caller keeps across cells, for the
    inequality measures' weight-only part (:mod:`sim.stats.ranked`; optional)."""
    metric = summary["metric"]
    outcomes = [m for m in metric.unique() if isinstance(m, str) and _is_outcome(m)]
    keep = summary[metric.isin(outcomes) & summary["dimension"].isin(("all", *BY_GROUP))]
    frames = [keep[["replicate", "dimension", "group", "metric", "value"]]]
    rows: list[dict] = []
    # the distinct metrics by pandas' unique (iterating a column of Arrow strings in Python
    # was a third of this function), reshaped from ``keep`` (the same rows, in order)
    rtw = sorted(m for m in keep["metric"].unique() if m.startswith(("rtw_", "sustained_rtw_")))
    wide = _wide(keep, rtw)
    for metric in rtw:
        rows += _inequality(wide.get((metric, "imd_quintile")), wide.get((metric, "ethnicity")),
                            metric, memo)
    econ_path = Path(results_dir) / "economics.parquet"
    if economics is None and econ_path.is_file():
        economics = read_parquet(econ_path)
    if economics is not None:
        if manifest is None:
            manifest = json.loads((Path(results_dir) / "manifest.json").read_text())
        rows += _economics(economics, manifest.get("config") or {})
    frames.append(pd.DataFrame(rows, columns=["replicate", "dimension", "group", "metric",
                                              "value"]))
    out = pd.concat(frames, ignore_index=True)
    out["group"] = out["group"].astype(str)
    return out


def comparison_table(measures: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Paired difference of each design vs usual care in each setting (module docstring).

    ``measures``: :func:`cell_measures` of every cell with its factor columns."""
    from sim.stats.core import _t_ppf

    others = [f for f in factors if f != "programme"]
    cols = [*COLUMNS, *others, *VALUES]
    if "programme" not in factors or measures.empty:
        return pd.DataFrame(columns=cols)
    base = measures[measures["programme"] == REFERENCE_PROGRAMME]
    if base.empty:
        return pd.DataFrame(columns=cols)
    on = [*others, "dimension", "group", "metric", "replicate"]
    merged = measures[measures["programme"] != REFERENCE_PROGRAMME].merge(
        base[[*on, "value"]], on=on, suffixes=("", "_ref"))
    merged["diff"] = merged["value"] - merged["value_ref"]
    by = ["programme", *others, "dimension", "group", "metric"]
    stats_ = merged.sort_values([*by, "replicate"], kind="mergesort").groupby(
        by, sort=True, dropna=False).agg(
        n_replicates=("diff", "size"), design_value=("value", "mean"),
        reference_value=("value_ref", "mean"), difference=("diff", "mean"),
        sd=("diff", "std")).reset_index()
    n = stats_["n_replicates"].to_numpy()
    q = _t_ppf(0.975, np.maximum(n - 1, 1))
    half = np.where(n >= 2, q * stats_["sd"].to_numpy() / np.sqrt(np.maximum(n, 1)), np.nan)
    stats_["low"] = stats_["difference"] - half
    stats_["high"] = stats_["difference"] + half
    stats_["reference"] = REFERENCE_PROGRAMME
    variant = stats_["variant"].astype(str) if "variant" in stats_ else None
    stats_["design"] = stats_["programme"].astype(str)
    if variant is not None:
        named = (variant != "") & (variant != "nan") & (variant != "None")
        stats_.loc[named, "design"] = stats_["programme"].astype(str) + " [" + variant + "]"
    return stats_[cols]
