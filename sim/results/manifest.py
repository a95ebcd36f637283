"""Provenance of a run: config, seed, package versions, git commit, timings, peak memory."""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import resource
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("mesa", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "hydra-core",
            "omegaconf")
REPO = Path(__file__).resolve().parent.parent.parent


@functools.cache  # per process: a sweep worker writes one manifest per cell
def package_versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@functools.cache  # per process: the code a process runs is the code it imported
def git_commit() -> dict:
    """Commit hash and whether the work tree had uncommitted changes (None outside git)."""
    def run(*args):
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=10, check=False)

    try:
        head = run("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = run("status", "--porcelain", "--untracked-files=no").stdout.strip() != ""
        return {"commit": head.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def config_hash(cfg: dict) -> str:
    """Stable hash of a resolved config (key order does not matter)."""
    text = json.dumps(cfg, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / 2**20


def build_manifest(results, files: list[str], overlap: dict | None = None) -> dict:
    """The manifest; ``overlap``: what ran beside the main work (``python -m sim``: the
    helper process, the agents.parquet thread), recorded with this process's CPU seconds
    so far (the bench reads the helper's CPU as the rest of the command's)."""
    import time

    cfg = results.config
    process = {"cpu_seconds": round(time.process_time(), 3), **(overlap or {})}
    return {
        "config_hash": config_hash(cfg),
        "seed": cfg["seed"],
        "replicates": cfg["replicates"],
        "population": cfg["population"]["name"],
        "programme": cfg["programme"]["name"],
        "n_agents": int(len(results.agents)),
        "horizon_weeks": cfg["horizon_weeks"],
        "engine": cfg["engine"],
        "versions": dict(package_versions()),
        "git": dict(git_commit()),
        "timings": results.timings,
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "process": process,
        "files": files,
        "config": cfg,
    }
