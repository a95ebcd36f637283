"""Writing a results table as parquet: what ``DataFrame.to_parquet(path, index=False)``
writes, with the conversion to Arrow on the calling thread and no dictionary for floating
point columns; and reading one back (:func:`read_parquet`) on the calling thread.

pandas hands a frame to ``pyarrow.Table.from_pandas``, which converts the columns of any
table over 100 rows a column on a new pool of one thread per core, started and joined for
every file; and pandas writes through a Python file object. A sweep cell writes five small
tables, so that pool was most of the cost of writing them (issue 19). The Arrow table, its
schema and pandas metadata are the same either way. Parquet's writer also builds a
dictionary of every column's values by default, and gives it up for a column whose values
hardly repeat: the floating point columns here (values, costs, CIs). Their dictionaries were
about 40% of the writing (~4 ms of a sweep cell's ~10 ms) and made the files larger; they
are written plain, every other column (text, counts, weeks) still with its dictionary. Nor
does it write each column's min/max statistics, which serve readers that skip row groups
of large files by a filter (these tables are a few thousand rows, one row group, and read
whole): another ~2.5 ms of a cell's writing. The frame read back is the same
(``tests/test_parquet.py``): a frame's ``attrs`` are kept as pandas keeps them
(``PANDAS_ATTRS``); frames with column names that are not text go through pandas itself.

The per-person table (``agents.parquet``, a million rows and more) is written in row groups
with statistics, and without a dictionary for its identifier either (:func:`write_parquet`'s
``row_group_size``, ``statistics`` and ``plain``; :func:`sim.results.output._write_agents`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from pathlib import Path

import pandas as pd


def write_parquet(df: pd.DataFrame, path: Path | str, row_group_size: int | None = None,
                  statistics: bool = False, memory_pool=None,
                  plain: Collection[str] = ()) -> None:
    """``df.to_parquet(path, index=False)`` (snappy), converted on this thread, floating
    point columns without a dictionary, no column statistics (module docstring).

    For a large table (``agents.parquet``): ``row_group_size`` rows a row group (pyarrow's
    default: 1,048,576), each column's min/max ``statistics`` a row group (readers skip
    row groups by a filter), pyarrow's ``memory_pool`` for the encoding, and the columns
    ``plain`` (values that never repeat, such as an identifier) without a dictionary
    either: the writer's table of a row group's distinct values was ~30 MB of its
    transient memory for ``person_id`` alone at 1M people (issue 19)."""
    import pyarrow.parquet as pq

    extra = {key: value for key, value in (("row_group_size", row_group_size),
                                           ("memory_pool", memory_pool)) if value is not None}
    if not all(isinstance(c, str) for c in df.columns):
        df.to_parquet(path, index=False, **extra)  # pandas' own file (with statistics)
        return
    table = _arrow(df)
    pq.write_table(table, str(path), **_options(table.schema, statistics, plain), **extra)


def write_parquet_parts(parts: Iterable[pd.DataFrame], path: Path | str, row_group_size: int,
                        statistics: bool = False, memory_pool=None,
                        plain: Collection[str] = ()) -> None:
    """:func:`write_parquet` of the frame the ``parts`` make one after another, each part
    a row group of at most ``row_group_size`` rows, converted and written as it comes: a
    part may wait for its rows to be computed (``agents.parquet``'s cost columns, filled a
    chunk of people at a time beside the writing). When every part but the last has
    ``row_group_size`` rows the file is :func:`write_parquet`'s with that
    ``row_group_size``, byte for byte (``tests/test_parquet.py``); the columns must be
    named by text."""
    import pyarrow.parquet as pq

    writer = None
    try:
        for part in parts:
            table = _arrow(part)
            if writer is None:
                writer = pq.ParquetWriter(str(path), table.schema,
                                          **_options(table.schema, statistics, plain),
                                          **({} if memory_pool is None
                                             else {"memory_pool": memory_pool}))
            writer.write_table(table, row_group_size=row_group_size)
    finally:
        if writer is not None:
            writer.close()


def _arrow(df: pd.DataFrame):
    """``df`` as an Arrow table, converted on this thread, its ``attrs`` kept as pandas
    keeps them (pandas.io.parquet), for ``pd.read_parquet`` to restore."""
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False, nthreads=1)
    if df.attrs:
        table = table.replace_schema_metadata(
            {**table.schema.metadata, "PANDAS_ATTRS": json.dumps(df.attrs)})
    return table


def _options(schema, statistics: bool, plain: Collection[str]) -> dict:
    """The writer's settings (module docstring): snappy; a dictionary for every column but
    the floating point ones and ``plain``; min/max ``statistics`` or none."""
    import pyarrow as pa

    return {"compression": "snappy", "write_statistics": statistics,
            "use_dictionary": [f.name for f in schema if not pa.types.is_floating(f.type)
                               and f.name not in plain]}


def read_parquet(path: Path | str) -> pd.DataFrame:
    """``pd.read_parquet(path)``, the same frame, read and converted on this thread.

    A sweep's aggregate and its report read two small tables of every cell; pyarrow hands
    each file's columns to its thread pool by default, and for tables of a few thousand
    rows that hand-over cost about a third of the read (~3.5 -> 2.3-3.2 ms CPU a file,
    issue 19). ``tests/test_parquet.py`` checks the frames are equal."""
    return pd.read_parquet(path, use_threads=False, to_pandas_kwargs={"use_threads": False})
