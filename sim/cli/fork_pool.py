"""A sweep's workers forked from the launching process (``hydra/launcher=rtw_joblib``'s
``backend: fork``, the default; issue 19).

joblib's loky workers are fresh interpreters: each imported Hydra, the model, pandas and
pyarrow before its first cell (1.4-2.0 CPU-s for the two workers of the 100-cell
benchmark, while the launching process waited for the first result). Workers forked from
the launching process, once its pre-flight is done, start with all of that already
imported: in four old/new pairs of the benchmark the share of core time inside
``simulate()`` rose by 1.2-4.2 points (docs/PERFORMANCE.md, session 25). They run the same
job function on the same arguments, so the cells' files and the index page are the same
bytes (tests/test_sweep.py).

When: on Linux (``os.fork``), from a process with no other Python thread, for two or more
workers (with one, joblib runs the jobs in this process). Otherwise, or with
``hydra.launcher.backend=loky``, the launcher uses joblib's loky workers as before. Of
hydra-joblib-launcher's settings the fork pool follows ``n_jobs`` (as joblib counts it);
the others (``timeout``, ``batch_size``, ``pre_dispatch``, ...) are joblib's and apply
with ``backend=loky`` only.

The pool (:class:`concurrent.futures.ProcessPoolExecutor` with the ``fork`` start method)
forks all its workers at the first task, before its own manager thread starts. The
sweep's index page runs in one of them after the last cell (:class:`sim.compare.
report_aside.ReportJob`), and :func:`release` ends them when the sweep has nothing more
for them or is stopped (:func:`sim.cli.launchers.release_workers`). A worker that dies
fails the tasks still pending (``BrokenProcessPool``), as a dead loky worker does.
"""

from __future__ import annotations

import sys
import threading

BACKENDS = ("fork", "loky")  # hydra.launcher.backend values rtw_joblib accepts (null = loky)

# Per process: the pool and its number of workers, while it runs
_POOL: dict = {}


def can_fork() -> bool:
    """Whether this process may fork its workers: Linux, and no other Python thread (a
    thread's locks would be copied held into the children)."""
    return sys.platform.startswith("linux") and _threads() == 1


def _threads() -> int:
    return threading.active_count()


def backend_error(backend) -> str | None:
    """Why ``hydra.launcher.backend`` is not one rtw_joblib runs, or None."""
    if backend is None or backend in BACKENDS:
        return None
    return (f"hydra.launcher.backend: got {backend!r}, expected fork (workers forked from "
            "this process, the default) or loky (joblib's fresh worker processes)")


def workers_for(backend, n_jobs) -> int:
    """The fork pool's size for these launcher settings, or 0 when joblib runs the jobs
    (``backend`` not ``fork``, one worker, or no fork here): joblib's count of ``n_jobs``
    (-1 = every core joblib sees)."""
    if backend != "fork" or not can_fork():
        return 0
    from joblib import effective_n_jobs

    workers = effective_n_jobs(n_jobs)
    return workers if workers >= 2 else 0


def pool(workers: int):
    """This process's pool of ``workers`` forked workers (a new one if the size differs or
    a worker died)."""
    executor = _POOL.get("executor")
    if executor is None or _POOL.get("workers") != workers or getattr(executor, "_broken",
                                                                      False):
        release()
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(max_workers=workers, initializer=_worker_start,
                                       mp_context=multiprocessing.get_context("fork"))
        _POOL.update(executor=executor, workers=workers)
    return executor


def _worker_start() -> None:
    """In each worker: Ctrl-C (SIGINT to the terminal's process group) ends it at once, as
    the signal's default does, without a traceback; the launching process says what was
    kept. A cell's files are moved into place whole or not at all, so nothing half-written
    is left (tests/test_sweep.py kills a sweep mid-way)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def current():
    """The running pool, or None."""
    return _POOL.get("executor")


def release() -> None:
    """End the pool's workers at once and reap them. Called when the sweep has nothing more
    for them, or was stopped: each cell's files were written and moved into place before
    its job returned, and a cell still running leaves only its staging folder, which the
    next run clears, so they are killed rather than waited for (as loky's are,
    :func:`sim.cli.launchers.release_workers`)."""
    executor = _POOL.pop("executor", None)
    _POOL.pop("workers", None)
    if executor is None:
        return
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.kill()
    executor.shutdown(wait=True, cancel_futures=True)
