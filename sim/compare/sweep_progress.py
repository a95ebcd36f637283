"""Progress lines of a sweep's jobs (``[k/N] <cell> done in 2.1 s; elapsed 40 s, ETA 1 min
20 s``), kept in ``progress.jsonl`` with each job's CPU time (:mod:`sim.compare.sweep`)."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

PROGRESS_FILE = "progress.jsonl"
SWEEP_FILE = "sweep.json"


def append_line(path: Path, record: dict) -> None:
    """Append one JSON line with a single write (O_APPEND: lines from workers do not mix)."""
    data = (json.dumps(record, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def progress_line(sweep_dir: Path, key: str, status: str, seconds: float,
                  cpu: float = 0.0, simulate_cpu: float = 0.0) -> str:
    """Record a finished job and return the progress line ``[k/N] ... ETA``.

    ``cpu``: the job's CPU time in :func:`run_cell`; ``simulate_cpu``: the part of it inside
    the ``simulate()`` call (build, loop, every table), for experiments/sweep_bench.py."""
    now = time.time()
    append_line(sweep_dir / PROGRESS_FILE, {"cell": key, "status": status, "pid": os.getpid(),
                                            "seconds": round(seconds, 3),
                                            "cpu_seconds": round(cpu, 3),
                                            "simulate_cpu_seconds": round(simulate_cpu, 3),
                                            "time": now})
    try:
        sweep = json.loads((sweep_dir / SWEEP_FILE).read_text())
    except (OSError, ValueError):
        sweep = None
    verb = {"done": "done in", "skipped": "skipped (complete)", "failed": "FAILED after"}[status]
    timing = f" {seconds:.1f} s" if status != "skipped" else ""
    if not sweep:
        return f"[cell] {key} {verb}{timing}"
    started, total = sweep["started"], sweep["total"]
    done = 0
    with open(sweep_dir / PROGRESS_FILE) as fh:
        for line in fh:
            try:
                if json.loads(line)["time"] >= started:
                    done += 1
            except (ValueError, KeyError):
                continue  # a line being written by another worker
    elapsed = now - started
    left = max(total - done, 0)
    eta = elapsed / done * left if done else float("nan")
    eta_text = "-" if math.isnan(eta) else _duration(eta)
    return (f"[{done}/{total}] {key} {verb}{timing}; elapsed {_duration(elapsed)}, "
            f"ETA {eta_text}")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
