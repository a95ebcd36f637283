"""The Mesa model: people as numpy columns, a vectorised weekly step, and a per-agent
reference engine that must agree with it exactly.

Agent objects: creating a Python object per person costs about 8 s per million here, so
with the default ``engine=vectorised`` a :class:`Person` exists only when asked for
(``model.person(i)``), as a view on the columns; ``engine=agents`` creates every
``Person`` and steps each with scalar code (``model.agents.do("step")``), sharing the
hazard functions of :mod:`sim.pathways`. Both engines read the same keyed random draws.

>>> from sim.config import load_config
>>> model = RTWModel(load_config(["population.n=500", "horizon_weeks=8"]))
>>> model.run()
>>> int(model.weekly_counts[-1].sum())
500
"""

from __future__ import annotations

import logging

import mesa
import numpy as np

from sim.categories import (
    ABSENT,
    CONDITIONS,
    ETHNICITIES,
    INACTIVE,
    PHASED,
    STATES,
    UNEMPLOYED,
    WORKING,
)
from sim.pathways import (
    INACTIVITY,
    JOB_LOSS,
    NO_RETURN_WEEK,
    RETURN,
    STAY,
    Pathways,
    absent_outcome,
    competing_probabilities,
    hazard_to_probability,
    two_way_outcome,
)
from sim.population import ATTRIBUTES, People, synthesise

# Mesa logs every step at INFO; under Hydra's INFO root logger that is 100+ lines a run.
logging.getLogger("MESA").setLevel(logging.WARNING)

RELAPSE = 4  # outcome code for a phased person falling sick again
N_STATES = len(STATES)
DYNAMIC_COLUMNS = (
    "state",
    "weeks_in_state",
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
)


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


class Person(mesa.Agent):
    """One person: a view on row ``index`` of the model's columns.

    Attributes (codes index the tuples in :mod:`sim.categories`): ``age_band``, ``sex``,
    ``ethnicity``, ``imd_quintile``, ``condition``, ``severity``, ``occupation``,
    ``employer_size``, ``oh_access`` (static) and ``state``, ``weeks_in_state``,
    ``first_rtw``, ``relapses`` ... (dynamic; see ``DYNAMIC_COLUMNS``).
    """

    def __init__(self, model: RTWModel, index: int):
        super().__init__(model)
        self.index = int(index)

    def describe(self) -> dict:
        """The person's attributes by name, for following one agent through a run."""
        return {name: self.model.columns[name][self.index].item() for name in self.model.columns}

    def step(self):
        """Scalar reference step: the same decisions as the vectorised engine, one person."""
        m, i = self.model, self.index
        col = m.columns
        t = m.engine_week
        pw = m.pathways
        eff = m.effects
        u = m.draws_transition[i]
        state = int(col["state"][i])
        d = int(col["weeks_in_state"][i])
        if state == ABSENT:
            h = pw.absent_hazards(
                i, m.condition_severity[i], d, eff.get_one("rtw", i), eff.get_one("job_loss", i)
            )
            outcome = int(absent_outcome(u, *competing_probabilities(*h)))
        elif state == PHASED:
            since = t - int(col["last_return"][i])
            h_rel = pw.spell_hazard[i]
            if since < pw.relapse_window:
                h_rel = h_rel + pw.relapse_hazard(
                    i, since, col["early_return"][i], col["phased_return"][i],
                    eff.get_one("relapse", i),
                )
            p_full, p_rel = competing_probabilities(pw.full_return_hazard, h_rel)
            outcome = int(two_way_outcome(u, p_full, p_rel, RETURN, RELAPSE))
        elif state == WORKING:
            since = t - int(col["last_return"][i])
            if since < pw.relapse_window:
                h = pw.spell_hazard[i] + pw.relapse_hazard(
                    i, since, col["early_return"][i], col["phased_return"][i],
                    eff.get_one("relapse", i),
                )
                p = hazard_to_probability(h)
            else:
                p = pw.p_spell_background[i]
            outcome = RELAPSE if u < p else STAY
        elif state == UNEMPLOYED:
            h_re = pw.reemploy_hazard[i]
            re_eff = eff.get_one("reemploy", i)
            if re_eff is not None:
                h_re = h_re * re_eff
            p_re, p_in = competing_probabilities(h_re, pw.unemployed_inactive_hazard[i])
            outcome = int(two_way_outcome(u, p_re, p_in, RETURN, INACTIVITY))
        else:
            outcome = STAY

        col["weeks_in_state"][i] = d + 1
        if outcome == STAY:
            return
        weeks = d + 1
        col["weeks_by_state"][state, i] += weeks
        col["weeks_in_state"][i] = 0
        nxt = t + 1  # engine week the new state starts
        obs_next = nxt - m.warmup
        if state == ABSENT:
            if m.recording:
                m.record_spell_end(np.array([weeks]), np.array([i]))
            if outcome == RETURN:
                phased = m.draws_return_mode[i] < m.phased_probability_one(i)
                col["state"][i] = PHASED if phased else WORKING
                col["phased_return"][i] = phased
                col["early_return"][i] = weeks < pw.early_before[i]
                self._returned(nxt, obs_next)
            elif outcome == JOB_LOSS:
                col["state"][i] = UNEMPLOYED
                if m.recording and col["job_loss_week"][i] < 0:
                    col["job_loss_week"][i] = obs_next
            else:
                col["state"][i] = INACTIVE
                if m.recording and col["inactive_week"][i] < 0:
                    col["inactive_week"][i] = obs_next
        elif state in (PHASED, WORKING):
            if outcome == RETURN:  # phased -> full hours
                col["state"][i] = WORKING
            else:
                self._new_spell(nxt, obs_next)
        elif state == UNEMPLOYED:
            if outcome == RETURN:
                col["state"][i] = WORKING
                col["phased_return"][i] = False
                col["early_return"][i] = False
                if m.recording and col["reemployed_week"][i] < 0:
                    col["reemployed_week"][i] = obs_next
                self._returned(nxt, obs_next)
            else:
                col["state"][i] = INACTIVE
                if m.recording and col["inactive_week"][i] < 0:
                    col["inactive_week"][i] = obs_next

    def _returned(self, nxt, obs_next):
        m, i, col = self.model, self.index, self.model.columns
        col["last_return"][i] = nxt
        if m.recording and col["first_onset"][i] >= 0 and col["first_rtw"][i] < 0:
            col["first_rtw"][i] = obs_next

    def _new_spell(self, nxt, obs_next):
        m, i, col = self.model, self.index, self.model.columns
        last = int(col["last_return"][i])
        in_work = nxt - last
        self._check_sustained(in_work, last)
        if m.recording:
            col["spells"][i] += 1
            if in_work <= m.pathways.relapse_window:
                col["relapses"][i] += 1
            if col["first_onset"][i] < 0:
                col["first_onset"][i] = obs_next
        col["state"][i] = ABSENT

    def _check_sustained(self, in_work, last):
        m, i, col = self.model, self.index, self.model.columns
        first = col["first_rtw"][i]
        if (col["sustained_rtw"][i] < 0 and first >= 0 and last - m.warmup >= first
                and in_work >= m.sustained_weeks):
            col["sustained_rtw"][i] = last - m.warmup


for _name in ("replicate", "person_id", *ATTRIBUTES, *DYNAMIC_COLUMNS):
    setattr(Person, _name, Column(_name))


class Effects:
    """Per-person multipliers a programme applies this week (None = no effect).

    Keys: ``rtw``, ``job_loss``, ``relapse``, ``reemploy`` (hazard ratios) and ``phased``
    (multiplier of the probability that a return is phased). Usual care sets none.
    """

    KEYS = ("rtw", "job_loss", "relapse", "reemploy", "phased")

    def __init__(self):
        self.arrays: dict[str, np.ndarray | None] = dict.fromkeys(self.KEYS)

    def get(self, key, idx):
        arr = self.arrays[key]
        return None if arr is None else arr[idx]

    get_one = get


class RTWModel(mesa.Model):
    """Return-to-work pathways for a synthetic population, one step per week.

    Attributes:
        people: static attributes (:class:`sim.population.People`), replicates stacked.
        columns: dict of all per-person columns (static and dynamic) by name.
        pathways: baseline hazard tables and per-person multipliers.
        weekly_counts: [week, group, state] counts for observation weeks 0..horizon.
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
        from sim.rng import Streams  # local: keeps the module's import list short

        self.streams = Streams(self.seed, sizes)
        self.pathways = Pathways.build(cfg["pathways"], self.people, self.warmup + self.horizon)
        self.condition_severity = (
            self.people.condition.astype(np.intp) * 3 + self.people.severity
        )
        self.effects = Effects()
        self.engine_week = 0
        self.recording = self.warmup == 0

        cols = {name: getattr(self.people, name) for name in ("replicate", "person_id",
                                                               *ATTRIBUTES)}
        start = ABSENT if pop["mode"] == "cohort" else WORKING
        cols["state"] = np.full(n, start, dtype=np.int8)
        cols["weeks_in_state"] = np.zeros(n, dtype=np.int16)
        cols["last_return"] = np.full(n, NO_RETURN_WEEK, dtype=np.int32)
        cols["early_return"] = np.zeros(n, dtype=bool)
        cols["phased_return"] = np.zeros(n, dtype=bool)
        for name in ("first_onset", "first_rtw", "sustained_rtw", "job_loss_week",
                     "inactive_week", "reemployed_week"):
            cols[name] = np.full(n, -1, dtype=np.int16)
        cols["relapses"] = np.zeros(n, dtype=np.int16)
        cols["spells"] = np.zeros(n, dtype=np.int16)
        if start == ABSENT:
            cols["first_onset"][:] = 0
            cols["spells"][:] = 1
        cols["weeks_by_state"] = np.zeros((N_STATES, n), dtype=np.int16)
        self.columns = cols

        # Observation: weekly counts by (replicate, IMD, ethnicity, condition) x state.
        self.n_groups = self.replicates * 5 * len(ETHNICITIES) * len(CONDITIONS)
        group = (
            (self.people.replicate.astype(np.int32) * 5 + (self.people.imd_quintile - 1))
            * len(ETHNICITIES) + self.people.ethnicity
        ) * len(CONDITIONS) + self.people.condition
        self._group_state_base = group * N_STATES
        self.weekly_counts = np.zeros((self.horizon + 1, self.n_groups, N_STATES), dtype=np.int32)
        self.snapshots: dict[int, np.ndarray] = {}
        max_len = self.warmup + self.horizon + 1
        self.spell_lengths = np.zeros((self.replicates, max_len + 1), dtype=np.int64)
        self.state_totals = np.zeros(N_STATES, dtype=np.int64)
        self.datacollector = mesa.DataCollector(
            model_reporters={s: (lambda m, k=k: int(m.state_totals[k]))
                             for k, s in enumerate(STATES)}
        )
        self._agent_views: dict[int, Person] = {}
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

    # ---- the weekly step ----------------------------------------------------------------

    def step(self):
        t = self.engine_week
        if t == self.warmup:
            self._start_recording()
        self._observe(t - self.warmup)
        self.draws_transition = self.streams.uniform(t, "transition")
        self.draws_return_mode = self.streams.uniform(t, "return_mode")
        if self.engine_name == "agents":
            self.agents.do("step")
        else:
            self._advance_vectorised(t)
        self.engine_week += 1

    def _start_recording(self):
        """Reset accumulators so outcomes count observation weeks only."""
        col = self.columns
        self.recording = True
        col["weeks_by_state"][:] = 0
        n = self.people.n
        # weeks already spent in the current state before observation starts are
        # subtracted now and added back when the state is left
        col["weeks_by_state"][col["state"], np.arange(n)] = -col["weeks_in_state"]
        self.spell_lengths[:] = 0

    def _observe(self, obs_week: int):
        state = self.columns["state"]
        counts = np.bincount(self._group_state_base + state,
                             minlength=self.n_groups * N_STATES)
        if obs_week >= 0:
            self.weekly_counts[obs_week] = counts.reshape(self.n_groups, N_STATES)
            if obs_week in self.snapshot_weeks:
                self.snapshots[obs_week] = state.copy()
        self.state_totals = counts.reshape(-1, N_STATES).sum(axis=0)
        if obs_week >= 0:
            self.datacollector.collect(self)

    def finish(self):
        """Close the books at the horizon: add ongoing time in state, final sustained check."""
        self._observe(self.horizon)
        col = self.columns
        n = self.people.n
        idx = np.arange(n)
        col["weeks_by_state"][col["state"], idx] += col["weeks_in_state"]
        end = self.engine_week
        in_work = np.flatnonzero((col["state"] == WORKING) | (col["state"] == PHASED))
        self._check_sustained(in_work, end - col["last_return"][in_work])
        absent = np.flatnonzero(col["state"] == ABSENT)
        self.ongoing_spell_lengths = np.zeros_like(self.spell_lengths)
        np.add.at(self.ongoing_spell_lengths,
                  (self.people.replicate[absent], col["weeks_in_state"][absent]), 1)

    def record_spell_end(self, lengths: np.ndarray, idx: np.ndarray):
        np.add.at(self.spell_lengths, (self.people.replicate[idx], lengths), 1)

    def phased_probability_one(self, i):
        p = self.pathways.phased_share[i]
        boost = self.effects.get_one("phased", i)
        return p if boost is None else min(1.0, p * boost)

    def _check_sustained(self, idx, in_work):
        col = self.columns
        last_obs = col["last_return"][idx] - self.warmup
        first = col["first_rtw"][idx]
        ok = ((col["sustained_rtw"][idx] < 0) & (first >= 0) & (last_obs >= first)
              & (in_work >= self.sustained_weeks))
        col["sustained_rtw"][idx[ok]] = last_obs[ok]

    def _advance_vectorised(self, t: int):
        col = self.columns
        pw = self.pathways
        eff = self.effects
        u = self.draws_transition
        state = col["state"]
        wis = col["weeks_in_state"]
        last_return = col["last_return"]

        # absent: RTW, job loss or inactivity
        ia = np.flatnonzero(state == ABSENT)
        h = pw.absent_hazards(ia, self.condition_severity[ia], wis[ia],
                              eff.get("rtw", ia), eff.get("job_loss", ia))
        out_a = absent_outcome(u[ia], *competing_probabilities(*h))

        # phased: full hours or relapse
        ip = np.flatnonzero(state == PHASED)
        since_p = t - last_return[ip]
        h_rel = pw.spell_hazard[ip].copy()
        win = np.flatnonzero(since_p < pw.relapse_window)
        if win.size:
            iw = ip[win]
            h_rel[win] += pw.relapse_hazard(iw, since_p[win], col["early_return"][iw],
                                            col["phased_return"][iw], eff.get("relapse", iw))
        p_full, p_rel = competing_probabilities(pw.full_return_hazard, h_rel)
        out_p = two_way_outcome(u[ip], p_full, p_rel, RETURN, RELAPSE)

        # working: new spell (background onset, plus relapse excess soon after a return)
        working = state == WORKING
        onset = working & (u < pw.p_spell_background)
        recent = np.flatnonzero(working & (t - last_return < pw.relapse_window))
        if recent.size:
            since_w = t - last_return[recent]
            h_w = pw.spell_hazard[recent] + pw.relapse_hazard(
                recent, since_w, col["early_return"][recent], col["phased_return"][recent],
                eff.get("relapse", recent))
            onset[recent] = u[recent] < hazard_to_probability(h_w)
        i_onset = np.flatnonzero(onset)

        # unemployed: re-employment or inactivity
        iu = np.flatnonzero(state == UNEMPLOYED)
        h_re = pw.reemploy_hazard[iu]
        re_eff = eff.get("reemploy", iu)
        if re_eff is not None:
            h_re = h_re * re_eff
        p_re, p_in = competing_probabilities(h_re, pw.unemployed_inactive_hazard[iu])
        out_u = two_way_outcome(u[iu], p_re, p_in, RETURN, INACTIVITY)

        # ---- apply (all decisions above used start-of-week values) ----
        wis += 1
        nxt = t + 1
        obs_next = nxt - self.warmup
        rec = self.recording
        moved = [ia[out_a != STAY], ip[out_p != STAY], i_onset, iu[out_u != STAY]]
        for from_state, idx in zip((ABSENT, PHASED, WORKING, UNEMPLOYED), moved, strict=True):
            if idx.size:
                col["weeks_by_state"][from_state, idx] += wis[idx]
        if rec and moved[0].size:
            self.record_spell_end(wis[moved[0]], moved[0])

        # absent -> work (phased or full)
        ret = ia[out_a == RETURN]
        if ret.size:
            p_ph = pw.phased_share[ret]
            boost = eff.get("phased", ret)
            if boost is not None:
                p_ph = np.minimum(1.0, p_ph * boost)
            phased = self.draws_return_mode[ret] < p_ph
            state[ret] = np.where(phased, PHASED, WORKING)
            col["phased_return"][ret] = phased
            col["early_return"][ret] = wis[ret] < pw.early_before[ret]
            self._returned(ret, nxt, obs_next)
        jl = ia[out_a == JOB_LOSS]
        state[jl] = UNEMPLOYED
        self._first_time("job_loss_week", jl, obs_next)
        ina = np.concatenate([ia[out_a == INACTIVITY], iu[out_u == INACTIVITY]])
        state[ina] = INACTIVE
        self._first_time("inactive_week", ina, obs_next)

        # phased -> full hours
        state[ip[out_p == RETURN]] = WORKING
        # relapse from phased or working: a new absence spell
        new_spell = np.concatenate([ip[out_p == RELAPSE], i_onset])
        if new_spell.size:
            in_work = nxt - last_return[new_spell]
            self._check_sustained(new_spell, in_work)
            if rec:
                col["spells"][new_spell] += 1
                col["relapses"][new_spell] += (in_work <= pw.relapse_window).astype(np.int16)
                self._first_time("first_onset", new_spell, obs_next)
            state[new_spell] = ABSENT

        # unemployed -> re-employed
        reemp = iu[out_u == RETURN]
        if reemp.size:
            state[reemp] = WORKING
            col["phased_return"][reemp] = False
            col["early_return"][reemp] = False
            self._first_time("reemployed_week", reemp, obs_next)
            self._returned(reemp, nxt, obs_next)

        for idx in moved:
            wis[idx] = 0

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
