"""Screens: who may move this week, from their draw and an upper bound on their hazards
(the vectorised engine's hot path, issue 19).

A week's decision is banded on one uniform draw ``u``: the "good" exits take bands from
the bottom of [0, 1), the "bad" ones from the top (:func:`sim.engine.pathways.banded_outcome`).
With competing risks ``p_k = h_k (1 - e^-T) / T <= h_k``, so anyone whose draw lies in
``[sum of bottom hazards, 1 - sum of top hazards)`` stays, whatever the exact
probabilities. A screen keeps only the others (and everyone reaching State Pension age
this week), and the exact decision, the function the per-agent engine calls, runs on
them alone: the result is exactly the unscreened one, just cheaper. The slack on each
bound covers rounding in the exact decision's band edges; an extra candidate only costs
time.

>>> u = np.array([0.001, 0.5, 0.9999, 0.2])
>>> two_sided(u, 0.01, 0.999, np.empty(4, dtype=bool), np.empty(4, dtype=bool)).tolist()
[0, 2]
"""

from __future__ import annotations

import numpy as np

SLACK = 1.0 + 1e-9  # relative slack on a hazard bound
EDGE = 1e-12  # absolute slack near u = 1 (1 - p is rounded)
BLOCK = 1 << 15  # draws screened at a time: the temporaries stay in cache


def low_edge(hazard: float) -> float:
    """Draws below this may take a bottom band whose hazards sum to at most ``hazard``."""
    return float(hazard) * SLACK


def high_edge(hazard: float) -> float:
    """Draws at or above this may take a top band whose hazards sum to at most ``hazard``."""
    return 1.0 - EDGE - float(hazard) * SLACK


def two_sided(u: np.ndarray, low: float, high: float, buf: np.ndarray,
              buf2: np.ndarray) -> np.ndarray:
    """Sorted positions of ``u`` with ``u < low`` or ``u >= high``, a block at a time into
    the boolean buffers ``buf`` and ``buf2`` (each at least ``min(u.size, BLOCK)`` long):
    no full-length temporaries, whose page faults cost more than the comparisons."""
    parts = []
    for lo in range(0, u.size, BLOCK):
        s = u[lo:lo + BLOCK]
        b, b2 = buf[:s.size], buf2[:s.size]
        np.less(s, low, out=b)
        np.greater_equal(s, high, out=b2)
        np.logical_or(b, b2, out=b)
        nz = np.flatnonzero(b)
        if nz.size:
            parts.append(nz + lo if lo else nz)
    if not parts:
        return np.zeros(0, dtype=np.intp)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def with_due(idx: np.ndarray, keep: np.ndarray, due: np.ndarray) -> np.ndarray:
    """``idx[keep]`` plus the members of sorted ``idx`` in sorted ``due`` (people reaching
    State Pension age, examined whatever their draw); ``keep`` is modified."""
    if due.size and idx.size:
        pos = np.searchsorted(idx, due)
        inside = pos < idx.size
        pos = pos[inside]
        keep[pos[idx[pos] == due[inside]]] = True
    return idx[keep]


def out_of_work_bounds(pw) -> dict[str, tuple[float, float]]:
    """(bottom, top) hazard bounds over everyone and every age band, before programme
    effects on the into-work hazard, for the unemployed and the inactive states
    (:meth:`sim.engine.pathways.Pathways.unemployed_decision` and ``inactive_decision``):
    ``unemployed``: re-employment | inactivity + retirement; ``inactive``: into work (its
    part that a programme multiplies) and seeking work | a benefit claim + retirement.
    Into work is returned split as ``(work, seek)`` for ``inactive`` so the effect can
    scale the first."""
    rel = float(pw.reemploy_static.max(initial=0.0) * pw.reemploy_by_age.max(initial=0.0)
                * max(pw.out_decline.max(initial=0.0), 0.0))
    retire = float(pw.max_retire_hazard)
    to_inactive = float(pw.unemployed_inactive_base * pw.inactivity_by_age.max(initial=0.0))
    return {
        "unemployed": (pw.reemploy_level * rel, to_inactive + retire),
        "inactive_work": (max(pw.benefit_to_work, pw.inactive_to_work) * rel, 0.0),
        "inactive": (max(pw.benefit_to_seeking, pw.inactive_to_seeking),
                     max(pw.inactive_to_benefit, 0.0) + retire),
    }
