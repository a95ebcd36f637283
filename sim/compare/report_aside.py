"""A sweep's report (:func:`write_report`), and its index page written by a worker process
while the parent builds the aggregate tables (issue 19): :func:`sim.compare.sweep.aggregate`
starts a :class:`ReportJob` when :func:`worth_it` says so, builds its tables, then collects
the page. The two took about as long (~3 CPU-s each in the 100-cell benchmark) and ran one
after the other before.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from sim.compare.sweep import one_line, record_timing


def write_report(paths: list[Path], out_dir: Path, quiet: bool,
                 figures: bool = False, full: bool = False,
                 preloaded: dict | None = None, workers: int | None = None) -> Path | None:
    """The comparison report of every setting (:mod:`sim.compare.report_sweep`: one report per
    population / assumption setting and an index page naming them all)."""
    try:  # here, guarded: a report that cannot load must not lose the sweep's tables
        from sim.compare.report_sweep import write_sweep_report
    except (ImportError, AttributeError) as err:
        if not quiet:
            print(f"report: skipped (sim.compare.report_sweep not available: {one_line(err)})")
        return None
    try:
        path = write_sweep_report(paths, out_dir, quiet, workers=workers, figures=figures,
                                  full=full, preloaded=preloaded)
    except Exception as err:  # noqa: BLE001 - the tables above are already written
        print(f"report: failed: {one_line(err)}", file=sys.stderr)
        return None
    if not quiet:
        print(f"report: {path}")
    return path


def worth_it(complete: list[dict]) -> bool:
    """Whether a sweep's index page is worth a worker process of its own: when it has as many
    settings as :mod:`sim.compare.report_sweep` would write in parallel anyway (counted here
    from the cells' factors, other than the programme: a guess that decides only where the
    page is written, never what it holds)."""
    try:
        from sim.compare.report_sweep import PARALLEL_FROM
    except (ImportError, AttributeError):  # write_report says why there is no report
        return False
    settings = {json.dumps({k: v for k, v in c["factors"].items() if k != "programme"},
                           sort_keys=True, default=str) for c in complete}
    return len(settings) >= PARALLEL_FROM and (os.cpu_count() or 1) > 1


# report_in_worker's ``preloaded`` in a worker forked for the page (ReportJob): the tables
# the parent put in _HANDED just before the fork, inherited rather than sent through a pipe
INHERITED = "inherited"
_HANDED: dict = {}


def report_in_worker(paths: list[Path], out_dir: Path, quiet: bool, figures: bool,
                     preloaded: dict | None = None):
    """:func:`write_report` (the index page only) in a worker: its path, and what it printed
    to stdout and stderr (the parent prints them, after its own tables, in the order a
    report in the parent would have printed them). ``preloaded``: tables the parent has
    (:mod:`sim.compare.sweep_tables`, pickled), taken instead of reading their files."""
    import contextlib
    import io

    from sim.compare.sweep_tables import unpickled

    out, err = io.StringIO(), io.StringIO()
    cpu0 = time.process_time()
    if preloaded == INHERITED:  # a worker forked for this page: the parent's tables are here
        preloaded = _HANDED.pop("preloaded", None)
    preloaded = unpickled(preloaded)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        path = write_report(paths, out_dir, quiet, figures, workers=1, preloaded=preloaded)
    record_timing("report_job", job_cpu=time.process_time() - cpu0,
                  cells_sent=len(preloaded or ()))
    return path, out.getvalue(), err.getvalue()


class ReportJob:
    """A sweep's index page written by a worker while the parent builds the aggregate
    tables: after forked workers (:mod:`sim.cli.fork_pool`), a worker forked for it, which
    inherits the tables (:meth:`_forked`); else one of joblib's reusable loky workers
    (either way with the libraries loaded). The two
    take about as long (~3 CPU-s each in the 100-cell benchmark), one after the other until
    issue 19. The worker reads the cells' tables itself, but for those the cells' jobs sent
    back to the parent (``preloaded``, :mod:`sim.compare.sweep_tables`: the bytes the jobs
    pickled them to, unpickled in the worker), ~0.9 CPU-s less for the two processes than
    the worker's reading them in the 100-cell benchmark. The page is the one
    :func:`write_report` writes in the parent (tested); a worker that cannot start or dies
    is reported as a failed report, as an error in the report is, and the tables are
    written all the same."""

    def __init__(self, paths: list[Path], out_dir: Path, quiet: bool, figures: bool,
                 preloaded: dict | None = None):
        from joblib import Parallel, delayed

        from sim.cli import fork_pool
        from sim.compare.report_sweep import PARALLEL_ARGS

        self._results = None
        self._error = None
        self._pool = None  # a worker forked for the page
        try:  # the task is dispatched now, collected in result()
            forked = fork_pool.current()
            if forked is not None:  # the sweep's forked workers (sim.cli.fork_pool)
                task = self._forked(forked, paths, out_dir, quiet, figures, preloaded)
                self._results = (task.result() for _ in range(1))
                return
            # two workers, the fewest joblib runs in processes (one runs in this process):
            # the sweep's own executor is reused (shrunk to two if the launcher had more);
            # a pool the size of the machine would start a process per CPU for one task
            self._results = Parallel(n_jobs=2, return_as="generator", **PARALLEL_ARGS)(
                [delayed(report_in_worker)(paths, out_dir, quiet, figures, preloaded)])
        except Exception as err:  # noqa: BLE001 - the tables must not depend on it
            self._error = err

    def _forked(self, sweep_pool, paths, out_dir, quiet, figures, preloaded):
        """The page's task: in a worker forked now, when this process may fork, which
        inherits the tables the jobs sent (``preloaded``) instead of reading them from a
        pipe (~100 MB in the 100-cell benchmark, whose sending held this process 0.2-0.7 s
        before its own tables, issue 19); the sweep's workers, idle, are released first.
        Else in one of the sweep's workers, the tables sent to it; and if the fork fails
        (no process to spare), here and now, before the tables."""
        from types import SimpleNamespace

        from sim.cli import fork_pool

        if not fork_pool.can_fork():
            return sweep_pool.submit(report_in_worker, paths, out_dir, quiet, figures,
                                     preloaded)
        fork_pool.release()
        _HANDED["preloaded"] = preloaded
        try:
            self._pool = fork_pool.Pool(1)
        except OSError:
            page = report_in_worker(paths, out_dir, quiet, figures, preloaded)
            return SimpleNamespace(result=lambda: page)
        finally:
            _HANDED.clear()
        return self._pool.submit(report_in_worker, paths, out_dir, quiet, figures, INHERITED)

    def result(self) -> Path | None:
        try:
            if self._error is not None:
                raise self._error
            path, out, err = next(self._results)
        except Exception as err:  # noqa: BLE001 - the tables above are already written
            print(f"report: failed: {one_line(err)}", file=sys.stderr)
            return None
        finally:
            self.close()
        sys.stderr.write(err)
        sys.stdout.write(out)
        return path

    def close(self) -> None:
        """Wait for the worker (its page complete, or failed), and free the generator."""
        results, self._results = self._results, None
        try:
            if results is not None:
                try:
                    for _ in results:
                        pass
                except Exception:  # noqa: BLE001 - result() says what failed; here waiting
                    pass
        finally:  # (a Ctrl-C while waiting too): the page's own worker is ended and reaped
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.close()
