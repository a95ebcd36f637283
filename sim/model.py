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
from sim.interventions import Programme
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
from sim.rng import Streams

# Mesa logs every step at INFO; under Hydra's INFO root logger that is 100+ lines a run.
logging.getLogger("MESA").setLevel(logging.WARNING)

RELAPSE = 4  # outcome code for a phased person falling sick again
N_STATES = len(STATES)
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
        if state == ABSENT:
            h = pw.absent_hazards(
                i, m.condition_severity[i], t - since_state, eff.get("rtw", i),
                eff.get("job_loss", i),
            )
            outcome = int(absent_outcome(u, *competing_probabilities(*h)))
        elif state == PHASED:
            since = t - int(col["last_return"][i])
            h_rel = pw.spell_hazard[i]
            if since < pw.relapse_window:
                h_rel = h_rel + pw.relapse_hazard(
                    i, since, col["early_return"][i], col["phased_return"][i],
                    eff.get("relapse", i),
                )
            p_full, p_rel = competing_probabilities(pw.full_return_hazard, h_rel)
            outcome = int(two_way_outcome(u, p_full, p_rel, RETURN, RELAPSE))
        elif state == WORKING:
            since = t - int(col["last_return"][i])
            if since < pw.relapse_window:
                h = pw.spell_hazard[i] + pw.relapse_hazard(
                    i, since, col["early_return"][i], col["phased_return"][i],
                    eff.get("relapse", i),
                )
                p = hazard_to_probability(h)
            else:
                p = pw.p_spell_background[i]
            outcome = RELAPSE if u < p else STAY
        elif state == UNEMPLOYED:
            h_re = pw.reemploy_hazard[i]
            re_eff = eff.get("reemploy", i)
            if re_eff is not None:
                h_re = h_re * re_eff
            p_re, p_in = competing_probabilities(h_re, pw.unemployed_inactive_hazard[i])
            outcome = int(two_way_outcome(u, p_re, p_in, RETURN, INACTIVITY))
        else:
            outcome = STAY

        if outcome == STAY:
            return
        nxt = t + 1  # engine week the new state starts
        weeks = nxt - since_state
        col["weeks_by_state"][state, i] += weeks
        col["state_since"][i] = nxt
        obs_next = nxt - m.warmup
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
                col["state"][i] = INACTIVE
                self._first_time("inactive_week", obs_next)
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
                self._first_time("reemployed_week", obs_next)
                self._returned(nxt, obs_next)
            else:
                col["state"][i] = INACTIVE
                self._first_time("inactive_week", obs_next)

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
        last = int(col["last_return"][i])
        in_work = nxt - last
        first = col["first_rtw"][i]
        if (col["sustained_rtw"][i] < 0 and first >= 0 and last - m.warmup >= first
                and in_work >= m.sustained_weeks):
            col["sustained_rtw"][i] = last - m.warmup
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

    Keys: ``rtw``, ``job_loss``, ``relapse``, ``reemploy`` (hazard ratios) and ``phased``
    (multiplier of the probability that a return is phased). Usual care sets none.
    """

    KEYS = ("rtw", "job_loss", "relapse", "reemploy", "phased")

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
        people: static attributes (:class:`sim.population.People`), replicates stacked.
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
        self.pathways = Pathways.build(cfg["pathways"], self.people, self.warmup + self.horizon)
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
        start = {"cohort": ABSENT, "workforce": WORKING, "jobseekers": UNEMPLOYED}[pop["mode"]]
        cols["state"] = np.full(n, start, dtype=np.int8)
        cols["state_since"] = np.zeros(n, dtype=np.int32)
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
        elif start == UNEMPLOYED:  # people who lost their job: "onset" of worklessness
            cols["first_onset"][:] = 0
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

    def step(self):
        t = self.engine_week
        if t == self.warmup:
            self._start_recording()
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

    def record_spell_end(self, lengths: np.ndarray, idx: np.ndarray):
        np.add.at(self.spell_lengths, (self.people.replicate[idx], lengths), 1)

    # ---- internals ----------------------------------------------------------------------

    def _resolve_effects(self, cfg) -> dict:
        """Effect sizes per component as hazard ratios on this model's baseline."""
        from sim.effects import resolve_design

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
                self.weeks_by_state_at_year_end.append(self._weeks_by_state_now())
            self.datacollector.collect(self)

    def _weeks_by_state_now(self) -> np.ndarray:
        """Observed weeks in each state so far, counting the current state's ongoing weeks."""
        col = self.columns
        weeks = col["weeks_by_state"].astype(np.int32)
        weeks[col["state"], np.arange(self.people.n)] += self.engine_week - col["state_since"]
        return weeks

    def weeks_by_state_per_year(self) -> np.ndarray:
        """[year, state, person] observed weeks in each state in each year of the horizon."""
        marks = [*self.weeks_by_state_at_year_end,
                 self.columns["weeks_by_state"].astype(np.int32)]
        return np.diff(np.stack([np.zeros_like(marks[0]), *marks]), axis=0)

    def _background_onset_bound(self) -> float:
        """An upper bound on any working person's weekly new-spell probability, before
        programme effects (see ``_advance_vectorised``)."""
        pw = self.pathways
        relapse = (pw.relapse_excess.max(initial=0.0) * pw.relapse_mult.max(initial=0.0)
                   * max(pw.early_return_hr, 1.0) * max(pw.phased_relapse_hr, 1.0))
        return float(pw.spell_hazard.max(initial=0.0)), float(relapse)

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
        state_since = col["state_since"]
        last_return = col["last_return"]

        not_working = np.flatnonzero(state != WORKING)
        s_nw = state[not_working]
        ia = not_working[s_nw == ABSENT]
        ip = not_working[s_nw == PHASED]
        iu = not_working[s_nw == UNEMPLOYED]

        # absent: RTW, job loss or inactivity
        h = pw.absent_hazards(ia, self.condition_severity[ia], t - state_since[ia],
                              eff.get("rtw", ia), eff.get("job_loss", ia))
        out_a = absent_outcome(u[ia], *competing_probabilities(*h))

        # phased: full hours or relapse
        since_p = t - last_return[ip]
        h_rel = pw.spell_hazard[ip].copy()
        win = np.flatnonzero(since_p < pw.relapse_window)
        if win.size:
            iw = ip[win]
            h_rel[win] += pw.relapse_hazard(iw, since_p[win], col["early_return"][iw],
                                            col["phased_return"][iw], eff.get("relapse", iw))
        p_full, p_rel = competing_probabilities(pw.full_return_hazard, h_rel)
        out_p = two_way_outcome(u[ip], p_full, p_rel, RETURN, RELAPSE)

        # working: a new spell needs u < p <= p_upper, so only those draws are examined;
        # the bound makes this exact, not an approximation.
        background, relapse = self._onset_bound
        p_upper = float(hazard_to_probability(
            (background + relapse * eff.upper_bound("relapse")) * (1.0 + 1e-9)))
        cand = np.flatnonzero(u < p_upper)
        cw = cand[state[cand] == WORKING]
        since_w = t - last_return[cw]
        p_w = pw.p_spell_background[cw]
        win = np.flatnonzero(since_w < pw.relapse_window)
        if win.size:
            iw = cw[win]
            p_w[win] = hazard_to_probability(pw.spell_hazard[iw] + pw.relapse_hazard(
                iw, since_w[win], col["early_return"][iw], col["phased_return"][iw],
                eff.get("relapse", iw)))
        i_onset = cw[u[cw] < p_w]

        # unemployed: re-employment or inactivity
        h_re = pw.reemploy_hazard[iu]
        re_eff = eff.get("reemploy", iu)
        if re_eff is not None:
            h_re = h_re * re_eff
        p_re, p_in = competing_probabilities(h_re, pw.unemployed_inactive_hazard[iu])
        out_u = two_way_outcome(u[iu], p_re, p_in, RETURN, INACTIVITY)

        # ---- apply (every decision above used start-of-week values) ----
        nxt = t + 1
        obs_next = nxt - self.warmup
        moved_by_state = ((ABSENT, ia[out_a != STAY]), (PHASED, ip[out_p != STAY]),
                          (WORKING, i_onset), (UNEMPLOYED, iu[out_u != STAY]))
        moved = np.concatenate([idx for _, idx in moved_by_state])
        if moved.size == 0:
            return
        old_keys = self._group_state_base[moved] + state[moved]
        for from_state, idx in moved_by_state:
            if idx.size:
                weeks = nxt - state_since[idx]
                col["weeks_by_state"][from_state, idx] += weeks.astype(np.int16)
                if from_state == ABSENT and self.recording:
                    self.record_spell_end(weeks, idx)

        # absent -> work (phased or full)
        ret = ia[out_a == RETURN]
        if ret.size:
            phased = self.streams.uniform_at(t, "return_mode", ret) < self.phased_probability(ret)
            state[ret] = np.where(phased, PHASED, WORKING)
            col["phased_return"][ret] = phased
            col["early_return"][ret] = (nxt - state_since[ret]) < pw.early_before[ret]
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
            if self.recording:
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

        state_since[moved] = nxt
        size = self.n_groups * N_STATES
        self._counts -= np.bincount(old_keys, minlength=size)
        self._counts += np.bincount(self._group_state_base[moved] + state[moved], minlength=size)

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
