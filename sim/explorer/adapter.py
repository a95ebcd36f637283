"""The interactive explorer's model adapter: controls -> validated config -> results -> views.

Pure functions and a Mesa model, no Solara: the browser app (:mod:`sim.explorer.app`)
only draws what these return, so everything here is unit-tested without a browser.

* :mod:`sim.explorer.scenario`: :class:`Controls` (what the page set) and
  :func:`build_scenario` (the CLI's schema, its one-line messages, the reproducing command).
* :mod:`sim.explorer.runs`: :func:`evaluate`, the design and usual care on the same people,
  compared by the report's own functions; arms and comparisons cached (an update reruns
  only what changed).
* :mod:`sim.explorer.views`: the DataFrames the page draws.
* :class:`ExplorerModel` (here) is the Mesa model behind the page: its ``step()`` advances
  live :class:`sim.engine.model.RTWModel` instances of the design and of usual care by one
  observed week, so Mesa's Step and Play buttons run the simulation week by week, and one
  person can be followed through it (``model.person(i).describe()``).

The names the tests and the page use are re-exported here.
"""

from __future__ import annotations

import math

import mesa
import numpy as np
import pandas as pd

from sim.config import ConfigError
from sim.engine.categories import STATES
from sim.engine.model import RTWModel
from sim.engine.population import START_STATES, synthesise
from sim.errors import ExplorerError
from sim.explorer.runs import Outcome, answer_lines, clear_caches, evaluate, run_arm
from sim.explorer.scenario import (
    DESIGNS,
    IMD_TARGETS,
    KEY_EVIDENCE,
    PRESETS,
    REFERENCE,
    Controls,
    Scenario,
    build_scenario,
    parse_value,
)
from sim.explorer.views import (
    costs_view,
    curves_view,
    describe_person,
    design_label,
    ethnic_gap,
    gaps_view,
)

__all__ = [
    "DESIGNS", "IMD_TARGETS", "KEY_EVIDENCE", "PRESETS", "REFERENCE", "Controls",
    "ExplorerModel", "Outcome", "Scenario", "answer_lines", "build_scenario", "clear_caches",
    "costs_view", "curves_view", "describe_person", "design_label", "ethnic_gap", "evaluate",
    "gaps_view", "parse_value", "run_arm",
]


def start_shares(pop: dict) -> dict[str, float]:
    """Share of people in each state at week 0: one state for a cohort, a workforce or
    jobseekers; an out-of-work population's ``start_state_shares`` (normalised)."""
    if pop["mode"] == "out_of_work":
        shares = {s: float(pop["start_state_shares"].get(s, 0.0)) for s in STATES}
        total = sum(shares.values())
        return {s: v / total for s, v in shares.items()}
    start = STATES[START_STATES[pop["mode"]]]
    return {s: float(s == start) for s in STATES}


class ExplorerModel(mesa.Model):
    """What Mesa's controls drive: one scenario (design vs usual care), stepped weekly.

    Construction checks the controls and computes the full-horizon comparison (answer,
    curves, gaps, costs); a bad control leaves ``error`` set (the CLI's one line) and the
    model not running. ``step()`` advances live models of both arms by one observed week
    (the warm-up of a workforce preset runs with the first step) and records the followed
    person's state. Keyword arguments are the fields of :class:`Controls`.
    """

    def __init__(self, **controls):
        super().__init__(rng=0)  # the wrapper draws nothing; the arms use the config's seed
        self.controls = Controls(**{k: v for k, v in controls.items()
                                    if k in Controls.names()})
        self.error: str | None = None
        self.setup: Scenario | None = None
        self.outcome: Outcome | None = None
        self.week = 0
        self.live: dict[str, object] = {}
        self.path: dict[str, list[str]] = {}
        try:
            self.setup = build_scenario(self.controls)
            self.outcome = evaluate(self.setup)
        except (ConfigError, ExplorerError) as err:
            self.error = f"config error: {err}"
        except ValueError as err:  # EffectError, ResourceError: still one line
            self.error = f"config error: {str(err).splitlines()[0]}"
        self.horizon = self.setup.config["horizon_weeks"] if self.setup else 0
        self.running = self.error is None
        self.datacollector = mesa.DataCollector(model_reporters={
            "in work, design (%)": lambda m: m.share_in_work("design"),
            "in work, usual care (%)": lambda m: m.share_in_work(REFERENCE),
        })
        self.datacollector.collect(self)

    # live arms
    def _start_live(self):
        cfg, ref = self.setup.config, self.setup.reference
        people = synthesise(cfg["population"], cfg["seed"], cfg["replicates"])
        self.live = {"design": RTWModel(cfg, people)}
        self.live[REFERENCE] = (self.live["design"] if self.same_arms
                                else RTWModel(ref, people))
        for m in self.live.values():
            for _ in range(m.warmup):
                m.step()
        self.path = {k: [self._state_of(k)] for k in self.live}

    @property
    def same_arms(self) -> bool:
        return self.setup is not None and (
            self.setup.config["programme"]["name"] == REFERENCE)

    def _state_of(self, arm: str) -> str:
        m = self.live[arm]
        return STATES[int(m.columns["state"][self.setup.follow])]

    def step(self):
        if not self.running:
            return
        if not self.live:
            self._start_live()
        for m in {id(m): m for m in self.live.values()}.values():
            m.step()
        self.week += 1
        for k in self.live:
            self.path[k].append(self._state_of(k))
        if self.week >= self.horizon:
            for m in {id(m): m for m in self.live.values()}.values():
                m.finish()
            self.running = False
        self.datacollector.collect(self)

    # views of the live arms
    def _counts_now(self, arm: str) -> np.ndarray:
        """[week, state] counts for observed weeks 0..current. A live model records week w
        when it starts stepping it, so the current week is counted from its columns."""
        m = self.live[arm]
        done = m.weekly_counts[: self.week].sum(axis=1)
        now = np.bincount(m.columns["state"], minlength=len(STATES))
        return np.vstack([done, now[None, :]]).astype(float)

    def share_in_work(self, arm: str) -> float:
        """Share of people working (full or phased hours) this week, in percent."""
        if not self.live:
            row = self.states_view(arm).iloc[-1] if self.setup else None
            return math.nan if row is None else 100.0 * (row["working"] + row["phased"])
        counts = self._counts_now(arm)[-1]
        return 100.0 * (counts[STATES.index("working")] + counts[STATES.index("phased")]) \
            / counts.sum()

    def states_view(self, arm: str) -> pd.DataFrame:
        """Share of people in each state, weeks 0..current (week 0 before any step)."""
        if not self.live:
            if self.setup is None:
                return pd.DataFrame(columns=["week", *STATES])
            return pd.DataFrame([{"week": 0, **start_shares(self.setup.config["population"])}])
        counts = self._counts_now(arm)
        shares = counts / counts.sum(axis=1, keepdims=True)
        out = pd.DataFrame(shares, columns=list(STATES))
        out.insert(0, "week", np.arange(self.week + 1))
        return out

    def person_view(self) -> dict:
        """The followed person: who they are and what happens to them over the whole
        horizon in each arm (from the full runs), and, once stepping, the live agent
        (``model.person(i).describe()``) and their state week by week so far."""
        if self.outcome is None:
            return {}
        i = self.setup.follow
        out = {"index": i, "week": self.week, "outcomes": {}}
        keep = ["replicate", "person_id", "age_band", "sex", "ethnicity", "imd_quintile",
                "condition", "severity", "occupation", "employer_size", "oh_access",
                "disability", "employment"]
        for name, arm in (("design", self.outcome.design), (REFERENCE, self.outcome.reference)):
            row = arm.results.agents.iloc[i]
            out["who"] = {k: row[k].item() if hasattr(row[k], "item") else row[k]
                          for k in keep}
            out["outcomes"][name] = {
                "weeks_to_rtw": int(row["weeks_to_rtw"]),
                "days_absent": float(row["days_absent"]),
                "relapses": int(row["relapses"]),
                "final_state": str(row["final_state"]),
                "programme_start_week": int(row["programme_start_week"]),
                "programme_cost": float(row["programme_cost"]),
            }
        if self.live:
            out["live"] = describe_person(self.live["design"], i)
            out["path"] = {k: list(v) for k, v in self.path.items()}
        return out
