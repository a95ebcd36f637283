"""The vectorised engine: one small function per state, then the transitions
(``engine=vectorised``, the default).

Each ``_decide_*`` returns the people of one state who move this week and their outcome
codes (STAY dropped), from start-of-week values and the hazard functions of
:mod:`sim.engine.pathways` that the per-agent engine (:mod:`sim.engine.agent`) shares;
``_apply`` then changes the states. The methods are :class:`sim.engine.model.RTWModel`'s
(a mixin): they read and write the model's columns, pathways, effects and counts.
"""

from __future__ import annotations

import numpy as np

from sim.engine import moves
from sim.engine.absent import SCREEN_ROWS, AbsentTable
from sim.engine.calendar import find_sorted
from sim.engine.categories import (
    ABSENT,
    INACTIVE,
    INACTIVE_BENEFIT,
    PHASED,
    STATES,
    UNEMPLOYED,
    WORKING,
)
from sim.engine.pathways import (
    RELAPSE,
    RETIRE,
    RETURN,
    competing_probabilities,
    two_way_outcome,
)
from sim.engine.rosters import Rosters
from sim.engine.screens import high_edge, low_edge

N_STATES = len(STATES)


def add_counts(counts: np.ndarray, cells: np.ndarray, sign: int) -> None:
    """``counts[cells] += sign`` for every entry of ``cells`` (repeats add up): ufunc.at
    when the cells are fewer than the counts (a bincount allocates and adds the whole
    ``counts``, ~90 microseconds a call at 10 replicates), else a bincount."""
    if cells.size < counts.size:
        np.add.at(counts, cells, sign)
    elif sign > 0:
        counts += np.bincount(cells, minlength=counts.size)
    else:
        counts -= np.bincount(cells, minlength=counts.size)


class VectorisedEngine:
    """The weekly transitions of every person at once (mixed into ``RTWModel``)."""

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
        ip, iu, ii = rosters["phased"], rosters["unemployed"], rosters["inactive"]
        groups = (self._absent.idx, ip, iu, ii)
        ahead, self._transition_ahead = self._transition_ahead, None
        if ahead is not None and ahead[0] == t and all(
                np.array_equal(a, g) for a, g in zip(ahead[1], groups, strict=True)):
            ua, up, uu, ui = ahead[2]  # drawn for these people with the week's work draws
        else:
            ua, up, uu, ui = self._transition_draws_of(t, groups)
        groups = [
            self._decide_absent(t, ua),
            self._decide_phased(t, up),
            self._decide_working(t),
            self._decide_unemployed(t, uu),
            self._decide_inactive(t, ui),
        ]
        self._reschedule_after(t, *self._apply(t, groups))

    def _transition_groups(self) -> tuple:
        """The people out of work who decide this week (absent, phased, unemployed,
        inactive), for ``_week_draws`` to draw with the work draws; none before the first
        step (no table yet) or above ``SCREEN_ROWS`` people (the absent table then draws
        block by block: ``_transition_draws_of``)."""
        if self._absent is None:
            return ()
        r = self._rosters
        groups = (self._absent.idx, r["phased"], r["unemployed"], r["inactive"])
        return groups if sum(g.size for g in groups) <= SCREEN_ROWS else ()

    def _transition_draws_of(self, t, groups) -> list:
        """This week's ``transition`` draws of each index array of ``groups`` (the same
        values however they are drawn: a person's draw depends on nothing else). Up to
        ``SCREEN_ROWS`` people in all, one call over them all (the per-week fixed cost
        counts at 10,000-100,000 people); above it, a call per array, and the absent
        table's draws block by block as it screens (the temporaries stay in cache)."""
        if sum(g.size for g in groups) > SCREEN_ROWS:
            return [lambda idx: self.transition_draws(t, idx),
                    *(self.transition_draws(t, g) for g in groups[1:])]
        u = self.transition_draws(t, np.concatenate(groups))
        out, lo = [], 0
        for g in groups:
            out.append(u[lo:lo + g.size])
            lo += g.size
        return out

    def _effect_bound(self, key) -> float:
        """This week's largest multiplier ``key`` in force (1 when none), computed once."""
        bound = self._bounds_now.get(key)
        if bound is None:
            bound = self._bounds_now[key] = self.effects.upper_bound(key)
        return bound

    def _moving(self, idx, out):
        """People of sorted index array ``idx`` who leave their state (outcome ``out``),
        everyone reaching State Pension age this week retiring whatever the draw."""
        due = self.pension_due
        if due.size:
            pos, found = find_sorted(idx, due)
            out[pos[found]] = RETIRE
        nz = out.nonzero()[0]  # STAY is 0
        return idx[nz], out[nz]

    def _decide_absent(self, t, u_all):
        """Absent: RTW, job loss, inactivity (on a benefit or not), retirement. Screens the
        absent table (:mod:`sim.engine.absent`; ``u_all``: its people's draws, row by row,
        or a function drawing them), then decides the candidates exactly."""
        table, eff = self._absent, self.effects
        moving = []
        for rows, u, week in table.candidate_blocks(t, u_all, eff.arrays["rtw"],
                                                    eff.arrays["job_loss"]):
            ia = table.idx[rows]
            out = self.pathways.absent_decision(u, ia, None, week, eff.get("rtw", ia),
                                                eff.get("job_loss", ia), table.copied(rows))
            nz = out.nonzero()[0]  # STAY is 0
            moving.append((rows[nz], out[nz]))
        if len(moving) == 1:  # one block of rows (up to absent.SCREEN_ROWS people)
            rows, out = moving[0]
        else:
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

    def _work_spell_hazard(self, t, idx, since=None):
        """New-spell hazard of people in work ``idx``: background plus the relapse excess
        within the relapse window of their last return (``since``: weeks since their last
        return, if known)."""
        col, pw = self.columns, self.pathways
        if since is None:
            since = t - col["last_return"][idx]
        h = pw.spell_hazard[idx]  # a copy (fancy indexing)
        onset = self.effects.get("onset", idx)  # stay-at-work prevention
        if onset is not None:
            h = h * onset
        win = (since < pw.relapse_window).nonzero()[0]
        if win.size:
            iw = idx[win]
            h[win] += pw.relapse_hazard(iw, since[win], col["early_return"][iw],
                                        col["phased_return"][iw],
                                        self.effects.get("relapse", iw))
        return h

    def _decide_phased(self, t, u):
        """Phased return: full hours (bottom band) or relapse (top band), for the people
        whose draw may move them (:mod:`sim.engine.screens`; the relapse hazard is bounded
        as the workers' is)."""
        pw = self.pathways
        background, relapse, _ = self._onset_bound
        h_relapse = (background * self._effect_bound("onset")
                     + relapse * self._effect_bound("relapse"))
        ip, u = self._screen("phased", u, pw.full_return_hazard, h_relapse)
        p_full, p_rel = competing_probabilities(pw.full_return_hazard,
                                                self._work_spell_hazard(t, ip))
        out = two_way_outcome(u, p_full, p_rel, RETURN, RELAPSE)
        return self._moving(ip, out)

    def _decide_working(self, t):
        """Working: only this week's candidates (:mod:`sim.engine.calendar`; their draws
        fall in the region where a move is possible, so the decision is exact) and the
        people reaching State Pension age this week, who retire whatever their draw."""
        cw, u = self.work_due, self.work_draws
        due = self.pension_due
        if due.size:
            due = due[self.columns["state"][due] == WORKING]
            due = due[~find_sorted(cw, due)[1]]  # not already candidates
            if due.size:  # their draw does not matter: they retire
                cw = np.concatenate([cw, due])
                u = np.concatenate([u, np.full(due.size, 0.5)])
                order = np.argsort(cw)
                cw, u = cw[order], u[order]
        out = self.pathways.working_decision(u, cw, self._work_spell_hazard(t, cw))
        return self._moving(cw, out)

    def _screen(self, name, u, low, high):
        """Members of roster ``name`` whose draw ``u`` may move them (bottom hazards
        summing to at most ``low``, top ones to at most ``high``; :mod:`sim.engine.screens`),
        and everyone in it reaching State Pension age this week, sorted, with their draws."""
        keep = u < low_edge(low)
        keep |= u >= high_edge(high)
        if self.pension_due.size:
            keep[self._rosters.positions(name, self.pension_due)] = True
        idx, u = self._rosters[name][keep], u[keep]
        order = np.argsort(idx)  # the roster's order carries no meaning
        return idx[order], u[order]

    def _decide_unemployed(self, t, u):
        """Unemployed: re-employment, inactivity or retirement (the exact decision for the
        people the screen keeps; ``u``: the roster's draws)."""
        low, high = self._out_bounds["unemployed"]
        iu, u = self._screen("unemployed", u, low * self._effect_bound("reemploy"), high)
        out = self.pathways.unemployed_decision(
            u, iu, t - self.columns["state_since"][iu], self.effects.get("reemploy", iu))
        return self._moving(iu, out)

    def _decide_inactive(self, t, u):
        """Inactive for ill health: into work, seeking work, a benefit claim, retirement
        (the exact decision for the people the screen keeps; ``u``: the roster's draws)."""
        col = self.columns
        work, _ = self._out_bounds["inactive_work"]
        seek, high = self._out_bounds["inactive"]
        ii, u = self._screen("inactive", u,
                             work * self._effect_bound("reemploy_inactive") + seek, high)
        out = self.pathways.inactive_decision(
            u, ii, col["state"][ii] == INACTIVE_BENEFIT,
            t - col["state_since"][ii], self.effects.get("reemploy_inactive", ii))
        return self._moving(ii, out)

    def _apply(self, t, groups):
        """Transitions of the movers ``groups`` [(idx, outcome)] in the order absent,
        phased, working, unemployed, inactive (every decision used start-of-week values;
        each person moves once, so the order of the updates below does not matter). New
        states and events come from one lookup a mover (:mod:`sim.engine.moves`)."""
        col = self.columns
        pw = self.pathways
        state = col["state"]
        state_since = col["state_since"]
        last_return = col["last_return"]
        nxt = t + 1
        obs_next = nxt - self.warmup
        moved = np.concatenate([idx for idx, _ in groups])
        if moved.size == 0:
            return moved, moved, moved
        from_state = state[moved]
        group_base = self._group_state_base[moved]
        self._close_states(moved, from_state, nxt)
        to_state, events, present = moves.lookup(
            from_state, np.concatenate([out for _, out in groups]))

        def who(bit):
            return moved[(events & bit) != 0]

        new_spell = who(moves.NEW_SPELL) if present & moves.NEW_SPELL else moved[:0]
        if present & moves.LEFT_WORK:  # leaving work: a sustained return to credit?
            left = who(moves.LEFT_WORK)
            self._check_sustained(left, nxt - last_return[left])
        if new_spell.size and self.recording:
            col["spells"][new_spell] += 1
            in_work = nxt - last_return[new_spell]
            col["relapses"][new_spell] += (in_work <= pw.relapse_window).astype(np.int16)
        if present & moves.RETURN_FROM_ABSENCE:  # absent -> work (phased or full)
            back = (events & moves.RETURN_FROM_ABSENCE) != 0
            ret = moved[back]
            phased = self.streams.uniform_at(t, "return_mode", ret) < self.phased_probability(ret)
            to_state[back] = np.where(phased, PHASED, WORKING)
            col["phased_return"][ret] = phased
            col["early_return"][ret] = (nxt - state_since[ret]) < pw.early_before[ret]
            self._returned(ret, nxt, obs_next)
        if present & moves.REEMPLOYED:  # unemployed or inactive -> work
            reemp = who(moves.REEMPLOYED)
            col["phased_return"][reemp] = False
            col["early_return"][reemp] = False
            self._returned(reemp, nxt, obs_next)
        if self.recording:
            for name, bit in moves.BIT.items():
                if present & bit:
                    self._first_time(name, who(bit), obs_next)
        state[moved] = to_state
        state_since[moved] = nxt
        self._absent.update(self._absent_leaving, new_spell)
        self._rosters.move(moved, from_state, to_state)
        add_counts(self._counts, group_base + from_state, -1)
        add_counts(self._counts, group_base + to_state, 1)
        return moved, from_state, to_state

    def _close_states(self, moved, from_state, nxt):
        """Weeks the movers spent in the state they leave, and absence spells that end."""
        weeks = nxt - self.columns["state_since"][moved]
        # [state, person] cells as flat positions (cheaper than 2-D fancy indexing; the
        # array is C-contiguous, so reshape is a view and the += lands in it)
        cells = from_state.astype(np.intp)
        cells *= self.people.n
        cells += moved
        self.columns["weeks_by_state"].reshape(-1)[cells] += weeks.astype(np.int16)
        if self.recording:
            ended = from_state == ABSENT
            if ended.any():
                self.record_spell_end(weeks[ended], moved[ended])

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
