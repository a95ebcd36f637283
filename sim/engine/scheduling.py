"""Who decides in a week, and with which draw (both engines; issue 19).

The model-level half of the random streams (a mixin of :class:`sim.engine.model.RTWModel`):

* people in work decide only at their candidate weeks (:mod:`sim.engine.calendar`);
* everyone else who can move (absent, phased, unemployed, inactive) draws the
  counter-based ``transition`` stream (:meth:`sim.engine.rng.Streams.uniform_at`) for
  themselves only, so no week costs a draw for the whole population.

The calendar is kept up to date after each week's decisions: the reference update
(:meth:`_reschedule_reference`, a pass over everyone, run by the per-agent engine) and the
vectorised engine's incremental one (:meth:`_reschedule_after`) must schedule exactly the
same people, which tests/test_engines.py checks through the trajectories.
"""

from __future__ import annotations

import numpy as np

from sim.engine.calendar import (
    DRAW,
    FILL,
    GAP,
    GAP_AGE,
    GAP_START,
    NEVER,
    WorkCalendar,
    find_sorted,
    work_bounds,
)
from sim.engine.categories import RETIRED, WORKING

TRANSITION = "transition"  # the stream of everyone's weekly decision but work's


class WorkScheduling:
    """Model-level scheduling of the weekly draws (mixed into ``RTWModel``)."""

    _calendar: WorkCalendar | None = None
    _transition_ahead: tuple | None = None  # (week, groups, their draws): see _week_draws

    def _start_calendar(self, t: int) -> None:
        """Schedule everyone working at the start (first candidate week ``t`` or later)."""
        self._calendar = WorkCalendar(self.people.n, self.warmup + self.horizon, self.streams)
        self._schedule(t - 1, np.flatnonzero(self.columns["state"] == WORKING), t, GAP_START)

    def _schedule(self, s: int, idx: np.ndarray, key_week: int, name: str) -> None:
        """First candidate week after ``s`` for working people ``idx``, with the bounds of
        week ``s + 1`` on (for people inside the relapse window then, looser bounds until
        it ends: :meth:`sim.engine.calendar.WorkCalendar.schedule`)."""
        if not idx.size:
            return
        col = self.columns
        last = col["last_return"][idx].astype(np.int64)
        switch = last + self.pathways.relapse_window  # first week past the window
        in_window = switch > s + 1
        w = in_window.nonzero()[0]
        iw = idx[w]
        low, high, w, low_in = work_bounds(self.pathways, idx, in_window,
                                           col["early_return"][iw], col["phased_return"][iw],
                                           1.0, 1.0)
        self._calendar.schedule(s, idx, low, high, key_week, name,
                                window=(w, switch[w], low_in))

    def _reschedule_aged(self, t: int, moved: np.ndarray) -> None:
        """People in work who moved up an age band at the start of week ``t``: new bounds."""
        if self._calendar is not None and moved.size:
            self._schedule(t - 1, moved[self._calendar.in_calendar(moved)], t, GAP_AGE)

    def _week_draws(self, t: int) -> None:
        """This week's candidates in work (``_work_candidates``) and everyone in work who
        decides this week (``work_due``, sorted) with their draws (``work_draws``), for
        both engines. The calendar's bounds are the hazards' without programme effects
        (the same in every arm: common random numbers); people whose onset or relapse
        multiplier in force is above 1 may exceed them, so they decide every week: outside
        their candidate weeks their draw is uniform on the rest of [0, 1) (stream
        ``work_fill``), so over the weeks it is uniform on [0, 1) and the decision exact."""
        cal = self._calendar
        due = cal.due(t)
        self._work_candidates = due
        raised = self._raised_workers()
        if raised.size:
            raised = raised[~find_sorted(due, raised)[1]]
        # the week's independent draws in one pass (the per-week fixed cost counts at
        # 10,000-100,000 people): candidates, raised workers and, for the vectorised
        # engine, the transition draws of everyone out of work (``_transition_groups``)
        others = self._transition_groups() if self.engine_name != "agents" else ()
        u_due, u_fill, *u_others = self.streams.uniform_many(
            t, [(DRAW, due), (FILL, raised), *((TRANSITION, g) for g in others)])
        self._transition_ahead = (t, others, u_others) if others else None
        u = cal.draws(t, due, u_due)
        if raised.size:
            due = np.concatenate([due, raised])
            u = np.concatenate([u, self._fill_draws(t, raised, u_fill)])
            order = np.argsort(due, kind="stable")
            due, u = due[order], u[order]
        self.work_due, self.work_draws = due, u

    def _fill_draws(self, t: int, idx: np.ndarray, u=None) -> np.ndarray:
        """Fill draws of working people ``idx`` with the bounds in force in week ``t``
        (inside the relapse window: the looser one), recomputed as scheduled (``u``: their
        ``FILL`` stream draws, if already drawn)."""
        col = self.columns
        in_window = col["last_return"][idx].astype(np.int64) + self.pathways.relapse_window > t
        iw = idx[in_window]
        low, high, w, low_in = work_bounds(self.pathways, idx, in_window, col["early_return"][iw],
                                           col["phased_return"][iw], 1.0, 1.0)
        low[w] = low_in
        return self._calendar.fill_draws(t, idx, low, high, u)

    def _raised_workers(self) -> np.ndarray:
        """Sorted people in work whose onset or relapse multiplier this week is above 1."""
        mask = None
        for key in ("onset", "relapse"):
            arr = self.effects.arrays[key]
            if arr is not None and self._effect_bound(key) > 1.0:
                mask = arr > 1.0 if mask is None else mask | (arr > 1.0)
        if mask is None:
            return np.zeros(0, dtype=np.intp)
        idx = mask.nonzero()[0]
        return idx[self.columns["state"][idx] == WORKING]

    def transition_draws(self, t: int, idx: np.ndarray) -> np.ndarray:
        """The ``transition`` draws of people ``idx`` (not in work) this week."""
        return self.streams.uniform_at(t, TRANSITION, idx)

    def _all_draws(self, t: int) -> np.ndarray:
        """Every person's draw for the per-agent engine: NaN for people in work outside
        their candidate week (they stay) and the retired."""
        state = self.columns["state"]
        u = np.full(self.people.n, np.nan)
        movable = np.flatnonzero((state != WORKING) & (state != RETIRED))
        u[movable] = self.transition_draws(t, movable)
        u[self.work_due] = self.work_draws
        return u

    def _reschedule_reference(self, t: int) -> None:
        """After week ``t``'s decisions, from every person's state: drop those no longer
        working; schedule those working at ``t + 1`` who are not scheduled (just started
        work) or had their candidate week now."""
        cal = self._calendar
        working = self.columns["state"] == WORKING
        cal.drop(np.flatnonzero(~working & (cal.next != NEVER)))
        need = working & ((cal.next == NEVER) | (cal.next == t))
        self._schedule(t, np.flatnonzero(need), t, GAP)

    def _reschedule_after(self, t: int, moved, from_state, to_state) -> None:
        """The same as :meth:`_reschedule_reference` from the week's moves only: movers
        out of work leave; candidates still working and movers into work are scheduled."""
        cal = self._calendar
        due = self._work_candidates
        stay = due[self.columns["state"][due] == WORKING]
        if moved.size:
            cal.drop(moved[(from_state == WORKING) & (to_state != WORKING)])
            stay = np.concatenate([stay, moved[to_state == WORKING]])
        self._schedule(t, stay, t, GAP)
