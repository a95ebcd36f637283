"""The explorer's runs: a scenario's two arms, simulated once, compared as the report does.

:func:`evaluate` runs the design and usual care on the same people (common random numbers,
as the report does) through :func:`sim.simulate.simulate`, and compares them with the
report's own functions (:func:`sim.compare.report.compare_cells`, the plain-words answer of
:func:`sim.compare.report._answers`), so the explorer and the HTML report say the same thing
(:func:`compare_for_page`: the report's tables the page shows, not its table of groups).

What an update costs is mostly the weekly loop of the design arm (``make bench`` prints the
split), so nothing is computed twice:

* **arms** are cached by config hash (:func:`sim.results.manifest.config_hash`, which covers
  the seed, the population and every setting). Usual care does not depend on the design or
  on its levers, so changing them reruns only the design arm; going back to a design or
  setting seen before reruns nothing. An arm being computed by one page session (or by the
  page's speculative run while the user is still typing) is waited for, not computed again.
* **comparisons** (the report's tables, the answer and the views drawn from them) are cached
  by the pair of arms, so a change that touches neither arm (the person to follow, pressing
  Reset again) costs nothing but the page's redraw.

Both caches hold results of the exact configs: a cached answer is the answer a fresh run
gives (tests/test_explorer.py checks it).
"""

from __future__ import annotations

import dataclasses
import html
import re
import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from sim.compare import report_measures
from sim.compare.report import Cell, _answers, compare_cells
from sim.explorer.scenario import REFERENCE, Scenario
from sim.results.manifest import config_hash
from sim.results.outcomes import rtw_curve_table
from sim.simulate import simulate

ARM_CACHE_SIZE = 6  # arms (~10 MB each at 20,000 people, ~250 MB at the 500,000 maximum)
COMPARISON_CACHE_SIZE = 4  # each keeps its two arms alive too
VIEWS_PER_PAIR = 16  # the page draws a table and two figures from a comparison


@dataclass
class Arm:
    """One design's full-horizon results, in the report's cell form."""

    config: dict
    results: object  # sim.simulate.Results
    cell: object  # sim.compare.report.Cell


class _Memo:
    """A small LRU of values by key, thread-safe, computing each key once: a second caller
    asking for a key being computed waits for the first one's result (or its error)."""

    def __init__(self, size: int):
        self.size = size
        self._done: OrderedDict[object, object] = OrderedDict()
        self._running: dict[object, Future] = {}
        self._lock = threading.Lock()
        self.computed = 0  # how many values were computed (not served from the cache)

    def get(self, key, make):
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            future = self._running.get(key)
            owner = future is None
            if owner:
                future = self._running[key] = Future()
        if not owner:
            return future.result()
        try:
            value = make()
        except BaseException as err:
            with self._lock:
                del self._running[key]
            future.set_exception(err)
            raise
        with self._lock:
            del self._running[key]
            self._done[key] = value
            self.computed += 1
            while len(self._done) > self.size:
                self._done.popitem(last=False)
        future.set_result(value)
        return value

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._done

    def clear(self) -> None:
        with self._lock:
            self._done.clear()
            self.computed = 0


ARMS = _Memo(ARM_CACHE_SIZE)
COMPARISONS = _Memo(COMPARISON_CACHE_SIZE)


def clear_caches() -> None:
    """Forget every cached arm and comparison (tests; a fresh start)."""
    ARMS.clear()
    COMPARISONS.clear()


def _simulate_arm(cfg: dict, key: str) -> Arm:
    res = simulate(cfg, core_only=True)  # the report needs no weekly or spell tables
    res.rtw_curves = rtw_curve_table(res.agents, res.config)
    manifest = {"config": res.config, "config_hash": key, "seed": cfg["seed"],
                "replicates": cfg["replicates"], "population": cfg["population"]["name"],
                "programme": cfg["programme"]["name"], "n_agents": int(len(res.agents)),
                "horizon_weeks": cfg["horizon_weeks"], "engine": cfg["engine"]}
    return Arm(res.config, res, Cell(Path("explorer"), manifest, res.summary, res.economics,
                                     res.rtw_curves))


def run_arm(cfg: dict) -> Arm:
    """Simulate one config, or return its cached results (same config hash)."""
    key = config_hash(cfg)
    return ARMS.get(key, lambda: _simulate_arm(cfg, key))


@dataclass
class Outcome:
    """What the page shows for a scenario over the full horizon."""

    scenario: Scenario
    design: Arm
    reference: Arm
    comparison: object  # sim.compare.report.Comparison
    answer: list[tuple[str, str]]  # (bold label, plain text) lines
    # views drawn from this comparison (sim.explorer.views, the page's figures), computed
    # once per pair of arms: shared by every Outcome of the same pair
    views: _Memo = field(default_factory=lambda: _Memo(VIEWS_PER_PAIR))

    def view(self, key, make):
        """``make()`` once per pair of arms (e.g. a figure), then the cached value."""
        return self.views.get(key, make)


def answer_lines(comparison) -> list[tuple[str, str]]:
    """The report's plain-words answer (:func:`sim.compare.report._answers`), as (label, text)
    pairs of plain text: the page shows them as text, never as HTML. (Its ~25 look-ups of
    league values go through an index built once per league:
    :func:`sim.compare.report_figures._league_value`.)"""
    out = []
    for line in _answers(comparison):
        m = re.match(r"\s*<b>(.*?)</b>\s*(.*)", line, flags=re.S)
        label, rest = (m.group(1), m.group(2)) if m else ("", line)
        strip = lambda s: html.unescape(re.sub(r"<[^>]+>", "", s)).strip()  # noqa: E731
        out.append((strip(label), strip(rest)))
    return out


def same_arms(scenario: Scenario) -> bool:
    """The design is usual care itself, with nothing changed: one arm serves both."""
    return scenario.config["programme"]["name"] == REFERENCE and \
        config_hash(scenario.config) == config_hash(scenario.reference)


def compare_for_page(cells: list) -> object:
    """:func:`sim.compare.report.compare_cells` with the tables the page shows: the league,
    the per-replicate measures, the RTW curves and the costs, each equal to the report's;
    not the report's table of groups (``groups`` is left empty: the page has no view of it,
    and it is ~20 CPU-ms of a new design arm at 20,000 people). The curves and costs are
    the report's own functions over the same arms and (cached) per-replicate measures."""
    comp = compare_cells(cells, detail=False)
    measures = {a.key: report_measures._arm_measures(a, comp.rtw_week) for a in comp.arms}
    return dataclasses.replace(
        comp, curves=report_measures._curves(comp.arms),
        costs=report_measures._cost_table(measures, measures[comp.arms[0].key]))


def _compare(scenario: Scenario) -> tuple:
    ref = run_arm(scenario.reference)
    design = ref if same_arms(scenario) else run_arm(scenario.config)
    cells = [ref.cell] if design is ref else [ref.cell, design.cell]
    comp = compare_for_page(cells)
    return design, ref, comp, answer_lines(comp), _Memo(VIEWS_PER_PAIR)


def evaluate(scenario: Scenario) -> Outcome:
    """Both arms of ``scenario`` and their comparison (cached: see the module's text)."""
    key = (config_hash(scenario.reference), config_hash(scenario.config))
    design, ref, comp, answer, views = COMPARISONS.get(key, lambda: _compare(scenario))
    return Outcome(scenario, design, ref, comp, answer, views)


class Prefetcher:
    """Starts an update before it is asked for: the page hands it the controls as soon as
    one changes (Mesa applies them only on Reset), and one background thread computes
    them (``work(controls)``: the arms, the comparison and the page's views, all into the
    caches above), so Reset finds them done or under way and waits only for the rest.
    Only the latest controls are kept: a change made while one is computing replaces any
    that had not started. It computes nothing the page would not (same functions, same
    caches), so what the page shows does not depend on it."""

    def __init__(self, work):
        self._work = work
        self._pending: dict | None = None
        self._computing = False
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self.done = 0  # how many controls were computed (tests)

    def submit(self, controls: dict) -> None:
        with self._wake:
            self._pending = dict(controls)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name="explorer-prefetch")
                self._thread.start()
            self._wake.notify_all()

    def _loop(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._pending is not None)
                controls, self._pending = self._pending, None
                self._computing = True
            try:
                self._work(controls)
            except Exception:  # noqa: BLE001, S110 - a bad value: the page says so on Reset
                pass
            finally:
                with self._wake:
                    self._computing = False
                    self.done += 1
                    self._wake.notify_all()

    def wait_idle(self, timeout: float = 120) -> bool:
        """Wait until nothing is pending or computing (tests)."""
        with self._wake:
            return self._wake.wait_for(lambda: self._pending is None and not self._computing,
                                       timeout)
