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

Memory: :data:`BUDGET` bytes of tables at most, in the parent at any time. The launcher
gives each job an equal share of it (:func:`allowance`); a job whose tables are larger
sends none, and the parent keeps no more than the budget in all (:func:`receive`). While
the parent hands them to the index page's worker, their pickled copy is held once more
(~100 MB for the 100-cell benchmark's cells, at most the budget again).
"""

from __future__ import annotations

import json
from pathlib import Path

BUDGET = 256 * 2**20  # bytes of tables the parent keeps (an engineering bound, not a model
# parameter: a 10 x 10,000 cell's tables are ~1 MB)

# In a job's process: the tables of the cell it has just written (one entry at most)
_OUTBOX: list = []
# In the parent: resolved results folder -> (manifest, group_summary, economics or None,
# bytes)
_INBOX: dict = {}
_HELD: list = [0]  # bytes in _INBOX


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
    """The tables :func:`post` kept, with their size (emptying the outbox), or None: nothing
    was posted, no ``allowance`` was given, or they take more than ``allowance`` bytes."""
    items = list(_OUTBOX)
    _OUTBOX.clear()
    if allowance is None or not items:
        return None
    key, manifest, summary, economics = items[0]
    size = _size(summary, economics)
    return None if size > allowance else (key, manifest, summary, economics, size)


def allowance(n_jobs: int) -> int:
    """Each job's share of :data:`BUDGET` in a launch of ``n_jobs`` jobs."""
    return BUDGET // max(int(n_jobs), 1)


def receive(item) -> None:
    """Keep a job's tables (from :func:`collect`) in the parent, within :data:`BUDGET`."""
    if item is None:
        return
    key, *tables, size = item
    take(key)  # an earlier copy of the same cell's tables
    if _HELD[0] + size <= BUDGET:
        _INBOX[key] = (*tables, size)
        _HELD[0] += size


def take(results_dir: Path | str):
    """``(manifest, group_summary, economics)`` a job sent for ``results_dir`` (removed from
    the parent's keep), or None: read the files."""
    item = _INBOX.pop(str(Path(results_dir).resolve()), None)
    if item is None:
        return None
    _HELD[0] -= item[3]
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
    """``{resolved results dir: (manifest, group_summary, economics)}`` of the cells among
    ``paths`` whose jobs sent their tables (kept in place), for the report's worker
    (:func:`sim.compare.report_cells.load_cells`; it reads the others)."""
    out = {}
    for p in paths:
        item = _INBOX.get(str(Path(p).resolve()))
        if item is not None and item[2] is not None:
            out[Path(p).resolve()] = item[:3]
    return out


def clear() -> None:
    """Forget every job's tables (a multirun starts; an aggregate is done)."""
    _INBOX.clear()
    _HELD[0] = 0
