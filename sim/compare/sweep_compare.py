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
import pyarrow as pa
import pyarrow.compute as pc

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
    """The rows of ``{replicate: value}`` as dicts (the format :class:`_Long` replaced; kept
    for the tests' reference versions)."""
    return [{"replicate": r, "dimension": dimension, "group": group, "metric": metric,
             "value": float(v)} for r, v in values.items()]


class _Long:
    """The rows :func:`cell_measures` adds to the group summary's (replicate, dimension,
    group, metric, value), kept as columns: a dict per row and a frame built from the dicts
    were a fifth of the function's time (issue 19). Each :meth:`add` is one measure's rows."""

    def __init__(self) -> None:
        self.replicates: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.labels: list[tuple[str, str, str, int]] = []  # dimension, group, metric, rows

    def add(self, replicates, dimension: str, metric: str, group: str, values) -> None:
        """Rows ``replicate, dimension, group, metric, float(value)`` (none if empty)."""
        if len(replicates):
            self.replicates.append(np.asarray(replicates))
            self.values.append(np.asarray(values, dtype=float))
            self.labels.append((dimension, group, metric, len(replicates)))

    def columns(self) -> tuple[np.ndarray, list[str], list[str], list[str], np.ndarray]:
        """(replicates, dimensions, groups, metrics, values) of every row, in order."""
        reps = np.concatenate(self.replicates) if self.replicates else np.array([], int)
        vals = np.concatenate(self.values) if self.values else np.array([], float)
        text = ([], [], [])
        for d, g, m, k in self.labels:
            for out, s in zip(text, (d, g, m), strict=True):
                out.extend([s] * k)
        return reps, *text, vals

    def rows(self) -> list[dict]:
        """One dict per row (replicate and value as Python scalars)."""
        reps, dims, groups, metrics, vals = self.columns()
        return [{"replicate": r, "dimension": d, "group": g, "metric": m, "value": v}
                for r, d, g, m, v in zip(reps.tolist(), dims, groups, metrics, vals.tolist(),
                                         strict=True)]


def _inequality(imd, eth, metric: str, long: _Long, memo: dict | None = None) -> None:
    """Per replicate: SII, RII, Q5-Q1 gap, concentration index, ethnic gaps of ``metric``
    (``imd``/``eth``: :func:`_wide`'s (replicates, groups, values, denominators), or None;
    ``memo``: :func:`_ranked`'s, kept by the caller across cells), added to ``long``."""
    memo = {} if memo is None else memo
    q = [str(i) for i in range(1, 6)]
    if imd is not None and set(q) <= set(imd[1]):
        reps, columns, values, denominators = imd
        at = [columns.index(g) for g in q]
        # column-major, as pandas hands a frame's columns over: each replicate's row is a
        # strided view, summed and multiplied in the same order as always (same bits)
        ys, ws = np.asfortranarray(values[:, at]), np.asfortranarray(denominators[:, at])
        # a quintile with no value in a replicate: no measures of it
        ok = np.flatnonzero(np.isfinite(ys).all(axis=1) & np.isfinite(ws).all(axis=1))
        sii, rii, ci = [], [], []
        for i in ok.tolist():
            y, w = ys[i], ws[i]  # the views the loop over rows gave
            groups = _ranked(w, memo)
            if groups is None:  # a weight of 0: the functions' own checks and errors
                s = slope_index(y, w, ci="none")
                sii.append(s.sii)
                rii.append(s.rii)
            else:
                sii.append((slope := groups.slope(y))[0])
                rii.append(slope[1])
            if not y @ w > 0:
                ci.append(np.nan)
            elif groups is None:
                ci.append(concentration_index(y, np.arange(1, 6), w).index)
            else:
                ci.append(groups.concentration(y, w))
        r = np.asarray(reps)[ok]
        long.add(r, "inequality", "sii", metric, sii)
        long.add(r, "inequality", "rii", metric, rii)
        long.add(r, "inequality", "imd_gap", metric, ys[ok, 4] - ys[ok, 0])  # y[4] - y[0]
        long.add(r, "inequality", "concentration_index", metric, ci)
    if eth is None:
        return
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
        long.add(reps, "inequality", "ethnic_gap", metric, wb - mean_min)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(wb > 0, mean_min / wb, np.nan)
        long.add(reps, "inequality", "ethnic_gap_rel", metric, rel)


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
    replicates = sub["replicate"].to_numpy()
    if replicates.dtype.kind not in "iu" or not all(isinstance(g, str) for g in groups):
        return _wide_pandas(sub)  # missing groups, odd replicates: pandas' own rules
    return _wide_arrays(pd.factorize(sub["metric"].to_numpy(object)),
                        pd.factorize(sub["dimension"].to_numpy(object)), replicates,
                        pd.factorize(groups), sub["value"].to_numpy(float),
                        sub["n"].to_numpy(float))


def _wide_arrays(metric, dimension, replicates, group, value, n) -> dict:
    """:func:`_wide` of rows given as arrays: ``metric``, ``dimension`` and ``group`` as
    (codes, names) (a factorisation, codes >= 0, names strings), ``replicates`` integers.
    One array (key, replicate, group) filled at the first row of each cell, instead of a
    Python loop over the rows (issue 19)."""
    (mc, mnames), (dc, dnames), (gc, gnames) = metric, dimension, group
    keys, kc = np.unique(np.asarray(mc, np.int64) * len(dnames) + dc, return_inverse=True)
    reps, rc = np.unique(replicates, return_inverse=True)
    by_name = sorted(range(len(gnames)), key=lambda j: gnames[j])  # as sorted(set(groups))
    rank = np.empty(len(gnames), np.int64)
    rank[by_name] = np.arange(len(gnames))
    columns = [gnames[j] for j in by_name]
    shape = (len(keys), len(reps), len(columns))
    cell = np.ravel_multi_index((kc, rc, rank[gc]), shape)
    first = np.unique(cell, return_index=True)[1]  # the first row of each cell (stable)
    values, denominators = np.full(shape, np.nan), np.full(shape, np.nan)
    values.flat[cell[first]] = value[first]
    denominators.flat[cell[first]] = n[first]
    present = np.zeros(shape[:2], bool)
    present[kc, rc] = True
    out = {}
    for k, key in enumerate(keys.tolist()):
        rows = present[k]
        name = (mnames[key // len(dnames)], dnames[key % len(dnames)])
        if rows.all():
            out[name] = (reps, columns, values[k], denominators[k])
        else:
            out[name] = (reps[rows], columns, values[k][rows], denominators[k][rows])
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


def _economics(econ: pd.DataFrame, config: dict, long: _Long) -> None:
    """The economics measures of the ``all`` rows, per replicate, added to ``long``. The
    columns are taken as numpy arrays keyed by replicate (what
    ``set_index("replicate")[col].to_dict()`` gave: a later duplicate replicate winning, in
    the order of first appearance; the same sums element by element; a frame and a dict per
    column were most of this function's time, issue 19)."""
    # the ``all`` rows of the columns used, taken from each column's array (filtering the
    # whole frame took every column of it, issue 19)
    dimension = econ["dimension"]
    dtype = dimension.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and \
            dtype.na_value is np.nan:
        # Arrow's own comparison (missing: not "all", as pandas' str columns compare),
        # without pandas' wrapping of it (issue 19)
        rows_all = pc.fill_null(pc.equal(pa.array(dimension.array), "all"), False)
        rows_all = rows_all.to_numpy(zero_copy_only=False)
    else:
        rows_all = (dimension == "all").to_numpy(bool)
    reps = econ["replicate"].to_numpy()[rows_all].tolist()
    last = {r: i for i, r in enumerate(reps)}  # replicate -> its last row, first-seen order
    reps, at = list(last), np.fromiter(last.values(), np.int64, len(last))
    used = (*COSTS, "qaly_disc", "weeks_in_work_disc")
    col = {c: econ[c].to_numpy()[rows_all] for c in used if c in econ.columns}

    def add(values, metric: str) -> None:
        long.add(reps, "economics", metric, "all", values[at])

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


LONG = ["replicate", "dimension", "group", "metric", "value"]


def _arrow_strings(summary: pd.DataFrame) -> dict | None:
    """The summary's dimension, group and metric as Arrow arrays (their dtypes under
    ``dtypes``), replicate and value as numpy arrays, when :func:`cell_measures` can work on
    them directly (pandas' default string columns without a missing value, integer
    replicates, float values: what the simulation writes); None otherwise. Each column is
    taken once (a Series per look-up, issue 19)."""
    out: dict = {"dtypes": {}}
    for c in ("dimension", "group", "metric"):
        column = summary[c]
        dtype = out["dtypes"][c] = column.dtype
        if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
                and dtype.na_value is np.nan):
            return None
        out[c] = pa.array(column.array)  # the column's own data (chunks: one array)
        if isinstance(out[c], pa.ChunkedArray):
            out[c] = out[c].combine_chunks()
        if out[c].null_count:
            return None
    out["replicate"], out["value"] = summary["replicate"], summary["value"]
    if out["replicate"].dtype != np.int64 or out["value"].dtype != np.float64:
        return None
    out["replicate"], out["value"] = out["replicate"].to_numpy(), out["value"].to_numpy()
    return out


def _kept(summary: pd.DataFrame, strings: dict) -> tuple[np.ndarray, list, dict]:
    """The rows :func:`cell_measures` keeps (a mask), the RTW measures among them and
    their :func:`_wide` reshape, from the string columns' Arrow dictionary codes (comparing
    each row's strings twice over was a third of the function, issue 19)."""
    metric, dimension = (strings[c].dictionary_encode() for c in ("metric", "dimension"))
    mc, dc = metric.indices.to_numpy(), dimension.indices.to_numpy()
    mnames, dnames = metric.dictionary.to_pylist(), dimension.dictionary.to_pylist()
    # per code: an outcome, a kept dimension, a by-group dimension (look-up tables)
    outcome = np.array([_is_outcome(m) for m in mnames], bool)
    by_group = np.array([d in BY_GROUP for d in dnames], bool)
    keep = outcome[mc] & (by_group | np.array([d == "all" for d in dnames], bool))[dc]
    rtw_code = np.zeros(len(mnames), bool)
    rtw_code[mc[keep]] = True  # the metrics of the kept rows, then the RTW ones
    rtw_code &= np.array([m.startswith(("rtw_", "sustained_rtw_")) for m in mnames], bool)
    rtw = sorted(mnames[j] for j in np.flatnonzero(rtw_code).tolist())
    at = np.flatnonzero(keep & rtw_code[mc] & by_group[dc])
    if not len(at):
        return keep, rtw, {}
    group = strings["group"].take(at).dictionary_encode()
    wide = _wide_arrays((mc[at], mnames), (dc[at], dnames), strings["replicate"][at],
                        (group.indices.to_numpy(), group.dictionary.to_pylist()),
                        strings["value"][at], summary["n"].to_numpy(float)[at])
    return keep, rtw, wide


def _frame(summary: pd.DataFrame, keep: np.ndarray, long: _Long, strings) -> pd.DataFrame:
    """The kept rows of ``summary`` then ``long``'s, as ``pd.concat`` of the two frames gave
    them (built from the columns when the dtypes are the usual ones: issue 19)."""
    reps, dims, groups, metrics, vals = long.columns()
    if strings is None or not keep.any() or not len(reps) or reps.dtype != np.int64:
        frames = [summary[keep][LONG], pd.DataFrame(long.rows(), columns=LONG)]
        out = pd.concat(frames, ignore_index=True)
        out["group"] = out["group"].astype(str)
        return out
    at = np.flatnonzero(keep)
    data = {"replicate": np.concatenate([strings["replicate"][at], reps])}
    for c, new in (("dimension", dims), ("group", groups), ("metric", metrics)):
        chunks = [strings[c].take(at), pa.array(new, type=pa.large_string())]
        data[c] = pd.arrays.ArrowStringArray(pa.chunked_array(chunks),
                                             dtype=strings["dtypes"][c])
    data["value"] = np.concatenate([strings["value"][at], vals])
    return pd.DataFrame(data, copy=False)  # the columns in LONG's order


def cell_measures(results_dir: Path, summary: pd.DataFrame, economics=None,
                  manifest: dict | None = None, memo: dict | None = None) -> pd.DataFrame:
    """Every measure of one cell, per replicate (long: replicate, dimension, group, metric,
    value), from its ``group_summary`` (``summary``), ``economics`` and manifest (read from
    ``results_dir`` unless given). ``memo``: a dict the caller keeps across cells, for the
    inequality measures' weight-only part (:mod:`sim.stats.ranked`; optional)."""
    strings = _arrow_strings(summary)
    if strings is not None:
        keep, rtw, wide = _kept(summary, strings)
    else:
        metric = summary["metric"]
        outcomes = [m for m in metric.unique() if isinstance(m, str) and _is_outcome(m)]
        keep = (metric.isin(outcomes) & summary["dimension"].isin(("all", *BY_GROUP))
                ).to_numpy(bool)
        # the distinct metrics by pandas' unique (iterating a column of Arrow strings in
        # Python was a third of this function), reshaped from the kept rows
        kept = summary[keep]
        rtw = sorted(m for m in kept["metric"].unique()
                     if m.startswith(("rtw_", "sustained_rtw_")))
        wide = _wide(kept, rtw)
    long = _Long()
    for metric in rtw:
        _inequality(wide.get((metric, "imd_quintile")), wide.get((metric, "ethnicity")),
                    metric, long, memo)
    econ_path = Path(results_dir) / "economics.parquet"
    if economics is None and econ_path.is_file():
        economics = read_parquet(econ_path)
    if economics is not None:
        if manifest is None:
            manifest = json.loads((Path(results_dir) / "manifest.json").read_text())
        _economics(economics, manifest.get("config") or {}, long)
    return _frame(summary, keep, long, strings)


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
