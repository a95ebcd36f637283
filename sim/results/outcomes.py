"""What a run observed: per-agent outcomes, group summaries, weekly counts, spell lengths.

Definitions (all in observation weeks, 0 = start of observation):

* ``first_onset``: week the person's first absence spell in the observation window began
  (0 for everyone in a fit-note cohort; -1 if none).
* ``first_rtw``: first week back in work (full or phased, same or new employer) after
  ``first_onset``; -1 if never. ``weeks_to_rtw = first_rtw - first_onset``.
* ``rtw_<w>w``: share returned within ``w`` weeks of onset, among people whose onset was at
  least ``w`` weeks before the horizon (so everyone counted was followed for ``w`` weeks).
* ``sustained_rtw``: week of the first return (on or after ``first_rtw``) followed by at
  least ``outcomes.sustained_weeks`` (``s``) weeks in work without a new spell.
* ``sustained_rtw_<w>w``: share with a sustained return (``s``+ weeks in work) that began
  within ``w`` weeks of onset, among people whose onset was at least ``w + s`` weeks before
  the horizon: for them, whether any return by week ``w`` lasted ``s`` weeks is always
  observed. (Counting everyone followed ``w`` weeks, as RTW does, would count a return too
  late to be followed for ``s`` weeks as "not sustained", so the figure would depend on the
  horizon: 82.6% at 52 weeks vs 92.3% at 104 for the same people with ``s`` = 26.) Not
  reported when ``w + s`` exceeds the horizon; the config check says so.
* ``days_absent``: working days per week x (weeks absent + weeks phased x (1 - hours
  fraction)), where working days per week = ``outcomes.working_days_per_year`` / 52 (219 on
  the ONS definition, net of leave and bank holidays: :func:`days_per_week`).
* ``relapses``: new spells starting within ``relapse_window_weeks`` of a return.
* ``in_work_<w>w``: in work (full or phased) at week ``w`` (point prevalence);
  ``health_benefit_<w>w``: economically inactive on ESA / UC health at week ``w``.
* ``health_benefit``: ever on ESA / UC health (``benefit_week`` >= 0); ``left_inactivity``:
  among people ever economically inactive for ill health, the share who later moved back
  to seeking work or into work (``left_inactive_week``); ``job_separation``: an ordinary
  job separation from work to unemployment; ``retired``: retired or reached State Pension
  age (``retired_week``).
* ``weeks_<state>_y<k>``: weeks in each state in observed year k (when the horizon is longer
  than a year), for discounting.
* ``enrolled``: started at least one programme component; ``programme_cost``: per-person
  programme cost in GBP (per-participant and per-week costs; fixed running costs are in the
  programme table).

Summaries are tidy: one row per (replicate, dimension, group, metric) with the value and
its denominator ``n``; cells with no denominator are left out rather than written as NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.categories import (
    ABSENT,
    CONDITIONS,
    DIMENSIONS,
    ETHNICITIES,
    INACTIVE_BENEFIT,
    PHASED,
    STATES,
    WORKING,
)
from sim.evidence.conversions import working_days_per_week
from sim.programme.interventions import ever_enrolled
from sim.results.binning import (
    JOINT_BITS,
    OrderedSums,
    counted_indicators,
    dimension_counts,
    exact_sums,
    joint_sums,
    pack,
    value_counts,
)
from sim.results.uptake import programme_table  # noqa: F401 (the table's old home)
from sim.stats.survival import aalen_johansen_grid
from sim.vocabulary import STATUS_NAMES

# the categorical person attributes of the agents table, in its column order (their
# values: sim.engine.categories.DIMENSIONS)
CATEGORY_NAMES = {name: DIMENSIONS[name] for name in (
    "age_band", "sex", "ethnicity", "condition", "severity", "occupation", "employer_size",
    "disability", "employment")}
TEXT_DTYPE = pd.Series(["x"]).dtype  # what pandas infers for text (str, pyarrow-backed)
TEXT_COLUMNS = ("dimension", "group", "metric")  # of the group summary and quality table
SUMMARY_DIMENSIONS = ("all", "condition", "severity", "ethnicity", "imd_quintile", "age_band",
                      "sex", "occupation", "employer_size", "oh_access", "disability",
                      "employment")


def days_per_week(cfg: dict) -> float:
    """Working days in a week of absence: ``outcomes.working_days_per_year`` / 52.

    ONS counts days lost per worker against about 219 working days a year (its 2022 pair,
    2.6% of hours and 5.7 days per worker, and its 2024 pair, 2.0% and 4.4 days, both give
    219-220), not 5 x 52 = 260.

    >>> round(days_per_week({"outcomes": {"working_days_per_year": 219}}), 3)
    4.212
    """
    return working_days_per_week(cfg["outcomes"]["working_days_per_year"])


def agent_outcomes(model) -> pd.DataFrame:
    """One row per person: attributes (as categories) and outcomes."""
    col = model.columns
    cfg = model.cfg
    hours = cfg["pathways"]["phased_return"]["hours_fraction"]
    day_weeks = days_per_week(cfg)
    wbs = col["weeks_by_state"].astype(np.int32)
    first_onset, first_rtw = col["first_onset"], col["first_rtw"]
    data = {
        "replicate": col["replicate"],
        "person_id": col["person_id"],
    }
    for name, names in CATEGORY_NAMES.items():
        data[name] = pd.Categorical.from_codes(col[name], categories=list(names))
    data["imd_quintile"] = col["imd_quintile"]
    data["oh_access"] = col["oh_access"]
    data.update(
        first_onset=first_onset,
        first_rtw=first_rtw,
        weeks_to_rtw=np.where(first_rtw >= 0, first_rtw - first_onset, -1).astype(np.int16),
        sustained_rtw=col["sustained_rtw"],
        spells=col["spells"],
        relapses=col["relapses"],
        **{f"weeks_{state}": wbs[k] for k, state in enumerate(STATES)},
        days_absent=day_weeks * (wbs[ABSENT] + wbs[PHASED] * (1.0 - hours)),
        job_loss_week=col["job_loss_week"],
        inactive_week=col["inactive_week"],
        reemployed_week=col["reemployed_week"],
        benefit_week=col["benefit_week"],
        retired_week=col["retired_week"],
        separation_week=col["separation_week"],
        left_inactive_week=col["left_inactive_week"],
    )
    if model.weeks_by_state_at_year_end:  # more than one observed year
        data.update(_weeks_by_year(model))
    programme = model.programme
    if programme.components:
        starts = np.where(programme.start_week >= 0, programme.start_week,
                          np.iinfo(np.int32).max).min(axis=0)
        data["programme_start_week"] = np.where(
            starts < np.iinfo(np.int32).max, starts - model.warmup, -1).astype(np.int16)
        data["programme_cost"] = programme.person_costs()
        data["enrolled_any"] = ever_enrolled(programme)
        for k, comp in enumerate(programme.components):
            data[f"status_{comp.key}"] = pd.Categorical.from_codes(
                programme.status[k], categories=list(STATUS_NAMES))
            data[f"wait_weeks_{comp.key}"] = programme.wait_weeks[k]
    else:
        data["programme_start_week"] = np.full(len(col["state"]), -1, dtype=np.int16)
        data["programme_cost"] = np.zeros(len(col["state"]))
        data["enrolled_any"] = np.zeros(len(col["state"]), dtype=bool)
    for week, snap in sorted(model.snapshots.items()):
        data[f"state_week_{week}"] = pd.Categorical.from_codes(snap, categories=list(STATES))
    data["final_state"] = pd.Categorical.from_codes(col["state"], categories=list(STATES))
    # no copy: each column stays its own array (a consolidated copy of them all doubled the
    # table in memory, ~170 bytes a person at 260 weeks: issue 19); the columns taken from
    # the model are its final values, which nothing changes after the run
    return pd.DataFrame(data, copy=False)


def _weeks_by_year(model) -> dict[str, np.ndarray]:
    """``weeks_<state>_y<year>`` columns (int16): each year's weeks in each state, the
    differences of the year-end marks (:meth:`RTWModel.weeks_by_state_in_years`' values),
    one state at a time in int16 (exact: a year's weeks fit), not [states x people] int32
    temporaries (about 84 bytes a person at 260 weeks, over the loop's peak: issue 19)."""
    marks = [*model.weeks_by_state_at_year_end, model.columns["weeks_by_state"]]
    out = {}
    for y, mark in enumerate(marks):
        for k, state in enumerate(STATES):
            weeks = mark[k] if y == 0 else mark[k] - marks[y - 1][k]
            out[f"weeks_{state}_y{y + 1}"] = weeks.astype(np.int16)
    return out


def sustained_label(cfg: dict) -> str:
    """How a report names sustained return, with the configured number of weeks."""
    return f"sustained return ({cfg['outcomes']['sustained_weeks']}+ weeks in work)"


def _metrics(agents: pd.DataFrame, horizon: int, rtw_weeks, snapshot_weeks,
             sustained_weeks: int):
    """Per-person indicator arrays (numerator, eligible) for each summary metric."""
    onset = agents["first_onset"].to_numpy()
    rtw = agents["weeks_to_rtw"].to_numpy()
    returned = agents["first_rtw"].to_numpy() >= 0
    sustained = agents["sustained_rtw"].to_numpy()
    everyone = np.ones(len(agents), dtype=bool)
    out = {}
    for w in rtw_weeks:
        if w > horizon:
            continue
        followed = (onset >= 0) & (onset + w <= horizon)
        out[f"rtw_{w}w"] = (followed & returned & (rtw <= w), followed)
        if w + sustained_weeks <= horizon:  # a return by week w is followed s weeks
            seen = (onset >= 0) & (onset + w + sustained_weeks <= horizon)
            out[f"sustained_rtw_{w}w"] = (
                seen & (sustained >= 0) & (sustained - onset <= w), seen)
    for w in snapshot_weeks:
        if w <= horizon and f"state_week_{w}" in agents:
            state = agents[f"state_week_{w}"].array.codes  # no Series of codes (issue 19)
            out[f"in_work_{w}w"] = ((state == WORKING) | (state == PHASED), everyone)
            out[f"health_benefit_{w}w"] = (state == INACTIVE_BENEFIT, everyone)
    out["days_absent"] = (agents["days_absent"].to_numpy(), everyone)
    out["job_loss"] = (agents["job_loss_week"].to_numpy() >= 0, everyone)
    out["inactive"] = (agents["inactive_week"].to_numpy() >= 0, everyone)
    if "benefit_week" in agents:
        ever_inactive = agents["inactive_week"].to_numpy() >= 0
        out["health_benefit"] = (agents["benefit_week"].to_numpy() >= 0, everyone)
        out["left_inactivity"] = (agents["left_inactive_week"].to_numpy() >= 0, ever_inactive)
        out["job_separation"] = (agents["separation_week"].to_numpy() >= 0, everyone)
        out["retired"] = (agents["retired_week"].to_numpy() >= 0, everyone)
    out["relapse"] = (returned & (agents["relapses"].to_numpy() > 0), returned)
    out["enrolled"] = (agents["enrolled_any"].to_numpy(), everyone)
    out["programme_cost"] = (agents["programme_cost"].to_numpy(), everyone)
    return out


def _group_codes(agents: pd.DataFrame, dimension: str, narrow: bool = False):
    """Each person's group code in ``dimension`` (int64) and the groups' labels
    (:func:`_group_labels`); with ``narrow`` the codes in the column's own small integer
    type (the category codes themselves, no copy), for a table that holds every
    dimension's codes at once (issue 19: twelve int64 copies were ~96 MB at 1M people)."""
    wide = np.int64 if not narrow else None
    labels = _group_labels(agents, dimension)
    if dimension == "all":
        return np.zeros(len(agents), dtype=wide or np.int8), labels
    if dimension == "imd_quintile":
        imd = agents["imd_quintile"].to_numpy()
        return (imd.astype(wide) if wide else imd) - 1, labels
    if dimension == "oh_access":
        return agents["oh_access"].to_numpy().astype(wide or np.int8), labels
    codes = agents[dimension].array.codes  # the Categorical's (no Series: issue 19)
    return (codes.astype(wide) if wide else codes), labels


def _group_labels(agents: pd.DataFrame, dimension: str) -> list:
    """The labels of ``dimension``'s groups, in code order, read without the codes (issue
    19: reading them from ``agents.iloc[:0]``, a copy of the table's 60-odd empty columns,
    cost ~0.3 ms a dimension)."""
    if dimension == "all":
        return ["all"]
    if dimension == "imd_quintile":
        return [1, 2, 3, 4, 5]
    if dimension == "oh_access":
        return [False, True]
    return list(agents[dimension].array.categories)


def _numerator(num: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """A metric's per-person numerator, 0 where not eligible. Indicators stay boolean (1
    byte a person, not 8: all metrics' float64 numerators at once set a run's memory
    peak); ``np.bincount`` reads them as the same 0.0 and 1.0 weights."""
    if num.dtype == bool:
        return num & eligible
    return np.where(eligible, num, 0.0)


def grouped_sums(agents: pd.DataFrame, metrics: dict, numerators: dict, n_rep: int,
                 prior: dict | None = None) -> dict:
    """Per (dimension, metric): the eligible count and the numerator's sum in each
    [replicate x group] cell (arrays of ``n_rep * k``, indexed ``replicate * k + code``),
    added onto ``prior`` (the same for earlier people: a table can be summed a chunk of
    people at a time) in person order, so that the sums are the same to the bit as one
    bincount over everyone.

    ``metrics`` maps a name to ``(values, eligible)`` and ``numerators`` a name to the
    values among the eligible (0 elsewhere). Each distinct array is summed once per
    dimension, since many metrics share an eligibility (the group summary and the quality
    table); the indicators (booleans) are counted 6 at a time (:mod:`sim.results.binning`:
    whole numbers, exact in any order; several dimensions in one pass:
    :func:`~sim.results.binning.dimension_counts`), the rest one bincount each per
    dimension, in person order (of the people whose value is not 0:
    :class:`~sim.results.binning.OrderedSums`)."""
    replicate = agents["replicate"].to_numpy().astype(np.int64)
    arrays = {id(a): a for m, (_, e) in metrics.items() for a in (e, numerators[m])}
    indicators, counted_as = counted_indicators(arrays)
    packed = pack(indicators, JOINT_BITS)
    # a metric whose sums continue each fractional array's running sums (its first one)
    first = {}
    for metric, (_, eligible) in metrics.items():
        first.setdefault(id(eligible), (metric, 0))
        first.setdefault(id(numerators[metric]), (metric, 1))
    out = {}
    groups = [_group_codes(agents, dim, narrow=True) for dim in SUMMARY_DIMENSIONS]
    sizes = [len(labels) for _, labels in groups]
    # fractional arrays whose sums are exact in any order (whole weeks, weeks x 0.5: with
    # the sums so far, if any) are summed like counts, several dimensions at once
    exact = [i for i, a in arrays.items() if a.dtype != bool and exact_sums(a) and (
        prior is None or all(exact_sums(prior[d, first[i][0]][first[i][1]])
                             for d in SUMMARY_DIMENSIONS))]
    fractional = OrderedSums({i: a for i, a in arrays.items()
                              if a.dtype != bool and i not in exact},
                             n_rep * max(sizes), prior is not None)
    all_codes = [codes for codes, _ in groups]
    all_counts = dimension_counts(replicate, n_rep, all_codes, sizes, packed, len(indicators))
    all_exact = joint_sums(replicate, n_rep, all_codes, sizes, [arrays[i] for i in exact])
    for dim, (codes, labels), counts, exact_part in zip(SUMMARY_DIMENSIONS, groups,
                                                        all_counts, all_exact, strict=True):
        cells = n_rep * len(labels)
        sums = {key: counts[i] for key, i in counted_as.items()}
        sums.update(zip(exact, exact_part, strict=True))
        cell = replicate * len(labels)
        cell += codes  # in place (issue 19)
        for i in [i for i in arrays if i not in sums]:  # the fractional ones
            metric, which = first[i]
            sums[i] = fractional.sums(i, cell, cells,
                                      None if prior is None else prior[dim, metric][which])
        for metric, (_, eligible) in metrics.items():
            n, total = sums[id(eligible)], sums[id(numerators[metric])]
            if prior is not None:  # exact sums (counts and others) add up exactly
                before = prior[dim, metric]
                if eligible.dtype == bool or id(eligible) in exact:
                    n = n + before[0]
                if numerators[metric].dtype == bool or id(numerators[metric]) in exact:
                    total = total + before[1]
            out[dim, metric] = (n, total)
    return out


def _mean_runs(agents: pd.DataFrame, sums: dict):
    """Each run of one dimension's metrics in :func:`grouped_sums`' order, as
    ``(dimension, group labels (str), metric names, row, idx, value, n)``: the cells with
    an eligible person, metric by metric (``row``, into the names), then replicate x group
    (``idx``), with value = sum / n (issue 19: a run at a time, not a metric)."""
    labels = {dim: np.array([str(x) for x in _group_labels(agents, dim)], dtype=object)
              for dim in SUMMARY_DIMENSIONS}
    runs: list[tuple[str, list]] = []  # (dimension, [(metric, n, total)]) in order
    for (dim, metric), (n, total) in sums.items():
        if not runs or runs[-1][0] != dim:
            runs.append((dim, []))
        runs[-1][1].append((metric, n, total))
    for dim, run in runs:
        n = np.stack([x[1] for x in run]).ravel()
        total = np.stack([x[2] for x in run]).ravel()
        flat = np.flatnonzero(n > 0)  # metric by metric, then replicate x group
        row, idx = np.divmod(flat, n.size // len(run))
        yield (dim, labels[dim], [x[0] for x in run], row, idx, total[flat] / n[flat],
               n[flat].astype(np.int64))


def mean_columns(agents: pd.DataFrame, sums: dict, n_rep: int) -> dict[str, list]:
    """The :func:`grouped_sums` as lists of column parts (replicate, dimension, group,
    metric, value = sum / n, n; the text columns as object arrays of ``str``), dimension by
    dimension and metric by metric; groups with no eligible person are left out.
    ``agents`` (any rows of the table) gives the groups' labels."""
    cols: dict[str, list] = {"replicate": [], "dimension": [], "group": [], "metric": [],
                             "value": [], "n": []}
    for dim, labels, names, row, idx, value, n in _mean_runs(agents, sums):
        cols["replicate"].append(idx // len(labels))
        cols["dimension"].append(np.full(idx.size, dim, dtype=object))
        cols["group"].append(labels[idx % len(labels)])
        cols["metric"].append(np.array(names, dtype=object)[row])
        cols["value"].append(value)
        cols["n"].append(n)
    return cols


def mean_table(agents: pd.DataFrame, sums: dict) -> pd.DataFrame | None:
    """:func:`mean_columns` as a table (None if it has no rows), its text columns ``str``
    (:data:`TEXT_DTYPE`, what pandas infers from the text) taken from each column's few
    values by index (issue 19: not converted from a Python string a row)."""
    parts: dict[str, list] = {"replicate": [], "dimension": [], "group": [], "metric": [],
                              "value": [], "n": []}
    words: dict[str, list] = {"dimension": [], "group": [], "metric": []}
    for dim, labels, names, row, idx, value, n in _mean_runs(agents, sums):
        parts["replicate"].append(idx // len(labels))
        parts["dimension"].append(np.full(idx.size, len(words["dimension"])))
        parts["group"].append(len(words["group"]) + idx % len(labels))
        parts["metric"].append(len(words["metric"]) + row)
        parts["value"].append(value)
        parts["n"].append(n)
        words["dimension"].append(dim)
        words["group"].extend(labels)
        words["metric"].extend(names)
    if not parts["n"]:
        return None
    return pd.DataFrame({
        name: (pd.array(words[name], dtype=TEXT_DTYPE).take(np.concatenate(part))
               if name in words else np.concatenate(part))
        for name, part in parts.items()})


def replicates(agents: pd.DataFrame) -> int:
    """How many replicates the table has (0 if it is empty)."""
    return int(agents["replicate"].to_numpy().max()) + 1 if len(agents) else 0


def grouped_means(agents: pd.DataFrame, metrics: dict, numerators: dict) -> dict[str, list]:
    """Each metric's mean over its eligible people in every group of every summary
    dimension and replicate, as lists of column parts (:func:`grouped_sums`,
    :func:`mean_columns`)."""
    n_rep = replicates(agents)
    return mean_columns(agents, grouped_sums(agents, metrics, numerators, n_rep), n_rep)


def group_summary(agents: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Tidy table: replicate, dimension, group, metric, value (mean over eligible), n.

    The work repeated across dimensions is done once (issue 19: 1.3 s of a 1M-person
    run): each metric's numerator among the eligible, and each distinct eligibility's
    count per group, which many metrics share. The sums are the same bincounts as a
    metric-by-metric loop, so the table is too, to the bit.
    """
    horizon = cfg["horizon_weeks"]
    metrics = _metrics(agents, horizon, cfg["outcomes"]["rtw_weeks"],
                       cfg["outcomes"]["snapshot_weeks"], cfg["outcomes"]["sustained_weeks"])
    numerators = {m: _numerator(num, eligible) for m, (num, eligible) in metrics.items()}
    table = mean_table(agents, grouped_sums(agents, metrics, numerators, replicates(agents)))
    if table is not None:  # an empty table's text columns stay object, as they were
        return table if len(table) else table.astype({c: object for c in TEXT_COLUMNS})
    return pd.DataFrame({name: np.zeros(0, dtype=object if name in TEXT_COLUMNS else float)
                         for name in ("replicate", *TEXT_COLUMNS, "value", "n")})


def weekly_table(model) -> pd.DataFrame:
    """Tidy weekly counts: week, replicate, imd_quintile, ethnicity, condition, state, count."""
    counts = model.weekly_counts  # [week, group, state]
    weeks, groups, states = counts.shape
    # the non-zero cells in C order (np.nonzero's), decoded from flat indices: a 3-D
    # np.nonzero was most of this table's time at sweep scale (issue 19)
    flat = np.flatnonzero(counts)
    index_type = np.int32 if counts.size < 2**31 else np.int64
    rest, state_idx = np.divmod(flat.astype(index_type), index_type(states))
    week_idx, group_idx = np.divmod(rest, index_type(groups))
    cond = group_idx % len(CONDITIONS)
    rest = group_idx // len(CONDITIONS)
    eth = rest % len(ETHNICITIES)
    rest //= len(ETHNICITIES)
    imd = rest % 5 + 1
    rep = rest // 5
    return pd.DataFrame({
        "week": week_idx.astype(np.int16),
        "replicate": rep.astype(np.int16),
        "imd_quintile": imd.astype(np.int8),
        "ethnicity": pd.Categorical.from_codes(eth, categories=list(ETHNICITIES)),
        "condition": pd.Categorical.from_codes(cond, categories=list(CONDITIONS)),
        "state": pd.Categorical.from_codes(state_idx, categories=list(STATES)),
        "count": counts.reshape(-1)[flat],
    })


def spell_table(model) -> pd.DataFrame:
    """Absence spells by length in weeks: completed, and still ongoing at the horizon."""
    completed, ongoing = model.spell_lengths, model.ongoing_spell_lengths
    rows = []
    for kind, arr in (("completed", completed), ("ongoing", ongoing)):
        rep, length = np.nonzero(arr)
        rows.append(pd.DataFrame({"replicate": rep, "weeks": length, "status": kind,
                                  "spells": arr[rep, length]}))
    return pd.concat(rows, ignore_index=True)


def rtw_curve(agents: pd.DataFrame, by: str, weeks: int) -> pd.DataFrame:
    """Share returned by each week since onset, per group, among people followed ``weeks``."""
    onset = agents["first_onset"].to_numpy()
    followed = (onset >= 0) & (onset + weeks <= agents.attrs.get("horizon", np.inf))
    codes, labels = _group_codes(agents, by)  # no copy of the whole table (issue 19)
    codes = codes[followed]
    rtw = agents["weeks_to_rtw"].to_numpy()[followed]
    out = []
    for j, label in enumerate(labels):
        mask = codes == j
        n = int(mask.sum())
        if n == 0:
            continue
        r = rtw[mask]
        hist = np.bincount(r[r >= 0], minlength=weeks + 1)[: weeks + 1]
        out.append(pd.DataFrame({"group": str(label), "week": np.arange(weeks + 1),
                                 "share_returned": np.cumsum(hist) / n, "n": n}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(
        columns=["group", "week", "share_returned", "n"])


# Cell-level curves (written by every run, so a report needs no per-agent data)

CURVE_DIMENSIONS = ("all", "imd_quintile", "ethnicity", "condition")
CAUSES = ("rtw", "job_loss", "inactive")  # competing first exits from a sickness absence


def rtw_curve_table(agents: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Share back at work by week since onset, per replicate and group, in counts.

    Tidy: replicate, dimension, group, week (0..min(52, horizon)), returned (people back
    in work by that week, full or phased, any employer), n (people followed that long).
    ``returned / n`` at week 52 equals the ``rtw_52w`` summary metric.
    """
    horizon = int(cfg["horizon_weeks"])
    weeks = min(52, horizon)
    onset = agents["first_onset"].to_numpy()
    followed = (onset >= 0) & (onset + weeks <= horizon)
    rtw = agents["weeks_to_rtw"].to_numpy()[followed].astype(np.int64)
    replicate = agents["replicate"].to_numpy()[followed].astype(np.int64)
    n_rep = replicates(agents)
    # the week of return, or weeks + 1 for people not back by then; every dimension's
    # people per (replicate, group, week) in a few joint passes (issue 19: whole numbers)
    week = np.where((rtw >= 0) & (rtw <= weeks), rtw, weeks + 1)
    groups = [_group_codes(agents, dim, narrow=True) for dim in CURVE_DIMENSIONS]
    counts = value_counts(replicate, n_rep, [codes[followed] for codes, _ in groups],
                          [len(labels) for _, labels in groups], week, weeks + 2)
    frames = []
    for dim, (_, labels), hist in zip(CURVE_DIMENSIONS, groups, counts, strict=True):
        k = len(labels)
        n = hist.sum(axis=1)
        cum = np.cumsum(hist[:, :weeks + 1], axis=1)
        keep = np.flatnonzero(n > 0)
        frames.append(pd.DataFrame({
            "replicate": np.repeat(keep // k, weeks + 1),
            "dimension": dim,
            "group": np.repeat([str(labels[j]) for j in keep % k], weeks + 1),
            "week": np.tile(np.arange(weeks + 1), len(keep)),
            "returned": cum[keep].ravel().astype(np.int64),
            "n": np.repeat(n[keep], weeks + 1).astype(np.int64),
        }))
    return pd.concat(frames, ignore_index=True)


def first_exit(agents: pd.DataFrame, horizon: int):
    """Time (weeks since onset) and cause of the first exit from the first absence.

    Cause 1 = back in work, 2 = job loss, 3 = economically inactive, 0 = still off at the
    horizon (censored at ``horizon - onset``). The first of the three counts; at the same
    week RTW wins over job loss over inactivity. Only people with an onset are returned
    (``mask`` selects them); events dated before the onset are ignored.
    """
    onset = agents["first_onset"].to_numpy()
    mask = onset >= 0
    # the people with an onset by index (issue 19: a boolean selection was ~6 ns a person,
    # a take by index ~0.3 ns); a fit-note cohort's is everyone: nothing to select
    index = None if mask.all() else np.flatnonzero(mask)
    onset = (onset if index is None else onset.take(index)).astype(np.int64)
    first = np.full(len(onset), np.iinfo(np.int64).max)
    cause = np.zeros(len(onset), dtype=np.int64)
    # cause by cause, the earliest so far (a tie keeps the earlier cause), without
    # [causes x people] temporaries (issue 19: they set a run's memory peak)
    for k, column in enumerate(("first_rtw", "job_loss_week", "inactive_week"), start=1):
        week = agents[column].to_numpy()
        week = np.subtract(week if index is None else week.take(index), onset,
                           dtype=np.int64)
        sooner = week >= 0
        sooner &= week < first
        # masked copies, not boolean selections (issue 19: ~0.5 ms each at 100,000)
        np.copyto(first, week, where=sooner)
        np.copyto(cause, k, where=sooner)
    time = horizon - onset
    np.copyto(time, first, where=cause > 0)  # np.where's three-array form: ~8x slower
    return time, cause, mask


def competing_risks_table(agents: pd.DataFrame, cfg: dict, level: float = 0.95
                          ) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of RTW, job loss and inactivity by group.

    Pooled over replicates (the interval is the Aalen-Johansen delta-method interval of the
    pooled sample). People are collapsed to (time, cause) counts first and passed as
    frequency weights, which gives exactly the individual-level estimator. Tidy: dimension,
    group, cause, week, cif, low, high, n_risk, n (people in the group). Weeks with no
    event are filled forward so every group has weeks 0..horizon.
    """
    horizon = int(cfg["horizon_weeks"])
    time, cause, mask = first_exit(agents, horizon)
    weeks = np.arange(horizon + 1)
    span = int(time.max()) + 1 if time.size else 1
    at = np.minimum(weeks, span - 1)  # a week past the last exit reads the last one's
    # people per (group, week, cause) of every dimension, a run of dimensions in one
    # joint bincount (value_counts: whole numbers, the same counts as one bincount per
    # dimension), and every group's estimates at every week in one call: each group's
    # row of the stacked counts gives its estimates, element by element along its weeks,
    # the same as a call per dimension (issue 19: 4 passes and 4 calls at sweep scale)
    groups = [_group_codes(agents, dim, narrow=True) for dim in CURVE_DIMENSIONS]
    exit_key = time * 4
    exit_key += cause
    index = None if len(time) == len(mask) else np.flatnonzero(mask)
    per_dim = value_counts(np.zeros(len(time), dtype=np.int8), 1,
                           [codes if index is None else codes.take(index)
                            for codes, _ in groups],
                           [len(labels) for _, labels in groups], exit_key, span * 4)
    counts = np.concatenate(per_dim).reshape(-1, span, 4)
    people = counts.sum(axis=(1, 2))
    keep = np.flatnonzero(people)  # the groups with anyone, dimension by dimension
    if keep.size == 0:  # nobody had an absence in the observation window
        return pd.DataFrame(columns=["dimension", "group", "cause", "week", "cif", "low",
                                     "high", "n_risk", "n"])
    _, by_cause = aalen_johansen_grid(counts[keep], level=level)
    # [group, cause, week] in C order: each group's curves, cause by cause
    out = {col: np.stack([by_cause[k][col][:, at] for k in range(1, len(CAUSES) + 1)],
                         axis=1).ravel() for col in ("cif", "low", "high")}
    risk = np.stack([by_cause[k]["n_risk"][:, at] for k in range(1, len(CAUSES) + 1)], axis=1)
    out["n_risk"] = np.where(weeks < span, risk, 0.0).astype(np.int64).ravel()
    dims = np.concatenate([np.full(len(labels), d) for d, (_, labels) in enumerate(groups)])
    labels = [str(x) for _, labels in groups for x in labels]
    # the text columns taken from one value a curve (as pandas infers them from strings)
    n_curves = keep.size * len(CAUSES)
    curve = np.repeat(np.arange(n_curves), len(weeks))
    text = {"dimension": [CURVE_DIMENSIONS[d] for d in dims[keep] for _ in CAUSES],
            "group": [labels[j] for j in keep for _ in CAUSES],
            "cause": list(CAUSES) * keep.size}
    text = {k: pd.array(v, dtype=TEXT_DTYPE).take(curve) for k, v in text.items()}
    return pd.DataFrame({
        **text, "week": np.tile(weeks, n_curves), "cif": out["cif"], "low": out["low"],
        "high": out["high"], "n_risk": out["n_risk"],
        "n": np.repeat(people[keep].astype(np.int64), len(CAUSES) * len(weeks)),
    })
