import functools
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=64)
def _load(overrides: tuple) -> dict:
    from sim.config import load_config

    return load_config(list(overrides))


@pytest.fixture
def make_config():
    """Compose and validate a config from overrides; returns a fresh deep copy each call."""
    import copy

    def make(*overrides):
        return copy.deepcopy(_load(tuple(overrides)))

    return make


@pytest.fixture
def run_cli():
    """Run ``python -m sim`` in a subprocess from the repo root."""
    import subprocess

    def run(*args, timeout=120):
        return subprocess.run([sys.executable, "-m", "sim", *args], cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)

    return run
