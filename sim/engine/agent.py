"""The per-agent reference engine: each person a :class:`mesa.Agent` stepped with scalar
code (``engine=agents``), a view on one row of the model's columns.

With the default ``engine=vectorised`` a :class:`Person` exists only when asked for
(``model.person(i)``); ``engine=agents`` creates every ``Person`` and steps each
(``model.agents.do("step")``), sharing the hazard functions of :mod:`sim.engine.pathways`
with the vectorised engine (:mod:`sim.engine.vectorised`), so both make exactly the same
decisions from the same keyed random draws (tests/test_engines.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine import mesa_core
from sim.engine.categories import (
    ABSENT,
    INACTIVE,
    INACTIVE_BENEFIT,
    PHASED,
    RETIRED,
    UNEMPLOYED,
    WORKING,
)
from sim.engine.pathways import (
    CLAIM,
    INACTIVITY_BENEFIT,
    JOB_LOSS,
    RELAPSE,
    RETIRE,
    RETURN,
    SEPARATION,
    STAY,
    competing_probabilities,
    two_way_outcome,
)
from sim.engine.population import ATTRIBUTES

# mesa's Agent without its package __init__ (see sim.engine.mesa_core: start-up)
mesa = mesa_core.load()

if TYPE_CHECKING:  # annotations only: the model imports this module
    from sim.engine.model import RTWModel

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
            if u != u:  # NaN: not a candidate week (sim.engine.calendar): stays
                outcome = STAY
            else:
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

