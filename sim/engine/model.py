"""The Mesa model: people as numpy columns stepped once a week by one of two engines that
must agree exactly: the vectorised engine (:mod:`sim.engine.vectorised`, the default) and
the per-agent reference engine (:mod:`sim.engine.agent`).

Agent objects: creating a Python object per person costs about 8 s per million here, so
with the default ``engine=vectorised`` a :class:`Person` exists only when asked for
(``model.person(i)``), as a view on the columns; ``engine=agents`` creates every
``Person`` and steps each with scalar code (``model.agents.do("step")``), sharing the
hazard functions of :mod:`sim.engine.pathways`. Both engines read the same keyed random draws.

>>> from sim.config import load_config
>>> model = RTWModel(load_config(["population.n=500", "horizon_weeks=8"]))
>>> model.run()
>>> int(model.weekly_counts[-1].sum())
500
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np

from sim.engine import mesa_core
from sim.engine.absent import AbsentTable
from sim.engine.agent import DYNAMIC_COLUMNS, Column, Person
from sim.engine.categories import (
    ABSENT,
    AGE_BAND_YEARS,
    CONDITIONS,
    ETHNICITIES,
    OUT_OF_WORK,
    PHASED,
    STATES,
    WORKING,
)
from sim.engine.pathways import NO_RETURN_WEEK, Pathways
from sim.engine.population import ATTRIBUTES, People, kept, population_key, synthesise
from sim.engine.rng import Streams
from sim.engine.rosters import Rosters
from sim.engine.scheduling import WorkScheduling
from sim.engine.screens import out_of_work_bounds
from sim.engine.vectorised import N_STATES, VectorisedEngine, add_counts
from sim.programme.effects import resolve_design
from sim.programme.interventions import Programme
from sim.vocabulary import HAZARD_KEYS

# mesa's Model, Agent and DataCollector without its package __init__ (scipy.spatial and
# networkx for spaces the engine does not use; about half a second of start-up)
mesa = mesa_core.load()

__all__ = ["DYNAMIC_COLUMNS", "EVENT_WEEK_COLUMNS", "N_STATES", "NEVER_WEEK", "Column",
           "Effects", "Person", "RTWModel"]

# Mesa logs every step at INFO; under Hydra's INFO root logger that is 100+ lines a run.
logging.getLogger("MESA").setLevel(logging.WARNING)

AGE_BLOCK_WEEKS = 16  # weeks of age-band moves whose static parts are computed together
NEVER_WEEK = np.iinfo(np.int32).max  # "no such week" for band_week / pension_week
# first observation week of each event (-1 if none)
EVENT_WEEK_COLUMNS = ("first_onset", "first_rtw", "sustained_rtw", "job_loss_week",
                      "inactive_week", "reemployed_week", "benefit_week", "retired_week",
                      "separation_week", "left_inactive_week")


class Effects:
    """Per-person multipliers a programme applies this week (None = no effect).

    Keys: ``rtw``, ``job_loss``, ``relapse``, ``reemploy`` (hazard ratios; re-employment
    from unemployment), ``onset`` (hazard ratio on the background new-spell hazard in
    work), ``reemploy_inactive`` (into work from inactivity, set by services for people
    inactive for ill health) and ``phased`` (multiplier of the probability that
    a return is phased). Usual care sets none.
    """

    KEYS = HAZARD_KEYS  # sim.vocabulary

    def __init__(self):
        self.arrays: dict[str, np.ndarray | None] = dict.fromkeys(self.KEYS)

    def get(self, key, idx):
        """The multipliers for agents ``idx`` (an index array or one index), or None."""
        arr = self.arrays[key]
        return None if arr is None else arr[idx]

    def upper_bound(self, key) -> float:
        """Largest multiplier in force (1 when none): bounds a probability from above."""
        arr = self.arrays[key]
        return 1.0 if arr is None or arr.size == 0 else max(1.0, float(arr.max()))


# Per process: each kept population's ages and age-band moves (RTWModel._init_ages)
_AGES: OrderedDict = OrderedDict()


class RTWModel(WorkScheduling, VectorisedEngine, mesa.Model):
    """Return-to-work pathways for a synthetic population, one step per week.

    Attributes:
        people: static attributes (:class:`sim.engine.population.People`), replicates stacked.
        columns: dict of all per-person columns (static and dynamic) by name.
        pathways: baseline hazard tables and per-person multipliers.
        effects: per-person multipliers the programme applies this week.
        weekly_counts: [week, group, state] counts for observation weeks 0..horizon, where
            group = (replicate, IMD quintile, ethnicity, condition).
        datacollector: Mesa DataCollector with weekly totals by state.
    """

    def __init__(self, cfg: dict, people: People | None = None):
        super().__init__(rng=int(cfg["seed"]))
        self.cfg = cfg
        pop = cfg["population"]
        self.seed = int(cfg["seed"])
        self.replicates = int(cfg["replicates"])
        self.horizon = int(cfg["horizon_weeks"])
        self.warmup = int(pop["warmup_weeks"])
        self.engine_name = cfg["engine"]
        self.sustained_weeks = int(cfg["outcomes"]["sustained_weeks"])
        self.snapshot_weeks = [w for w in cfg["outcomes"]["snapshot_weeks"] if w <= self.horizon]
        self.people = people if people is not None else synthesise(
            pop, self.seed, self.replicates
        )
        # what is derived from the population alone is kept with it (a population given
        # by the caller is not known to be the one synthesised from the config)
        self._population_key = (population_key(pop, self.seed, self.replicates)
                                if people is None else None)
        n = self.people.n
        sizes = np.bincount(self.people.replicate, minlength=self.replicates).tolist()
        self.streams = Streams(self.seed, sizes)
        self.pathways = Pathways.build(cfg["pathways"], self.people, self.warmup + self.horizon,
                                       population=pop)
        self.condition_severity = (
            self.people.condition.astype(np.intp) * 3 + self.people.severity
        )
        self.effects = Effects()
        self.resolved_effects = self._resolve_effects(cfg)
        self.programme = Programme(cfg["programme"], self.people, self.resolved_effects,
                                   self.warmup + self.horizon, cfg.get("evidence_values"))
        self.programme.install(self.effects)
        self.engine_week = 0
        self.recording = self.warmup == 0
        self._onset_bound = self._background_onset_bound()
        self._out_bounds = out_of_work_bounds(self.pathways)

        cols = {name: getattr(self.people, name)
                for name in ("replicate", "person_id", *ATTRIBUTES)}
        cols["state"] = self.people.start_state.copy()  # by mode (sim.engine.population)
        cols["state_since"] = np.zeros(n, dtype=np.int32)
        cols["last_return"] = np.full(n, NO_RETURN_WEEK, dtype=np.int32)
        cols["early_return"] = np.zeros(n, dtype=bool)
        cols["phased_return"] = np.zeros(n, dtype=bool)
        for name in EVENT_WEEK_COLUMNS:
            cols[name] = np.full(n, -1, dtype=np.int16)
        self._init_ages(cols, cfg["pathways"]["retirement"]["state_pension_age"])
        cols["relapses"] = np.zeros(n, dtype=np.int16)
        cols["spells"] = np.zeros(n, dtype=np.int16)
        absent = cols["state"] == ABSENT
        cols["first_onset"][absent] = 0
        cols["spells"][absent] = 1
        # people out of work at the start (jobseekers, out_of_work): "onset" of worklessness
        cols["first_onset"][np.isin(cols["state"], OUT_OF_WORK)] = 0
        cols["weeks_by_state"] = np.zeros((N_STATES, n), dtype=np.int16)
        self.columns = cols

        # Observation: weekly counts by (replicate, IMD, ethnicity, condition) x state.
        self.n_groups = self.replicates * 5 * len(ETHNICITIES) * len(CONDITIONS)
        group = (
            (self.people.replicate.astype(np.int32) * 5 + (self.people.imd_quintile - 1))
            * len(ETHNICITIES) + self.people.ethnicity
        ) * len(CONDITIONS) + self.people.condition
        self._group_state_base = group * N_STATES
        self._counts = self._count_states()  # kept up to date from transitions
        self.weekly_counts = np.zeros((self.horizon + 1, self.n_groups, N_STATES), dtype=np.int32)
        self.snapshots: dict[int, np.ndarray] = {}
        # weeks in each state up to the end of each observed year (for discounting)
        self.year_ends = list(range(52, self.horizon, 52))
        self.weeks_by_state_at_year_end: list[np.ndarray] = []
        self.spell_lengths = np.zeros((self.replicates, self.warmup + self.horizon + 2),
                                      dtype=np.int64)
        self.state_totals = np.zeros(N_STATES, dtype=np.int64)
        self.datacollector = mesa.DataCollector(
            model_reporters={s: (lambda m, k=k: int(m.state_totals[k]))
                             for k, s in enumerate(STATES)}
        )
        self._agent_views: dict[int, Person] = {}
        # vectorised engine state kept across weeks (built at the first step)
        self._absent: AbsentTable | None = None
        self._rosters: Rosters | None = None
        self._absent_leaving = np.zeros(0, dtype=np.intp)  # table rows ending this week
        self._scratch = np.zeros(n, dtype=bool)  # all False between uses
        self._bounds_now: dict[str, float] = {}  # effect bounds, reset each week
        self.work_due = np.zeros(0, dtype=np.intp)  # people in work deciding this week
        self._work_candidates = self.work_due  # of them, those at a candidate week
        self.work_draws = np.zeros(0)
        self.draws_transition = None  # every person's draw (per-agent engine only)
        if self.engine_name == "agents":
            for i in range(n):
                self._agent_views[i] = Person(self, i)

    # ---- public helpers ---------------------------------------------------------------

    def person(self, index: int) -> Person:
        """The agent for row ``index`` (created on first request with the vectorised engine)."""
        agent = self._agent_views.get(index)
        if agent is None:
            agent = self._agent_views[index] = Person(self, index)
        return agent

    def run(self):
        """Warm-up (if any), then ``horizon_weeks`` observed weeks."""
        for _ in range(self.warmup + self.horizon):
            self.step()
        self.finish()

    def phased_probability(self, idx):
        """Probability that a return is phased, for agents ``idx`` (array or one index)."""
        p = self.pathways.phased_share[idx]
        boost = self.effects.get("phased", idx)
        return p if boost is None else np.minimum(1.0, p * boost)

    # ---- the weekly step ----------------------------------------------------------------

    def _init_ages(self, cols, pension_age):
        """Exact age at the start, uniform within the person's age band (keyed draw
        ``age_in_band``, so the population synthesis is unchanged), and the engine weeks at
        which each person reaches the next age band and State Pension age. They depend on
        the population, the seed and the run's length only: kept with a kept population
        (:func:`sim.engine.population.kept`; ~10 ms of a 10 x 10,000-person sweep cell's
        set-up, issue 19)."""
        end = self.warmup + self.horizon
        key = (None if self._population_key is None
               else (self._population_key, end, float(pension_age)))
        made = kept(_AGES, key, lambda: self._age_tables(pension_age), self.people.n,
                    lambda d: {k: v.copy() for k, v in d.items()})
        self.age0 = made["age0"]
        cols["age_band_now"] = self.people.age_band.copy()
        cols["band_week"] = made["band_week"]
        cols["pension_week"] = made["pension_week"]
        self._pension_order, self._pension_sorted = made["pension_order"], made["pension_sorted"]
        self.pension_due = np.zeros(0, dtype=np.intp)
        (self._band_weeks, self._band_people, self._band_new,
         self._band_next) = (made["band_weeks"], made["band_people"], made["band_new"],
                             made["band_next"])
        self._band_block = (0, 0, {})  # moves [start, stop) with their static parts

    def _age_tables(self, pension_age) -> dict:
        """:meth:`_init_ages`'s arrays, computed."""
        n = self.people.n
        band = self.people.age_band.astype(np.intp)
        years = np.asarray(AGE_BAND_YEARS, dtype=np.float64)
        u = self.streams.uniform_at(0, "age_in_band", np.arange(n))
        self.age0 = years[band, 0] + u * (years[band, 1] - years[band, 0])
        band_week = self._next_band_week(np.arange(n), band)
        pension_week = np.ceil((float(pension_age) - self.age0) * 52.0).astype(np.int32)
        # only people who reach State Pension age before the end of the run (as the band
        # moves): a stable sort keeps them in person order within a week, as a sort of
        # everyone would (issue 19: ~0.1 s of a 1M-person build)
        due = np.flatnonzero(pension_week < self.warmup + self.horizon)
        order = due[np.argsort(pension_week[due], kind="stable")]
        weeks, people, new, nexts = self._band_events(band, band_week)
        return {"age0": self.age0, "band_week": band_week, "pension_week": pension_week,
                "pension_order": order, "pension_sorted": pension_week[order],
                "band_weeks": weeks, "band_people": people, "band_new": new,
                "band_next": nexts}

    def _band_events(self, band, band_week):
        """Every move to a new age band before the end of the run as (engine week, person,
        new band, week of the move after it), sorted by week then person: each week's
        movers are then a slice (no pass over everyone, nothing recomputed in the week).
        The same weeks ``_next_band_week`` gives one band at a time."""
        end = self.warmup + self.horizon
        idx = np.arange(self.people.n)
        weeks, people, bands, nexts = [], [], [], []
        while idx.size:
            live = band_week < end
            idx, band, band_week = idx[live], band[live] + 1, band_week[live]
            weeks.append(band_week)
            people.append(idx)
            bands.append(band)
            band_week = self._next_band_week(idx, band)
            nexts.append(band_week)
        weeks, people = np.concatenate(weeks), np.concatenate(people)
        order = np.lexsort((people, weeks))
        return (weeks[order].astype(np.int32), people[order],
                np.concatenate(bands)[order].astype(np.int8),
                np.concatenate(nexts)[order].astype(np.int32))

    def _next_band_week(self, idx, band):
        """Engine week at which people ``idx`` (now in ``band``) enter the next age band."""
        last = len(AGE_BAND_YEARS) - 1
        upper = np.asarray(AGE_BAND_YEARS, dtype=np.float64)[np.minimum(band, last), 1]
        week = np.ceil((upper - self.age0[idx]) * 52.0)
        return np.where(band < last, week, NEVER_WEEK).astype(np.int32)

    def _age(self, t: int):
        """Ageing at the start of week ``t`` (model level, shared by both engines)."""
        col = self.columns
        key = np.array([t, t + 1], dtype=np.int32)  # the arrays' dtype: no cast of them
        lo, hi = np.searchsorted(self._band_weeks, key)
        if hi > lo:
            moved, band = self._band_people[lo:hi], self._band_new[lo:hi]
            col["age_band_now"][moved] = band
            self.pathways.set_age(moved, band, self._band_static_parts(t, lo, hi))
            if self._absent is not None:
                self._absent.refresh(moved, self._scratch)
            col["band_week"][moved] = self._band_next[lo:hi]
            self._reschedule_aged(t, moved)
        lo, hi = np.searchsorted(self._pension_sorted, key)
        # State Pension age this week (sorted: a stable argsort keeps people in order)
        self.pension_due = self._pension_order[lo:hi]

    def _band_static_parts(self, t: int, lo: int, hi: int) -> dict:
        """The static hazard parts of band moves ``lo:hi`` (this week's), computed for
        ``AGE_BLOCK_WEEKS`` weeks of moves at a time (elementwise, so the same values as
        week by week; the per-call cost of :meth:`Pathways.static_parts` counted ~0.4 ns
        per agent-week at 1M, issue 19)."""
        start, stop, parts = self._band_block
        if not start <= lo <= hi <= stop:
            start = lo
            stop = max(hi, int(np.searchsorted(self._band_weeks, t + AGE_BLOCK_WEEKS)))
            parts = self.pathways.static_parts(self._band_people[start:stop])
            self._band_block = start, stop, parts
        return {name: part[lo - start:hi - start] for name, part in parts.items()}

    def step(self):
        t = self.engine_week
        if t == self.warmup:
            self._start_recording()
        if self._calendar is None:
            self._start_calendar(t)
        self._age(t)
        self._observe(t - self.warmup)
        if self.recording:
            self.programme.before_decisions(self, t)
        self._bounds_now = {}  # effect bounds of this week (a pass over everyone each)
        self._week_draws(t)
        if self.engine_name == "agents":
            self.draws_transition = self._all_draws(t)
            self.agents.do("step")
            self._reschedule_reference(t)
        else:
            self._advance_vectorised(t)
        if self.recording:
            self.programme.after_decisions(self, t)
        self.engine_week += 1

    def finish(self):
        """Close the books at the horizon: add ongoing time in state, final sustained check."""
        self._observe(self.horizon)
        col = self.columns
        end = self.engine_week
        idx = np.arange(self.people.n)
        col["weeks_by_state"][col["state"], idx] += (end - col["state_since"]).astype(np.int16)
        in_work = np.flatnonzero((col["state"] == WORKING) | (col["state"] == PHASED))
        self._check_sustained(in_work, end - col["last_return"][in_work])
        absent = np.flatnonzero(col["state"] == ABSENT)
        self.ongoing_spell_lengths = np.zeros_like(self.spell_lengths)
        np.add.at(self.ongoing_spell_lengths,
                  (self.people.replicate[absent], end - col["state_since"][absent]), 1)

    def release_run_state(self):
        """Drop what only the weekly loop needs once the run is over: hazard multipliers,
        effect columns, random-draw buffers, the absent table, ageing schedules (about
        half a run's per-person memory; the tables, built next, read only the columns,
        counts, people and programme). The model cannot step again after this."""
        self.pathways = None
        self.effects = Effects()
        self.streams = None
        self.draws_transition = None
        self._absent = self._rosters = self._calendar = None
        self._scratch = None
        self.work_due = self.work_draws = self._work_candidates = None
        self.condition_severity = None
        self._group_state_base = None
        self.age0 = None
        self._band_weeks = self._band_people = self._band_new = self._band_next = None
        self._band_block = (0, 0, {})
        self._pension_order = self._pension_sorted = None
        for name in ("band_week", "pension_week"):
            self.columns.pop(name, None)

    def record_spell_end(self, lengths: np.ndarray, idx: np.ndarray):
        counts = self.spell_lengths.reshape(-1)  # a view: [replicate, length] flattened
        width = self.spell_lengths.shape[1]
        add_counts(counts, self.people.replicate[idx].astype(np.intp) * width + lengths, 1)

    # ---- internals ----------------------------------------------------------------------

    def _resolve_effects(self, cfg) -> dict:
        """Effect sizes per component as hazard ratios on this model's baseline."""
        return resolve_design(cfg, self)

    def _count_states(self) -> np.ndarray:
        return np.bincount(self._group_state_base + self.columns["state"],
                           minlength=self.n_groups * N_STATES)

    def _start_recording(self):
        """Reset accumulators so outcomes count observation weeks only."""
        col = self.columns
        self.recording = True
        col["weeks_by_state"][:] = 0
        # weeks already spent in the current state before observation starts are
        # subtracted now and added back when the state is left
        cells = col["state"].astype(np.intp)  # [state, person] as flat positions
        cells *= self.people.n
        cells += np.arange(self.people.n)
        col["weeks_by_state"].reshape(-1)[cells] = -(
            self.engine_week - col["state_since"]).astype(np.int16)
        self.spell_lengths[:] = 0

    def _observe(self, obs_week: int):
        # The per-agent engine recounts from scratch: a check on the vectorised engine's
        # incremental counts.
        counts = self._count_states() if self.engine_name == "agents" else self._counts
        if obs_week >= 0:
            # the totals the data collector reads, in observed weeks only (whole numbers:
            # np.add.reduce gives .sum's values at ~half its cost on [groups x states])
            self.state_totals = np.add.reduce(counts.reshape(-1, N_STATES), axis=0)
            self.weekly_counts[obs_week] = counts.reshape(self.n_groups, N_STATES)
            if obs_week in self.snapshot_weeks:
                self.snapshots[obs_week] = self.columns["state"].copy()
            if obs_week in self.year_ends:
                self.weeks_by_state_at_year_end.append(self._weeks_by_state_now())
            self.datacollector.collect(self)

    def _weeks_by_state_now(self) -> np.ndarray:
        """Observed weeks in each state so far, counting the current state's ongoing weeks
        ([state, person], int16 like ``weeks_by_state``: a mark is at most the horizon, and
        int16 sums wrap only past it, so the values are int32 arithmetic's)."""
        col = self.columns
        n = self.people.n
        weeks = col["weeks_by_state"].copy()
        # [state, person] cells as flat positions (cheaper than 2-D fancy indexing)
        cells = col["state"].astype(np.intp)
        cells *= n
        cells += np.arange(n)
        ongoing = np.subtract(np.int32(self.engine_week), col["state_since"]).astype(np.int16)
        weeks.reshape(-1)[cells] += ongoing
        return weeks

    def weeks_by_state_per_year(self) -> np.ndarray:
        """[year, state, person] observed weeks in each state in each year of the horizon."""
        return np.stack(list(self.weeks_by_state_in_years()))

    def weeks_by_state_in_years(self):
        """The same as :meth:`weeks_by_state_per_year`, one [state, person] year at a time
        (no [years x states x people] temporaries: they set a run's memory peak)."""
        previous = None
        for mark in [*self.weeks_by_state_at_year_end, self.columns["weeks_by_state"]]:
            mark = np.asarray(mark, dtype=np.int32)  # int16 marks, widened for the differences
            yield mark if previous is None else mark - previous
            previous = mark
