"""A sweep cell's tables, handed by its job to the sweep's parent process (issue 19).

The aggregate (:func:`sim.compare.sweep.aggregate`) and the sweep's index page each read
every complete cell's ``group_summary.parquet``, ``economics.parquet`` and ``manifest.json``:
about 2.3 ms of CPU per table to read and convert, in the parent and again in the report's
worker (~1.2 CPU-s in the 100-cell benchmark). A job of the project's joblib launcher
(:func:`sim.cli.launchers.execute_job_cached`) has these frames in memory when its cell is
written: it sends them back with its ``JobReturn`` (pickled, ~0.9 ms; unpickled ~0.35 ms),
the parent keeps them (:func:`receive`) for the aggregate (:func:`take`) and passes them on
to the report's worker. They are the frames the job wrote to the files, equal to what
reading them gives (``tests/test_sweep_tables.py``); the aggregate and the report are the
same bytes either way. A cell whose tables did not come back (another launcher, a cell of
an earlier launch of a resumed sweep, a failed cell, tables over the budget) is read from
its files as before.

While the other jobs run, the parent also takes each kept cell's measures for the aggregate
(:func:`sim.compare.sweep_compare.cell_measures`, ~4.5 ms a cell; :func:`measures`), when
the sweep will be aggregated (:func:`clear`'s ``measure``): that was the largest part of the
aggregate, which runs after the last cell while a core waits. A cell whose measures fail
here is measured again by the aggregate, which then says what is wrong.

Memory: :data:`BUDGET` bytes of tables and measures at most, in the parent at any time. The
launcher gives each job an equal share of it (:func:`allowance`); a job whose tables are
larger sends none, and the parent keeps no more than the budget in all (:func:`receive`;
a cell's measures are ~16% of its tables' bytes). A job sends its tables pickled
(:func:`collect`); the parent keeps the frames and those bytes, counted in the budget
(~2 MB a 10 x 10,000 cell), and hands the bytes on to the index page's worker as they are
(:func:`preloaded`, :func:`unpickled`): pickling the frames again there cost the parent
~0.15-0.3 CPU-s after the last cell, and held up the page's worker by ~0.4 s.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

BUDGET = 256 * 2**20  # bytes of tables, their pickled copies and measures the parent keeps
# (an engineering bound, not a model parameter: ~2.2 MB for a 10 x 10,000 cell)

# In a job's process: the tables of the cell it has just written (one entry at most)
_OUTBOX: list = []
# In the parent: resolved results folder -> (manifest, group_summary, economics or None,
# the three pickled as the job sent them, bytes held)
_INBOX: dict = {}
_HELD: list = [0]  # bytes in _INBOX and _MEASURES
# In the parent: resolved results folder -> (the cell's measures, bytes); the memo the
# measures share (sim.compare.sweep_compare._ranked); whether to take them (clear)
_MEASURES: dict = {}
_MEMO: dict = {}
_MEASURE: list = [False]


def clear_outbox() -> None:
    """Forget the tables of an earlier cell (a job starts)."""
    _OUTBOX.clear()


def post(results_dir: Path, summary, economics, economics_written: bool) -> None:
    """Keep the tables of the cell just written to ``results_dir`` (its ``run_cell``), for
    :func:`collect`; the manifest is read back as written (as the parent would read it).
    ``economics_written``: False if the cell wrote no economics table (then None)."""
    results_dir = Path(results_dir)
    manifest = json.loads((results_dir / "manifest.json").read_text())
    _OUTBOX[:] = [(str(results_dir.resolve()), manifest, summary,
                   economics if economics_written else None)]


def _size(summary, economics) -> int:
    """The frames' bytes as pandas counts them without looking into each value (~0.1 ms;
    the deep count took ~2 ms a cell). Arrow-backed text columns, as these tables have,
    count in full; an object column would count 8 bytes a value."""
    return int(summary.memory_usage(index=False).sum()) + (
        0 if economics is None else int(economics.memory_usage(index=False).sum()))


def collect(allowance: int | None):
    """``(key, pickled tables, size)`` of the tables :func:`post` kept (emptying the
    outbox), or None: nothing was posted, no ``allowance`` was given, or they take more than
    ``allowance`` bytes. The size counts the frames and their pickled bytes, both of which
    the parent keeps: the bytes go on to the index page's worker as they are (the parent
    pickled the frames again for it, ~0.15-0.3 CPU-s after the last cell, issue 19)."""
    items = list(_OUTBOX)
    _OUTBOX.clear()
    if allowance is None or not items:
        return None
    key, manifest, summary, economics = items[0]
    size = _size(summary, economics)
    if 2 * size > allowance:  # the bytes are about the frames' size: not worth pickling
        return None
    blob = pickle.dumps((manifest, summary, economics), protocol=pickle.HIGHEST_PROTOCOL)
    size += len(blob)
    return None if size > allowance else (key, blob, size)


def allowance(n_jobs: int) -> int:
    """Each job's share of :data:`BUDGET` in a launch of ``n_jobs`` jobs."""
    return BUDGET // max(int(n_jobs), 1)


def receive(item) -> None:
    """Keep a job's tables (from :func:`collect`) in the parent, within :data:`BUDGET`."""
    if item is None:
        return
    key, blob, size = item
    take(key)  # an earlier copy of the same cell's tables, and its measures
    measures(key)
    if _HELD[0] + size <= BUDGET:
        # unpickling is safe: the bytes were pickled by this sweep's own job (as the
        # JobReturn around them, which joblib unpickles)
        tables = pickle.loads(blob)
        _INBOX[key] = (*tables, blob, size)
        _HELD[0] += size
        if _MEASURE[0]:
            _measure(key, *tables)


def _measure(key: str, manifest, summary, economics) -> None:
    """Keep the measures of a cell whose tables the parent keeps, within the budget."""
    from sim.compare.sweep_compare import cell_measures

    try:
        frame = cell_measures(Path(key), summary, economics, manifest, memo=_MEMO)
    except Exception:  # noqa: BLE001 - the aggregate measures it again and reports it
        return
    size = int(frame.memory_usage(index=False).sum())
    if _HELD[0] + size <= BUDGET:
        _MEASURES[key] = (frame, size)
        _HELD[0] += size


def measures(results_dir: Path | str):
    """The measures the parent took of ``results_dir``'s cell as its tables came (removed
    from its keep), or None: the aggregate measures it."""
    item = _MEASURES.pop(str(Path(results_dir).resolve()), None)
    if item is None:
        return None
    _HELD[0] -= item[1]
    return item[0]


def measure_memo() -> dict:
    """The memo the parent's measures share, for the aggregate's (a cache: the same values
    with or without it)."""
    return _MEMO


def take(results_dir: Path | str):
    """``(manifest, group_summary, economics)`` a job sent for ``results_dir`` (removed from
    the parent's keep), or None: read the files."""
    item = _INBOX.pop(str(Path(results_dir).resolve()), None)
    if item is None:
        return None
    _HELD[0] -= item[4]
    return item[:3]


def cell_tables(results_dir: Path) -> tuple[bool, tuple]:
    """(sent, (manifest, group_summary, economics)) of a complete cell: the tables its job
    sent (``sent`` True), else read from its files (economics and the manifest None if the
    cell wrote no economics table: nothing needs the manifest then)."""
    from sim.results.parquet import read_parquet

    results_dir = Path(results_dir)
    item = take(results_dir)
    if item is not None:
        return True, item
    summary = read_parquet(results_dir / "group_summary.parquet")
    if not (results_dir / "economics.parquet").is_file():
        return False, (None, summary, None)
    return False, (json.loads((results_dir / "manifest.json").read_text()), summary,
                   read_parquet(results_dir / "economics.parquet"))


def preloaded(paths) -> dict:
    """``{resolved results dir: pickled (manifest, group_summary, economics)}`` of the cells
    among ``paths`` whose jobs sent their tables (kept in place), for the report's worker
    (:func:`unpickled`, then :func:`sim.compare.report_cells.load_cells`; it reads the
    others): the bytes the jobs sent, handed on without pickling the frames again."""
    out = {}
    for p in paths:
        item = _INBOX.get(str(Path(p).resolve()))
        if item is not None and item[2] is not None:
            out[Path(p).resolve()] = item[3]
    return out


def unpickled(preloaded: dict | None) -> dict | None:
    """:func:`preloaded`'s tables as frames (in the report's worker). Unpickling is safe:
    the bytes come from the sweep's own jobs through its parent."""
    if not preloaded:
        return preloaded
    return {path: pickle.loads(blob) if isinstance(blob, bytes) else blob
            for path, blob in preloaded.items()}


def clear(measure: bool = False) -> None:
    """Forget every job's tables and measures (a multirun starts; an aggregate is done);
    ``measure``: take the measures of the tables received from now on (the sweep will be
    aggregated)."""
    _INBOX.clear()
    _MEASURES.clear()
    _MEMO.clear()
    _HELD[0] = 0
    _MEASURE[0] = bool(measure)
