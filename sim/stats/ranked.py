"""The SII, RII and concentration index of many outcomes over the same ranked groups.

A sweep's aggregation takes, for every cell, replicate and RTW measure, the slope index
(:func:`sim.stats.equity.slope_index` with ``ci="none"``) and the concentration index
(:func:`sim.stats.equity.concentration_index` over IMD quintiles 1..k) of the measure's
values by quintile, weighted by the quintiles' denominators. The denominators are the same
for every measure of a replicate, and for every cell of the same population and seed, so
the part of both indices that depends only on the weights (ranks, the weighted
least-squares hat matrix, the centred fractional ranks) is computed once per set of weights
here, by :func:`sim.stats.equity.slope_design` and the sums
:func:`sim.stats.equity.fractional_ranks` makes for the levels 1..k, and kept; the part
that depends on the values
is the very same numpy operations, in the same order on arrays of the same layout, as the
two functions do, so the results are the same bit for bit (``tests/test_stats_ranked.py``).
6,500 calls of each function were about a third of the 100-cell benchmark's aggregation
(issue 19).

Only the point estimates are given (no intervals), for the default ordering (most
deprived first) and direction (least minus most deprived), and for weights that are all
positive and finite; anything else goes through the functions themselves.
"""

from __future__ import annotations

import numpy as np

from sim.stats.equity import slope_design


class RankedGroups:
    """The weight-only part of :func:`slope_index` and :func:`concentration_index` for one
    set of group weights ``w`` (a 1-D float array, most deprived group first, every weight
    positive and finite: :meth:`usable`). Pass the same array object (or view) to
    :meth:`concentration`, as the caller of ``concentration_index`` would pass it."""

    def __init__(self, w: np.ndarray):
        pop = np.asarray(w, dtype=float)
        # slope_index's and concentration_index's own weight-only steps (sim.stats.equity)
        self._idx = np.arange(len(pop))
        self._H = slope_design(pop, self._idx)[4]
        self._W = pop.sum()
        # fractional_ranks(arange(1, k + 1), pop, W)[3] for k distinct levels already in
        # order: each level's weight is its group's (0 + w, the same bits for w > 0), so
        # its np.unique and np.bincount are left out (a third of this constructor, issue 19)
        R = (np.cumsum(pop) - pop / 2) / self._W
        self._centred = R - pop @ R / self._W

    @staticmethod
    def usable(w: np.ndarray) -> bool:
        """True if the shortcut applies: at least two groups, all weights finite and > 0."""
        return w.ndim == 1 and len(w) >= 2 and bool(np.isfinite(w).all() and (w > 0).all())

    def slope(self, values: np.ndarray) -> tuple[float, float]:
        """``(sii, rii)`` of ``slope_index(values, w, ci="none")``, bit for bit."""
        y = np.asarray(values, dtype=float)[self._idx]
        a, b = self._H @ y
        f_most, f_least = float(a), float(a + b)
        # _rii(f_most, f_least, 1.0) on floats: the same IEEE division, without its
        # np.where on 0-d arrays (a fifth of this method's time, issue 19)
        rii = f_least / f_most if f_least > 0 and f_most > 0 else np.nan
        return 1.0 * float(b), rii

    def concentration(self, values: np.ndarray, w: np.ndarray) -> float:
        """``concentration_index(values, arange(1, k + 1), w).index``, bit for bit (``w``:
        the weights this was built from, in the same layout; the weighted mean of
        ``values`` must not be 0)."""
        y = np.asarray(values, dtype=float)
        mu = float(w @ y / self._W)
        cov = float(w @ ((y - mu) * self._centred) / self._W)
        return 2 * cov / mu
