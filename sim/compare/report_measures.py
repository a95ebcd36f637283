"""Per-replicate measures and the paired comparison with usual care
(:func:`compare_cells`): RTW, days absent, job loss, the deprivation and ethnic gaps, the SII,
costs by perspective and net benefit."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.compare.report_cells import (
    PERSPECTIVES,
    REFERENCE,
    Arm,
    Cell,
    _one_line,
    select_runs,
)
from sim.compare.report_placed import _Irregular, _measures_placed, _place_key, _sii
from sim.engine.categories import ETHNICITIES
from sim.errors import ReportError
from sim.stats.metrics import paired_difference


@dataclass
class Comparison:
    """Tidy tables of a comparison (see :func:`compare_cells`).

    ``design`` in every table is the row's label (:attr:`Arm.key`): the programme name,
    plus the settings that tell variants of one design apart."""

    per_replicate: pd.DataFrame  # design, seed, replicate, measure, value
    league: pd.DataFrame  # design x measure: estimate, low, high (paired vs usual care)
    groups: pd.DataFrame  # design, dimension, group, n, rtw_<week>w, days_absent (means)
    curves: pd.DataFrame  # design, dimension, group, week, share
    costs: pd.DataFrame  # design, perspective, delta per person: estimate, low, high
    cells: list = field(default_factory=list)  # the runs used, usual care's first
    arms: list = field(default_factory=list)  # Arm per row, the reference first
    left_out: list = field(default_factory=list)  # runs given but not used, and why
    runs_given: int = 0
    rtw_week: int = 52  # the RTW measure: returned within this many weeks
    econ_window: int = 52  # cost per extra RTW counts returns within this many weeks

    @property
    def rtw(self) -> str:
        return f"rtw_{self.rtw_week}w"

    @property
    def ref_key(self) -> str:
        return self.arms[0].key if self.arms else REFERENCE


# ---- per-replicate measures -----------------------------------------------------------


def rtw_week(summary: pd.DataFrame) -> int:
    """The week of the RTW measure a report uses: 52, or if the runs do not have it (a
    horizon under 52 weeks, or ``outcomes.rtw_weeks`` without 52) the latest RTW week
    under 52 that they have."""
    have = set(summary.loc[summary["dimension"] == "all", "metric"].astype(str))
    weeks = sorted(int(m[4:-1]) for m in have
                   if m.startswith("rtw_") and m.endswith("w") and m[4:-1].isdigit())
    usable = [w for w in weeks if w <= 52]
    if not usable:
        raise ReportError("the runs have no RTW rate (no rtw_<week>w metric up to week 52: "
                          "the horizon is shorter than every week in outcomes.rtw_weeks); "
                          "run with horizon_weeks of at least 13")
    return usable[-1]


def _metric(summary, dimension, metric, counts: bool = True):
    """Per replicate (rows) and group (columns): the values of one metric of one dimension,
    and (``counts``) the people they are of (else None)."""
    sub = summary[(summary["dimension"] == dimension) & (summary["metric"] == metric)]
    return _pivot(sub, "value"), (_pivot(sub, "n") if counts else None)


def _pivot(sub: pd.DataFrame, column: str) -> pd.DataFrame:
    """``sub.pivot_table(index="replicate", columns="group", values=column, aggfunc="sum")``,
    the same frame (a missing value sums to 0, a group with no row is NaN, columns sorted,
    all-NaN columns dropped: tests/test_report_measures_pivot.py) at ~40% of its cost."""
    wide = sub.groupby(["replicate", "group"], sort=True)[column].sum().unstack("group")
    return wide.sort_index(axis=1).dropna(how="all", axis=1)


def _metrics(summary, keys) -> dict:
    """:func:`_metric` of several (dimension, metric) keys at once: ``{key: (values,
    counts)}``, each frame what ``_metric`` gives (the same rows summed in the same order:
    the same bits; counts as float). A group summary has one row per (replicate, group) of
    a key, so its frames are placed with numpy (:func:`_metrics_placed`, ~5x faster than the
    groupby, issue 19); anything else goes through one groupby for all keys."""
    placed = _metrics_placed(summary, keys)
    return placed if placed is not None else _metrics_grouped(summary, keys)


def _metrics_placed(summary, keys) -> dict | None:
    """:func:`_metrics` when every (key, replicate, group) has at most one row and the
    groups are strings (a group summary), else None: each key placed by
    :func:`sim.compare.report_placed._place_key` (a sum of one value is that value plus
    0.0, as pandas' sum starts at 0: -0.0 becomes 0.0; a missing value sums to 0)."""
    group = summary["group"]
    if isinstance(group.dtype, pd.CategoricalDtype) or not pd.api.types.is_string_dtype(
            group.dtype):
        return None
    is_dim = {d: (summary["dimension"] == d).to_numpy(bool) for d in {d for d, _ in keys}}
    is_metric = {m: (summary["metric"] == m).to_numpy(bool) for m in {m for _, m in keys}}
    src = (summary["replicate"].to_numpy(), summary["value"].to_numpy(float),
           summary["n"].to_numpy(float))
    groups = group.to_numpy(object)
    out = {}
    for key in keys:
        try:
            placed = _place_key(is_dim[key[0]], is_metric[key[1]], groups, src)
        except _Irregular:  # several rows of one cell (their sum is the groupby's) ...
            return None
        if placed is None:
            out[key] = tuple(pd.DataFrame(index=pd.Index([], name="replicate"),
                                          columns=pd.Index([], name="group"))
                             for _ in range(2))
            continue
        names, r_index, values, counts = placed
        index = pd.Index(r_index, name="replicate", dtype=summary["replicate"].dtype)
        columns = pd.Index(names, name="group", dtype=group.dtype)
        out[key] = tuple(pd.DataFrame(wide, index=index, columns=columns)
                         for wide in (values, counts))
    return out


def _metrics_grouped(summary, keys) -> dict:
    """:func:`_metrics` with one groupby for all keys (a pivot per key was most of the
    time of a cell's measures, issue 19)."""
    dims = {d for d, _ in keys}
    sub = summary[summary["dimension"].isin(dims) & summary["metric"].isin(
        {m for _, m in keys})]
    wide = sub.groupby(["dimension", "metric", "replicate", "group"], sort=True)[
        ["value", "n"]].sum().unstack("group")
    out = {}
    for key in keys:
        part = wide.loc[key] if key in wide.index.droplevel("replicate") else None
        frames = []
        for column in ("value", "n"):
            if part is None:
                frames.append(pd.DataFrame(index=pd.Index([], name="replicate"),
                                           columns=pd.Index([], name="group")))
                continue
            f = part[column].sort_index(axis=1).dropna(how="all", axis=1)
            f.columns.name = "group"
            frames.append(f)
        out[key] = tuple(frames)
    return out


def replicate_measures(cell: Cell, week: int | None = None) -> pd.DataFrame:
    """Per replicate: the outcome, gap and cost measures of one cell (wide).

    The RTW measure is ``rtw_<week>w``: ``week`` (default :func:`rtw_week`, i.e. 52 when the
    run has it); the gaps and the SII are of that measure. A run's usual tables take
    :func:`_measures_placed` (numpy, one frame built: ~1/4 of the CPU, issue 19), anything
    else :func:`_measures_reference`; the same frame (tests/test_report_measures_fast.py)."""
    week = rtw_week(cell.summary) if week is None else week
    placed = _measures_placed(cell, week)
    if placed is None:
        return _measures_reference(cell, week)
    out, index = placed
    return pd.DataFrame(out, index=index)


def _measures_reference(cell: Cell, week: int) -> pd.DataFrame:
    """:func:`replicate_measures` with a frame per (dimension, metric): the straightforward
    path, for any tables (and the oracle of :func:`_measures_placed`)."""
    s, e = cell.summary, cell.economics
    rtw = f"rtw_{week}w"
    keys = [("all", rtw), ("all", "days_absent"), ("all", "job_loss"),
            ("all", "programme_cost"), ("imd_quintile", rtw), ("ethnicity", rtw)]
    wide = _metrics(s, keys)
    overall, _ = wide[("all", rtw)]
    if "all" not in overall:
        raise ReportError(f"{cell.path}: no {rtw} in group_summary")
    # the columns gathered first and the frame built once (a column set at a time was a
    # third of this function's time, issue 19); Series align on the replicate as they did
    out = {rtw: overall["all"]}
    for m in ("days_absent", "job_loss", "programme_cost"):
        v, _ = wide[("all", m)]
        out[m] = v["all"] if "all" in v else 0.0
    imd, imd_n = wide[("imd_quintile", rtw)]
    cols = [str(q) for q in range(1, 6)]
    if any(c not in imd for c in cols):
        raise ReportError(f"{cell.path}: {rtw} is not there for every IMD quintile")
    out["imd_gap_abs"] = imd["5"] - imd["1"]  # least minus most deprived
    out["imd_gap_rel"] = imd["5"] / imd["1"]
    # each replicate's row as its own contiguous array, as .loc[r, cols] gave (one .loc
    # per replicate was a quarter of this function's time)
    values, counts = imd[cols].to_numpy(), imd_n.loc[imd.index, cols].to_numpy()
    out["sii"] = [_sii(np.array(values[i]), np.array(counts[i])) for i in range(len(imd))]
    eth, eth_n = wide[("ethnicity", rtw)]
    minorities = [g for g in ETHNICITIES[1:] if g in eth]
    if ETHNICITIES[0] in eth and minorities:
        short = (eth[ETHNICITIES[0]].to_numpy()[:, None] - eth[minorities].to_numpy())
        # a group with no value (nobody in it reached the RTW week) carries no weight
        weights = np.where(np.isfinite(short), eth_n[minorities].to_numpy(), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["ethnic_gap"] = np.nansum(short * weights, axis=1) / weights.sum(axis=1)
    else:  # a population without White British or without minority groups: no gap
        out["ethnic_gap"] = np.nan
    ea = e[e["dimension"] == "all"].set_index("replicate")
    for col, _ in PERSPECTIVES:
        out[col + "_disc"] = ea[col]
    out["weeks_in_work_disc"] = ea["weeks_in_work_disc"]
    out["returned_window"] = ea["returned"]
    out["people"] = ea["n"]
    return pd.DataFrame(out, index=overall.index)


def _measures_of(cell: Cell, week: int) -> pd.DataFrame:
    """:func:`replicate_measures` of ``cell``, once per cell and week (a cell's tables do not
    change; the explorer compares one usual-care cell with each new design); a copy."""
    return _cell_memo(cell, ("measures", week), lambda: replicate_measures(cell, week))


def _cell_memo(cell: Cell, key, make) -> pd.DataFrame:
    """``make()`` once per cell, key and tables (a table replaced on the cell, as a test
    may do, is computed again); a copy."""
    memo = cell.__dict__.setdefault("_memo", {})
    tables = (cell.summary, cell.economics, cell.rtw_curves)
    hit = memo.get(key)
    if hit is None or any(a is not b for a, b in zip(hit[0], tables, strict=True)):
        hit = memo[key] = (tables, make())
    return hit[1].copy()


def _arm_measures(arm: Arm, week: int, indexes: dict | None = None) -> pd.DataFrame:
    """Per (seed, replicate): the measures of every run of one row. ``indexes``: the
    (seed, replicate) indexes made so far in one comparison, for the rows that have the
    same (every row of a sweep's setting: one index made, not one a row, issue 19)."""
    frames = []
    for seed, cell in sorted(arm.cells.items()):
        try:
            m = _measures_of(cell, week)
        except ReportError:
            raise
        except Exception as err:  # noqa: BLE001 - a table that parses but is not a run's
            raise ReportError(f"{cell.path}: tables do not hold a run's results "
                              f"({_one_line(err)})") from None
        m.index = _seed_index(seed, m.index, {} if indexes is None else indexes)
        frames.append(m)
    # one run (a sweep's rows): its frame as concat would copy it (issue 19)
    return frames[0] if len(frames) == 1 else pd.concat(frames)


def _seed_index(seed, index: pd.Index, made: dict) -> pd.MultiIndex:
    """``pd.MultiIndex.from_arrays([[seed] * len(index), index], names=["seed",
    "replicate"])``, the one already in ``made`` for the same seed and integer replicates
    (indexes are immutable: frames may share one)."""
    if index.dtype.kind not in "iu":
        return pd.MultiIndex.from_arrays([[seed] * len(index), index],
                                         names=["seed", "replicate"])
    key = (type(seed), seed, index.dtype, index.name, index.to_numpy().tobytes())
    if key not in made:
        made[key] = pd.MultiIndex.from_arrays([[seed] * len(index), index],
                                              names=["seed", "replicate"])
    return made[key]


def compare_cells(cells: list[Cell], detail: bool = True) -> Comparison:
    """Pair each design's runs with usual care on the same population and compare them
    (which runs, and why any are left out: :func:`select_runs`). ``detail=False``: the
    per-replicate measures and the league only (``groups``, ``curves`` and ``costs`` are
    empty): what a sweep's index page shows of each setting, at about half the CPU."""
    sel = select_runs(cells)
    ref_arm = sel.arms[0]
    ref = next(iter(ref_arm.cells.values()))
    week = rtw_week(ref.summary)
    rtw = f"rtw_{week}w"
    wtp = ref.config["economics"]["willingness_to_pay_per_week_in_work"]
    indexes: dict = {}
    measures = {a.key: _arm_measures(a, week, indexes) for a in sel.arms}
    base = measures[ref_arm.key]
    columns = {key: _columns(m) for key, m in measures.items()}
    league = []
    for design, m in measures.items():
        # the columns as arrays, usual care's on the same (seed, replicate) rows (Series
        # arithmetic on a MultiIndex was most of this loop, issue 19: the same operations
        # in the same order, on the same values)
        mv = columns[design]
        # usual care's own columns when the rows are its rows (a column each once, issue 19)
        same = base.index.is_unique and m.index.equals(base.index)
        bv = columns[ref_arm.key] if same else _columns(base.loc[m.index])
        delta = {
            rtw: (mv[rtw], bv[rtw]),
            "extra_rtw_per_1000": (1000 * mv[rtw], 1000 * bv[rtw]),
            **{k: (mv[k], bv[k]) for k in ("days_absent", "job_loss", "imd_gap_abs",
                                           "imd_gap_rel", "sii", "ethnic_gap")},
            "programme_cost": (mv["cost_programme_disc"], bv["cost_programme_disc"]),
        }
        for name, (values, b) in delta.items():
            v, bv_ = values.astype(float, copy=False), b.astype(float, copy=False)
            ok = np.isfinite(v) & np.isfinite(bv_)  # e.g. a gap of a group nobody is in
            res = paired_difference(v[ok], bv_[ok]) if ok.any() else None
            league.append({"design": design, "measure": name,
                           "level": float(np.nanmean(v)) if ok.any() else np.nan,
                           "estimate": res.estimate if res else np.nan,
                           "low": res.low if res else np.nan,
                           "high": res.high if res else np.nan,
                           "n_replicates": res.n if res else 0})
        extra = mv["returned_window"] - bv["returned_window"]
        d_cost = (mv["cost_programme_disc"] - bv["cost_programme_disc"]) * mv["people"]
        with np.errstate(divide="ignore", invalid="ignore"):
            cper = np.where(extra > 0, d_cost / np.where(extra > 0, extra, 1), np.nan)
        nmb = wtp * (mv["weeks_in_work_disc"] - bv["weeks_in_work_disc"]) - (
            mv["cost_programme_disc"] - bv["cost_programme_disc"])
        for name, values in (("cost_per_extra_rtw", cper), ("nmb_per_person", nmb)):
            v = np.asarray(values, dtype=float)
            ok = np.isfinite(v)
            res = paired_difference(v[ok], np.zeros(ok.sum())) if ok.sum() else None
            league.append({"design": design, "measure": name,
                           "level": float(np.nanmean(v)) if ok.any() else np.nan,
                           "estimate": res.estimate if res else np.nan,
                           "low": res.low if res else np.nan, "high": res.high if res else np.nan,
                           "n_replicates": int(ok.sum())})
        # how sure: share of replicates in which the design beats usual care
        league.append({"design": design, "measure": "p_better_rtw",
                       "level": _share(mv[rtw] > bv[rtw]),
                       "estimate": np.nan, "low": np.nan, "high": np.nan,
                       "n_replicates": len(m)})
        league.append({"design": design, "measure": "p_narrows_sii",
                       "level": _share(mv["sii"] < bv["sii"]),
                       "estimate": np.nan, "low": np.nan, "high": np.nan,
                       "n_replicates": len(m)})
    per_rep = _per_replicate(measures, columns)
    league = pd.DataFrame(league)
    # probability best (highest RTW) over the replicates every row has
    best, counted = _p_best(per_rep, rtw, measures, columns)
    league = pd.concat([league, pd.DataFrame(
        [{"design": d, "measure": "p_best_rtw", "level": float(best.get(d, 0.0)),
          "estimate": np.nan, "low": np.nan, "high": np.nan, "n_replicates": counted}
         for d in measures])], ignore_index=True)
    econ_window = int(ref.economics["rtw_window_weeks"].iloc[0]) \
        if "rtw_window_weeks" in ref.economics and len(ref.economics) else week
    if detail:
        groups, curves, costs = (_group_table(sel.arms, rtw), _curves(sel.arms),
                                 _cost_table(measures, base))
    else:
        groups = curves = costs = pd.DataFrame()
    return Comparison(per_rep, league, groups, curves, costs,
                      [c for a in sel.arms for c in a.cells.values()],
                      arms=sel.arms, left_out=sel.left_out, runs_given=sel.total,
                      rtw_week=week, econ_window=econ_window)


def _p_best(per_rep: pd.DataFrame, rtw: str, measures: dict, columns: dict) -> tuple:
    """The share of the replicates every row has (no NaN) in which each row has the highest
    RTW (the first in name order on a tie: idxmax), by row (rows never best left out), and
    how many replicates those are. Rows of the same (seed, replicate) rows, float RTW (a
    sweep's setting): with numpy; else by pivot and idxmax, as before (issue 19: the pivot
    was ~4 ms a setting); the same numbers (tests/test_report_measures_fast.py)."""
    index = next(iter(measures.values())).index
    if len(index) and index.is_unique and all(
            m.index.equals(index) and columns[d][rtw].dtype == np.float64
            for d, m in measures.items()):
        names = sorted(measures)
        wide = np.column_stack([columns[d][rtw] for d in names])
        wide = wide[~np.isnan(wide).any(axis=1)]
        if not len(wide):
            return {}, 0
        counts = np.bincount(np.argmax(wide, axis=1), minlength=len(names))
        return {d: c / np.int64(len(wide)) for d, c in zip(names, counts, strict=True)
                if c}, len(wide)
    wide = per_rep[per_rep["measure"] == rtw].pivot(index=["seed", "replicate"],
                                                    columns="design", values="value").dropna()
    return wide.idxmax(axis=1).value_counts(normalize=True).to_dict(), len(wide)


def _share(better: np.ndarray) -> float:
    """The share of replicates where ``better`` holds (a Series' mean: NaN for none)."""
    return float(better.mean()) if better.size else np.nan


def _columns(m: pd.DataFrame) -> dict:
    """A frame's columns as arrays, by name. A frame of float64 and int64 columns (a cell's
    measures) has its floats taken as one 2-D array, each column a contiguous row of it (the
    same values): a Series per column with a (seed, replicate) index was ~0.5 ms a design
    (issue 19)."""
    kinds = list(m.dtypes)
    is_float = [isinstance(k, np.dtype) and k == np.float64 for k in kinds]
    if not (m.columns.is_unique and sum(is_float) > 1 and all(
            f or (isinstance(k, np.dtype) and k == np.int64)
            for f, k in zip(is_float, kinds, strict=True))):
        return {c: m[c].to_numpy() for c in m.columns}
    floats = m.to_numpy(dtype=np.float64).T.copy()
    return {c: floats[k] if f else m[c].to_numpy()
            for k, (c, f) in enumerate(zip(m.columns, is_float, strict=True))}


def _per_replicate(measures: dict, columns: dict | None = None) -> pd.DataFrame:
    """The long table of every row's measures: design, seed, replicate, measure, value (a
    design's measures one after another, each over its (seed, replicate) rows). Built from
    the columns as arrays: the frame a list of one dict per value gave (tested), at a
    fraction of its cost (issue 19). ``columns``: each design's :func:`_columns`, if known."""
    parts = []
    for design, m in measures.items():
        n, k = len(m), len(m.columns)
        if n == 0 or k == 0:
            continue
        parts.append({
            "design": np.full(n * k, design, dtype=object),
            "seed": np.tile(m.index.get_level_values("seed").to_numpy(), k),
            "replicate": np.tile(m.index.get_level_values("replicate").to_numpy(), k),
            "measure": np.repeat(np.array(list(m.columns), dtype=object), n),
            "value": list((columns[design] if columns else _columns(m)).values())})
    if not parts:
        return pd.DataFrame([])
    values = [v for p in parts for v in p.pop("value")]
    # one dict per value gave Python numbers: integers only if every value was one
    as_int = all(v.dtype.kind in "iub" for v in values)
    out = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    out["value"] = np.concatenate([v.astype(np.int64 if as_int else float, copy=False)
                                   for v in values])
    return pd.DataFrame(out)


def _once(arm: Arm, key, make) -> pd.DataFrame:
    """``make()`` for an arm of one run, once per cell and key (a cell's tables do not
    change; the explorer compares one usual-care cell with each new design); a copy."""
    if len(arm.cells) != 1:
        return make()
    return _cell_memo(next(iter(arm.cells.values())), key, make)


def _arm_groups(arm: Arm, rtw: str) -> pd.DataFrame:
    s = pd.concat([c.summary for c in arm.cells.values()])
    s = s[s["dimension"].isin(["imd_quintile", "ethnicity", "condition", "disability",
                               "employment"])
          & s["metric"].isin([rtw, "days_absent"])]
    g = (s.groupby(["dimension", "group", "metric"], sort=False)
         .agg(value=("value", "mean"), n=("n", "sum")).reset_index())
    wide = g.pivot_table(index=["dimension", "group"], columns="metric",
                         values="value").reset_index().rename_axis(columns=None)
    n = g[g["metric"] == "days_absent"].set_index(["dimension", "group"])["n"]
    wide["n"] = [int(n.get((d, gr), 0)) for d, gr in zip(wide["dimension"], wide["group"],
                                                         strict=True)]
    return wide


def _group_table(arms: list[Arm], rtw: str) -> pd.DataFrame:
    frames = []
    for arm in arms:
        wide = _once(arm, ("groups", rtw), lambda arm=arm: _arm_groups(arm, rtw))
        wide.insert(0, "design", arm.key)
        frames.append(wide)
    return pd.concat(frames, ignore_index=True)


def _arm_curves(arm: Arm) -> pd.DataFrame:
    rc = pd.concat([c.rtw_curves for c in arm.cells.values()])
    r = rc.groupby(["dimension", "group", "week"], sort=False)[
        ["returned", "n"]].sum().reset_index()
    r["share"] = r["returned"] / r["n"]
    return r


def _curves(arms: list[Arm]) -> pd.DataFrame:
    frames = []
    for arm in arms:
        r = _once(arm, "curves", lambda arm=arm: _arm_curves(arm))
        r.insert(0, "design", arm.key)
        frames.append(r)
    return pd.concat(frames, ignore_index=True)


def _cost_table(measures: dict, base: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for design, m in measures.items():
        b = base.loc[m.index]
        for col, label in PERSPECTIVES:
            res = paired_difference(m[col + "_disc"].to_numpy(), b[col + "_disc"].to_numpy())
            rows.append({"design": design, "perspective": label, "level": m[col + "_disc"].mean(),
                         "estimate": res.estimate, "low": res.low, "high": res.high})
    return pd.DataFrame(rows)
