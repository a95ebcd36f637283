"""The Mesa model: people as numpy columns, a vectorised weekly step, and a per-agent
reference engine that must agree with it exactly.

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

import numpy as np

from sim.engine import mesa_core
from sim.engine.absent import AbsentTable
from sim.engine.categories import (
    ABSENT,
    AGE_BAND_YEARS,
    CONDITIONS,
    ETHNICITIES,
    INACTIVE,
    INACTIVE_BENEFIT,
    OUT_OF_WORK,
    PHASED,
    RETIRED,
    STATES,
    UNEMPLOYED,
    WORKING,
)
from sim.engine.pathways import (
    CLAIM,
    INACTIVITY,
    INACTIVITY_BENEFIT,
    JOB_LOSS,
    NO_RETURN_WEEK,
    RELAPSE,
    RETIRE,
    RETURN,
    SEEK,
    SEPARATION,
    STAY,
    Pathways,
    competing_probabilities,
    hazard_to_probability,
    two_way_outcome,
)
from sim.engine.population import ATTRIBUTES, People, synthesise
from sim.engine.rng import Streams
from sim.engine.rosters import Rosters
from sim.programme.effects import resolve_design
from sim.programme.interventions import Programme
from sim.vocabulary import HAZARD_KEYS

# mesa's Model, Agent and DataCollector without its package __init__ (scipy.spatial and
# networkx for spaces the engine does not use; about half a second of start-up)
mesa = mesa_core.load()

# Mesa logs every step at INFO; under Hydra's INFO root logger that is 100+ lines a run.
logging.getLogger("MESA").setLevel(logging.WARNING)

N_STATES = len(STATES)
NEVER_WEEK = np.iinfo(np.int32).max  # "no such week" for band_week / pension_week
DYNAMIC_COLUMNS = (
    "state",
    "state_since",
    "last_return",
    "early_return",
    "phased_return",
    "first_onset",
    "first_rtw",
    "sustained_rtw",
    "relapses",
    "spells",
    "job_loss_week",
    "inactive_week",
    "reemployed_week",
    "benefit_week",
    "retired_week",
    "separation_week",
    "left_inactive_week",
    "age_band_now",
)
# first observation week of each event (-1 if none)
EVENT_WEEK_COLUMNS = ("first_onset", "first_rtw", "sustained_rtw", "job_loss_week",
                      "inactive_week", "reemployed_week", "benefit_week", "retired_week",
                      "separation_week", "left_inactive_week")


class Column:
    """Descriptor: an agent attribute that reads and writes one element of a model column."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, agent, owner=None):
        if agent is None:
            return self
        return agent.model.columns[self.name][agent.index]

    def __set__(self, agent, value):
        agent.model.columns[self.name][agent.index] = value



def _new_spell_hazard(pw, eff, col, i: int, since: int) -> float:
    """Person i's weekly hazard of a new spell while in work (working or phased), as the
    vectorised engine computes it: background x stay-at-work effect, plus the relapse
    excess inside the relapse window ``since`` weeks after the last return."""
    h = pw.spell_hazard[i]
    if eff.arrays["onset"] is not None:  # stay-at-work prevention
        h = h * eff.arrays["onset"][i]
    if since < pw.relapse_window:
        h = h + pw.relapse_hazard(
            i, since, col["early_return"][i], col["phased_return"][i],
            eff.get("relapse", i),
        )
    return h

class Person(mesa.Agent):
    """One person: a view on row ``index`` of the model's columns.

    Attributes (codes index the tuples in :mod:`sim.engine.categories`): ``age_band``, ``sex``,
    ``ethnicity``, ``imd_quintile``, ``condition``, ``severity``, ``occupation``,
    ``employer_size``, ``oh_access`` (static) and ``state``, ``state_since``,
    ``first_rtw``, ``relapses`` ... (dynamic; see ``DYNAMIC_COLUMNS``).
    """

    def __init__(self, model: RTWModel, index: int):
        super().__init__(model)
        self.index = int(index)

    @property
    def weeks_in_state(self) -> int:
        """Completed weeks in the current state before the model's current week."""
        return self.model.engine_week - int(self.model.columns["state_since"][self.index])

    def describe(self) -> dict:
        """The person's attributes by name, for following one agent through a run."""
        out = {}
        for name, column in self.model.columns.items():
            value = column[..., self.index]
            out[name] = value.tolist() if value.ndim else value.item()
        return out

    def step(self):
        """Scalar reference step: the same decisions as the vectorised engine, one person."""
        m, i = self.model, self.index
        col = m.columns
        t = m.engine_week
        pw = m.pathways
        eff = m.effects
        u = m.draws_transition[i]
        state = int(col["state"][i])
        since_state = int(col["state_since"][i])
        if state == RETIRED:
            return
        if state == ABSENT:
            outcome = int(pw.absent_decision(
                u, i, m.condition_severity[i], t - since_state, eff.get("rtw", i),
                eff.get("job_loss", i)))
        elif state == PHASED:
            h_rel = _new_spell_hazard(pw, eff, col, i, t - int(col["last_return"][i]))
            p_full, p_rel = competing_probabilities(pw.full_return_hazard, h_rel)
            outcome = int(two_way_outcome(u, p_full, p_rel, RETURN, RELAPSE))
        elif state == WORKING:
            h = _new_spell_hazard(pw, eff, col, i, t - int(col["last_return"][i]))
            outcome = int(pw.working_decision(u, i, h))
        elif state == UNEMPLOYED:
            outcome = int(pw.unemployed_decision(u, i, t - since_state, eff.get("reemploy", i)))
        else:  # INACTIVE or INACTIVE_BENEFIT
            outcome = int(pw.inactive_decision(u, i, state == INACTIVE_BENEFIT, t - since_state,
                                               eff.get("reemploy_inactive", i)))
        if t == int(col["pension_week"][i]):
            outcome = RETIRE  # State Pension age reached this week

        if outcome == STAY:
            return
        nxt = t + 1  # engine week the new state starts
        weeks = nxt - since_state
        col["weeks_by_state"][state, i] += weeks
        col["state_since"][i] = nxt
        obs_next = nxt - m.warmup
        if outcome == RETIRE:
            if state in (WORKING, PHASED):
                self._sustained_check(nxt)
            if state == ABSENT and m.recording:
                m.record_spell_end(np.array([weeks]), np.array([i]))
            col["state"][i] = RETIRED
            self._first_time("retired_week", obs_next)
            return
        if state == ABSENT:
            if m.recording:
                m.record_spell_end(np.array([weeks]), np.array([i]))
            if outcome == RETURN:
                u_mode = m.streams.uniform_at(t, "return_mode", [i])[0]
                phased = bool(u_mode < m.phased_probability(i))
                col["state"][i] = PHASED if phased else WORKING
                col["phased_return"][i] = phased
                col["early_return"][i] = weeks < pw.early_before[i]
                self._returned(nxt, obs_next)
            elif outcome == JOB_LOSS:
                col["state"][i] = UNEMPLOYED
                self._first_time("job_loss_week", obs_next)
            else:
                benefit = outcome == INACTIVITY_BENEFIT
                col["state"][i] = INACTIVE_BENEFIT if benefit else INACTIVE
                self._first_time("inactive_week", obs_next)
                if benefit:
                    self._first_time("benefit_week", obs_next)
        elif state in (PHASED, WORKING):
            if outcome == RETURN:  # phased -> full hours
                col["state"][i] = WORKING
            elif outcome == SEPARATION:
                self._sustained_check(nxt)
                col["state"][i] = UNEMPLOYED
                self._first_time("separation_week", obs_next)
            else:
                self._new_spell(nxt, obs_next)
        elif state == UNEMPLOYED:
            if outcome == RETURN:
                self._reemployed(nxt, obs_next)
            else:
                col["state"][i] = INACTIVE
                self._first_time("inactive_week", obs_next)
        else:  # inactive for ill health
            if outcome == CLAIM:
                col["state"][i] = INACTIVE_BENEFIT
                self._first_time("benefit_week", obs_next)
                return
            self._first_time("left_inactive_week", obs_next)
            if outcome == RETURN:
                self._reemployed(nxt, obs_next)
            else:  # SEEK
                col["state"][i] = UNEMPLOYED

    def _reemployed(self, nxt, obs_next):
        col, i = self.model.columns, self.index
        col["state"][i] = WORKING
        col["phased_return"][i] = False
        col["early_return"][i] = False
        self._first_time("reemployed_week", obs_next)
        self._returned(nxt, obs_next)

    def _sustained_check(self, nxt):
        """Credit a sustained return to someone leaving work after enough weeks in it."""
        m, i, col = self.model, self.index, self.model.columns
        last = int(col["last_return"][i])
        first = col["first_rtw"][i]
        if (col["sustained_rtw"][i] < 0 and first >= 0 and last - m.warmup >= first
                and nxt - last >= m.sustained_weeks):
            col["sustained_rtw"][i] = last - m.warmup

    def _first_time(self, name, obs_next):
        column = self.model.columns[name]
        if self.model.recording and column[self.index] < 0:
            column[self.index] = obs_next

    def _returned(self, nxt, obs_next):
        m, i, col = self.model, self.index, self.model.columns
        col["last_return"][i] = nxt
        if m.recording and col["first_onset"][i] >= 0 and col["first_rtw"][i] < 0:
            col["first_rtw"][i] = obs_next

    def _new_spell(self, nxt, obs_next):
        m, i, col = self.model, self.index, self.model.columns
        in_work = nxt - int(col["last_return"][i])
        self._sustained_check(nxt)
        if m.recording:
            col["spells"][i] += 1
            if in_work <= m.pathways.relapse_window:
                col["relapses"][i] += 1
        self._first_time("first_onset", obs_next)
        col["state"][i] = ABSENT


for _name in ("replicate", "person_id", *ATTRIBUTES, *DYNAMIC_COLUMNS):
    setattr(Person, _name, Column(_name))


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


class RTWModel(mesa.Model):
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
        which each person reaches the next age band and State Pension age."""
        n = self.people.n
        band = self.people.age_band.astype(np.intp)
        years = np.asarray(AGE_BAND_YEARS, dtype=np.float64)
        u = self.streams.uniform_at(0, "age_in_band", np.arange(n))
        self.age0 = years[band, 0] + u * (years[band, 1] - years[band, 0])
        cols["age_band_now"] = self.people.age_band.copy()
        cols["band_week"] = self._next_band_week(np.arange(n), band)
        cols["pension_week"] = np.ceil((float(pension_age) - self.age0) * 52.0).astype(np.int32)
        self._pension_order = np.argsort(cols["pension_week"], kind="stable")
        self._pension_sorted = cols["pension_week"][self._pension_order]
        self.pension_due = np.zeros(0, dtype=np.intp)
        self._band_weeks, self._band_people = self._band_events(band, cols["band_week"])

    def _band_events(self, band, band_week):
        """Every move to a new age band before the end of the run as (engine week, person),
        sorted by week then person: each week's movers are then a slice (no pass over
        everyone). The same weeks ``_next_band_week`` gives one band at a time."""
        end = self.warmup + self.horizon
        idx = np.arange(self.people.n)
        weeks, people = [], []
        while idx.size:
            live = band_week < end
            idx, band, band_week = idx[live], band[live] + 1, band_week[live]
            weeks.append(band_week)
            people.append(idx)
            band_week = self._next_band_week(idx, band)
        weeks, people = np.concatenate(weeks), np.concatenate(people)
        order = np.lexsort((people, weeks))
        return weeks[order].astype(np.int32), people[order]

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
        moved = self._band_people[lo:hi]
        if moved.size:
            band = col["age_band_now"][moved].astype(np.intp) + 1
            col["age_band_now"][moved] = band
            self.pathways.set_age(moved, band)
            if self._absent is not None:
                self._absent.refresh(moved, self._scratch)
            col["band_week"][moved] = self._next_band_week(moved, band)
        lo, hi = np.searchsorted(self._pension_sorted, key)
        self.pension_due = np.sort(self._pension_order[lo:hi])  # State Pension age this week

    def step(self):
        t = self.engine_week
        if t == self.warmup:
            self._start_recording()
        self._age(t)
        self._observe(t - self.warmup)
        self.draws_transition = self.streams.uniform(t, "transition")
        if self.recording:
            self.programme.before_decisions(self, t)
        if self.engine_name == "agents":
            self.agents.do("step")
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
        self._absent = self._rosters = None
        self._scratch = None
        self.condition_severity = None
        self._group_state_base = None
        self.age0 = None
        self._band_weeks = self._band_people = None
        self._pension_order = self._pension_sorted = None
        for name in ("band_week", "pension_week"):
            self.columns.pop(name, None)

    def record_spell_end(self, lengths: np.ndarray, idx: np.ndarray):
        np.add.at(self.spell_lengths, (self.people.replicate[idx], lengths), 1)

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
        col["weeks_by_state"][col["state"], np.arange(self.people.n)] = -(
            self.engine_week - col["state_since"]).astype(np.int16)
        self.spell_lengths[:] = 0

    def _observe(self, obs_week: int):
        # The per-agent engine recounts from scratch: a check on the vectorised engine's
        # incremental counts.
        counts = self._count_states() if self.engine_name == "agents" else self._counts
        self.state_totals = counts.reshape(-1, N_STATES).sum(axis=0)
        if obs_week >= 0:
            self.weekly_counts[obs_week] = counts.reshape(self.n_groups, N_STATES)
            if obs_week in self.snapshot_weeks:
                self.snapshots[obs_week] = self.columns["state"].copy()
            if obs_week in self.year_ends:
                # int16 like weeks_by_state (a year-end mark is at most the horizon)
                self.weeks_by_state_at_year_end.append(
                    self._weeks_by_state_now().astype(np.int16))
            self.datacollector.collect(self)

    def _weeks_by_state_now(self) -> np.ndarray:
        """Observed weeks in each state so far, counting the current state's ongoing weeks."""
        col = self.columns
        weeks = col["weeks_by_state"].astype(np.int32)
        weeks[col["state"], np.arange(self.people.n)] += self.engine_week - col["state_since"]
        return weeks

    def weeks_by_state_per_year(self) -> np.ndarray:
        """[year, state, person] observed weeks in each state in each year of the horizon."""
        return np.stack(list(self.weeks_by_state_in_years()))

    def weeks_by_state_in_years(self):
        """The same as :meth:`weeks_by_state_per_year`, one [state, person] year at a time
        (no [years x states x people] temporaries: they set a run's memory peak)."""
        previous = None
        for mark in [*self.weeks_by_state_at_year_end, self.columns["weeks_by_state"]]:
            mark = np.asarray(mark, dtype=np.int32)  # year-end marks are int32 already
            yield mark if previous is None else mark - previous
            previous = mark

    def _background_onset_bound(self) -> tuple[float, float, float]:
        """Upper bounds on any working person's weekly probabilities, before programme
        effects (see ``_advance_vectorised``): background new spell and relapse excess
        (bottom bands), and separation plus retirement (top bands), over every age band."""
        pw = self.pathways
        relapse = (pw.relapse_excess.max(initial=0.0) * pw.relapse_mult.max(initial=0.0)
                   * max(pw.early_return_hr, 1.0) * max(pw.phased_relapse_hr, 1.0))
        top = pw.separation_hazard.max(initial=0.0) + pw.max_retire_hazard
        return float(pw.max_spell_hazard), float(relapse), float(top)

    def _check_sustained(self, idx, in_work):
        col = self.columns
        last_obs = col["last_return"][idx] - self.warmup
        first = col["first_rtw"][idx]
        ok = ((col["sustained_rtw"][idx] < 0) & (first >= 0) & (last_obs >= first)
              & (in_work >= self.sustained_weeks))
        col["sustained_rtw"][idx[ok]] = last_obs[ok]

    # ---- the vectorised engine: one small function per state, then the transitions ----
    # Each ``_decide_*`` returns the people of one state who move this week and their
    # outcome codes (STAY dropped), from start-of-week values and the hazard functions of
    # :mod:`sim.engine.pathways` that ``Person.step`` shares; ``_apply`` then changes the states.

    def _advance_vectorised(self, t: int):
        if self._absent is None:  # first step: who is where, then kept up to date
            state = self.columns["state"]
            self._absent = AbsentTable(self.pathways, self.condition_severity,
                                       self.columns["state_since"])
            self._absent.add(np.flatnonzero(state == ABSENT))
            self._rosters = Rosters(state, {"phased": (PHASED,), "unemployed": (UNEMPLOYED,),
                                            "inactive": (INACTIVE, INACTIVE_BENEFIT)},
                                    N_STATES)
        rosters = self._rosters
        groups = [
            self._decide_absent(t),
            self._decide_phased(t, rosters["phased"]),
            self._decide_working(t),
            self._decide_unemployed(t, rosters["unemployed"]),
            self._decide_inactive(t, rosters["inactive"]),
        ]
        self._apply(t, groups)

    def _moving(self, idx, out):
        """People of sorted index array ``idx`` who leave their state (outcome ``out``),
        everyone reaching State Pension age this week retiring whatever the draw."""
        due = self.pension_due
        if due.size and idx.size:
            pos = np.minimum(np.searchsorted(idx, due), idx.size - 1)
            out[pos[idx[pos] == due]] = RETIRE
        nz = np.flatnonzero(out)  # STAY is 0
        return idx[nz], out[nz]

    def _decide_absent(self, t):
        """Absent: RTW, job loss, inactivity (on a benefit or not), retirement. Screens the
        absent table (:mod:`sim.engine.absent`), then decides the candidates exactly."""
        table, eff = self._absent, self.effects
        moving = []
        for rows, u, week in table.candidate_blocks(t, self.draws_transition,
                                                    eff.arrays["rtw"], eff.arrays["job_loss"]):
            ia = table.idx[rows]
            out = self.pathways.absent_decision(u, ia, self.condition_severity[ia], week,
                                                eff.get("rtw", ia), eff.get("job_loss", ia))
            nz = np.flatnonzero(out)  # STAY is 0
            moving.append((rows[nz], out[nz]))
        rows = np.concatenate([r for r, _ in moving]) if moving else np.zeros(0, np.intp)
        out = np.concatenate([o for _, o in moving]) if moving else np.zeros(0, np.int8)
        due_rows = table.rows_of(self.pension_due, self._scratch)
        if due_rows.size:  # State Pension age: retire whatever the draw
            rows, first = np.unique(np.concatenate([due_rows, rows]), return_index=True)
            out = np.concatenate([np.full(due_rows.size, RETIRE, dtype=out.dtype), out])[first]
        ia = table.idx[rows]
        order = np.argsort(ia)
        self._absent_leaving = rows
        return ia[order], out[order]

    def _work_spell_hazard(self, t, idx):
        """New-spell hazard of people in work ``idx``: background plus the relapse excess
        within the relapse window of their last return."""
        col, pw = self.columns, self.pathways
        since = t - col["last_return"][idx]
        h = pw.spell_hazard[idx]  # a copy (fancy indexing)
        onset = self.effects.get("onset", idx)  # stay-at-work prevention
        if onset is not None:
            h = h * onset
        win = np.flatnonzero(since < pw.relapse_window)
        if win.size:
            iw = idx[win]
            h[win] += pw.relapse_hazard(iw, since[win], col["early_return"][iw],
                                        col["phased_return"][iw],
                                        self.effects.get("relapse", iw))
        return h

    def _decide_phased(self, t, ip):
        """Phased return: full hours or relapse."""
        pw = self.pathways
        p_full, p_rel = competing_probabilities(pw.full_return_hazard,
                                                self._work_spell_hazard(t, ip))
        out = two_way_outcome(self.draws_transition[ip], p_full, p_rel, RETURN, RELAPSE)
        return self._moving(ip, out)

    def _decide_working(self, t):
        """Working: a move needs u < p_spell (bottom) or u >= 1 - p_top (top), so only those
        draws are examined; the bounds make this exact, not an approximation. Above the
        background bound only people back at work within the relapse window can start a
        spell. People reaching State Pension age this week are examined whatever their draw.
        (The slack of 1e-9 in the bounds covers rounding; an extra candidate only costs
        time: its decision is exact.)"""
        u = self.draws_transition
        col = self.columns
        background, relapse, top = self._onset_bound
        background = background * self.effects.upper_bound("onset")
        p_background = float(hazard_to_probability(background * (1.0 + 1e-9)))
        p_upper = float(hazard_to_probability(
            (background + relapse * self.effects.upper_bound("relapse")) * (1.0 + 1e-9)))
        p_high = 1.0 - float(hazard_to_probability(top * (1.0 + 1e-9)))
        cand = np.flatnonzero((u < p_upper) | (u >= p_high))
        u_c = u[cand]
        cand = cand[(u_c < p_background) | (u_c >= p_high)
                    | (t - col["last_return"][cand] < self.pathways.relapse_window)]
        due = self.pension_due
        if due.size:  # add those not already candidates (both sorted)
            pos = np.searchsorted(cand, due)
            known = np.zeros(due.size, dtype=bool)
            inside = pos < cand.size
            known[inside] = cand[pos[inside]] == due[inside]
            cand = np.sort(np.concatenate([cand, due[~known]]))
        cw = cand[col["state"][cand] == WORKING]
        out = self.pathways.working_decision(u[cw], cw, self._work_spell_hazard(t, cw))
        return self._moving(cw, out)

    def _decide_unemployed(self, t, iu):
        """Unemployed: re-employment, inactivity or retirement."""
        out = self.pathways.unemployed_decision(
            self.draws_transition[iu], iu, t - self.columns["state_since"][iu],
            self.effects.get("reemploy", iu))
        return self._moving(iu, out)

    def _decide_inactive(self, t, ii):
        """Inactive for ill health: into work, seeking work, a benefit claim, retirement."""
        col = self.columns
        out = self.pathways.inactive_decision(
            self.draws_transition[ii], ii, col["state"][ii] == INACTIVE_BENEFIT,
            t - col["state_since"][ii], self.effects.get("reemploy_inactive", ii))
        return self._moving(ii, out)

    def _apply(self, t, groups):
        """Transitions of the movers ``groups`` [(idx, outcome)] in the order absent,
        phased, working, unemployed, inactive (every decision used start-of-week values)."""
        col = self.columns
        pw = self.pathways
        state = col["state"]
        state_since = col["state_since"]
        last_return = col["last_return"]
        nxt = t + 1
        obs_next = nxt - self.warmup
        moved = np.concatenate([idx for idx, _ in groups])
        if moved.size == 0:
            return
        from_state = state[moved]
        old_keys = self._group_state_base[moved] + from_state
        weeks = nxt - state_since[moved]
        col["weeks_by_state"][from_state, moved] += weeks.astype(np.int16)
        if self.recording:
            ended = from_state == ABSENT
            if ended.any():
                self.record_spell_end(weeks[ended], moved[ended])

        def pick(k, code):
            idx, out = groups[k]
            return idx[out == code]

        # retirement (from any state): sustained-return credit for those leaving work
        retiring = np.concatenate([pick(k, RETIRE) for k in range(len(groups))])
        left_work = np.concatenate([pick(1, RETIRE), pick(2, RETIRE), pick(1, SEPARATION),
                                    pick(2, SEPARATION)])
        if left_work.size:
            self._check_sustained(left_work, nxt - last_return[left_work])
        state[retiring] = RETIRED
        self._first_time("retired_week", retiring, obs_next)

        # absent -> work (phased or full)
        ret = pick(0, RETURN)
        if ret.size:
            phased = self.streams.uniform_at(t, "return_mode", ret) < self.phased_probability(ret)
            state[ret] = np.where(phased, PHASED, WORKING)
            col["phased_return"][ret] = phased
            col["early_return"][ret] = (nxt - state_since[ret]) < pw.early_before[ret]
            self._returned(ret, nxt, obs_next)
        jl = pick(0, JOB_LOSS)
        state[jl] = UNEMPLOYED
        self._first_time("job_loss_week", jl, obs_next)
        on_benefit = pick(0, INACTIVITY_BENEFIT)
        state[on_benefit] = INACTIVE_BENEFIT
        self._first_time("benefit_week", on_benefit, obs_next)
        ina = np.concatenate([pick(0, INACTIVITY), pick(3, INACTIVITY)])
        state[ina] = INACTIVE
        self._first_time("inactive_week", np.concatenate([ina, on_benefit]), obs_next)

        # phased -> full hours
        state[pick(1, RETURN)] = WORKING
        # ordinary job separation from work
        sep = np.concatenate([pick(1, SEPARATION), pick(2, SEPARATION)])
        state[sep] = UNEMPLOYED
        self._first_time("separation_week", sep, obs_next)
        # relapse from phased or working: a new absence spell
        new_spell = np.concatenate([pick(1, RELAPSE), pick(2, RELAPSE)])
        if new_spell.size:
            in_work = nxt - last_return[new_spell]
            self._check_sustained(new_spell, in_work)
            if self.recording:
                col["spells"][new_spell] += 1
                col["relapses"][new_spell] += (in_work <= pw.relapse_window).astype(np.int16)
            self._first_time("first_onset", new_spell, obs_next)
            state[new_spell] = ABSENT

        # inactive for ill health: a claim, or leaving inactivity
        claim = pick(4, CLAIM)
        state[claim] = INACTIVE_BENEFIT
        self._first_time("benefit_week", claim, obs_next)
        seek = pick(4, SEEK)
        state[seek] = UNEMPLOYED
        inactive_to_work = pick(4, RETURN)
        self._first_time("left_inactive_week", np.concatenate([seek, inactive_to_work]),
                         obs_next)

        # unemployed or inactive -> (re-)employed
        reemp = np.concatenate([pick(3, RETURN), inactive_to_work])
        if reemp.size:
            state[reemp] = WORKING
            col["phased_return"][reemp] = False
            col["early_return"][reemp] = False
            self._first_time("reemployed_week", reemp, obs_next)
            self._returned(reemp, nxt, obs_next)

        state_since[moved] = nxt
        self._absent.update(self._absent_leaving, new_spell)
        to_state = state[moved]
        self._rosters.move(moved, from_state, to_state)
        size = self.n_groups * N_STATES
        self._counts -= np.bincount(old_keys, minlength=size)
        self._counts += np.bincount(self._group_state_base[moved] + to_state, minlength=size)

    def _first_time(self, name, idx, obs_next):
        if self.recording and idx.size:
            column = self.columns[name]
            column[idx[column[idx] < 0]] = obs_next

    def _returned(self, idx, nxt, obs_next):
        col = self.columns
        col["last_return"][idx] = nxt
        if self.recording:
            first_rtw = col["first_rtw"]
            new = idx[(col["first_onset"][idx] >= 0) & (first_rtw[idx] < 0)]
            first_rtw[new] = obs_next
