"""A sweep's pre-flight composes its sets of config-group choices on two cores (issue 19).

The pre-flight (:mod:`sim.cli.preflight`) composes every distinct set of config-group
choices of a sweep's cells once (``programme=...``, ``population=...``: 20 sets in the
sweep benchmark, ~0.15-0.18 CPU-s each with Hydra), single-threaded, while the second core
waits. :func:`prefill` forks one child process, and the two compose the sets exactly as
the pre-flight would (:func:`compose_choices`), each taking the next set from a shared
queue (:func:`_work_queue`: whoever is free takes it, so the parent can first do what it
must after the fork, ``forked``, and the work still splits evenly); the
child sends back, per set, the pre-flight cache entry (a plain dict, or None) and the
launcher's entry (``sim.cli.launchers._SWEEP_CONFIGS``: key -> the composed config, pickled
bytes), and the parent puts them into both caches. The pre-flight's loop over the cells
then runs unchanged; its composes find the caches filled.

The child is only a cache pre-filler: correctness never depends on it. A set whose compose
fails in the child is not sent (the parent's loop composes it, in order, and reports
Hydra's own one-line error). A child that dies, hangs (:func:`_timeout`) or sends anything
but the expected shape is ignored: the parent composes everything itself, as without it.
The child writes nothing but its pipe (its stdout and stderr go to ``/dev/null``) and ends
with ``os._exit`` (no atexit handlers, no Hydra or pytest teardown).

When (:func:`_can_fork`): a sweep with at least :data:`MIN_SETS` sets still to compose, on
Linux (``os.fork``), from a process with no other Python thread, and a CPU to spare by the
project's test (:func:`sim.results.helper.cpu_to_spare`: ``RTW_SIM_HELPER`` on / off /
auto; off never forks, on forks whatever the load). The caches end up with the entries
sequential composes give, the launcher's configs byte for byte but for the time of day in
their resolver cache, which the launcher replaces (tests/test_prefill.py).
"""

from __future__ import annotations

import os
import pickle
import select
import time

from sim.cli import fork_pool

MIN_SETS = 4  # below this, a fork (~10-40 ms) and the pipe save little
TAG = "rtw-sim-prefill-1"  # the first item of the child's payload
LAST: dict = {}  # what the last prefill did (forked, sets sent back): for tests


def group_choice_sets(cells: list[list[str]]) -> list[tuple[str, ...]]:
    """The cells' distinct sets of config-group choices, in order of first use: each cell's
    override lines that are not plain values (the pre-flight's cache key,
    :func:`sim.cli.preflight._compose_cell`). Hydra parses each line on its own, so each
    distinct line is parsed once."""
    from sim.cli.launchers import parse_override_lines
    from sim.cli.preflight import _is_plain_value

    lines = list(dict.fromkeys(line for cell in cells for line in cell))
    value = {line: _is_plain_value(ov)
             for line, ov in zip(lines, parse_override_lines(lines), strict=True)}
    return list(dict.fromkeys(tuple(line for line in cell if not value[line])
                              for cell in cells))


def compose_choices(structural: tuple[str, ...], config_name: str, cache: dict,
                    hydra_overrides: list[str] | None = None) -> None:
    """Compose the group choices ``structural`` into ``cache[structural]`` (the app part as
    a plain dict, None if it has interpolations). ``hydra_overrides`` (a multirun): composed
    as the launcher will need them, Hydra's node included, and kept for it
    (:func:`sim.cli.launchers.seed_group_choices`; the app part is the same config).
    Raises Hydra's error if the choices do not compose."""
    from hydra import compose
    from omegaconf import OmegaConf

    from sim.cli.preflight import _has_interpolation

    composed = None
    if hydra_overrides is not None:
        from hydra.core.global_hydra import GlobalHydra

        from sim.cli.launchers import seed_group_choices

        composed = seed_group_choices(GlobalHydra.instance().config_loader(),
                                      config_name, hydra_overrides, list(structural))
    if composed is None:
        composed = compose(config_name=config_name, overrides=list(structural))
    plain = OmegaConf.to_container(composed, resolve=False)
    plain.pop("hydra", None)
    cache[structural] = None if _has_interpolation(plain) else plain


def _sweep_key(config_name: str, hydra_overrides, structural: tuple) -> tuple | None:
    """The launcher's key of ``structural`` (as :func:`seed_group_choices` forms it)."""
    if hydra_overrides is None:
        return None
    return (str(config_name), tuple(hydra_overrides), tuple(structural))


def _can_fork() -> bool:
    """Linux (macOS's system libraries are not safe to use after a fork) and no other
    Python thread in this process (:func:`sim.cli.fork_pool.can_fork`, the sweep workers'
    test), children reaped by this process (``SIGCHLD`` not ignored: the child's exit
    status is read, and a child is only ever killed before it is reaped), a CPU to spare."""
    import signal

    from sim.results.helper import cpu_to_spare

    return (fork_pool.can_fork() and signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL
            and cpu_to_spare())


def _should_fork(n_sets: int) -> bool:
    return n_sets >= MIN_SETS and _can_fork()


def _timeout(n_sets: int) -> float:
    """Seconds the parent waits for the child after its own composes: generous (a compose
    takes ~0.15 s idle, a few times that on a loaded machine)."""
    return 60.0 + 5.0 * n_sets


def prefill(cells: list[list[str]], config_name: str, cache: dict,
            hydra_overrides: list[str] | None = None, forked=None) -> None:
    """Fill ``cache`` (and the launcher's configs) for the cells' distinct group choices,
    shared with a forked child, if that pays (see the module docstring); otherwise do
    nothing (the pre-flight composes them one by one, as before). ``forked``: called in
    this process right after the fork, if there is one, before it composes its share (what
    may start threads or processes waits for it; meanwhile the child composes)."""
    LAST.clear()
    LAST.update(forked=False, received=0)
    if len(cells) < MIN_SETS or not _can_fork():
        return
    try:
        sets = group_choice_sets(cells)
    except Exception:  # noqa: BLE001 - a line that does not parse: the loop reports it
        return
    sets = [s for s in sets if s not in cache]
    if not _should_fork(len(sets)):
        return
    queue = _work_queue(len(sets))
    read_fd, write_fd = os.pipe()
    try:  # (the child composes in Python and os._exit()s)
        pid = fork_pool.fork()
    except OSError:
        for fd in (read_fd, write_fd, queue):
            if fd is not None:
                os.close(fd)
        return
    if pid == 0:  # the child: never returns, whatever happens (a Ctrl-C now included)
        try:
            os.close(read_fd)
            _child(write_fd, _claimed(sets, queue, 1), config_name, cache, hydra_overrides)
        finally:
            os._exit(1)
    os.close(write_fd)
    LAST["forked"] = True
    payload, mine = None, []
    t0 = time.perf_counter()
    try:
        if forked is not None:
            try:
                forked()
            except Exception:  # noqa: BLE001 - only a head start; whoever needs it says why
                pass
        for structural in _claimed(sets, queue, 0):
            mine.append(structural)
            try:
                compose_choices(structural, config_name, cache, hydra_overrides)
            except Exception:  # noqa: BLE001 - the loop composes it again and reports it
                break  # (and stops at the first bad cell: no need to compose more)
        LAST["mine"] = len(mine)
        LAST["mine_s"] = time.perf_counter() - t0
        try:
            payload = _collect(read_fd, pid, _timeout(len(sets)))
        except Exception:  # noqa: BLE001 - e.g. reaped elsewhere: compose in this process
            payload = None
        else:
            pid = None
        LAST["waited_s"] = time.perf_counter() - t0 - LAST["mine_s"]
    finally:
        for fd in (read_fd, queue):
            if fd is not None:
                os.close(fd)
        if pid is not None:  # interrupted (Ctrl-C ...): the child goes too
            fork_pool.kill_and_reap([pid])
    items = _checked(payload, set(sets) - set(mine), config_name, hydra_overrides)
    from sim.cli.launchers import _SWEEP_CONFIGS

    for structural, entry, blob in items:
        cache.setdefault(structural, entry)
        key = _sweep_key(config_name, hydra_overrides, structural)
        if blob is not None and key not in _SWEEP_CONFIGS:
            _SWEEP_CONFIGS[key] = blob
    LAST["received"] = len(items)


RECORD = 4  # bytes of a set's number in the work queue (reads of a pipe this size are whole)


def _work_queue(n_sets: int) -> int | None:
    """A pipe holding the numbers of the ``n_sets`` sets (read end; the write end closed),
    from which the two processes take the next set to compose until it is empty: whoever
    is free takes the next (this process first has ``forked``'s work, and its composes were
    slower than the child's). None if the pipe cannot hold them all: then each process
    composes every other set."""
    read_fd, write_fd = os.pipe()
    try:
        os.set_blocking(write_fd, False)
        data = memoryview(b"".join(i.to_bytes(RECORD, "little") for i in range(n_sets)))
        while data:
            data = data[os.write(write_fd, data):]
    except OSError:  # full (BlockingIOError) or anything else: the fixed split
        os.close(read_fd)
        return None
    finally:
        os.close(write_fd)
    return read_fd


def _claimed(sets: list, queue: int | None, which: int):
    """The sets this process composes: those it takes from ``queue`` (one read of a record
    at a time: the kernel hands each record to one reader), or, without a queue, every
    other set (``which``: 0 for this process, 1 for the child)."""
    if queue is None:
        yield from sets[which::2]
        return
    while True:
        record = os.read(queue, RECORD)
        if len(record) < RECORD:
            return
        yield sets[int.from_bytes(record, "little")]


def _child(write_fd: int, sets, config_name: str, cache: dict,
           hydra_overrides) -> None:
    """Compose ``sets`` (an iterable), write ``(TAG, [(structural, cache entry, launcher
    blob)])`` pickled to ``write_fd`` and exit; sets that fail are left out. Never
    returns."""
    code = 1
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # nothing the composes print reaches the user's terminal
        os.dup2(devnull, 2)
        from sim.cli.launchers import _SWEEP_CONFIGS

        items = []
        for structural in sets:
            try:
                compose_choices(structural, config_name, cache, hydra_overrides)
            except Exception:  # noqa: BLE001 - the parent composes it and reports it
                continue
            key = _sweep_key(config_name, hydra_overrides, structural)
            items.append((structural, cache[structural], _SWEEP_CONFIGS.get(key)))
        fork_pool.write_all(write_fd, pickle.dumps((TAG, items),
                                                   protocol=pickle.HIGHEST_PROTOCOL))
        code = 0
    except BaseException:  # noqa: BLE001 - whatever happens, the parent composes instead
        code = 1
    finally:
        os._exit(code)


def _collect(read_fd: int, pid: int, timeout: float) -> bytes | None:
    """The child's bytes, or None if it did not exit cleanly within ``timeout`` seconds
    (it is killed then). Reaps the child either way."""
    deadline = time.monotonic() + timeout
    poller = select.poll()
    poller.register(read_fd, select.POLLIN)
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(int(left * 1000) + 1):
            fork_pool.kill_and_reap([pid])
            return None
        chunk = os.read(read_fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    _, status, usage = os.wait4(pid, 0)
    try:  # (nothing after the child is reaped may raise: prefill would kill its pid)
        _note_cpu(usage.ru_utime + usage.ru_stime)
    except Exception:  # noqa: BLE001 - a measurement aid
        pass
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    return b"".join(chunks)


def _note_cpu(seconds: float) -> None:
    """The child's CPU time, for tests and experiments/sweep_bench.py's CPU split."""
    from sim.compare.sweep import record_timing

    LAST["child_cpu"] = seconds
    record_timing("preflight_child", child_cpu=seconds)


def _checked(payload: bytes | None, expected: set, config_name: str,
             hydra_overrides) -> list:
    """The child's items if the payload has exactly the expected shape, else none at all.
    Unpickling is safe here: the bytes come from this process's own forked child, through
    a pipe nothing else holds."""
    if payload is None:
        return []
    try:
        tag, items = pickle.loads(payload)
        ok = tag == TAG and isinstance(items, list)
        seen = set()
        for item in items if ok else ():
            structural, entry, blob = item
            ok = (structural in expected and structural not in seen
                  and (entry is None or isinstance(entry, dict))
                  and (blob is None or (isinstance(blob, bytes)
                                        and hydra_overrides is not None)))
            if not ok:
                break
            seen.add(structural)
    except Exception:  # noqa: BLE001 - garbage: compose everything in the parent
        return []
    return items if ok else []
