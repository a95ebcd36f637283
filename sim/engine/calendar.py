"""Thinning calendar: people in work decide only at their candidate weeks (issue 19).

A working person's weekly decision is banded on one uniform ``u``
(:meth:`sim.engine.pathways.Pathways.working_decision`): a new spell takes the bottom band
``[0, p_spell)``, separation and retirement the top band ``[1 - p_top, 1)``, and any ``u``
in between means staying. With per-person bounds ``low >= p_spell`` and ``high >= p_top``
that hold for every week until the person's next change (age band, leaving the relapse
window, leaving work), only draws in the candidate region ``[0, low) U [1 - high, 1)``,
of measure ``q = low + high``, can move anyone. So instead of a draw every week:

* the weeks whose draw falls in the region form a Bernoulli(q) process, so the next
  candidate week is ``s + G`` with ``G ~ Geometric(q)`` (scheduled at week ``s`` from the
  counter-based draw ``work_gap`` keyed by (seed, replicate, ``s``, person));
* at a candidate week the draw, uniform on the region, is ``v q`` mapped onto it
  (``v``: the counter-based ``work_draw`` of that week), and the exact decision runs on
  it; between candidates the person stays.

Per week the move probabilities are then exactly the hazards' (thinning is exact, not an
approximation: tests/test_calendar.py compares it with a draw every week). A person is
rescheduled (a fresh ``G``, the memoryless property) whenever their bounds change: on
starting work, on leaving the relapse window (its excess is in ``low`` while inside it) and
on moving up an age band. The bounds are stored (float32, rounded up), so the gap and the
mapping always use the same region. The bounds leave out programme effects, so a design
with no effect schedules exactly as usual care does (common random numbers); people whose
onset or relapse multiplier is above 1 decide every week instead, with a draw uniform on
the rest of [0, 1) outside their candidate weeks (:meth:`WorkCalendar.fill_draws`).
"""

from __future__ import annotations

import numpy as np

from sim.engine.screens import EDGE, SLACK  # the screens' slack on hazard bounds

NEVER = np.iinfo(np.int16).max  # not in the calendar (not working); weeks are int16
GAP = "work_gap"  # stream of the geometric gaps (scheduled after a week's decisions)
GAP_AGE = "work_gap_age"  # rescheduling at an age-band change (start of a week)
GAP_START = "work_gap_start"  # the first schedule at the start of the run
DRAW = "work_draw"  # the draw of a candidate week
FILL = "work_fill"  # the draw of a non-candidate week, for people who decide every week


class WorkCalendar:
    """Next candidate week of every person in work (``next``: engine week; ``end``: none
    before the run ends; ``NEVER``: not in work) and the candidate region they were
    scheduled with (``low``, ``high``)."""

    def __init__(self, n: int, end_week: int, streams):
        self.end = int(end_week)
        self.streams = streams
        if self.end >= NEVER:
            raise ValueError(f"the calendar holds weeks below {NEVER}, not {self.end}")
        # int16: the weekly scan of :meth:`due` reads 2 bytes a person
        self.next = np.full(n, NEVER, dtype=np.int16)
        self.low = np.zeros(n, dtype=np.float32)
        self.high = np.zeros(n, dtype=np.float32)

    def in_calendar(self, idx: np.ndarray) -> np.ndarray:
        return self.next[idx] != NEVER

    def drop(self, idx: np.ndarray) -> None:
        """People ``idx`` left work."""
        self.next[idx] = NEVER

    def schedule(self, s: int, idx: np.ndarray, low: np.ndarray, high: np.ndarray,
                 key_week: int, name: str, window=None) -> None:
        """First candidate week after week ``s`` for people ``idx`` with probability bounds
        ``low`` (bottom band) and ``high`` (top band), from stream ``name`` at ``key_week``.

        ``window``: ``(pos, switch, low_in)`` for the people ``idx[pos]`` inside the relapse
        window until week ``switch`` (exclusive), whose bottom bound is ``low_in`` until
        then: their first candidate is drawn with it (stream ``name:window``); if it falls
        at or after ``switch``, the candidate is ``switch - 1 + Geometric`` with the bounds
        after the window (memoryless: no reschedule when the window ends)."""
        if not idx.size:
            return
        cap = self.end - s - 1
        if window is None or not window[0].size:
            low32, high32, q = _region(low, high)
            weeks = s + 1 + self._gaps(q, self.streams.uniform_at(key_week, name, idx), cap)
        else:  # both regions, both streams' draws and both gaps in one pass each
            pos, switch, low_in = window  # (elementwise: the same values as one by one)
            n = idx.size
            low32, high32, q = _region(np.concatenate([low, low_in]),
                                       np.concatenate([high, high[pos]]))
            li32, hi32 = low32[n:], high32[n:]
            w = np.concatenate(self.streams.uniform_many(
                key_week, [(name, idx), (name + ":window", idx[pos])]))
            gaps = self._gaps(q, w, cap)
            low32, high32 = low32[:n], high32[:n]
            weeks = s + 1 + gaps[:n]
            first = s + 1 + gaps[n:]
            inside = first < switch
            weeks[pos[~inside]] += switch[~inside] - 1 - s  # the draw after the window
            p = pos[inside]
            weeks[p] = first[inside]
            low32[p], high32[p] = li32[inside], hi32[inside]
        np.minimum(weeks, self.end, out=weeks)
        self.low[idx], self.high[idx] = low32, high32
        self.next[idx] = weeks

    @staticmethod
    def _gaps(q, w, cap) -> np.ndarray:
        """Geometric(q) - 1 from the keyed draws ``w`` (overwritten; int64, at most ``cap``;
        ``cap`` if q = 0)."""
        np.subtract(1.0, w, out=w)  # in (0, 1]
        np.log(w, out=w)
        d = np.log1p(-q)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(w, d, out=w)  # inf (or nan) if q = 0
        np.floor(w, out=w)
        np.fmin(w, float(cap), out=w)  # fmin: a nan (q = 0, w = 1) gives the cap
        return w.astype(np.int64)

    def due(self, t: int) -> np.ndarray:
        """Sorted people whose candidate week is ``t``: a scan of ``next`` (one int16
        compare a person, about 0.5 ns per agent-week at 1M and a few microseconds at
        20,000). Keeping people in buckets by week instead (session 17: week-sorted slices
        appended at each schedule, stale entries dropped at the week) cost as much in
        inserts and merges as it saved in the scan."""
        if t >= self.end:
            return np.zeros(0, dtype=np.intp)
        return (self.next == t).nonzero()[0]

    def fill_draws(self, t: int, idx: np.ndarray, low, high, u=None) -> np.ndarray:
        """Draws uniform on the rest of [0, 1) (between the bands) for people ``idx``
        outside their candidate week who must decide anyway (effects above the bounds);
        ``low``, ``high``: the bounds in force this week, as :meth:`schedule` takes them.
        ``u``: their ``FILL`` stream draws of week ``t`` if already drawn (overwritten)."""
        low32, _, q = _region(low, high)
        if u is None:
            u = self.streams.uniform_at(t, FILL, idx)
        u *= 1.0 - q
        u += low32
        return u

    def draws(self, t: int, idx: np.ndarray, u=None) -> np.ndarray:
        """Candidate-week draws of people ``idx``: uniform on their candidate region
        (``u``: their ``DRAW`` stream draws of week ``t`` if already drawn; overwritten)."""
        low = self.low[idx].astype(np.float64)
        q = low + self.high[idx]
        if u is None:
            u = self.streams.uniform_at(t, DRAW, idx)
        u *= q
        top = u >= low
        u[top] += 1.0 - q[top]
        return u


def find_sorted(haystack: np.ndarray, needles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``needles``, its position in sorted ``haystack`` and whether it is there
    (``haystack[pos[found]] == needles[found]``; np.isin sorts or hashes: slower here)."""
    if not haystack.size:
        return np.zeros(needles.size, dtype=np.intp), np.zeros(needles.size, dtype=bool)
    pos = np.minimum(np.searchsorted(haystack, needles), haystack.size - 1)
    return pos, haystack[pos] == needles


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` by sorting (np.unique hashes: several times slower here)."""
    a = np.sort(a)
    if a.size > 1:
        keep = np.empty(a.size, dtype=bool)
        keep[0] = True
        np.not_equal(a[1:], a[:-1], out=keep[1:])
        if not keep.all():
            a = a[keep]
    return a


def _region(low, high):
    """The candidate region's bounds as stored (float32, rounded up) and its measure q;
    q >= 1 (no thinning possible) becomes a candidate every week with ``u = v``."""
    low32, high32 = _round_up(low), _round_up(high)
    q = low32.astype(np.float64)
    q += high32
    full = q >= 1.0
    if full.any():
        low32[full], high32[full], q[full] = 1.0, 0.0, 1.0
    return low32, high32, q


def _round_up(p) -> np.ndarray:
    """``p`` as float32, never below ``p`` (raised by 2^-22 before rounding to nearest,
    whose error is at most 2^-24 relative)."""
    return (np.asarray(p, dtype=np.float64) * (1.0 + 2.0 ** -22)).astype(np.float32)


def work_bounds(pw, idx, in_window, early, phased, onset_cap: float, relapse_cap: float):
    """Probability bounds for working people ``idx``: ``low`` (new spell, past the relapse
    window), ``high`` (separation and retirement) and, for the people ``in_window`` (inside
    the relapse window of their last return; ``early``, ``phased``: of those people),
    ``low_in`` with the relapse excess's largest value added."""
    h = pw.spell_hazard[idx]
    h *= onset_cap * SLACK
    w = in_window.nonzero()[0]
    h_in = h[w]
    if w.size:
        excess = pw.relapse_mult[idx[w]] * (float(pw.relapse_excess.max(initial=0.0))
                                             * relapse_cap * SLACK)
        excess[early] *= max(pw.early_return_hr, 1.0)
        excess[phased] *= max(pw.phased_relapse_hr, 1.0)
        h_in += excess
    top = pw.separation_hazard[idx]
    top += pw.retire_hazard[idx]
    top *= SLACK
    low, low_in, high = (_probability(x) for x in (h, h_in, top))
    high += EDGE
    return low, high, w, low_in


def _probability(h):
    """1 - exp(-h), in place."""
    np.negative(h, out=h)
    np.expm1(h, out=h)
    return np.negative(h, out=h)
