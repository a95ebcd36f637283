"""Per-group counts of many per-person indicators at once, over every summary dimension.

The group summary and the quality table need, for about 35 indicator arrays (booleans:
"returned within 13 weeks", "eligible", ...), the count in every group of 12 dimensions and
every replicate: one ``np.bincount`` each, about 420 passes over the whole population
(issue 19: most of the 2.7 s CPU the two tables took at 1M people). Here up to 8 indicators
are packed as the bits of one byte per person, and one ``np.bincount`` per dimension counts
the people in each (cell, bit pattern); each indicator's count per cell is then the sum over
the patterns with its bit set (:func:`bit_counts`). Several dimensions share one pass:
the people are counted per joint cell of a run of dimensions, and each dimension's counts
are sums over the others (:func:`dimension_counts`). Counts are whole numbers, exact in any
order, so they are the same to the bit as one weighted ``np.bincount`` per indicator and
dimension.

Sums of fractional values depend on the order they are added in, so callers keep those as
one ``np.bincount`` per dimension, in person order.
"""

from __future__ import annotations

import numpy as np

BITS = 8  # indicators per packed byte
# indicators per byte in a joint pass (:func:`dimension_counts`): fewer patterns keep a run
# of dimensions' joint cells few; 6 was fastest at 10 x 10,000 and at 1M people (issue 19)
JOINT_BITS = 6


def pack(indicators: list[np.ndarray], bits: int = BITS) -> list[np.ndarray]:
    """The indicators (boolean arrays of one length) as bytes, ``bits`` (<= 8) to a byte,
    in order."""
    out = []
    for lo in range(0, len(indicators), bits):
        byte = np.zeros(len(indicators[lo]), dtype=np.uint8)
        for b, a in enumerate(indicators[lo:lo + bits]):
            byte |= a.view(np.uint8) << np.uint8(b)
        out.append(byte)
    return out


def counted_indicators(arrays: dict) -> tuple[list, dict]:
    """The boolean arrays of ``arrays`` (key -> array) to count, and the index among them
    of each key's counts: every array true for everyone is counted once, as is every
    array false for everyone (issue 19: a fit-note cohort's 35 indicators include 8 true
    for everyone, e.g. followed 13 and 26 weeks, so 28 fill 5 packed bytes, not 6).
    Counts are whole numbers: an array's counts are those of any array equal to it."""
    counted: list[np.ndarray] = []
    counted_as: dict = {}
    constant: dict[bool, int] = {}  # True / False: the first array all of that value
    for key, a in arrays.items():
        if a.dtype != bool:
            continue
        value = True if a.all() else (False if not a.any() else None)
        if value is not None and value in constant:
            counted_as[key] = constant[value]
            continue
        if value is not None:
            constant[value] = len(counted)
        counted_as[key] = len(counted)
        counted.append(a)
    return counted, counted_as


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
        out[i * BITS:i * BITS + width] = bit_counts(counts, width).T
    return out


def _bit_table(bits: int) -> np.ndarray:
    """``[2^bits, bits]``: whether pattern p has bit b set."""
    return (np.arange(1 << bits)[:, None] >> np.arange(bits)) & 1


def bit_counts(counts: np.ndarray, width: int) -> np.ndarray:
    """``[rows, width]``: from ``counts[rows, 2^bits]`` (people per bit pattern), the people
    with each of the low ``width`` bits set. The patterns are summed over each half of the
    bits first (two passes over ``counts``, then products with 2^(bits/2)-row tables, not
    one 2^bits-row product: issue 19); whole numbers, so the same counts as in any order."""
    bits = counts.shape[1].bit_length() - 1
    low_bits = bits // 2
    halves = counts.reshape(len(counts), 1 << (bits - low_bits), 1 << low_bits)
    low = halves.sum(axis=1) @ _bit_table(low_bits)  # [row, high half, low half]
    if width <= low_bits:
        return low[:, :width]
    high = halves.sum(axis=2) @ _bit_table(bits - low_bits)
    return np.concatenate([low, high[:, :width - low_bits]], axis=1)


def joint_groups(sizes: list[int], n_rep: int, people: int,
                 bits: int = JOINT_BITS) -> list[list[int]]:
    """The dimensions (indices into ``sizes``, their group counts) in runs whose joint
    cells, times the replicates and the 2^bits patterns, stay under a quarter of the
    people (at least 2^12): one ``np.bincount`` per run and packed byte counts every
    dimension of the run at once (:func:`dimension_counts`). Larger runs cost more in
    summing their cells than they save in passes over the people (measured, issue 19)."""
    budget = max(people // 4, 1 << 12)
    # first fit, largest dimension first (issue 19: taken in table order, the summary's
    # 12 dimensions made 5 runs at 10 x 10,000 people; packed this way, 4, so one pass in
    # 5 fewer per packed byte). Each run's dimensions stay in table order; the counts are
    # whole numbers (or exact sums), the same whatever the runs.
    groups: list[list[int]] = []
    joints: list[int] = []
    for d in sorted(range(len(sizes)), key=lambda d: -sizes[d]):  # stable: ties in order
        k = sizes[d]
        for g, joint in enumerate(joints):
            if (max(n_rep, 1) * joint * k) << bits <= budget:
                groups[g].append(d)
                joints[g] = joint * k
                break
        else:
            groups.append([d])
            joints.append(k)
    return sorted(sorted(g) for g in groups)


def dimension_counts(replicate: np.ndarray, n_rep: int, codes: list[np.ndarray],
                     sizes: list[int], packed: list[np.ndarray], n_indicators: int,
                     bits: int = JOINT_BITS) -> list[np.ndarray]:
    """For each dimension ``d`` (per-person group ``codes[d]`` in ``0..sizes[d]-1``), the
    counts ``[n_indicators, n_rep * sizes[d]]`` (float64, indexed ``replicate *
    sizes[d] + code``) of each indicator packed ``bits`` to a byte (:func:`pack`): the
    same values as one weighted ``np.bincount`` per indicator and dimension.

    Several dimensions are counted in one pass (:func:`joint_groups`): each person's
    joint cell (replicate and the codes of a run of dimensions) and bit pattern are
    counted with one ``np.bincount``, and each dimension's counts are the sums over the
    other dimensions of the run (issue 19: 12 passes over the people per packed byte
    became 2-5). Counts are whole numbers, so the sums are exact in any order."""
    out = [np.empty((n_indicators, n_rep * k)) for k in sizes]
    for group in joint_groups(sizes, n_rep, len(replicate), bits):
        shape, key = _joint_key(replicate, n_rep, codes, sizes, group)
        key <<= bits
        cell = np.empty_like(key)
        for i, byte in enumerate(packed):
            width = min(bits, n_indicators - i * bits)
            np.bitwise_or(key, byte, out=cell)
            counts = np.bincount(cell, minlength=int(np.prod(shape)) << bits)
            found = bit_counts(counts.reshape(-1, 1 << bits), width).reshape(*shape, width)
            for j, d in enumerate(group):
                other = tuple(a for a in range(1, len(shape)) if a != j + 1)
                part = found.sum(axis=other) if other else found
                out[d][i * bits:i * bits + width] = part.reshape(-1, width).T
    return out


def _joint_key(replicate, n_rep: int, codes, sizes, group):
    """The shape ``(n_rep, sizes of group's dimensions)`` and each person's joint cell in
    it (int64, row-major: replicate, then the codes of ``group`` in order)."""
    shape = (n_rep, *(sizes[d] for d in group))
    key = replicate.astype(np.int64)
    for d in group:
        key *= sizes[d]
        key += codes[d]
    return shape, key


def value_counts(replicate: np.ndarray, n_rep: int, codes: list[np.ndarray],
                 sizes: list[int], values: np.ndarray, n_values: int) -> list[np.ndarray]:
    """For each dimension ``d``, the people per (replicate, group, value): int64
    ``[n_rep * sizes[d], n_values]`` (row ``replicate * sizes[d] + code``), for
    per-person ``values`` in ``0..n_values-1``. A run of dimensions is counted in one
    bincount of joint cells (:func:`joint_groups`) and each dimension's counts are sums
    over the others: whole numbers, the same as one bincount per dimension."""
    bits = max(1, (n_values - 1).bit_length())
    out: list[np.ndarray] = [np.zeros((0, n_values), dtype=np.int64)] * len(sizes)
    for group in joint_groups(sizes, n_rep, len(replicate), bits):
        shape, key = _joint_key(replicate, n_rep, codes, sizes, group)
        key *= n_values
        key += values
        counts = np.bincount(key, minlength=int(np.prod(shape)) * n_values)
        counts = counts.reshape(*shape, n_values)
        for j, d in enumerate(group):
            other = tuple(a for a in range(1, len(shape)) if a != j + 1)
            out[d] = (counts.sum(axis=other) if other else counts).reshape(-1, n_values)
    return out


def exact_sums(values: np.ndarray, bits: int = 20) -> bool:
    """Whether every sum of ``values`` (and of them with as much again) is exact in
    float64, whatever the order: all are whole multiples of 2^-bits and their absolute
    total stays under 2^52 of those (whole weeks, or weeks x 0.5, are)."""
    head = values[:256] * float(1 << bits)  # most arrays that are not fail here, cheaply
    if not np.all(head == np.floor(head)):
        return False
    scaled = values * float(1 << bits)
    return bool(np.all(scaled == np.floor(scaled)) and np.abs(scaled).sum() < float(1 << 52))


def joint_sums(replicate: np.ndarray, n_rep: int, codes: list[np.ndarray],
               sizes: list[int], arrays: list[np.ndarray]) -> list[list[np.ndarray]]:
    """``out[d][i]``: the sums of ``arrays[i]`` per cell of dimension ``d`` (float64,
    ``n_rep * sizes[d]``), for arrays whose sums are exact in any order
    (:func:`exact_sums`): a run of dimensions summed in one joint bincount, each
    dimension's sums added up from it (:func:`joint_groups`), the same as one bincount
    per dimension to the bit."""
    out: list[list] = [[None] * len(arrays) for _ in sizes]
    if not arrays:
        return out
    for group in joint_groups(sizes, n_rep, len(replicate), 0):
        shape = (n_rep, *(sizes[d] for d in group))
        key = replicate.astype(np.int64)
        for d in group:
            key *= sizes[d]
            key += codes[d]
        for i, values in enumerate(arrays):
            sums = np.bincount(key, weights=values, minlength=int(np.prod(shape)))
            sums = sums.reshape(shape)
            for j, d in enumerate(group):
                other = tuple(a for a in range(1, len(shape)) if a != j + 1)
                out[d][i] = (sums.sum(axis=other) if other else sums).reshape(-1)
    return out


def nonzero_weights(values: np.ndarray, dense: float = 2 / 3):
    """``(index, values[index])``: the people whose value is not zero, when they are under
    ``dense`` of them; ``(None, values)`` otherwise. Leaving zeros out of a bincount
    changes no sum to the bit: a running sum starts at +0.0 and adding +0.0 or -0.0 to it
    leaves it as it was (:class:`OrderedSums`)."""
    if np.count_nonzero(values) >= dense * values.size:
        return None, values
    index = np.flatnonzero(values)
    return index, values[index]


class OrderedSums:
    """Per-cell sums of fractional per-person arrays (``arrays``: key -> values), one
    dimension's cells at a time, in person order: ``np.bincount(cell, weights=values,
    minlength=cells)``, or with ``running`` carried on from earlier ``totals`` (a table
    summed a chunk of people at a time) as :func:`add_in_order` adds them, to the bit.

    Only the people whose value is not 0 are added when they are under two thirds
    (:func:`nonzero_weights`: issue 19, the quality table's QALYs lost while inactive are
    0 for most people). For running sums each array's values sit at the end of a buffer
    with room for the totals before them, and a dimension's cells at the end of another:
    one bincount per array and dimension, not two concatenations (issue 19: ~1 s of the
    quality table at 1M people). ``max_cells``: the most cells of any dimension."""

    def __init__(self, arrays: dict, max_cells: int, running: bool):
        self.max_cells, self.running = max_cells, running
        self._weights = {}
        people = 0
        for key, array in arrays.items():
            index, values = nonzero_weights(array)
            people = len(array)
            keys = None
            if running:
                buffer = np.empty(max_cells + len(values))
                buffer[max_cells:] = values
                values = buffer
                if index is not None:
                    keys = np.empty(max_cells + len(index), dtype=np.int64)
            self._weights[key] = (index, values, keys)
        self._keys = np.empty(max_cells + people, dtype=np.int64) if running else None
        self._cell = None  # the cells now at the end of self._keys

    def sums(self, key, cell: np.ndarray, cells: int,
             totals: np.ndarray | None = None) -> np.ndarray:
        """Array ``key``'s sums in bins ``0..cells-1`` of the per-person ``cell`` (int64),
        added onto ``totals`` (when ``running``)."""
        index, values, keys = self._weights[key]
        if not self.running:
            return np.bincount(cell if index is None else cell[index], weights=values,
                               minlength=cells)
        top = self.max_cells
        if index is None:
            keys = self._keys
            if self._cell is not cell:
                keys[top:] = cell
                self._cell = cell
        else:
            np.take(cell, index, out=keys[top:])
        keys[top - cells:top] = np.arange(cells)
        values[top - cells:top] = totals
        return np.bincount(keys[top - cells:], weights=values[top - cells:], minlength=cells)


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
