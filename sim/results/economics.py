"""Costs by perspective, QALYs and cost-effectiveness of a design against usual care.

Per person, from weeks spent in each state in each year (year one undiscounted, later
years discounted at ``economics.discount_rate``, 3.5% in the NICE reference case; one
function, :func:`discount_factors`, discounts costs and QALYs alike).

Each state's week is compared with the counterfactual of a week in full work at the
person's wage ``w`` (labour cost ``L = w + employer NI(w)``). Pay in the week (wage, phased
wage, occupational or Statutory Sick Pay, nothing) is taxed by the 2024/25 rules (income
tax and employee NI are deducted from the worker; employer NI is an employer cost, see
:func:`income_tax`, :func:`employee_ni`, :func:`employer_ni`), and people who are not paid
get the benefit they would claim in their state (:data:`BENEFIT_RULES`). Then:

* **programme** (NHS / commissioner): the components' per-participant and per-week costs,
  discounted by the year the person started;
* **NHS and PSS** health-care use: a weekly cost by state;
* **employer**: sick pay (with the employer NI on it) + net productivity loss (output lost,
  valued at ``output_per_labour_cost x L``, minus the labour cost saved) + recruitment after
  a job loss. With output valued at labour cost (the human-capital default) the net
  productivity loss is zero while absent: the employer saves the wage it no longer pays;
* **Exchequer**: benefits paid + income tax, employee and employer NI not collected;
* **individual**: net (after tax and NI) income lost, less benefits received;
* **societal**: programme + NHS/PSS + lost output + recruitment. Sick pay, benefits and
  taxes are transfers: they cancel across perspectives, so programme + NHS/PSS + employer
  + Exchequer + individual equals the societal cost exactly. :func:`person_costs` checks
  this on every call and raises :class:`ReconciliationError` if it fails.

Lost output while out of work (unemployed, inactive) is valued at the labour cost for the
whole horizon (human-capital method); the team-production share above it
(``output_per_labour_cost > 1``) falls on the employer only while the worker is absent or
phased. QALYs: each week in a state is worth ``utility_in_work + utility_decrement[state]``
/ 52 (EQ-5D, UK value set), discounted like costs.

Spell-level sick pay is approximated from totals: a person with ``s`` spells and ``a``
weeks absent gets SSP for ``min(a, ssp_max_weeks s)`` weeks, of which
``min(a, occupational_sick_pay_weeks s)`` are topped up to full pay by the share of
employers of that size who do so, spread over years in proportion to absent weeks; the
remaining absent weeks are unpaid and draw the ``absent_after_sick_pay`` benefit.

The comparison of a design with usual care is paired: the same people with the same random
numbers in both arms, so per-replicate differences have tight intervals.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sim.engine.categories import STATES
from sim.errors import ReconciliationError
from sim.evidence.registry import load_registry
from sim.programme.effects import resolve_cost
from sim.results.columns import TableColumns
from sim.results.costing import (  # noqa: F401 (the accounting's public names, re-exported)
    BENEFIT_RULES,
    RECONCILE_TOLERANCE,
    _cost_plan,
    _person_costs,
    _weeks_by_year,
    discount_factors,
    employee_ni,
    employer_ni,
    income_tax,
    net_pay,
    reconcile,
    state_utilities,
    weekly_benefit,
)
from sim.results.economics_sums import StackedCells

PERSPECTIVES = ("programme", "nhs", "employer", "exchequer", "individual", "societal")
def resolve_economics(econ: dict, overrides: dict | None = None) -> dict:
    """The economics block with every evidence-registry id replaced by its value
    (``overrides``: the config's ``evidence_values``, as in a PSA draw). The registry is
    loaded once for the block (each load checks every registry file: ~0.6 ms, ~50 ids)."""
    registry = {}

    def walk(x, key=None):
        if key in ("sources", "name"):
            return x
        if isinstance(x, dict):
            return {k: walk(v, k) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, str):
            if not registry:
                registry.update(load_registry())
            return resolve_cost(x, overrides, registry)
        return x

    return walk(econ)


def economics_evidence_ids(cfg: dict) -> list[str]:
    """Registry ids named by the economics block, in order (for evidence tables)."""
    found = []

    def walk(x, key=None):
        if key in ("sources", "name"):
            return
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, k)
        elif isinstance(x, str):
            found.append(x)

    walk(cfg.get("economics") or {})
    return list(dict.fromkeys(found))


# People costed at a time (32,768): the accounting holds about 20 [years x people] float64
# arrays (40 temporaries before session 19), which for 1M people at once set the run's
# memory peak (+333 bytes a person, issue 19). Every figure is per person, so chunking
# changes no value.
PERSON_COSTS_CHUNK = 1 << 15


def _check_states() -> None:
    unknown = [s for s in STATES if s not in ("working", "absent", "phased", "unemployed",
                                               "inactive", "inactive_benefit", "retired")]
    if unknown:  # a new state needs its pay, output and benefit rule defined here
        raise ReconciliationError(f"economics: no accounting rule for state(s) {unknown}")


def person_costs(agents: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Discounted costs (GBP) by perspective, discounted QALYs and weeks, one row per
    person. Raises :class:`ReconciliationError` if the perspectives do not add up to the
    societal cost."""
    econ = resolve_economics(cfg["economics"], cfg.get("evidence_values"))
    _check_states()
    hours = cfg["pathways"]["phased_return"]["hours_fraction"]
    n = len(agents)
    if n <= PERSON_COSTS_CHUNK:
        return pd.DataFrame(_person_costs(TableColumns(agents), econ, hours))
    return pd.DataFrame(person_cost_columns(agents, cfg))


def person_cost_columns(agents: pd.DataFrame, cfg: dict, columns=None) -> dict:
    """Columns ``columns`` (default: all) of :func:`person_costs` as numpy arrays, filled
    chunk by chunk (no whole-population temporaries, no second copy for a concat)."""
    if len(agents) <= PERSON_COSTS_CHUNK:
        costs = person_costs(agents, cfg)
        return {c: costs[c].to_numpy() for c in (columns or costs.columns)}
    econ = resolve_economics(cfg["economics"], cfg.get("evidence_values"))
    hours = cfg["pathways"]["phased_return"]["hours_fraction"]
    out: dict[str, np.ndarray] = {}
    table = TableColumns(agents)
    plan = _cost_plan(econ, hours)
    for lo in range(0, len(agents), PERSON_COSTS_CHUNK):
        part = _person_costs(table.rows(lo, lo + PERSON_COSTS_CHUNK), econ, hours, plan)
        for c in columns or part:
            values = part[c]
            if c not in out:
                out[c] = np.empty(len(agents), dtype=values.dtype)
            out[c][lo:lo + len(values)] = values
    return out


AGENT_COLUMNS = {"qaly_disc": "qaly_disc", "cost_nhs_pss_disc": "cost_nhs_pss",
                 "cost_societal_disc": "cost_societal"}


def with_person_economics(agents: pd.DataFrame, cfg: dict,
                          columns: dict | None = None, copy: bool = True) -> pd.DataFrame:
    """``agents`` plus each person's discounted QALYs (``qaly_disc``), NHS/PSS cost
    (programme + health-care use, ``cost_nhs_pss_disc``) and societal cost, for the
    per-person table (``agents.parquet``); ``columns``: those columns already costed
    (by :func:`economics_table`), else they are costed here.

    ``copy=False``: the same frame (columns, values, ``attrs``) holding the costed arrays
    themselves instead of copies, for a caller that only reads it (writing
    ``agents.parquet`` beside the run's tables: 24 bytes a person less at that peak,
    issue 19). A write to that frame would change the arrays."""
    if not columns or any(len(columns[c]) != len(agents) for c in AGENT_COLUMNS):
        costs = person_cost_columns(agents, cfg, list(AGENT_COLUMNS.values()))
        columns = {col: costs[src] for col, src in AGENT_COLUMNS.items()}
    if copy or set(AGENT_COLUMNS) & set(agents.columns):  # (costed already: replaced)
        return agents.assign(**{col: columns[col] for col in AGENT_COLUMNS})
    joined = pd.concat([agents, *(pd.Series(columns[col], index=agents.index, name=col,
                                            copy=False) for col in AGENT_COLUMNS)], axis=1)
    joined.attrs = dict(agents.attrs)
    return joined


def _interval(values: np.ndarray, level: float = 0.95):
    """Mean and t interval over replicates (NaN interval with one replicate)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan")
    # scipy.stats costs about 0.4 s to import (issue 19) and is needed only here
    from scipy.stats import t as t_dist

    half = t_dist.ppf(0.5 + level / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(
        values.size)
    return mean, mean - half, mean + half


def compare(design_agents: pd.DataFrame, usual_agents: pd.DataFrame, cfg: dict,
            rtw_week: int = 52) -> pd.DataFrame:
    """Paired economic comparison of a design with usual care, by replicate and pooled.

    Rows: one per measure; columns: estimate (mean over replicates), low, high (t interval
    over replicates). Costs are per person in the population; ``cost_per_extra_rtw`` is the
    programme cost per additional person back at work within ``rtw_week`` weeks;
    ``cost_per_week_absence_averted`` the programme cost per discounted week of absence
    averted; ``nmb_per_person`` the commissioner's net monetary benefit per person at the
    configured willingness to pay per week in work (a wider-perspective measure, not the
    reference case). NICE reference case: ``delta_qaly_per_person`` (discounted),
    ``delta_cost_nhs_pss`` (programme + NHS/PSS use), ``nhb_qaly_at_<k>`` net health benefit
    (QALYs) at each threshold ``k`` of ``economics.qaly_thresholds``, and ``icer_nhs_pss``
    (ratio of the mean changes, no interval; NaN when dominant or dominated).
    """
    econ = cfg["economics"]
    wtp = econ["willingness_to_pay_per_week_in_work"]
    thresholds = [float(k) for k in econ["qaly_thresholds"]]
    dc, uc = person_costs(design_agents, cfg), person_costs(usual_agents, cfg)
    per_rep = []
    for rep in sorted(dc["replicate"].unique()):
        a, b = dc[dc["replicate"] == rep], uc[uc["replicate"] == rep]
        da = design_agents[design_agents["replicate"] == rep]
        ua = usual_agents[usual_agents["replicate"] == rep]
        row = {"replicate": rep}
        for p in PERSPECTIVES:
            row[f"delta_cost_{p}"] = a[f"cost_{p}"].mean() - b[f"cost_{p}"].mean()
        extra_rtw = _returned(da, rtw_week).sum() - _returned(ua, rtw_week).sum()
        absence_averted = b["weeks_absent_disc"].sum() - a["weeks_absent_disc"].sum()
        programme_total = a["cost_programme"].sum() - b["cost_programme"].sum()
        row["extra_rtw_per_1000"] = 1000.0 * extra_rtw / len(da)
        row["weeks_absence_averted_per_person"] = absence_averted / len(da)
        row["delta_weeks_in_work_per_person"] = (a["weeks_in_work_disc"].mean()
                                                 - b["weeks_in_work_disc"].mean())
        row["cost_per_extra_rtw"] = programme_total / extra_rtw if extra_rtw > 0 else np.nan
        row["cost_per_week_absence_averted"] = (programme_total / absence_averted
                                                if absence_averted > 0 else np.nan)
        row["nmb_per_person"] = wtp * row["delta_weeks_in_work_per_person"] - row[
            "delta_cost_programme"]
        row["delta_qaly_per_person"] = a["qaly_disc"].mean() - b["qaly_disc"].mean()
        row["delta_cost_nhs_pss"] = a["cost_nhs_pss"].mean() - b["cost_nhs_pss"].mean()
        for k in thresholds:
            row[f"nhb_qaly_at_{k:g}"] = net_health_benefit(
                row["delta_qaly_per_person"], row["delta_cost_nhs_pss"], k)
        per_rep.append(row)
    per_rep = pd.DataFrame(per_rep)
    rows = []
    for measure in per_rep.columns.drop("replicate"):
        values = per_rep[measure].to_numpy()
        finite = values[np.isfinite(values)]
        est = _interval(finite) if finite.size else (np.nan, np.nan, np.nan)
        rows.append({"measure": measure, "estimate": est[0], "low": est[1], "high": est[2],
                     "replicates": int(finite.size)})
    rows.append({"measure": "icer_nhs_pss",
                 "estimate": icer(per_rep["delta_cost_nhs_pss"].mean(),
                                  per_rep["delta_qaly_per_person"].mean()),
                 "low": np.nan, "high": np.nan, "replicates": len(per_rep)})
    return pd.DataFrame(rows)


def icer(delta_cost: float, delta_qaly: float) -> float:
    """Incremental cost per QALY gained: ``delta_cost / delta_qaly``; NaN when the QALY
    change is zero, or when the design is dominated (costs more, gains no QALYs) or
    dominant (costs less, gains QALYs), where a ratio misleads: read net health benefit."""
    if not (np.isfinite(delta_cost) and np.isfinite(delta_qaly)) or delta_qaly == 0:
        return np.nan
    if (delta_qaly > 0) != (delta_cost > 0):
        return np.nan  # dominant or dominated: no meaningful ratio
    return float(delta_cost / delta_qaly)


def net_health_benefit(delta_qaly, delta_cost, threshold: float):
    """Net health benefit in QALYs: ``delta_qaly - delta_cost / threshold`` (health
    forgone elsewhere in the NHS at the cost-effectiveness threshold, GBP per QALY)."""
    return np.asarray(delta_qaly) - np.asarray(delta_cost) / float(threshold) if np.ndim(
        delta_qaly) else float(delta_qaly) - float(delta_cost) / float(threshold)


def _returned(agents, week: int) -> np.ndarray:
    """Who returned within ``week`` weeks of onset (``agents``: a table or its columns)."""
    onset = np.asarray(agents["first_onset"])
    rtw = np.asarray(agents["weeks_to_rtw"])
    return (onset >= 0) & (np.asarray(agents["first_rtw"]) >= 0) & (rtw <= week)


# Cell-level economics table (written by every run, so a report needs no per-agent data)

ECONOMICS_DIMENSIONS = ("all", "imd_quintile", "ethnicity", "condition", "imd_ethnicity")
COST_COLUMNS = ("cost_programme", "cost_nhs", "cost_nhs_pss", "cost_employer",
                "cost_employer_sick_pay", "cost_employer_net_productivity",
                "cost_employer_recruitment", "cost_exchequer", "cost_exchequer_benefits",
                "cost_exchequer_lost_tax", "cost_individual", "cost_individual_lost_income",
                "cost_lost_output", "cost_societal")


def _economics_codes(agents: TableColumns, dimension: str):
    if dimension == "all":
        return np.zeros(len(agents), dtype=np.int64), ["all"]
    if dimension not in ("imd_quintile", "imd_ethnicity"):
        return agents[dimension].astype(np.int64), agents.categories(dimension)
    imd = agents["imd_quintile"].astype(np.int64) - 1
    if dimension == "imd_quintile":
        return imd, ["1", "2", "3", "4", "5"]
    cats = agents.categories("ethnicity")
    codes = imd * len(cats) + agents["ethnicity"].astype(np.int64)
    return codes, [f"{q}|{e}" for q in range(1, 6) for e in cats]


def fixed_cost_per_person(programme: pd.DataFrame, sizes: dict, horizon: int,
                          rate: float) -> dict:
    """Fixed running costs of a design per person, by replicate, discounted by week.

    ``programme`` is the run's programme table (``fixed_cost_gbp`` = weekly fixed cost x
    horizon per component and replicate); fixed costs are shared equally by everyone.
    """
    if programme.empty or "fixed_cost_gbp" not in programme:
        return {rep: 0.0 for rep in sizes}
    disc = discount_factors(horizon // 52 + 1, rate)[np.arange(horizon) // 52].mean()
    total = programme.groupby("replicate")["fixed_cost_gbp"].sum()
    return {rep: float(total.get(rep, 0.0)) * disc / max(n, 1) for rep, n in sizes.items()}


def _economics_sums(agents: pd.DataFrame, cfg: dict, window: int, n_rep: int,
                    fixed_by_rep: np.ndarray, keep: dict | None = None,
                    progress: Callable[[int], None] | None = None) -> dict:
    """Per dimension: its labels and, per [replicate x group] cell, the number of people,
    returned and followed counts and the sum of each cost and weeks measure.

    People are costed a chunk at a time (:data:`PERSON_COSTS_CHUNK`; no whole-population
    cost columns: they set a run's memory peak) and each chunk is added in person order
    onto the running sums of every dimension at once
    (:class:`sim.results.economics_sums.StackedCells`), the same order as one
    ``np.bincount`` over everyone: the sums are the same to the bit. ``keep`` (name ->
    person cost column, e.g. :data:`AGENT_COLUMNS`' sources) is filled with those columns
    on the way, so the per-person table needs no second costing; ``progress(rows)`` is
    told after each chunk that ``keep``'s first ``rows`` rows are complete."""
    econ = resolve_economics(cfg["economics"], cfg.get("evidence_values"))
    hours = cfg["pathways"]["phased_return"]["hours_fraction"]
    horizon = int(cfg["horizon_weeks"])
    measures = [*COST_COLUMNS, "qaly_disc", "weeks_in_work_disc", "weeks_absent_disc"]
    _check_states()
    labels: dict[str, list] = {}
    sizes: list[int] = []
    counts: dict[str, np.ndarray] = {}
    totals: dict[str, np.ndarray] = {}  # every dimension's cells side by side
    table = TableColumns(agents)
    plan = _cost_plan(econ, hours)
    for lo in range(0, max(len(agents), 1), PERSON_COSTS_CHUNK):
        part = table.rows(lo, lo + PERSON_COSTS_CHUNK)
        costs = _person_costs(part, econ, hours, plan)
        for name, column in (keep or {}).items():
            column[lo:lo + len(part)] = costs[name]
        if progress is not None:
            progress(lo + len(part))
        replicate = part["replicate"].astype(np.int64)
        onset = part["first_onset"]
        followed = (onset >= 0) & (onset + window <= horizon)
        returned = followed & _returned(part, window)
        cells = []
        for dim in ECONOMICS_DIMENSIONS:
            codes, labels[dim] = _economics_codes(part, dim)
            cell = replicate * len(labels[dim])
            cell += codes  # in place: one array a dimension (issue 19)
            cells.append(cell)
        if not totals:
            sizes = [n_rep * len(labels[dim]) for dim in ECONOMICS_DIMENSIONS]
            counts = {name: np.zeros(sum(sizes)) for name in ("n", "returned", "followed")}
            totals = {c: np.zeros(sum(sizes)) for c in measures}
        stacked = StackedCells(cells, sizes)
        for name, count in zip(("n", "followed", "returned"),
                               stacked.count(followed, returned), strict=True):
            counts[name] += count  # whole numbers: exact in any order
        fixed_by_person = fixed_by_rep[replicate] if n_rep else 0.0
        for c in measures:
            values = costs[c]
            if c in ("cost_programme", "cost_nhs_pss", "cost_societal"):
                values = values + fixed_by_person
            totals[c] = stacked.add(totals[c], values)
    sums = {}
    lo_cell = 0
    for dim, size in zip(ECONOMICS_DIMENSIONS, sizes, strict=True):
        sums[dim] = (labels[dim], {name: column[lo_cell:lo_cell + size]
                                   for name, column in {**counts, **totals}.items()})
        lo_cell += size
    return sums


def economics_table(agents: pd.DataFrame, cfg: dict,
                    programme: pd.DataFrame | None = None,
                    person_columns: dict | None = None,
                    progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """Per replicate and group: mean discounted cost per person by perspective, discounted
    QALYs, discounted weeks in work and absent, people returned within
    ``rtw_window_weeks`` (52, or the horizon if shorter) among those followed that long.

    Tidy: replicate, dimension, group, n, rtw_window_weeks, returned, followed, then one
    column per cost (mean GBP per person) and weeks measure. Dimensions: all, IMD quintile,
    ethnicity, condition and IMD quintile x ethnicity (``"1|white_british"``: the subgroups
    a distributional cost-effectiveness analysis works on). Groups with nobody are left out.
    ``person_columns`` (a dict) is filled with the per-person columns of
    :func:`with_person_economics` (:data:`AGENT_COLUMNS`), costed in the same pass: the
    arrays are there from the start, and ``progress(rows)`` says after each chunk of
    people that their first ``rows`` rows are complete (a writer may read them then).
    """
    horizon = int(cfg["horizon_weeks"])
    window = min(52, horizon)
    replicate = agents["replicate"].to_numpy().astype(np.int64)
    n_rep = int(replicate.max()) + 1 if len(agents) else 0
    sizes = {rep: int(c) for rep, c in enumerate(np.bincount(replicate, minlength=n_rep))}
    fixed = fixed_cost_per_person(programme if programme is not None else pd.DataFrame(),
                                  sizes, horizon, cfg["economics"]["discount_rate"])
    fixed_by_rep = np.array([fixed[r] for r in range(n_rep)])
    keep = None
    if person_columns is not None:
        keep = {src: np.empty(len(agents)) for src in AGENT_COLUMNS.values()}
        person_columns.update({col: keep[src] for col, src in AGENT_COLUMNS.items()})
    sums = _economics_sums(agents, cfg, window, n_rep, fixed_by_rep, keep, progress)
    frames = []
    for dim, (labels, totals) in sums.items():
        k = len(labels)
        n = totals.pop("n")
        keep = np.flatnonzero(n > 0)
        frame = {
            "replicate": keep // k,
            "dimension": dim,
            "group": [str(labels[j]) for j in keep % k],
            "n": n[keep].astype(np.int64),
            "rtw_window_weeks": window,
            "returned": totals.pop("returned")[keep].astype(np.int64),
            "followed": totals.pop("followed")[keep].astype(np.int64),
        }
        for name, total in totals.items():
            frame[name] = total[keep] / n[keep]
        frames.append(frame)
    return _joined(frames)


def _joined(frames: list[dict]) -> pd.DataFrame:
    """``pd.concat`` of the frames (dicts of columns; ``dimension`` and
    ``rtw_window_weeks`` scalars), built as one frame (a frame per dimension and the
    concat were ~7% of a sweep cell's economics table)."""
    rows = [len(f["n"]) for f in frames]
    if not all(rows):  # a frame without rows changes pd.concat's dtypes: as it makes them
        return pd.concat([pd.DataFrame(f) for f in frames], ignore_index=True)
    columns = {}
    for name in frames[0]:
        if name in ("dimension", "rtw_window_weeks"):
            parts = [np.full(r, f[name], dtype=object if name == "dimension" else np.int64)
                     for f, r in zip(frames, rows, strict=True)]
        else:
            parts = [np.asarray(f[name], dtype=object if name == "group" else None)
                     for f in frames]
        columns[name] = np.concatenate(parts)
    return pd.DataFrame(columns)
