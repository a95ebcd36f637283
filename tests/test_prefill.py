"""A sweep's pre-flight composes half its sets of group choices in a forked child
(sim.cli.prefill, issue 19): the caches it fills must be the bytes sequential composition
gives, whatever the child does, and errors must read as before."""

from __future__ import annotations

import os
import pickle
import signal
import threading
import time
import types
import warnings
from unittest import mock

import pytest

from sim.cli import fork_pool, launchers, prefill, preflight

# 2 designs x 2 populations: 4 sets of group choices (2 for the child), values on top
SWEEP = ["-m", "programme=usual_care,ips_smi", "population=workforce,out_of_work",
         "population.n=300", "pathways.rtw.manual_hr=0.9"]


def _preflight(argv: list[str], setting: str, sweep_dir, forked=None) -> tuple:
    """(problem, the pre-flight's cache and the launcher's configs as pickled bytes, what
    prefill did, the validated cells' configs pickled) of one
    pre-flight of ``argv`` with ``RTW_SIM_HELPER=setting`` (``forked``: what the parent
    does first after the fork, instead of the pre-flight's own)."""
    seen: dict = {}
    original = preflight._validate_cells
    run_prefill = prefill.prefill

    def prefilled(*args, **kwargs):
        if forked is not None:
            kwargs["forked"] = forked
        return run_prefill(*args, **kwargs)

    def validate(cells, config_name, cache=None, *rest):
        seen["cache"] = cache
        seen["validated"] = rest[1] if len(rest) > 1 else None  # shipped to the jobs
        return original(cells, config_name, cache, *rest)

    launchers._SWEEP_CONFIGS.clear()
    prefill.LAST.clear()
    try:
        with mock.patch.dict(os.environ, {"RTW_SIM_HELPER": setting}), \
                mock.patch.object(preflight, "_validate_cells", validate), \
                mock.patch.object(prefill, "prefill", prefilled):
            problem = preflight.check([*argv, f"hydra.sweep.dir={sweep_dir}"], settings={})
        cache = seen.get("cache") or {}
        return (problem, {k: pickle.dumps(v) for k, v in cache.items()},
                {k: _timeless(v) for k, v in launchers._SWEEP_CONFIGS.items()},
                dict(prefill.LAST), pickle.dumps(seen.get("validated")))
    finally:
        launchers._SWEEP_CONFIGS.clear()


def _timeless(blob: bytes) -> bytes:
    """A launcher config's bytes without its resolver cache, which holds the time of day
    it was composed at (``${now:...}``: two sequential pre-flights differ there too); the
    launcher replaces that cache with the master config's (``OmegaConf.copy_cache`` in
    :func:`sim.cli.launchers.cached_sweep_config`)."""
    from omegaconf import OmegaConf

    cfg = pickle.loads(blob)
    OmegaConf.clear_cache(cfg)
    return pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL)


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """The pre-flight forks only from a process without other Python threads, as
    ``python -m sim`` is at that point; a test worker may hold idle threads left by
    earlier tests (loky's executor): they are counted out here."""
    monkeypatch.setattr(fork_pool, "_threads", lambda: 1)


@pytest.fixture(scope="module", autouse=True)
def file_cache():
    """Hydra's config files read once, as ``python -m sim`` does (halves each compose)."""
    from sim.cli import compose_cache

    compose_cache.uninstall()
    compose_cache.install()
    yield
    compose_cache.uninstall()


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """The caches without the fork (RTW_SIM_HELPER=off), the reference (~1.5 s)."""
    sweep_dir = tmp_path_factory.mktemp("prefill") / "sweep"  # a key of the launcher's
    return _preflight(SWEEP, "off", sweep_dir), sweep_dir  # configs: the same for all


def test_the_forked_child_fills_the_caches_with_what_sequential_composes_give(
        sequential):
    (problem, cache, configs, last, _), sweep_dir = sequential
    assert problem is None and last == {"forked": False, "received": 0}
    assert len(configs) == 4 and all(isinstance(b, bytes) for b in configs.values())
    # the parent first does other work (forked): the child takes sets from the queue meanwhile
    got = _preflight(SWEEP, "on", sweep_dir, forked=lambda: time.sleep(0.3))
    assert got[3]["forked"] and got[3]["received"] >= 1  # the child's sets were used
    assert got[3]["received"] + got[3]["mine"] == 4  # each set composed once
    assert got[3]["child_cpu"] > 0
    assert got[0] is None
    assert got[1] == cache  # the pre-flight's cache, each entry pickled
    assert got[2] == configs  # the launcher's pickled configs, byte for byte
    assert len(pickle.loads(got[4])) == 4  # the validated configs the jobs are sent
    assert got[4] == sequential[0][4]


@pytest.mark.parametrize("failure", ["raise", "kill", "hang", "garbage", "stranger"])
def test_a_child_that_fails_changes_nothing(sequential, monkeypatch, failure):
    """The child raises in its composes (it sends no sets), dies, hangs past the timeout,
    sends bytes that do not unpickle or a set it was not asked for: the parent composes
    everything itself, and the caches are the same."""
    parent = os.getpid()
    compose = prefill.compose_choices

    def broken(structural, *args):
        if os.getpid() != parent:  # in the child only
            if failure == "raise":
                raise RuntimeError("no")
            if failure == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if failure == "hang":
                time.sleep(60)
        return compose(structural, *args)

    def dumps(obj, protocol=None):
        if os.getpid() == parent or failure not in ("garbage", "stranger"):
            return pickle.dumps(obj, protocol=protocol)
        if failure == "garbage":
            return b"\x80\x05garbage"
        return pickle.dumps((prefill.TAG, [(("programme=other",), {}, b"")]))

    monkeypatch.setattr(prefill, "compose_choices", broken)
    monkeypatch.setattr(prefill, "_timeout", lambda n: 0.5)
    monkeypatch.setattr(prefill, "pickle", types.SimpleNamespace(
        dumps=dumps, loads=pickle.loads, HIGHEST_PROTOCOL=pickle.HIGHEST_PROTOCOL))
    got = _preflight(SWEEP, "on", sequential[1])
    assert got[3]["forked"] and got[3]["received"] == 0
    assert got[:3] == sequential[0][:3] and got[4] == sequential[0][4]


def test_the_parent_takes_nothing_from_a_payload_of_the_wrong_shape():
    expected = {("programme=a",), ("programme=b",)}
    good = ("rtw-sim-prefill-1", [(("programme=a",), {"x": 1}, b"blob")])
    check = prefill._checked
    assert check(pickle.dumps(good), expected, "config", ["hydra.mode=MULTIRUN"]) == good[1]
    bad = [
        ("other", good[1]),  # not our tag
        ("rtw-sim-prefill-1", [(("programme=c",), {"x": 1}, b"blob")]),  # a set not asked
        ("rtw-sim-prefill-1", [(("programme=a",), [1], b"blob")]),  # entry not a dict
        ("rtw-sim-prefill-1", [(("programme=a",), {}, "text")]),  # config not bytes
        ("rtw-sim-prefill-1", [(("programme=a",), {}, b"1"), (("programme=a",), {}, b"2")]),
        ("rtw-sim-prefill-1", [(("programme=a",), {})]),  # too short
    ]
    for payload in bad:
        assert check(pickle.dumps(payload), expected, "config", ["hydra.mode=MULTIRUN"]) == []
    assert check(b"\x80\x05garbage", expected, "config", []) == []
    assert check(None, expected, "config", []) == []
    # without Hydra overrides (no launcher configs kept) a blob is not taken either
    assert check(pickle.dumps(good), expected, "config", None) == []


@pytest.mark.parametrize("bad,expected", [
    (["programme=usual_care,nonexistent"], "in sweep cell: programme=nonexistent"),
    (["programme=usual_care,ips_smi", "pathways.rtw.manual_hr=0.9,abc"],
     "pathways.rtw.manual_hr=abc"),
])
def test_a_bad_cells_error_reads_as_without_the_fork(tmp_path, bad, expected):
    """A set of group choices that does not compose (the child leaves it out) and a bad
    value: the same one line, from the same cell, as without the fork."""
    argv = ["-m", *bad, "population=workforce,out_of_work", "population.n=300"]
    off = _preflight(argv, "off", tmp_path / "sweep")
    on = _preflight(argv, "on", tmp_path / "sweep")
    assert on[3]["forked"] and not off[3]["forked"]
    assert on[0] == off[0] and expected in on[0] and "\n" not in on[0]


def test_when_the_preflight_forks(monkeypatch):
    monkeypatch.setenv("RTW_SIM_HELPER", "on")
    assert prefill._should_fork(prefill.MIN_SETS)
    assert not prefill._should_fork(prefill.MIN_SETS - 1)  # too few sets to pay
    monkeypatch.setenv("RTW_SIM_HELPER", "off")
    assert not prefill._should_fork(100)
    monkeypatch.setenv("RTW_SIM_HELPER", "auto")
    from sim.results import helper

    monkeypatch.setattr(helper, "_load", lambda: 0.0)
    monkeypatch.setattr(helper, "_cpus", lambda: 1)
    assert not prefill._should_fork(100)  # nothing to overlap on
    monkeypatch.setattr(helper, "_cpus", lambda: 2)
    assert prefill._should_fork(100)
    monkeypatch.setattr(helper, "_load", lambda: 1.6)
    monkeypatch.setattr(helper, "_IDLE_NOW", {})
    monkeypatch.setattr(helper, "_runnable", lambda: 2)
    assert not prefill._should_fork(100)  # the other CPU is busy, and busy now
    monkeypatch.setattr(helper, "_IDLE_NOW", {})
    monkeypatch.setattr(helper, "_runnable", lambda: 1)
    assert prefill._should_fork(100)  # the average lags: only this process runs now
    monkeypatch.setenv("RTW_SIM_HELPER", "on")
    monkeypatch.setattr(fork_pool, "_threads", lambda: 2)
    assert not prefill._should_fork(100)  # never fork a process with threads
    monkeypatch.undo()
    before = fork_pool._threads()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert fork_pool._threads() == before + 1  # a thread running is counted
    finally:
        stop.set()
        thread.join()


def test_no_fork_for_a_single_run_or_few_sets(tmp_path):
    one = _preflight(["population.n=300"], "on", tmp_path / "one")
    few = _preflight(["-m", "programme=usual_care,ips_smi", "population.n=300,400"], "on",
                     tmp_path / "few")
    assert one[0] is None and few[0] is None
    assert one[3] == {} and few[3] == {"forked": False, "received": 0}


@pytest.mark.parametrize("n_sets", [1, 7, 300])
def test_the_work_queue_hands_each_set_to_one_process(n_sets):
    """Two processes taking sets from one queue take every set once between them."""
    sets = [(f"programme=p{i}",) for i in range(n_sets)]
    queue = prefill._work_queue(n_sets)
    assert queue is not None
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():  # a test process may hold idle threads (see one_thread)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: its sets' numbers to the pipe, then out
        try:
            taken = [sets.index(s) for s in prefill._claimed(sets, queue, 1)]
            os.write(write_fd, pickle.dumps(taken))
        finally:
            os._exit(0)
    os.close(write_fd)
    mine = [sets.index(s) for s in prefill._claimed(sets, queue, 0)]
    with os.fdopen(read_fd, "rb") as pipe:
        theirs = pickle.loads(pipe.read())
    os.waitpid(pid, 0)
    os.close(queue)
    assert sorted(mine + theirs) == list(range(n_sets))


def test_without_a_queue_the_sets_are_split_in_turn(monkeypatch):
    sets = [(f"programme=p{i}",) for i in range(5)]
    assert list(prefill._claimed(sets, None, 0)) == sets[0::2]
    assert list(prefill._claimed(sets, None, 1)) == sets[1::2]

    def full(fd, data):
        raise BlockingIOError
    monkeypatch.setattr(prefill.os, "write", full)
    assert prefill._work_queue(5) is None  # a pipe that cannot hold them: no queue
