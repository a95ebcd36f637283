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

The pool (:class:`Pool`) forks its workers when it is made, each with its own two pipes
(tasks in, results out). It starts no thread: the launching process's main thread sends
each task to an idle worker and reads the workers' results as they come, without blocking.
A worker that dies mid-way, even while sending a result, is seen at once (its result pipe
ends) and fails the pool's tasks: with ``BrokenProcessPool`` (killed, or out of memory),
as a dead loky worker does, or with :class:`Interrupted` if Ctrl-C's SIGINT ended it.
Python's ``ProcessPoolExecutor``, used in session 25, read each result in a thread that
waited for the whole of it: a worker killed mid-send left that thread, and the sweep,
waiting for ever (session 25's Ctrl-C test hung in CI). :func:`release` ends the workers
when the sweep has nothing more for them or is stopped
(:func:`sim.cli.launchers.release_workers`); the sweep's index page is then written in a
worker of a pool of one, forked after the last cell with the cells' tables in memory
(:class:`sim.compare.report_aside.ReportJob`).
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import warnings
from collections import deque
from signal import SIGINT, SIGKILL

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


def pool(workers: int) -> Pool:
    """This process's pool of ``workers`` forked workers (a new one if the size differs, a
    worker died or it was released)."""
    running = _POOL.get("pool")
    if running is None or running.size != workers or running.broken or running.closed:
        release()
        if not _POOL.get("atexit"):  # workers are not left running if the process ends
            import atexit

            atexit.register(release)
            _POOL["atexit"] = True
        _POOL["pool"] = Pool(workers)
    return _POOL["pool"]


def current() -> Pool | None:
    """The running pool, or None."""
    return _POOL.get("pool")


def release() -> None:
    """End the pool's workers at once and reap them. Called when the sweep has nothing more
    for them, or was stopped: each cell's files were written and moved into place before
    its job returned, and a cell still running leaves only its staging folder, which the
    next run clears, so they are killed rather than waited for (as loky's are,
    :func:`sim.cli.launchers.release_workers`)."""
    running = _POOL.pop("pool", None)
    if running is not None:
        running.close()


def fork() -> int:
    """``os.fork()``, with stdout and stderr flushed first (a child would write what they
    held again). Python warns of a fork whenever the process has other OS threads: here
    numpy's idle BLAS pool at most (OpenBLAS quiesces it around a fork, pthread_atfork);
    the callers fork only with no other Python thread (:func:`can_fork`)."""
    _flush_std()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):  # closed or replaced: nothing held
            pass


def write_all(fd: int, data) -> None:
    """Write all of ``data`` to ``fd`` (a blocking pipe may take it in parts)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def kill_and_reap(pids: list[int]) -> list[int]:
    """Kill these child processes (all first, then wait for each) and reap them: the wait
    statuses of those reaped here (one reaped elsewhere is left out)."""
    for pid in pids:
        try:
            os.kill(pid, SIGKILL)
        except ProcessLookupError:
            pass
    statuses = []
    for pid in pids:
        try:
            statuses.append(os.waitpid(pid, 0)[1])
        except ChildProcessError:
            pass
    return statuses


HEADER = 8  # bytes of a message's length, before its pickle


class Task:
    """A call sent to the pool: :meth:`result` waits for it."""

    __slots__ = ("pool", "call", "done", "value", "error")

    def __init__(self, owner: Pool, call: tuple):
        self.pool, self.call = owner, call
        self.done, self.value, self.error = False, None, None

    def finish(self, value=None, error: BaseException | None = None) -> None:
        self.done, self.value, self.error, self.call = True, value, error, None

    def result(self):
        """The call's return value; its exception, raised here; or, if a worker died
        first, ``BrokenProcessPool`` (:class:`Interrupted` if SIGINT ended it)."""
        while not self.done:
            if not self.pool.step():  # (never: a pool's end fails the tasks it had)
                self.finish(error=RuntimeError("the task's pool of workers has ended"))
        if self.error is not None:
            raise self.error
        return self.value


class _Worker:
    __slots__ = ("pid", "tasks", "results", "task", "buffer", "got", "size")

    def __init__(self, pid: int, tasks: int, results: int):
        self.pid, self.tasks, self.results = pid, tasks, results  # the two pipes' fds
        self.task = None  # the Task it runs
        # the message being read: its length (None until read), its buffer, bytes read
        self.size, self.buffer, self.got = None, bytearray(HEADER), 0


class Pool:
    """``size`` worker processes forked from this one; the tasks run in the order they
    are submitted, each on the next idle worker."""

    def __init__(self, size: int):
        self.size, self.closed, self.broken = size, False, False
        self._workers: list[_Worker] = []
        self._queue: deque[Task] = deque()
        try:
            for _ in range(size):
                self._fork_worker()
        except BaseException:
            self.close()
            raise

    def _fork_worker(self) -> None:
        import signal

        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        # SIGINT held back across the fork: a Ctrl-C at that moment reaches the worker once
        # it has its own disposition (_serve), and this process just after the fork
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {SIGINT})
        try:
            try:
                pid = fork()
            except OSError:  # (no process to spare): the pipes go too
                for fd in (task_read, task_write, result_read, result_write):
                    os.close(fd)
                raise
            if pid == 0:  # the worker: never returns, whatever happens
                try:
                    os.close(task_write)
                    os.close(result_read)
                    for other in self._workers:  # the earlier workers' pipes are not its own
                        os.close(other.tasks)
                        os.close(other.results)
                    _POOL.clear()  # the pool is the parent's: a job here does not release it
                    _serve(task_read, result_write, mask)
                finally:
                    os._exit(1)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(task_read)
        os.close(result_write)
        os.set_blocking(result_read, False)
        self._workers.append(_Worker(pid, task_write, result_read))

    def submit(self, fn, *args) -> Task:
        """Run ``fn(*args)`` in a worker (``fn`` and ``args`` pickled: a module-level
        function)."""
        if self.closed or self.broken:
            raise RuntimeError("cannot run a task in a released or broken pool of workers")
        task = Task(self, (fn, args))
        self._queue.append(task)
        self._dispatch()
        return task

    def map(self, fn, *iterables):
        """``fn`` over the arguments, all submitted now; the results in order, each as
        soon as it and those before it are in (as ``Executor.map``)."""
        tasks = [self.submit(fn, *args) for args in zip(*iterables, strict=True)]

        def results():
            try:
                for task in tasks:
                    yield task.result()
            finally:  # stopped early: the tasks not started are dropped
                dropped = {id(task) for task in tasks}
                self._queue = deque(t for t in self._queue if id(t) not in dropped)

        return results()

    def _dispatch(self) -> None:
        """Send queued tasks to idle workers."""
        for worker in self._workers:
            if not self._queue:
                return
            if worker.task is not None:
                continue
            task = self._queue.popleft()
            try:
                data = pickle.dumps(task.call, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as err:  # noqa: BLE001 - the task's own error, raised by result()
                task.finish(error=err)
                continue
            worker.task = task
            try:
                write_all(worker.tasks, len(data).to_bytes(HEADER, "little"))
                write_all(worker.tasks, data)
            except OSError:  # the worker is gone (EPIPE)
                self._break()
                return

    def step(self) -> bool:
        """Wait until a worker sends a result (or ends), and take what has come; False if
        the pool has no workers (released, or broken)."""
        import select

        poller = select.poll()
        by_fd = {worker.results: worker for worker in self._workers}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        if not by_fd:
            return False
        for fd, _ in poller.poll():
            if not self.broken:
                self._read(by_fd[fd])
        self._dispatch()
        return True

    def _read(self, worker: _Worker) -> None:
        """Read what ``worker`` has sent, without blocking: a whole result finishes its
        task. The pipe's end (the worker died, perhaps mid-way through a result) breaks
        the pool."""
        while True:
            try:
                got = os.readv(worker.results, [memoryview(worker.buffer)[worker.got:]])
            except BlockingIOError:  # all there is for now
                return
            if got == 0:
                self._break()
                return
            worker.got += got
            if worker.got < len(worker.buffer):
                continue
            if worker.size is None:  # the length read: now the pickle
                worker.size = int.from_bytes(worker.buffer, "little")
                worker.buffer, worker.got = bytearray(worker.size), 0
                continue
            data, task = worker.buffer, worker.task
            worker.buffer, worker.got, worker.size, worker.task = bytearray(HEADER), 0, None, None
            if task is None:  # (never: a worker sends one result for each task it is sent)
                continue
            try:  # safe: the bytes come from this process's own forked worker
                ok, value = pickle.loads(data)
            except Exception as err:  # noqa: BLE001 - raised by the task's result()
                ok, value = False, err
            if ok:
                task.finish(value=value)
            else:
                task.finish(error=value)

    def _break(self) -> None:
        """A worker died: the other workers are killed (as ``ProcessPoolExecutor`` does)
        and every task not finished fails: with :class:`Interrupted` if a worker was ended
        by SIGINT (Ctrl-C in the terminal reaches the whole process group; this process's
        own KeyboardInterrupt may come a moment after it has seen the worker die), else
        with ``BrokenProcessPool`` (killed, or out of memory)."""
        from concurrent.futures.process import BrokenProcessPool

        self.broken = True
        running, statuses = self._end_workers()
        if any(os.WIFSIGNALED(status) and os.WTERMSIG(status) == SIGINT
               for status in statuses):
            self._fail(running, Interrupted("a worker process was interrupted (SIGINT)"))
        else:
            self._fail(running, BrokenProcessPool(
                "a worker process ended abruptly while tasks were running or waiting "
                "(killed, or out of memory)"))

    def close(self) -> None:
        """Kill the workers and reap them; a task not finished fails."""
        self.closed = True
        running, _ = self._end_workers()
        self._fail(running, RuntimeError("the pool of workers was released before the task "
                                         "finished"))

    def _fail(self, running: list[Task], error: BaseException) -> None:
        """Fail the tasks the workers had and those queued."""
        for task in running + list(self._queue):
            task.finish(error=error)
        self._queue.clear()

    def _end_workers(self) -> tuple[list[Task], list[int]]:
        """Kill the workers and reap them: the tasks they had, and their wait statuses."""
        workers, self._workers = self._workers, []
        running = [worker.task for worker in workers if worker.task is not None]
        for worker in workers:
            worker.task = None
            for fd in (worker.tasks, worker.results):
                os.close(fd)
        return running, kill_and_reap([worker.pid for worker in workers])


class Interrupted(KeyboardInterrupt):
    """A pool's worker was ended by SIGINT: the user's Ctrl-C, as this process's own
    KeyboardInterrupt would say."""


def _serve(tasks: int, results: int, mask) -> None:
    """A worker: run each task read from ``tasks`` and write its pickled result to
    ``results``, until the launching process closes its end. Never returns.

    Ctrl-C (SIGINT to the terminal's process group) ends it at once, as the signal's
    default does, without a traceback, where it would interrupt the launching process
    (Python's own handler); the launching process says what was kept. Where the launching
    process ignores SIGINT (started in the background by a shell, which leaves the
    terminal's Ctrl-C to the foreground job), so does the worker. A cell's files are moved
    into place whole or not at all, so nothing half-written is left (tests/test_sweep.py
    stops a sweep mid-way). ``mask``: the signal mask to restore once that is set."""
    import signal

    code = 0
    try:
        if signal.getsignal(SIGINT) is not signal.SIG_IGN:
            signal.signal(SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        while (header := _read_exact(tasks, HEADER)) is not None:
            data = _read_exact(tasks, int.from_bytes(header, "little"))
            if data is None:
                break
            fn, args = pickle.loads(data)  # from the launching process itself
            del data
            try:
                reply = (True, fn(*args))
            except BaseException as err:  # noqa: BLE001 - raised by the task's result()
                reply = (False, err)
            del fn, args
            try:
                blob = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as err:  # noqa: BLE001 - said by the task's result()
                blob = pickle.dumps((False, RuntimeError(
                    f"a task's result could not be sent back: {type(err).__name__}: {err}")))
            del reply
            write_all(results, len(blob).to_bytes(HEADER, "little"))
            write_all(results, blob)
            del blob
    except BaseException:  # noqa: BLE001 - the launching process sees the pipe end
        code = 1
    finally:
        _flush_std()
        os._exit(code)


def _read_exact(fd: int, size: int) -> bytearray | None:
    """``size`` bytes from the blocking ``fd``, or None at its end."""
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            return None
        got += n
    return buffer
