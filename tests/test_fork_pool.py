"""The sweep's workers forked from the launching process (sim.cli.fork_pool, issue 19).

A sweep through them writes the same bytes as through loky and the basic launcher:
tests/test_sweep.py."""

from __future__ import annotations

import signal
import sys
from concurrent.futures.process import BrokenProcessPool

import pytest

from sim.cli import fork_pool, launchers
from sim.cli.resources import ResourceError, parallel_cells

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux only")

@pytest.fixture
def one_thread(monkeypatch):
    """``python -m sim`` has no other thread when it launches; a test process may hold
    idle threads of earlier tests' pools: counted out here (nothing forks in this one)."""
    monkeypatch.setattr(fork_pool, "_threads", lambda: 1)


@pytest.mark.parametrize("backend", [None, "fork", "loky"])
def test_the_backends_rtw_joblib_runs(backend):
    assert fork_pool.backend_error(backend) is None


def test_another_backend_is_one_line_before_any_cell():
    launcher = {"_target_": "hydra_plugins.rtw_sim.CachingJoblibLauncher", "n_jobs": 2,
                "backend": "threading"}
    with pytest.raises(ResourceError) as info:
        parallel_cells(launcher, 4, cpus=2)
    message = str(info.value)
    assert message.startswith("hydra.launcher.backend: got 'threading', expected fork")
    assert "\n" not in message
    # the plain hydra-joblib-launcher takes joblib's own backends
    plain = {**launcher, "_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher."
             "JoblibLauncher"}
    assert parallel_cells(plain, 4, cpus=2)[0] == 2


@linux
def test_fork_is_used_for_two_or_more_workers_and_only_where_it_can(one_thread, monkeypatch):
    from joblib import effective_n_jobs

    assert fork_pool.workers_for("fork", 2) == 2
    assert fork_pool.workers_for("fork", 3) == 3
    assert fork_pool.workers_for("fork", -1) == (effective_n_jobs(-1)
                                                 if effective_n_jobs(-1) >= 2 else 0)
    assert fork_pool.workers_for("fork", 1) == 0  # joblib runs one worker in this process
    assert fork_pool.workers_for("loky", 2) == 0
    assert fork_pool.workers_for(None, 2) == 0
    monkeypatch.setattr(fork_pool, "_threads", lambda: 2)  # another thread: loky
    assert fork_pool.workers_for("fork", 2) == 0
    monkeypatch.setattr(fork_pool, "_threads", lambda: 1)
    monkeypatch.setattr(fork_pool.sys, "platform", "darwin")
    assert fork_pool.workers_for("fork", 2) == 0


def _run_script(script: str, *args: str) -> dict:
    """Run ``script`` in a fresh interpreter (one thread, as ``python -m sim``; -W error)
    and return the JSON it prints."""
    import json
    import subprocess

    from tests.conftest import REPO

    run = subprocess.run([sys.executable, "-W", "error", "-c", script, *args], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and not run.stderr, run.stderr
    return json.loads(run.stdout)


# Run in a fresh interpreter, as ``python -m sim`` launches: one thread (a test process may
# hold threads of earlier tests' pools, whose locks a fork would copy held); -W error: any
# warning fails the test
FORKED = """
import json, os, signal, sys
from sim.cli import fork_pool, launchers

# as in a terminal's foreground (a shell's background job, as a CI runner may start the
# tests, inherits SIGINT ignored, and Python keeps it so)
signal.signal(signal.SIGINT, signal.default_int_handler)

STATE = []


def who(_=None):
    return os.getpid(), os.getppid(), list(STATE)


STATE.append("set before the fork")  # a forked worker has it, a fresh interpreter not
assert fork_pool.workers_for("fork", 2) == 2
executor = fork_pool.pool(2)
seen = list(executor.map(who, range(6)))
STATE.clear()
out = {"me": os.getpid(), "seen": seen, "reused": fork_pool.pool(2) is executor,
       "sigint": int(executor.submit(signal.getsignal, signal.SIGINT).result())}
launchers.release_workers()  # the sweep's end: the forked pool too
out["after"] = fork_pool.current() is None
out["alive"] = [pid for pid, _, _ in seen if os.path.exists(f"/proc/{pid}")]
again = fork_pool.pool(2)
out["again"] = [pid for pid, _, _ in again.map(who, range(2))]
bigger = fork_pool.pool(3)  # another size: the running pool is replaced
out["replaced"] = bigger is not again and fork_pool.current() is bigger
try:
    again.submit(who)
    out["old_shut"] = False
except RuntimeError:
    out["old_shut"] = True
bigger.submit(who).result()
try:  # a worker that dies breaks its pool: the next launch gets a new one
    bigger.submit(os._exit, 3).result()
except Exception as err:
    out["died"] = type(err).__name__
out["renewed"] = fork_pool.pool(3) is not bigger
fork_pool.release()
fork_pool.release()  # nothing running: nothing to do
signal.signal(signal.SIGINT, signal.SIG_IGN)  # started in the background: ignored, as here
out["sigint_ignored"] = int(fork_pool.pool(2).submit(signal.getsignal, signal.SIGINT).result())
fork_pool.release()
print(json.dumps(out))
"""


@linux
def test_workers_are_forked_with_this_process_state_and_released():
    out = _run_script(FORKED)
    pids = {pid for pid, _, _ in out["seen"]}
    assert 1 <= len(pids) <= 2 and out["me"] not in pids
    assert all(parent == out["me"] and state == ["set before the fork"]
               for _, parent, state in out["seen"])
    assert out["reused"]
    # Ctrl-C ends a worker at once, without a traceback (the launcher says what was kept)
    assert out["sigint"] == int(signal.SIG_DFL)
    assert out["sigint_ignored"] == int(signal.SIG_IGN)  # a background job's workers too
    assert out["after"] and out["alive"] == []  # ended and reaped
    assert out["again"] and not set(out["again"]) & pids
    assert out["replaced"] and out["old_shut"]
    assert out["died"] == "BrokenProcessPool" and out["renewed"]


TASKS = """
import json, os, time
from sim.cli import fork_pool


def nap(seconds, value):
    time.sleep(seconds)
    return value


def fails(text):
    raise ValueError(text)


def unsendable():
    return lambda: None  # a lambda cannot be pickled back


pool = fork_pool.pool(2)
out = {"ordered": list(pool.map(nap, [0.3, 0.0, 0.1, 0.0], ["a", "b", "c", "d"]))}
task = pool.submit(fails, "a cell's own error")
try:
    task.result()
except ValueError as err:
    out["raised"] = str(err)
try:
    pool.submit(unsendable).result()
except RuntimeError as err:
    out["unsendable"] = str(err)
out["still"] = [pool.submit(nap, 0, "usable").result(), pool.broken]
results = pool.map(nap, [0.2] * 6, range(6))
out["first"] = next(results)
results.close()  # stopped early: the tasks not started are dropped
out["queued_after_close"] = len(pool._queue)
out["after"] = pool.submit(nap, 0, "next").result()
fork_pool.release()
print(json.dumps(out))
"""


@linux
def test_results_come_in_order_and_a_tasks_error_is_its_own():
    out = _run_script(TASKS)
    assert out["ordered"] == ["a", "b", "c", "d"]
    assert out["raised"] == "a cell's own error"
    assert out["unsendable"].startswith("a task's result could not be sent back")
    assert out["still"] == ["usable", False]  # neither error broke the pool
    assert out["first"] == 0 and out["queued_after_close"] == 0 and out["after"] == "next"


# A worker killed while it sends a result bigger than a pipe holds. Python's
# ProcessPoolExecutor read results in a thread that waited for the whole message: it, and
# the sweep, waited for ever (the Ctrl-C test hung in CI once, session 26).
MID_SEND = """
import json, os, select, signal, sys, time
from concurrent.futures.process import BrokenProcessPool
from sim.cli import fork_pool


def big():
    return b"x" * 50_000_000


pool = fork_pool.pool(2)
task = pool.submit(big)
worker = next(w for w in pool._workers if w.task is task)
poller = select.poll()
poller.register(worker.results, select.POLLIN)
assert poller.poll(30_000)  # it has begun to send (nothing reads it until result())
time.sleep(0.2)
os.kill(worker.pid, signal.SIGKILL)
t0 = time.monotonic()
try:
    task.result()
    out = {"got": "a result"}
except BrokenProcessPool:
    out = {"got": "BrokenProcessPool"}
out["seconds"] = time.monotonic() - t0
out["renewed"] = fork_pool.pool(2) is not pool
fork_pool.release()
print(json.dumps(out))
"""


@linux
def test_a_worker_killed_while_sending_its_result_breaks_the_pool_at_once():
    out = _run_script(MID_SEND)
    assert out["got"] == "BrokenProcessPool" and out["seconds"] < 5
    assert out["renewed"]


# Ctrl-C reaches the whole process group: a worker may end, and this process see it end,
# before this process's own KeyboardInterrupt comes (under load; a CI run said "a worker
# died", exit 1, for a Ctrl-C). A worker ended by SIGINT is itself the interrupt.
INTERRUPTED = """
import json, os, signal, time
from sim.cli import fork_pool


def nap(seconds):
    time.sleep(seconds)


signal.signal(signal.SIGINT, signal.default_int_handler)  # a terminal's foreground job
pool = fork_pool.pool(2)
task = pool.submit(nap, 30)
worker = next(w for w in pool._workers if w.task is task)
signal.signal(signal.SIGINT, signal.SIG_IGN)  # this process does not get its own
os.kill(worker.pid, signal.SIGINT)
try:
    task.result()
    out = {"got": "a result"}
except KeyboardInterrupt as err:
    out = {"got": type(err).__name__, "is_interrupt": True}
print(json.dumps(out))
"""


@linux
def test_a_worker_ended_by_sigint_is_an_interrupt_not_a_dead_worker():
    out = _run_script(INTERRUPTED)
    assert out == {"got": "Interrupted", "is_interrupt": True}


FORK_FAILS = """
import json, os
import psutil
from sim.cli import fork_pool

real_fork, calls = fork_pool.fork, []


def second_fails():
    calls.append(1)
    if len(calls) == 2:
        raise BlockingIOError(11, "Resource temporarily unavailable")
    return real_fork()


fds_before = len(os.listdir("/proc/self/fd"))
fork_pool.fork = second_fails
try:
    fork_pool.pool(2)
    out = {"raised": None}
except OSError as err:
    out = {"raised": type(err).__name__}
out["fds_left"] = len(os.listdir("/proc/self/fd")) - fds_before
out["children"] = [c.pid for c in psutil.Process().children()]  # the first one reaped
out["current"] = fork_pool.current() is None
print(json.dumps(out))
"""


@linux
def test_a_fork_that_fails_leaves_no_pipe_and_no_worker():
    out = _run_script(FORK_FAILS)
    assert out == {"raised": "BlockingIOError", "fds_left": 0, "children": [],
                   "current": True}


# The same with joblib's loky workers (backend=loky, the default off Linux): a worker
# stopped mid-way through sending a result left loky's reading thread, and the stopped
# sweep's release of the workers, waiting for ever.
LOKY_MID_SEND = """
import json, os, sys, time
from joblib.externals.loky import get_reusable_executor
from sim.cli import launchers


def half_sent(marker):
    import gc, struct
    queue = next(o for o in gc.get_objects() if type(o).__name__ == "SimpleQueue")
    os.write(queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"only the start")
    open(marker, "w").close()
    time.sleep(120)


executor = get_reusable_executor(max_workers=2)
executor.submit(int, 1).result()
executor.submit(half_sent, sys.argv[1])
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
t0 = time.monotonic()
launchers.release_workers(stopped=True)  # as a stopped sweep's launcher does
print(json.dumps({"seconds": time.monotonic() - t0}))
"""


def test_a_stopped_sweep_releases_loky_workers_stopped_mid_send(tmp_path):
    import json
    import subprocess

    from tests.conftest import REPO

    run = subprocess.run([sys.executable, "-c", LOKY_MID_SEND, str(tmp_path / "sent")],
                         cwd=REPO, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["seconds"] < 10


def test_a_dead_worker_is_recognised_from_either_pool():
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    assert launchers._worker_died(BrokenProcessPool("gone"))
    assert launchers._worker_died(TerminatedWorkerError("gone"))
    assert not launchers._worker_died(ValueError("a cell's own error"))
