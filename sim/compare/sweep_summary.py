"""A sweep's ``aggregate/summary.parquet``: every complete cell's group summary joined, with
the cell's name and factor columns in front (:func:`with_factors`), in order without sorting
a million rows (:func:`sorted_frames`; issue 19).

The aggregate (:func:`sim.compare.sweep.aggregate`) sorted the joined table by cell,
replicate, dimension, group and metric (a stable sort): ~0.2-0.45 CPU-s for the 100-cell
benchmark's 1.1 million rows, while the second core waited. Each cell's rows are one block
of that order (the cells' names are unique), and the cells of a sweep mostly share one
layout: the same replicates, dimensions, groups and metrics in the same rows, with other
values. :func:`sorted_frames` puts the cells in order of name and each cell's rows in the
order the stable sort gives them, computing that order once per layout (each cell's key
columns are compared with the layouts seen, ~0.1 ms a cell). Joined, the frames are the
sorted table (``tests/test_sweep_summary.py``).
"""

from __future__ import annotations

import numpy as np

from sim.compare.sweep import _scalar_text

KEYS = ["replicate", "dimension", "group", "metric"]  # the sort's keys within a cell


def _key_columns(frame) -> list | None:
    """The frame's key columns to compare layouts by: the replicates as numpy, the text
    columns as their Arrow data (no copy); None if a text column is not pandas' Arrow
    strings (then the frame is sorted on its own)."""
    import pandas as pd
    import pyarrow as pa

    out = [frame["replicate"].to_numpy()]
    for name in KEYS[1:]:
        column = frame[name]
        if not (isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow"):
            return None
        out.append(pa.array(column.array))
    return out


def _same(a: list, b: list) -> bool:
    return (len(a[0]) == len(b[0]) and a[0].dtype == b[0].dtype
            and np.array_equal(a[0], b[0])
            and all(x.type == y.type and x.equals(y) for x, y in zip(a[1:], b[1:], strict=True)))


def _order(frame) -> np.ndarray:
    """Positions of the frame's rows in the stable order of :data:`KEYS` (what
    ``sort_values(kind="mergesort")`` gives, ties in their original order)."""
    frame = frame.reset_index(drop=True)
    return frame.sort_values(KEYS, kind="mergesort").index.to_numpy()


def _taken(col, perm: np.ndarray):
    """A column's values at positions ``perm``, in the column's own dtype."""
    if isinstance(col.dtype, np.dtype):
        return col.to_numpy()[perm]
    return col.array.take(perm)


def sorted_frames(frames: list, cells: list[dict]) -> tuple[list, list[dict]]:
    """``(frames, cells)`` in order of the cells' names (``cell["key"]``, unique), each
    frame's rows in the stable order of :data:`KEYS`: joined in this order, they are the
    joined frames sorted by name and keys (stable). A cell whose key columns equal an
    earlier cell's takes that cell's order; the value columns are taken by it, and the key
    columns are the earlier cell's, already in order."""
    import pandas as pd

    layouts: list = []  # (key columns, order, the key columns in order)
    order = sorted(range(len(cells)), key=lambda i: cells[i]["key"])
    out = []
    for i in order:
        frame = frames[i]
        keys = _key_columns(frame) if set(KEYS) <= set(frame.columns) else None
        if keys is None:  # not the usual columns: sorted on its own
            if set(KEYS) <= set(frame.columns):
                frame = frame.take(_order(frame))
            out.append(frame.reset_index(drop=True))
            continue
        hit = next((layout for layout in layouts if _same(layout[0], keys)), None)
        if hit is None:
            perm = _order(frame)
            hit = (keys, perm, frame[KEYS].take(perm).reset_index(drop=True))
            layouts.append(hit)
        _, perm, ordered_keys = hit
        data = {name: (ordered_keys[name] if name in KEYS else _taken(frame[name], perm))
                for name in frame.columns}
        out.append(pd.DataFrame(data, copy=False))
    return out, [cells[i] for i in order]


def column(values: list) -> list:
    """One factor column: numbers stay numbers if every value is a number, else text."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return values
    return ["" if v is None else _scalar_text(v) for v in values]


def with_factors(frames: list, cells: list[dict], factors: list[str],
                  key: str | None = None):
    """The cells' frames one after another, each row with its cell's ``key`` column (its
    name) and factor columns in front: the columns each frame would get from inserting its
    cell's values (a text column, or numbers if every cell's value is a number), inserted
    once into the joined frame (one insert per cell and factor was ~15% of the
    aggregation's CPU in the 100-cell benchmark, issue 19)."""
    import pandas as pd

    joined = pd.concat(frames, ignore_index=True)
    sizes = [len(f) for f in frames]
    columns = ([(key, [c["key"] for c in cells])] if key else []) + [
        (name, column([c["factors"].get(name) for c in cells])) for name in factors]
    for pos, (name, values) in enumerate(columns):
        joined.insert(pos, name, repeated(values, sizes))
    return joined


def repeated(values: list, sizes: list[int]):
    """``pd.Series(values).repeat(sizes)`` with a fresh index: each value ``sizes[i]``
    times. Text (pandas' Arrow strings) is laid out directly as Arrow's offsets and bytes:
    pandas repeats it by an Arrow ``take`` of a million indices, ~65 ms a column in the
    100-cell benchmark's aggregate (the cell's name and each text factor, after the last
    cell, issue 19), against ~10 ms."""
    import pandas as pd
    import pyarrow as pa

    series = pd.Series(values)
    dtype = series.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
            and not series.isna().any()
            and pa.array(series.array).type == pa.large_string()):
        return series.repeat(sizes).reset_index(drop=True)
    encoded = [str(v).encode() for v in values]
    counts = np.asarray(sizes, dtype=np.int64)
    lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
    offsets = np.zeros(int(counts.sum()) + 1, dtype=np.int64)
    np.cumsum(np.repeat(lengths, counts), out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    start = 0
    for text, n, size in zip(encoded, counts.tolist(), lengths.tolist(), strict=True):
        if n and size:  # the value's bytes, n times over
            data[start:start + n * size].reshape(n, size)[:] = np.frombuffer(text, np.uint8)
        start += n * size
    array = pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets),
                                             pa.py_buffer(data))
    return pd.Series(pd.array(array, dtype=dtype))
