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
time. (People in work are not screened but thinned: :mod:`sim.engine.calendar`.)

>>> u = np.array([0.001, 0.5, 0.9999, 0.2])
>>> ((u < low_edge(0.01)) | (u >= high_edge(0.001))).tolist()
[True, False, True, False]
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (the doctest)

SLACK = 1.0 + 1e-9  # relative slack on a hazard bound
EDGE = 1e-12  # absolute slack near u = 1 (1 - p is rounded)


def low_edge(hazard: float) -> float:
    """Draws below this may take a bottom band whose hazards sum to at most ``hazard``."""
    return float(hazard) * SLACK


def high_edge(hazard: float) -> float:
    """Draws at or above this may take a top band whose hazards sum to at most ``hazard``."""
    return 1.0 - EDGE - float(hazard) * SLACK


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
