"""A cell's per-replicate measures placed with numpy (:func:`_measures_placed`, issue 19):
the columns of :func:`sim.compare.report_measures._measures_reference`'s frame, the same values
and dtypes, for a run's usual tables (tests/test_report_measures_fast.py); and the SII of one
replicate (:func:`_sii`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.compare.report_cells import PERSPECTIVES, Cell
from sim.engine.categories import ETHNICITIES
from sim.stats.equity import slope_design
from sim.stats.metrics import slope_index


def _sii(values: np.ndarray, n: np.ndarray) -> float:
    """The SII of one replicate; NaN when a quintile has no value (nobody in it was followed
    to the RTW week, as in a small workforce run), which the paired comparisons skip."""
    if not np.isfinite(values).all():
        return np.nan
    if (values.dtype == n.dtype == np.float64 and values.ndim == n.ndim == 1
            and len(values) == len(n) >= 2 and np.isfinite(n).all() and (n > 0).all()):
        # the inputs slope_index takes as they are: its SII alone, the same operations
        # (its fit, most deprived first; 1.0 * b), without its checks, intervals and result
        # record (two thirds of its CPU, 1,000 calls in a sweep's index page, issue 19)
        *_, hat = slope_design(n, np.arange(len(n)))
        return 1.0 * float((hat @ values)[1])
    return slope_index(values, n, ci="none").sii


class _Irregular(Exception):
    """Tables :func:`_measures_placed` leaves to the reference path
    (:func:`sim.compare.report_measures._measures_reference`)."""


_ALL_ONLY = ("days_absent", "job_loss", "programme_cost")
_ECON = (*(col for col, _ in PERSPECTIVES), "weeks_in_work_disc", "returned", "n")


def _measures_placed(cell: Cell, week: int) -> tuple[dict, pd.Index] | None:
    """The columns of the reference path's frame as numpy arrays (the same values
    and dtypes, issue 19: its frame per (dimension, metric) and Series arithmetic were
    pandas overhead on ~10-row frames) and its index; None for tables it does not cover
    (a group summary with several rows of one (replicate, group), groups not strings,
    measures of different replicates, economics not one row per replicate in the same
    order, extension dtypes, missing columns ...), which take the reference path."""
    try:
        return _place_measures(cell.summary, cell.economics, f"rtw_{week}w")
    except Exception:  # noqa: BLE001 - the reference path gives the frame or the error
        return None


def _place_measures(s: pd.DataFrame, e: pd.DataFrame, rtw: str) -> tuple[dict, pd.Index]:
    group = s["group"]
    if isinstance(group.dtype, pd.CategoricalDtype) or not pd.api.types.is_string_dtype(
            group.dtype):
        raise _Irregular
    # the rows of the measures' metrics and dimensions, found by arrow (pandas' comparisons
    # of its arrow strings were a third of this function, issue 19), as Python strings
    dim_all, metric_all = _strings(s["dimension"]), _strings(s["metric"])
    group_all = _strings(group, nulls=True)
    rows = np.flatnonzero(pc.and_(
        pc.is_in(metric_all, value_set=pa.array([rtw, *_ALL_ONLY], metric_all.type)),
        pc.is_in(dim_all, value_set=pa.array(["all", "imd_quintile", "ethnicity"],
                                             dim_all.type))).to_numpy(zero_copy_only=False))
    dims, metrics, groups = (c.take(rows).to_numpy(zero_copy_only=False)
                             for c in (dim_all, metric_all, group_all))
    reps = s["replicate"].to_numpy()
    if reps.dtype.kind not in "iu":
        raise _Irregular
    src = (reps[rows], s["value"].to_numpy(float)[rows], s["n"].to_numpy(float)[rows])
    overall = _place_key(dims == "all", metrics == rtw, groups, src)
    if overall is None or "all" not in overall[0]:
        raise _Irregular
    r_index = overall[1]
    out = {rtw: _column(overall, "all")}
    for m in _ALL_ONLY:
        p = _place_key(dims == "all", metrics == m, groups, src, r_index)
        out[m] = _column(p, "all") if p is not None and "all" in p[0] else 0.0
    imd = _place_key(dims == "imd_quintile", metrics == rtw, groups, src, r_index)
    cols = [str(q) for q in range(1, 6)]
    if imd is None or any(c not in imd[0] for c in cols):
        raise _Irregular
    out["imd_gap_abs"] = _column(imd, "5") - _column(imd, "1")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["imd_gap_rel"] = _column(imd, "5") / _column(imd, "1")
    at = [imd[0].index(c) for c in cols]
    values, counts = imd[2][:, at], imd[3][:, at]
    out["sii"] = [_sii(np.array(values[i]), np.array(counts[i])) for i in range(len(r_index))]
    eth = _place_key(dims == "ethnicity", metrics == rtw, groups, src, r_index)
    minorities = [g for g in ETHNICITIES[1:] if eth is not None and g in eth[0]]
    if eth is not None and ETHNICITIES[0] in eth[0] and minorities:
        at = [eth[0].index(g) for g in minorities]
        short = _column(eth, ETHNICITIES[0])[:, None] - eth[2][:, at]
        weights = np.where(np.isfinite(short), eth[3][:, at], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["ethnic_gap"] = np.nansum(short * weights, axis=1) / weights.sum(axis=1)
    else:
        out["ethnic_gap"] = np.nan
    erows = np.flatnonzero(pc.equal(_strings(e["dimension"]), "all").to_numpy(
        zero_copy_only=False))
    erep = e["replicate"].to_numpy()[erows]
    if erep.dtype.kind not in "iu" or not np.array_equal(erep, r_index):
        raise _Irregular  # the reference aligns them by replicate
    econ = {}
    for col in _ECON:
        series = e[col]
        if not isinstance(series.dtype, np.dtype):
            raise _Irregular
        econ[col] = series.to_numpy()[erows]
    for col, _ in PERSPECTIVES:
        out[col + "_disc"] = econ[col]
    out["weeks_in_work_disc"] = econ["weeks_in_work_disc"]
    out["returned_window"] = econ["returned"]
    out["people"] = econ["n"]
    return out, pd.Index(r_index, name="replicate", dtype=s["replicate"].dtype)


def _strings(column: pd.Series, nulls: bool = False) -> pa.Array:
    """A column of strings as one arrow array (no copy for pandas' arrow strings); raises
    _Irregular for other values, or (unless ``nulls``) a missing one (the reference's
    comparisons of those may raise)."""
    arr = pa.array(column)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) or (
            arr.null_count and not nulls):
        raise _Irregular
    return arr


def _place_key(is_dim, is_metric, groups, src, r_index=None):
    """One (dimension, metric) placed with numpy (here and for the reference path's
    :func:`sim.compare.report_measures._metrics_placed`): (group names, sorted
    replicates, values, counts as float), or None when it has no rows; raises _Irregular
    for several rows of one cell, groups not strings, or replicates other than ``r_index``."""
    rows = np.flatnonzero(is_dim & is_metric)
    if rows.size == 0:
        return None
    g = groups[rows]
    if not all(isinstance(x, str) for x in g):
        raise _Irregular
    names = sorted(set(g))
    col = {x: j for j, x in enumerate(names)}
    reps = src[0][rows]
    index = np.unique(reps)
    if r_index is not None and not np.array_equal(index, r_index):
        raise _Irregular
    i = np.searchsorted(index, reps)
    j = np.fromiter((col[x] for x in g), dtype=np.int64, count=len(g))
    if np.unique(i * len(names) + j).size != rows.size:
        raise _Irregular
    wides = []
    for source in src[1:]:
        v = source[rows]
        wide = np.full((len(index), len(names)), np.nan)
        wide[i, j] = np.where(np.isnan(v), 0.0, v + 0.0)
        wides.append(wide)
    return names, index, wides[0], wides[1]


def _column(placed, name: str) -> np.ndarray:
    return placed[2][:, placed[0].index(name)]
