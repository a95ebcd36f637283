"""The explorer's compositions ahead of time (sim.explorer.compose): a helper process
composes the presets x designs and hands them back; they must be the configs this process
would compose, and the page must then use them without composing."""

from __future__ import annotations

import pytest

from sim.config import load_config
from sim.explorer import compose
from sim.explorer.scenario import Controls, background_pairs, build_scenario
from sim.results.manifest import config_hash

PAIRS = [("fit_note_cohort", "usual_care"), ("fit_note_cohort", "rtw_coordinator")]


@pytest.fixture
def fresh(monkeypatch):
    """An empty cache and no helper started yet in this process."""
    monkeypatch.setattr(compose, "_CACHE", {})
    monkeypatch.setattr(compose, "_BACKGROUND", {})
    monkeypatch.delenv(compose.AHEAD_ENV, raising=False)


def test_the_helper_process_composes_what_this_process_would(fresh, monkeypatch):
    # (~4-8 s wall: the helper process imports Hydra and the config code, then composes two)
    thread = compose.start_background(PAIRS)
    assert compose.start_background(PAIRS) is thread  # once per process
    thread.join(timeout=120)
    assert not thread.is_alive()
    for population, design in PAIRS:
        assert compose.is_composed(population, design)
        ahead = compose._CACHE[(population, design)]
        here = load_config([f"population={population}", f"programme={design}"])
        assert ahead == here
        assert config_hash(ahead) == config_hash(here)

    def fail(*_):
        raise AssertionError("composed again")

    monkeypatch.setattr(compose, "_compose", fail)  # the page now composes nothing
    s = build_scenario(Controls(design="rtw_coordinator", n="2000"))
    assert s.config["programme"]["name"] == "rtw_coordinator"
    assert s.reference["programme"]["name"] == "usual_care"


def test_nothing_is_composed_ahead_when_switched_off(fresh, monkeypatch):
    monkeypatch.setenv(compose.AHEAD_ENV, "0")
    assert compose.start_background(PAIRS) is None
    assert not compose.is_composed(*PAIRS[0])


def test_the_page_composes_usual_care_and_its_default_design_first():
    pairs = background_pairs()
    default = Controls()
    assert pairs[:2] == [(default.population, "usual_care"),
                         (default.population, default.design)]
    assert len(pairs) == len(set(pairs))  # every preset x design once
