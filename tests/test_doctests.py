"""The examples in the docstrings run and print what they show (they are documentation a
reader copies; a stale one misleads). Every module of ``sim`` with a ``>>>`` example is
found, so a new example is checked without being listed here."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"
MODULES = sorted(
    ".".join(p.relative_to(SIM.parent).with_suffix("").parts)
    for p in SIM.rglob("*.py") if ">>> " in p.read_text(encoding="utf-8"))


def test_the_examples_are_found():
    assert "sim.simulate" in MODULES and "sim.engine.rng" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
