"""The pure entry point: ``simulate(cfg) -> Results``.

The Hydra CLI, sweeps, tests and any notebook call this; it reads no files other than
what ``cfg`` names and writes none (see :mod:`sim.results.output` for writing).

>>> from sim.config import load_config
>>> results = simulate(load_config(["population.n=2000", "horizon_weeks=26"]))
>>> sorted(results.summary["metric"].unique())[:2]
['days_absent', 'enrolled']
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import pandas as pd

from sim.background import Background, Rows
from sim.cli.resources import check_memory
from sim.config import validate
from sim.engine.model import RTWModel
from sim.io import release_free_memory
from sim.results.calibration import calibration_table
from sim.results.economics import economics_table
from sim.results.outcomes import (
    agent_outcomes,
    competing_risks_table,
    group_summary,
    programme_table,
    rtw_curve_table,
    spell_table,
    weekly_table,
)
from sim.results.quality import quality_table

WEEKLY_FILE = "weekly_counts.parquet"  # the only file that holds Results.weekly


@dataclass
class Results:
    """Everything a run produced, as tables, plus the config that produced it."""

    config: dict
    agents: pd.DataFrame
    summary: pd.DataFrame
    weekly: pd.DataFrame
    spells: pd.DataFrame
    calibration: pd.DataFrame
    state_totals: pd.DataFrame  # Mesa DataCollector: weekly totals by state
    programme: pd.DataFrame  # per component and replicate: effects used, use, cost
    timings: dict = field(default_factory=dict)
    # cell-level tables for comparisons and reports (no per-agent data needed)
    economics: pd.DataFrame = field(default_factory=pd.DataFrame)  # costs by perspective
    rtw_curves: pd.DataFrame = field(default_factory=pd.DataFrame)  # RTW by week and group
    cif: pd.DataFrame = field(default_factory=pd.DataFrame)  # Aalen-Johansen by group
    # how much of each equity gap is structure, sourced or assumed hazards
    # (sim.uncertainty.decomposition;
    # computed when results are written, or by sim.uncertainty.decomposition.for_results)
    decomposition: pd.DataFrame = field(default_factory=pd.DataFrame)
    # quality of the return, health by state, productivity, by group (sim.results.quality)
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    # each person's qaly_disc, cost_nhs_pss_disc and cost_societal_disc for agents.parquet,
    # costed with the economics table (empty: sim.results.economics costs them when written)
    person_economics: dict = field(default_factory=dict)


def simulate(cfg: dict, model: RTWModel | None = None, core_only: bool = False,
             validated: bool = False, free_model: bool | None = None,
             agents_ready: Callable | None = None,
             leave_out: Collection[str] = (), overlap: bool = False) -> Results:
    """Validate ``cfg``, run the model and collect its tables.

    ``core_only`` skips the tables an analysis loop does not need (weekly, spells,
    calibration, RTW curves, competing risks, quality: left empty); summary, programme and
    economics are the same as in a full run. ``validated=True`` says ``cfg`` is already
    the result of :func:`sim.config.validate` with its memory checked (the CLI and the
    sweep check before they create anything), so it is not checked twice.
    ``free_model``: free the finished model's per-person arrays that the agents table
    copied (:func:`_drop_copied`; default: only for a model built here, which nobody else
    holds; a caller passing its model may say True if it reads no more than the counts).
    ``agents_ready(agents, cfg, person_economics, rows)``: called as soon as the per-person
    table is complete, before the tables (only when ``output.write_agents`` is on and not
    ``core_only``), e.g. to start writing ``agents.parquet`` beside them
    (:class:`sim.results.output.ResultsWriter`); ``person_economics`` is filled with each
    person's costs as the economics table costs them, and ``rows``
    (:class:`sim.background.Rows`) says how many are complete (its ``wait`` raises if the
    run fails first). It must not change ``agents``.
    ``leave_out``: the file names the caller will not write (as
    :func:`sim.results.output.write_results`'s, e.g. a sweep cell's): a table that only
    such a file holds is not built and is left empty (``weekly_counts.parquet``: the
    weekly table, ~10% of a 10 x 10,000-person cell's tables, issue 19).
    ``overlap``: build the economics table in a thread while this one builds the group
    summary and the tables after it, up to the calibration (for a large single run with a
    CPU to spare: numpy releases the GIL for much of both; the CLI decides, as for its
    helper process, :func:`sim.results.helper.overlap_tables`). The tables are the same:
    each is computed by one thread, from the same read-only inputs.
    """
    cfg, model, agents, (t0, cpu0, t1, cpu1, t2, cpu2) = _run(cfg, model, validated,
                                                               free_model)
    agent_weeks = model.people.n * (model.warmup + model.horizon)
    programme = programme_table(model)
    person_economics: dict = {}  # costed once, for both the table and agents.parquet
    keep_person = cfg["output"]["write_agents"] and not core_only
    rows = None  # agents.parquet's writer: how many people's costs are complete
    try:
        if agents_ready is not None and keep_person:
            rows = Rows(len(agents))
            agents_ready(agents, cfg, person_economics, rows)
        economics = Background(economics_table, agents, cfg, programme,
                               person_economics if keep_person else None,
                               None if rows is None else rows.advance, start=overlap)
        with economics:
            summary = group_summary(agents, cfg)
            totals = model.datacollector.get_model_vars_dataframe()
            totals.index.name = "week"
            if core_only:
                weekly = spells = calibration = rtw_curves = cif = quality = pd.DataFrame()
            else:
                weekly = pd.DataFrame() if WEEKLY_FILE in leave_out else weekly_table(model)
                spells = spell_table(model)
                calibration = calibration_table(agents, spells, cfg)
            economics = economics.result()  # person_economics is complete from here
    except BaseException:
        if rows is not None:  # the writer waits for costs that will never come: it stops
            rows.abandon()
        raise
    if not core_only:
        rtw_curves = rtw_curve_table(agents, cfg)
        cif = competing_risks_table(agents, cfg)
        quality = quality_table(agents, cfg)
    t3, cpu3 = time.perf_counter(), time.process_time()
    timings = {
        "build_seconds": t1 - t0,
        "run_seconds": t2 - t1,
        "tables_seconds": t3 - t2,  # every table, quality included
        "cpu_seconds": cpu3 - cpu0,  # build + loop + tables, this process's CPU
        # the same split in CPU time (a shared machine's wall clock counts other work)
        "build_cpu_seconds": cpu1 - cpu0,
        "run_cpu_seconds": cpu2 - cpu1,
        "tables_cpu_seconds": cpu3 - cpu2,
        "agent_weeks": agent_weeks,
    }
    return Results(cfg, agents, summary, weekly, spells, calibration, totals.reset_index(),
                   programme, timings, economics, rtw_curves, cif, quality=quality,
                   person_economics=person_economics)


def simulate_summary(cfg: dict) -> pd.DataFrame:
    """Only the group summary of a run of ``cfg`` (equal to ``simulate(cfg).summary``).

    For loops that read nothing else (the gap decomposition's counterfactual runs): the
    economics, quality and other tables a full run adds cost more than the run itself at a
    long horizon (measured at 20,000 x 260 weeks, 2026-11-30: 3.9 s CPU for three runs
    through ``simulate(core_only=True)``, about half of it tables)."""
    cfg, _, agents, _ = _run(cfg, None, False)
    return group_summary(agents, cfg)


def _run(cfg: dict, model: RTWModel | None, validated: bool, free_model: bool | None = None):
    """The part every run shares: check ``cfg`` (unless ``validated``), build and run the
    model, release its working memory, and read the per-person outcomes. Returns the
    checked config, the model, the agents table and the wall and CPU clock at the start,
    after the build and after the run."""
    if not validated:
        cfg = validate(cfg)
    if model is None and not validated:
        check_memory(cfg)
    t0, cpu0 = time.perf_counter(), time.process_time()
    own = model is None  # built here: nothing outside reads its per-person columns
    free_model = own if free_model is None else free_model
    if own:
        model = RTWModel(cfg)
    t1, cpu1 = time.perf_counter(), time.process_time()
    model.run()
    model.release_run_state()  # the loop's working memory goes before the tables' peak
    release_free_memory(rows=model.people.n)
    t2, cpu2 = time.perf_counter(), time.process_time()
    agents = agent_outcomes(model)
    agents.attrs["horizon"] = cfg["horizon_weeks"]
    if free_model:
        _drop_copied(model)
    return cfg, model, agents, (t0, cpu0, t1, cpu1, t2, cpu2)


# per-person arrays of a finished model that the agents table holds as copies (weeks by
# state as int32, per-year weeks as int16 differences) or does not hold (state_since,
# last_return): about 80 bytes a person at 260 weeks that the tables' peak need not carry
# (issue 19). The tables after agent_outcomes read the model's counts, spell lengths,
# programme and people only.
COPIED_COLUMNS = ("weeks_by_state", "state_since", "last_return")


def _drop_copied(model: RTWModel) -> None:
    """Free what :func:`agent_outcomes` copied out of a model only this run holds."""
    model.weeks_by_state_at_year_end = []
    for name in COPIED_COLUMNS:
        model.columns.pop(name, None)
