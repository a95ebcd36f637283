"""Work in a thread beside the calling one, its error raised where its result is asked for.

The two places a run overlaps work with threads use it: :func:`sim.simulate.simulate`'s
economics table beside the other tables (``overlap``), and
:class:`sim.results.output.ResultsWriter`'s ``agents.parquet`` beside the tables, a row
group at a time as the economics completes its people's costs (:class:`Rows`; numpy and
pyarrow release the GIL for most of both). Used as a context manager, the thread has
always ended when the block is left, also when the block failed, so it never reads what
the caller goes on to change or free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Background:
    """``fn(*args)`` in a thread (``start``), or in the calling thread when its
    :meth:`result` is asked for (not ``start``). Used as a context manager around the work
    done meanwhile, so that the thread has ended (its error, if any, re-raised by
    :meth:`result`) before anything it reads may change, even when that work fails."""

    def __init__(self, fn: Callable, *args, start: bool = True):
        self._fn, self._args = fn, args
        self._thread = self._value = self._error = None
        if start:
            self._thread = threading.Thread(target=self._run, name=fn.__name__, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn(*self._args)
        except BaseException as err:  # noqa: BLE001 - re-raised by result()
            self._error = err

    def result(self):
        if self._thread is None:
            return self._fn(*self._args)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def join(self) -> None:
        """Wait for the thread to end (its error, if any, is left for :meth:`result`)."""
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc) -> None:
        self.join()


class Abandoned(RuntimeError):
    """The rows a :class:`Rows` waiter asked for will never be complete (their producer
    failed)."""


class Rows:
    """How many leading rows of columns being filled are complete, for a thread that
    reads them as they are (``agents.parquet``'s row groups, written while the economics
    costs its people a chunk at a time: :func:`sim.simulate.simulate`). The producer
    calls :meth:`advance` as rows complete, and :meth:`abandon` if it stops short; a
    reader's :meth:`wait` returns once its rows are complete, or raises
    :class:`Abandoned`, so it never waits for ever."""

    def __init__(self, total: int):
        self.total = int(total)
        self._done = 0
        self._abandoned = False
        self._changed = threading.Condition()

    def advance(self, done: int) -> None:
        """The first ``done`` rows are complete."""
        with self._changed:
            self._done = max(self._done, int(done))
            self._changed.notify_all()

    def abandon(self) -> None:
        """No more rows will complete (the producer failed or was stopped)."""
        with self._changed:
            self._abandoned = True
            self._changed.notify_all()

    def wait(self, rows: int) -> None:
        """Return once the first ``rows`` rows are complete; :class:`Abandoned` if they
        never will be."""
        with self._changed:
            self._changed.wait_for(lambda: self._done >= rows or self._abandoned)
            if self._done < rows:
                raise Abandoned(f"rows {self._done}-{rows} were never completed")
