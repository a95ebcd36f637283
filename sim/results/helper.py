"""A helper process for the parts of a run that do not need the main process (issue 19).

``python -m sim`` hands two pieces of genuinely independent work to one helper process, so
that on a machine with two or more cores they overlap with the main work:

- the gap decomposition's three counterfactual runs, which depend only on the config
  (:func:`sim.uncertainty.decomposition.counterfactual_gaps`), submitted before the run's
  population is built;
- the figures, drawn from small pre-computed tables once the run's tables exist
  (:func:`sim.results.plots.draw_figures`), written into the run's own staging folder,
  when the helper has finished the decomposition by then (a large run); else the main
  process draws them while the helper finishes (:func:`sim.results.output._write_into`:
  the default run of 100,000 people waited ~1 s for the decomposition and then ~1 s more
  for the figures queued behind it).

Both are deterministic functions of what is sent (the same config, seed and tables give the
same numbers and the same PNG files as drawing in the main process). A failure in the
helper is re-raised in the main process as :class:`HelperError` (one line) when its result
is asked for; the run then fails and its staging folder is removed, as for any other error.
The helper reads its work from a pipe and exits when the pipe closes, so it never outlives
the run. Only the CLI uses it: the library functions compute everything in-process.

The helper is a fresh interpreter (``subprocess``, not ``fork``: the main process may
hold threads from numpy or pyarrow), started with the same ``sim`` package first on its
path.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

from sim.errors import typed_line

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent  # the folder holding sim/
# people x replicates from which a single run uses the helper (the default run, 100,000
# people, does): below it the helper's own start-up (~1-1.5 s CPU on the other core,
# imports) is a large share of what it takes over (decomposition ~1.2 s, figures ~0.8 s)
HELPER_MIN_PEOPLE = 50_000


class HelperError(RuntimeError):
    """Work in the helper process failed (``original``: the helper's exception, if it
    could be sent back)."""

    def __init__(self, message: str, original: BaseException | None = None):
        super().__init__(message)
        self.original = original


class Helper:
    """One helper process; :meth:`submit` work in order, :meth:`result` collects it."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PACKAGE_ROOT), *filter(None, [env.get("PYTHONPATH")])])
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from sim.results.helper import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=os.getcwd())
        self._sent = 0
        self._received: dict[int, tuple] = {}
        self._writes_nothing: set[int] = set()  # tickets a kill cannot cut short

    def submit(self, fn, *args, writes: bool = True) -> int:
        """Send ``fn(*args)`` to the helper; returns a ticket for :meth:`result`. ``fn``: a
        module-level function, or its name as ``"module:function"`` (the module is then
        imported in the helper only). ``writes=False``: the work writes nothing outside
        the helper (an import, a computation whose value is sent back), so :meth:`close`
        need not wait for it once its result is not wanted."""
        if not writes:
            self._writes_nothing.add(self._sent)
        try:
            pickle.dump((fn, args), self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.flush()
        except (OSError, ValueError) as err:  # a closed or broken pipe
            raise HelperError(f"the helper process stopped ({self._exit_text()})") from err
        self._sent += 1
        return self._sent - 1

    def result(self, ticket: int):
        """``fn(*args)`` of the ticket's work; raises :class:`HelperError` if it failed."""
        while ticket not in self._received:
            try:
                self._received[len(self._received)] = pickle.load(self._proc.stdout)
            except (EOFError, OSError, ValueError, pickle.UnpicklingError) as err:
                raise HelperError(
                    f"the helper process stopped ({self._exit_text()})") from err
        status, value = self._received[ticket]
        return self._value(status, value)

    def done(self, ticket: int) -> bool:
        """Whether ``ticket``'s work has ended: its result is in, or is reaching the pipe
        (then read now), without waiting for work still running. Where results come back
        faster than they are asked for, one may sit unread in the reader's buffer and this
        says False: a caller uses it to choose where to do other work, never to decide
        what is written."""
        import select

        while ticket not in self._received:
            if not select.select([self._proc.stdout], [], [], 0)[0]:
                return False
            try:
                self._received[len(self._received)] = pickle.load(self._proc.stdout)
            except (EOFError, OSError, ValueError, pickle.UnpicklingError):
                return True  # the helper stopped: result() says so
        return True

    @staticmethod
    def _value(status, value):
        if status == "ok":
            return value
        original = value if isinstance(value, BaseException) else None
        raise HelperError(typed_line(value) if original else str(value), original)

    def _exit_text(self) -> str:
        code = self._proc.poll()
        return "still running" if code is None else f"exit status {code}"

    def close(self, kill: bool = False) -> None:
        """End the helper: ``kill`` it at once (a failed run: it must write nothing more),
        else let it finish what it is doing and exit; at once, too, when all it has left
        to do writes nothing (``submit``'s ``writes=False``)."""
        proc = self._proc
        # nothing it still has to do writes anything (a preload of modules the run did
        # not need in the end): no reason to wait for it
        kill = kill or all(t in self._received or t in self._writes_nothing
                           for t in range(self._sent))
        if proc.poll() is None:
            try:
                proc.stdin.close()
            except OSError:
                pass
            if kill:
                proc.kill()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, kind, *exc) -> None:
        self.close(kill=kind is not None)


HELPER_ENV = "RTW_SIM_HELPER"  # auto (default), on or off
HELPER_SETTINGS = ("auto", "on", "off")


def check_setting() -> None:
    """Refuse a :data:`HELPER_ENV` that is not auto, on or off (one line, before any work:
    a typo must not silently mean auto)."""
    from sim.errors import ConfigError

    value = os.environ.get(HELPER_ENV)
    if value is not None and value.strip().lower() not in HELPER_SETTINGS:
        raise ConfigError(f"{HELPER_ENV}: got {value!r}, expected one of "
                          f"{', '.join(HELPER_SETTINGS)}")


def wanted(cfg: dict) -> bool:
    """Whether a single run of ``cfg`` hands work to a helper: it has work for one (a gap
    decomposition or figures) and is large enough for the overlap to pay, and a CPU is
    idle to overlap on (:func:`cpu_to_spare`: two CPUs or more, and a one-minute load
    average at least half a CPU below their number or a CPU idle right now: on a busy
    machine the helper only adds its start-up and competes with the run for memory
    bandwidth; measured 2026-11-30 at load 4-5 on 2
    cores, 1M x 260: 30 s wall against 22.5 s without it. On the quiet machine, load ~1
    left by the work just before (the average lags): 12.2-13.4 s wall against 14.4-15.9
    s without it, so a load of one on two CPUs still counts as one idle).
    ``RTW_SIM_HELPER=on`` / ``off`` overrides the load test (the files are the same
    either way)."""
    work = bool(cfg["outcomes"].get("decomposition_n")) or bool(cfg["output"]["plots"])
    return work and _spare_cpu(cfg)


def overlap_tables(cfg: dict) -> bool:
    """Whether a single run of ``cfg`` builds its economics table in a thread beside its
    other tables (:func:`sim.simulate.simulate`'s ``overlap``): by the same test as
    :func:`wanted` (large enough, a CPU to spare, :data:`HELPER_ENV`). Measured 2026-11-30
    at 1M x 260 (load ~2 from other work on 2 CPUs): the tables it overlaps took 3.1-3.4 s
    wall one after another, 2.2-2.4 s with the thread."""
    return _spare_cpu(cfg)


def _spare_cpu(cfg: dict) -> bool:
    """A run large enough for overlapping work to pay, on a machine with a CPU to spare
    (or :data:`HELPER_ENV` on / off)."""
    if int(cfg["population"]["n"]) * int(cfg["replicates"]) < HELPER_MIN_PEOPLE:
        return False
    return cpu_to_spare()


def cpu_to_spare() -> bool:
    """A CPU to spare for overlapping work: two CPUs or more and a one-minute load average
    at least half a CPU below their number (see :func:`wanted`) or, when that average is
    higher, a CPU idle right now (:func:`_idle_now`: the average lags a minute behind work
    that has ended); or :data:`HELPER_ENV` on (yes, whatever the machine) / off (no). Also
    decides whether a sweep's pre-flight composes on two cores (:mod:`sim.cli.prefill`)."""
    setting = os.environ.get(HELPER_ENV, "auto").strip().lower()
    if setting in ("on", "off"):
        return setting == "on"
    cpus = _cpus()
    return cpus >= 2 and (_load() < cpus - 0.5 or _idle_now(cpus))


# the answer of _idle_now, kept for a few seconds: the decisions of one start-up (the
# helper process, the tables' thread, the pre-flight's fork) take one look, made before
# any of them adds a runnable task of its own
_IDLE_NOW: dict = {}
IDLE_NOW_SECONDS = 10.0
IDLE_LOOKS = 3  # looks ~10 ms apart; every one must find a CPU idle


def _idle_now(cpus: int) -> bool:
    """A CPU idle right now, for when the one-minute load average says busy: the average
    lags a minute behind, so straight after other work has ended (the run before this one,
    the old half of a benchmark pair) it is still ~2 on two CPUs and refused a helper that
    had a core to itself (issue 19). Idle now: in each of :data:`IDLE_LOOKS` looks at the
    kernel's count of runnable tasks (``/proc/loadavg``; this process is one of them), at
    most ``cpus - 1`` were runnable. False where the count cannot be read."""
    import time

    now = time.monotonic()
    if _IDLE_NOW and now - _IDLE_NOW["at"] < IDLE_NOW_SECONDS:
        return _IDLE_NOW["idle"]
    idle = True
    for look in range(IDLE_LOOKS):
        if look:
            time.sleep(0.01)
        running = _runnable()
        if running is None or running > cpus - 1:
            idle = False
            break
    _IDLE_NOW.update(at=now, idle=idle)
    return idle


def _runnable() -> int | None:
    """Tasks runnable right now, system-wide (the 4th field of ``/proc/loadavg``:
    ``running/total``), or None where there is no such file."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


def _load() -> float:
    """The one-minute load average (0 where the system does not say)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def _cpus() -> int:
    """CPUs this process may run on (one: nothing would overlap)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def serve() -> None:
    """The helper's loop: read ``(fn, args)`` from stdin, write ``(status, value)`` to
    stdout, until stdin closes."""
    import signal
    import warnings

    from sim.errors import ConfigWarning

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides (Ctrl-C)
    # the work validates configs the main process has validated, and warned about, already:
    # each config warning is said once, by the main process
    warnings.simplefilter("ignore", ConfigWarning)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything the work prints must not corrupt the pipe
    while True:
        try:
            fn, args = pickle.load(stdin)
        except EOFError:
            # the main process has every result it asked for (or gave up): the work's files
            # are all written and closed, so end without the interpreter's teardown, which
            # the main process waits for (~0.2 s with pandas and matplotlib loaded)
            sys.stderr.flush()
            os._exit(0)
        try:
            if isinstance(fn, str):
                module, _, name = fn.partition(":")
                fn = getattr(importlib.import_module(module), name)
            reply = ("ok", fn(*args))
        except Exception as err:  # noqa: BLE001 - sent back, re-raised by the main process
            reply = ("error", err)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # noqa: BLE001 - an exception that cannot be pickled
            data = pickle.dumps(("error", typed_line(err if reply[0] == "ok" else reply[1])))
        stdout.write(data)
        stdout.flush()


def preload(*modules: str) -> None:
    """Import ``modules`` (work the helper does while it would otherwise wait)."""
    for name in modules:
        importlib.import_module(name)
