"""Per-group counts of many per-person indicators at once, over every summary dimension.

The group summary and the quality table need, for about 35 indicator arrays (booleans:
"returned within 13 weeks", "eligible", ...), the count in every group of 12 dimensions and
every replicate: one ``np.bincount`` each, about 420 passes over the whole population
(issue 19: most of the 2.7 s CPU the two tables took at 1M people). Here up to 8 indicators
are packed as the bits of one byte per person, and one ``np.bincount`` per dimension counts
the people in each (cell, bit pattern); each indicator's count per cell is then the sum over
the patterns with its bit set (a small integer matrix product). Counts are whole numbers,
exact in any order, so they are the same to the bit as one weighted ``np.bincount`` per
indicator and dimension.

Sums of fractional values depend on the order they are added in, so callers keep those as
one ``np.bincount`` per dimension, in person order.
"""

from __future__ import annotations

import numpy as np

BITS = 8  # indicators per packed byte
# BIT_TABLE[p, b]: whether pattern p has bit b set
BIT_TABLE = ((np.arange(1 << BITS)[:, None] >> np.arange(BITS)) & 1).astype(np.int64)


def pack(indicators: list[np.ndarray]) -> list[np.ndarray]:
    """The indicators (boolean arrays of one length) as bytes, 8 to a byte, in order."""
    out = []
    for lo in range(0, len(indicators), BITS):
        byte = np.zeros(len(indicators[lo]), dtype=np.uint8)
        for b, a in enumerate(indicators[lo:lo + BITS]):
            byte |= a.view(np.uint8) << np.uint8(b)
        out.append(byte)
    return out


def packed_counts(cell: np.ndarray, cells: int, packed: list[np.ndarray],
                  n_indicators: int) -> np.ndarray:
    """Counts ``[n_indicators, cells]`` (float64) of each packed indicator per cell, from
    the per-person ``cell`` index (``0..cells-1``): the same values as
    ``np.bincount(cell, weights=indicator, minlength=cells)``."""
    out = np.empty((n_indicators, cells))
    base = cell.astype(np.int64) << BITS
    for i, byte in enumerate(packed):
        width = min(BITS, n_indicators - i * BITS)
        counts = np.bincount(base | byte, minlength=cells << BITS).reshape(cells, 1 << BITS)
        out[i * BITS:i * BITS + width] = (counts @ BIT_TABLE[:, :width]).T
    return out


def after_cells(cell: np.ndarray, cells: int) -> np.ndarray:
    """``0..cells-1`` followed by ``cell``: the bin of each running sum, then of each
    person (:func:`add_in_order`)."""
    return np.concatenate([np.arange(cells, dtype=np.int64), cell])


def add_in_order(totals: np.ndarray, cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``totals`` plus ``values`` added into bins ``cells[len(totals):]`` one person at a
    time, in order: ``np.add.at(totals, cell, values)`` to the bit (``np.bincount`` adds its
    weights in input order; the running sums go in first, one to a bin), at bincount's
    speed (issue 19: ``np.add.at`` was 1 s of a 1M-person run)."""
    return np.bincount(cells, weights=np.concatenate([totals, values]),
                       minlength=len(totals))
