"""The explorer's Hydra compositions (population preset x design): cached per process, and
composed ahead of time in a helper process.

Composing a preset with a design cost ~0.4-1 CPU-s (Hydra, pure Python): the first time a
user picked a design, that was about half of the update. Since ``load_config`` reads each
config file once per process (session 31) a later design takes ~0.05 CPU-s (0.15 before;
the process's first compose ~0.4, Hydra's own start). :func:`start_background` composes
the designs in one helper process (``python -c``, so on the second core and not under this
process's GIL, which a thread would share with the page's updates), niced, the page's
default preset first, and hands each config back as it is made (pickled) into the same
cache; a config asked for before it arrives is composed here, as before. A composition is
the same wherever it runs (the same code and files; tests/test_explorer.py checks it).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

from sim.config import load_config

_CACHE: dict[tuple[str, str], dict] = {}  # (population, design) -> composed config
HYDRA_LOCK = threading.Lock()  # Hydra's global state: one composition at a time
_BACKGROUND: dict[str, object] = {}  # the helper process and its reader thread (once)
_BACKGROUND_LOCK = threading.Lock()


def _compose(population: str, design: str) -> dict:
    return load_config([f"population={population}", f"programme={design}"])


def composed(population: str, design: str) -> dict:
    """The preset x design config as Hydra composes it, composed once per process (here or
    by the helper process). Callers must not change it (they copy it)."""
    key = (population, design)
    hit = _CACHE.get(key)
    if hit is None:
        with HYDRA_LOCK:
            hit = _CACHE.get(key)
            if hit is None:
                hit = _CACHE.setdefault(key, _compose(population, design))
    return hit


def is_composed(population: str, design: str) -> bool:
    return (population, design) in _CACHE


def clear() -> None:
    """Forget every composition (tests)."""
    _CACHE.clear()


def _child(pairs_json: str) -> None:
    """In the helper process: compose each (population, design) and write it to stdout."""
    try:
        os.nice(10)  # the page's own updates come first on a busy machine
    except OSError:  # pragma: no cover - not allowed: run at the same priority
        pass
    out = sys.stdout.buffer
    try:
        for population, design in json.loads(pairs_json):
            pickle.dump(((population, design), _compose(population, design)), out)
            out.flush()
    except BrokenPipeError:  # the page's process has gone: nothing to hand back
        pass


AHEAD_ENV = "RTW_EXPLORER_COMPOSE_AHEAD"  # "0": compose only when asked (the browser test)


def start_background(pairs: list[tuple[str, str]]) -> threading.Thread | None:
    """Compose ``pairs`` (population, design) in a helper process, in that order, into the
    cache; once per process (a second call returns the first call's reader thread; None if
    ``RTW_EXPLORER_COMPOSE_AHEAD=0``). The thread ends when the helper has composed them
    all (join it to wait)."""
    if os.environ.get(AHEAD_ENV, "1") == "0":
        return None
    with _BACKGROUND_LOCK:
        if "thread" in _BACKGROUND:
            return _BACKGROUND["thread"]
        todo = [list(p) for p in pairs if tuple(p) not in _CACHE]
        root = str(Path(__file__).resolve().parents[2])  # the sim package this one is in
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from sim.explorer.compose import _child; "
             "_child(sys.argv[1])", json.dumps(todo)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            env=env, cwd=root)

        def read():
            try:
                while True:
                    key, cfg = pickle.load(proc.stdout)
                    _CACHE.setdefault(tuple(key), cfg)
            except (EOFError, pickle.UnpicklingError):
                pass
            finally:
                proc.stdout.close()
                proc.wait()

        thread = threading.Thread(target=read, daemon=True, name="explorer-compose")
        _BACKGROUND.update(process=proc, thread=thread)
        thread.start()
        return thread


__all__ = ["HYDRA_LOCK", "clear", "composed", "is_composed", "start_background"]
