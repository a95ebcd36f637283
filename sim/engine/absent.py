"""The absent people as a compact table kept from week to week (the vectorised engine's
hot path).

Absence is where the weekly loop spends its time: about one agent-week in ten, but each
one used to gather about ten float64 values (multipliers, start week, condition) for the
same long-absent people from million-long columns every week, missing the cache on each
(issue 19: ~112 ns per non-working agent-week against ~5 ns per working one). The table
copies a person's rows in once, when the spell starts, keeps them next to each other, and
drops them when the spell ends; a person moving up an age band mid-spell has the
age-dependent copies refreshed (:meth:`AbsentTable.refresh`).

Each week the table screens its people with a bound that needs only the hazards, not the
probabilities: with competing risks ``p_k = h_k (1 - e^-T) / T <= h_k``, so nobody with
``h_rtw <= u < 1 - sum(h_bad)`` can move. Only the remaining candidates (the movers and a
few near the edges) go through :meth:`sim.engine.pathways.Pathways.absent_decision`, the
function the per-agent engine calls, so every decision is exactly the per-agent engine's.
"""

from __future__ import annotations

import numpy as np

# Relative slack on the screen's bounds: covers rounding in the exact decision's edges
# (an extra candidate only costs time; its decision is exact).
SLACK = 1.0 + 1e-9
SCREEN_ROWS = 1 << 16  # rows screened at a time


class AbsentTable:
    """Absent people (``idx``, in no particular order) with copies of their absence
    hazards' per-person parts.

    ``row0 = (condition * 3 + severity) * n_weeks``: adding the spell week gives the flat
    [condition-severity, spell week] cell of the RTW and inactivity tables; ``start`` is
    the spell's first week (``state_since``).
    """

    COPIED = ("rtw_mult", "job_loss_mult", "inactivity_mult", "retire_hazard")

    def __init__(self, pathways, condition_severity: np.ndarray, state_since: np.ndarray):
        self.pw = pathways
        self.condition_severity = condition_severity
        self.state_since = state_since
        self.idx = np.zeros(0, dtype=np.intp)
        self.row0 = np.zeros(0, dtype=np.int32)
        self.start = np.zeros(0, dtype=np.int32)
        self.copies = {name: np.zeros(0) for name in self.COPIED}
        self._rtw_flat = pathways.rtw_table.ravel()
        self._inactivity_flat = pathways.inactivity_table.ravel()

    def __len__(self) -> int:
        return self.idx.size

    def add(self, new: np.ndarray) -> None:
        """Start rows for people ``new`` (their ``state_since`` already set)."""
        if not new.size:
            return
        row0 = self.condition_severity[new].astype(np.int32)
        row0 *= self.pw.n_weeks
        rows = {"idx": new, "row0": row0, "start": self.state_since[new]}
        rows.update((name, getattr(self.pw, name)[new]) for name in self.COPIED)
        empty = not self.idx.size  # (a cohort starts with everyone absent: no second copy)
        for name, new_rows in rows.items():
            old = self.copies[name] if name in self.copies else getattr(self, name)
            joined = new_rows if empty else np.concatenate([old, new_rows])
            if name in self.copies:
                self.copies[name] = joined
            else:
                setattr(self, name, joined)

    def drop(self, rows: np.ndarray) -> None:
        """Remove table rows ``rows`` (positions, not person indices)."""
        if not rows.size:
            return
        keep = np.ones(self.idx.size, dtype=bool)
        keep[rows] = False
        self.idx = self.idx[keep]
        self.row0 = self.row0[keep]
        self.start = self.start[keep]
        for name, copy in self.copies.items():
            self.copies[name] = copy[keep]

    def rows_of(self, people: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """Table rows of ``people`` (those in the table); ``scratch`` is an all-False
        boolean column, left all False."""
        if not people.size or not self.idx.size:
            return np.zeros(0, dtype=np.intp)
        scratch[people] = True
        rows = np.flatnonzero(scratch[self.idx])
        scratch[people] = False
        return rows

    def refresh(self, moved: np.ndarray, scratch: np.ndarray) -> None:
        """Re-copy the age-dependent parts for people ``moved`` up an age band."""
        rows = self.rows_of(moved, scratch)
        if rows.size:
            who = self.idx[rows]
            for name, copy in self.copies.items():
                copy[rows] = getattr(self.pw, name)[who]

    def candidate_blocks(self, t: int, u_all: np.ndarray, rtw_effect, job_loss_effect):
        """Rows whose draw this week may move them, with their draws and spell weeks, a
        block of rows at a time (its temporaries, and the exact decision's that follows,
        stay in cache and small: a cohort starts with everyone absent).

        ``rtw_effect``/``job_loss_effect``: the effect columns (length n) or None.
        """
        for lo in range(0, self.idx.size, SCREEN_ROWS):
            yield self._screen(lo, lo + SCREEN_ROWS, t, u_all, rtw_effect, job_loss_effect)

    def _screen(self, lo, hi, t, u_all, rtw_effect, job_loss_effect):
        pw, c = self.pw, self.copies
        idx = self.idx[lo:hi]
        u = u_all[idx]
        week = np.subtract(np.int32(t), self.start[lo:hi])  # spell week, absent_hazards' d
        np.minimum(week, pw.n_weeks - 1, out=week)
        cell = self.row0[lo:hi] + week
        h_rtw = self._rtw_flat[cell]
        h_rtw *= c["rtw_mult"][lo:hi]
        if rtw_effect is not None:
            h_rtw *= rtw_effect[idx]
        h_bad = pw.job_loss_table[week]
        h_bad *= c["job_loss_mult"][lo:hi]
        if job_loss_effect is not None:
            h_bad *= job_loss_effect[idx]
        h_in = self._inactivity_flat[cell]
        h_in *= c["inactivity_mult"][lo:hi]
        h_bad += h_in
        h_bad += c["retire_hazard"][lo:hi]
        h_rtw *= SLACK
        h_bad *= SLACK
        np.subtract(1.0 - 1e-12, h_bad, out=h_bad)  # and an absolute slack near u = 1
        maybe = u < h_rtw
        maybe |= u >= h_bad
        rows = np.flatnonzero(maybe)
        return rows + lo, u[rows], week[rows]
