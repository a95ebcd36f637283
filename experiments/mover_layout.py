"""Feasibility of the weekly loop's remaining route (issue 19): a mover's field updates in
numpy over person columns (the engine's layout today), compiled over the same columns, and
compiled over a person-major layout (a person's fields in two 64-byte rows).

The loop's moves and scheduling cost ~500 ns a mover (``make bench``'s ``movers:`` line),
spread over ~40 numpy passes that each read or write one million-long column at the movers.
This script times a synthetic mover of the same shape (6 int32 and 6 float64 fields read,
10 int32 and 4 float64 written, 1M people, the movers a sorted random sample) three ways.
It is a measurement, not the engine: numba is not a dependency of the project. Run it with
numba importable, e.g.::

    .venv/bin/python -m pip install --target /tmp/nb numba   # then drop /tmp/nb/numpy*
    PYTHONPATH=/tmp/nb .venv/bin/python experiments/mover_layout.py

Session 26's figures are in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import sys
import time

import numpy as np

N = 1_000_000  # people
N_INT, N_FLOAT = 16, 8  # fields a person: 64 bytes of int32, 64 bytes of float64
MOVERS = (12_000, 50_000, 400_000)  # a steady week at 1M; a cohort's early weeks; week 0
REPEATS = 8


def numpy_columns(ints, floats, idx, t):
    """The engine's way: one gather or scatter a field (person columns)."""
    a, b, c, d, e, f = (ints[k][idx] for k in range(6))
    x, y, z, w, v, u = (floats[k][idx] for k in range(6))
    weeks = t - b
    ints[6][idx] += weeks
    ints[0][idx] = (a + 1) % 7
    ints[1][idx] = t
    ints[7][idx] = np.where(c > 50, t, d)
    ints[8][idx] += 1
    ints[9][idx] = np.where(e < 0, t, e)
    ints[10][idx] = f + 1
    ints[11][idx] = t + 3
    ints[12][idx] = weeks
    ints[13][idx] = np.where(x * y > 0.25, 1, 0)
    floats[6][idx] = x * y + z
    floats[7][idx] = np.log1p(-np.minimum(w * v, 0.99)) + u
    floats[2][idx] = z * 0.5
    floats[3][idx] = w + u


def compiled(numba):
    """The same updates as one loop over the movers: over person columns, and over
    person-major rows."""

    @numba.njit
    def columns(idx, t, ints, floats):
        for k in range(idx.size):
            p = idx[k]
            a, b, c, d = ints[0][p], ints[1][p], ints[2][p], ints[3][p]
            e, f = ints[4][p], ints[5][p]
            x, y, z, w = floats[0][p], floats[1][p], floats[2][p], floats[3][p]
            v, u = floats[4][p], floats[5][p]
            weeks = t - b
            ints[6][p] += weeks
            ints[0][p] = (a + 1) % 7
            ints[1][p] = t
            ints[7][p] = t if c > 50 else d
            ints[8][p] += 1
            ints[9][p] = t if e < 0 else e
            ints[10][p] = f + 1
            ints[11][p] = t + 3
            ints[12][p] = weeks
            ints[13][p] = 1 if x * y > 0.25 else 0
            floats[6][p] = x * y + z
            floats[7][p] = np.log1p(-min(w * v, 0.99)) + u
            floats[2][p] = z * 0.5
            floats[3][p] = w + u

    @numba.njit
    def rows(idx, t, ints, floats):
        for k in range(idx.size):
            p = idx[k]
            a, b, c, d = ints[p, 0], ints[p, 1], ints[p, 2], ints[p, 3]
            e, f = ints[p, 4], ints[p, 5]
            x, y, z, w = floats[p, 0], floats[p, 1], floats[p, 2], floats[p, 3]
            v, u = floats[p, 4], floats[p, 5]
            weeks = t - b
            ints[p, 6] += weeks
            ints[p, 0] = (a + 1) % 7
            ints[p, 1] = t
            ints[p, 7] = t if c > 50 else d
            ints[p, 8] += 1
            ints[p, 9] = t if e < 0 else e
            ints[p, 10] = f + 1
            ints[p, 11] = t + 3
            ints[p, 12] = weeks
            ints[p, 13] = 1 if x * y > 0.25 else 0
            floats[p, 6] = x * y + z
            floats[p, 7] = np.log1p(-min(w * v, 0.99)) + u
            floats[p, 2] = z * 0.5
            floats[p, 3] = w + u

    return columns, rows


def best_of(run, samples) -> float:
    best = float("inf")
    for r in range(REPEATS):
        t = time.perf_counter()
        run(samples[r % len(samples)], r + 1)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    try:
        import numba
    except ImportError:
        print("error: numba is not installed (it is not a project dependency); see this "
              "script's docstring", file=sys.stderr)
        return 2
    rng = np.random.default_rng(1)
    ints = [rng.integers(0, 100, N).astype(np.int32) for _ in range(N_INT)]
    floats = [rng.random(N) for _ in range(N_FLOAT)]
    int_rows = np.ascontiguousarray(np.stack(ints, axis=1))  # [N, 16] int32: 64 bytes
    float_rows = np.ascontiguousarray(np.stack(floats, axis=1))  # [N, 8] float64: 64 bytes
    int_cols, float_cols = tuple(ints), tuple(floats)  # separate arrays, as the engine's
    columns, rows = compiled(numba)
    for movers in MOVERS:
        samples = [np.sort(rng.choice(N, movers, replace=False)) for _ in range(REPEATS)]
        columns(samples[0], 0, int_cols, float_cols)  # compiled before timing
        rows(samples[0], 0, int_rows, float_rows)
        ns = [best_of(run, samples) / movers * 1e9 for run in (
            lambda idx, t: numpy_columns(ints, floats, idx, t),
            lambda idx, t: columns(idx, t, int_cols, float_cols),
            lambda idx, t: rows(idx, t, int_rows, float_rows))]
        print(f"{movers:>7,} movers of {N:,}: numpy over person columns {ns[0]:.0f} ns a "
              f"mover; compiled, person columns {ns[1]:.0f}; compiled, person-major rows "
              f"{ns[2]:.0f} (min of {REPEATS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
