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

from sim.engine.rosters import fill_holes

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
    DTYPES = {"idx": np.intp, "row0": np.int32, "start": np.int32,
              **dict.fromkeys(COPIED, np.float64)}

    def __init__(self, pathways, condition_severity: np.ndarray, state_since: np.ndarray):
        self.pw = pathways
        self.condition_severity = condition_severity
        self.state_since = state_since
        self.size = 0
        # columns with room to grow: rows [0, size) are in use
        self._store = {name: np.zeros(0, dtype=dt) for name, dt in self.DTYPES.items()}
        self._rtw_flat = pathways.rtw_table.ravel()
        self._inactivity_flat = pathways.inactivity_table.ravel()

    def __len__(self) -> int:
        return self.size

    def col(self, name: str) -> np.ndarray:
        """Column ``name`` of the rows in use (a view)."""
        return self._store[name][:self.size]

    @property
    def idx(self) -> np.ndarray:
        return self.col("idx")

    def copied(self, rows: np.ndarray) -> tuple:
        """The per-person parts of the absence hazards of table ``rows``, as
        :meth:`sim.engine.pathways.Pathways.absent_hazards` takes them (``copied``)."""
        c = self._store
        return (c["row0"][rows], *(c[name][rows] for name in self.COPIED))

    def add(self, new: np.ndarray) -> None:
        """Start rows for people ``new`` (sorted, distinct; their ``state_since`` set)."""
        if not self.size and new.size == self.state_since.size:  # everyone: 0, 1, ..., n-1
            self._reserve(new.size)
            self._write(slice(0, new.size), new, everyone=True)
            self.size = new.size
        else:
            self.update(np.zeros(0, dtype=np.intp), new)

    def update(self, leaving: np.ndarray, new: np.ndarray) -> None:
        """A week's changes, touching only the rows that change (no copy of the table):
        people ``new`` (spell started, ``state_since`` set) take the rows ``leaving``
        (positions of people whose spell ended); then the table grows, or its last rows
        fill the remaining holes. Row order carries no meaning."""
        k = min(leaving.size, new.size)
        if k:
            self._write(leaving[:k], new[:k])
        if new.size > k:
            extra = new[k:]
            self._reserve(self.size + extra.size)
            self._write(slice(self.size, self.size + extra.size), extra)  # no scatter
            self.size += extra.size
        elif leaving.size > k:
            holes = leaving[k:]
            inside, tail = fill_holes(holes, self.size)
            for arr in self._store.values():
                arr[inside] = arr[tail]
            self.size -= holes.size

    def _write(self, rows, people: np.ndarray, everyone: bool = False) -> None:
        """Rows ``rows`` (positions or a slice) for people ``people``; ``everyone``: they
        are everyone in order (a cohort starting absent), read whole, not gathered."""
        store = self._store
        who = slice(None) if everyone else people
        store["idx"][rows] = people
        row0 = self.condition_severity[who] * self.pw.n_weeks
        store["row0"][rows] = row0
        store["start"][rows] = self.state_since[who]
        for name in self.COPIED:
            store[name][rows] = getattr(self.pw, name)[who]

    def _reserve(self, rows: int) -> None:
        capacity = self._store["idx"].size
        if rows <= capacity:
            return
        capacity = rows if capacity == 0 else max(rows, 2 * capacity)
        for name, arr in self._store.items():
            grown = np.empty(capacity, dtype=arr.dtype)
            grown[:self.size] = arr[:self.size]
            self._store[name] = grown

    def rows_of(self, people: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """Table rows of ``people`` (those in the table); ``scratch`` is an all-False
        boolean column, left all False."""
        if not people.size or not self.idx.size:
            return np.zeros(0, dtype=np.intp)
        scratch[people] = True
        rows = scratch[self.idx].nonzero()[0]
        scratch[people] = False
        return rows

    def refresh(self, moved: np.ndarray, scratch: np.ndarray) -> None:
        """Re-copy the age-dependent parts for people ``moved`` up an age band."""
        rows = self.rows_of(moved, scratch)
        if rows.size:
            who = self.idx[rows]
            for name in self.COPIED:
                self._store[name][rows] = getattr(self.pw, name)[who]

    def candidate_blocks(self, t: int, u, rtw_effect, job_loss_effect):
        """Rows whose draw this week may move them, with their draws and spell weeks, a
        block of rows at a time (its temporaries, and the exact decision's that follows,
        stay in cache and small: a cohort starts with everyone absent).

        ``u``: this week's draws of the table's people, row by row, or a function
        ``u(idx)`` drawing them for people ``idx`` (one block at a time);
        ``rtw_effect``/``job_loss_effect``: the effect columns (length n) or None.
        """
        for lo in range(0, self.idx.size, SCREEN_ROWS):
            yield self._screen(lo, lo + SCREEN_ROWS, t, u, rtw_effect, job_loss_effect)

    def _screen(self, lo, hi, t, u, rtw_effect, job_loss_effect):
        pw, c = self.pw, self._store
        hi = min(hi, self.size)
        idx = c["idx"][lo:hi]
        u = u[lo:hi] if isinstance(u, np.ndarray) else u(idx)
        week = np.subtract(np.int32(t), c["start"][lo:hi])  # spell week, absent_hazards' d
        np.minimum(week, pw.n_weeks - 1, out=week)
        cell = c["row0"][lo:hi] + week
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
        rows = maybe.nonzero()[0]
        return rows + lo, u[rows], week[rows]
