"""The interactive explorer's model adapter: controls -> validated config -> results -> views.

Pure functions and a Mesa model, no Solara: the browser app (:mod:`sim.explorer.app`)
only draws what these return, so everything here is unit-tested without a browser.

* :class:`Controls` holds what a user set in the page, as typed (text fields give strings).
  :func:`build_scenario` composes the chosen population preset and design with Hydra,
  applies the settings to the composed config and checks it with the CLI's own schema
  (:func:`sim.config.validate`), so a bad value gives the CLI's one-line message. It also
  writes the ``python -m sim`` overrides that reproduce the config exactly.
* :func:`evaluate` runs the design and usual care on the same people (common random
  numbers, as the report does) through :func:`sim.simulate.simulate`, and compares them with
  the report's own functions (:func:`sim.compare.report.compare_cells`, the plain-words answer of
  :func:`sim.compare.report._answers`), so the explorer and the HTML report say the same thing.
* :class:`ExplorerModel` is the Mesa model behind Mesa's SolaraViz: its ``step()`` advances
  live :class:`sim.engine.model.RTWModel` instances of the design and of usual care by one observed
  week, so Mesa's Step and Play buttons run the simulation week by week, and one person can
  be followed through it (``model.person(i).describe()``).
"""

from __future__ import annotations

import copy
import html
import math
import re
import shlex
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import yaml

from sim.compare.report import Cell, _answers, compare_cells
from sim.config import CONFIG_DIR, ConfigError, load_config, validate
from sim.engine.categories import (
    AGE_BANDS,
    CONDITION_LABELS,
    CONDITIONS,
    DISABILITY,
    EMPLOYER_SIZES,
    EMPLOYMENT_TYPES,
    ETHNICITIES,
    ETHNICITY_LABELS,
    OCCUPATIONS,
    SEVERITIES,
    SEXES,
    STATES,
)
from sim.engine.model import RTWModel
from sim.engine.population import synthesise
from sim.errors import ExplorerError
from sim.programme.effects import read_evidence_ids
from sim.results.manifest import config_hash
from sim.results.outcomes import rtw_curve_table
from sim.simulate import simulate
from sim.stats.metrics import slope_index

REFERENCE = "usual_care"
PRESETS = tuple(sorted(p.stem for p in (CONFIG_DIR / "population").glob("*.yaml")))
DESIGNS = tuple(sorted(p.stem for p in (CONFIG_DIR / "programme").glob("*.yaml")))
DEFAULT_N = 20_000  # an update at this size takes about a second (make bench)
MAX_PEOPLE = 500_000  # people x replicates: beyond this the page would not answer quickly
# What "IMD targeting" sets as every service's eligible quintiles
IMD_TARGETS = OrderedDict([
    ("design default", None),
    ("all quintiles", [1, 2, 3, 4, 5]),
    ("quintiles 1-3", [1, 2, 3]),
    ("quintiles 1-2", [1, 2]),
    ("quintile 1 only", [1]),
])
# A few key evidence values; the page shows each one's registry value and 95% interval.
KEY_EVIDENCE = OrderedDict([
    ("ev_coordinator", "coordination_vogel2017_hr"),
    ("ev_cbt", "work_focused_cbt_hr"),
    ("ev_mdt", "mdt_tingulstad2022_rr"),
    ("ev_multidomain", "multidomain_bonus_hr"),
])
MINORITIES = ETHNICITIES[1:]


# ---- controls ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Controls:
    """What the user set. Text fields stay as typed; ``""`` means "the design's own value"."""

    population: str = "fit_note_cohort"
    n: object = str(DEFAULT_N)
    design: str = "multicomponent"
    refer_at_week: object = ""
    capacity: object = ""  # starts per week per 100,000 people, every service of the design
    imd_target: str = "design default"
    minority_referral: object = ""  # referral, minority ethnic groups (x White British)
    minority_uptake: object = ""  # uptake, minority ethnic groups (x White British)
    deprived_uptake: object = ""  # uptake, IMD quintiles 1-2 (x quintile 5)
    dropout: object = ""  # weekly drop-out hazard
    seed: object = "1"
    replicates: object = "1"
    ev_coordinator: object = ""
    ev_cbt: object = ""
    ev_mdt: object = ""
    ev_multidomain: object = ""
    follow: object = "0"  # row of the person to follow

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def parse_value(value):
    """A typed-in value as the number it spells, as Hydra would read it from a command line
    (``"3"`` -> 3, ``"0.5"`` -> 0.5); ``""`` or None -> None (keep the design's value);
    anything else stays a string, for the schema to reject in its own words."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    text = value.strip()
    if text == "":
        return None
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text) else text


def _format(value) -> str:
    """A value as a Hydra override value that reads back as the same Python value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ",".join(_format(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} on a command line")


def _get(cfg: dict, path: str):
    node = cfg
    for key in path.split("."):
        node = node[key]
    return node


def _set(cfg: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    node = cfg
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


_HYDRA_LOCK = threading.Lock()  # Hydra's global state: one composition at a time


@lru_cache(maxsize=64)
def _composed_cached(population: str, design: str) -> dict:
    with _HYDRA_LOCK:
        return load_config([f"population={population}", f"programme={design}"])


def _composed(population: str, design: str) -> dict:
    """The preset x design config as Hydra composes it (cached; callers get a copy)."""
    return copy.deepcopy(_composed_cached(population, design))


def _check_choice(key: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: unknown value {value!r}, expected one of {', '.join(choices)}")


@dataclass
class Scenario:
    """A checked pair of configs (the design and usual care on the same people)."""

    controls: Controls
    config: dict  # the design's validated config
    reference: dict  # usual care, identical but for the programme
    overrides: list[str]  # python -m sim overrides reproducing ``config``
    reference_overrides: list[str]
    settings: dict = field(default_factory=dict)  # path -> value the user changed
    follow: int = 0
    unused_evidence: list[str] = field(default_factory=list)  # set, but not in this design

    def command(self, reference: bool = False) -> str:
        ov = self.reference_overrides if reference else self.overrides
        return "python -m sim " + " ".join(shlex.quote(o) for o in ov)

    def yaml(self) -> str:
        """The exact config as YAML, with the command that reproduces it on top."""
        head = ("# rtw-sim scenario exported from the explorer.\n"
                "# Reproduce it (same tables) with:\n"
                f"#   {self.command()}\n"
                "# and its usual-care comparator with:\n"
                f"#   {self.command(reference=True)}\n")
        if self.settings:
            head += "# Settings changed in the explorer (not registry or preset values):\n"
            head += "".join(f"#   {k} = {v!r}\n" for k, v in self.settings.items())
        return head + yaml.safe_dump(self.config, sort_keys=False, allow_unicode=False)


def _component_settings(c: Controls, base: dict) -> list[tuple[str, object]]:
    comps = base["programme"].get("components") or {}
    out = []
    refer = parse_value(c.refer_at_week)
    capacity = parse_value(c.capacity)
    target = IMD_TARGETS[c.imd_target]
    m_ref, m_up = parse_value(c.minority_referral), parse_value(c.minority_uptake)
    d_up, drop = parse_value(c.deprived_uptake), parse_value(c.dropout)
    for name in comps:
        p = f"programme.components.{name}"
        if refer is not None:
            out.append((f"{p}.eligibility.refer_at_week", refer))
        if capacity is not None:
            out.append((f"{p}.capacity.starts_per_week_per_100k", capacity))
        if target is not None:
            out.append((f"{p}.eligibility.imd_quintiles", list(target)))
        for value, key in ((m_ref, "referral_ethnicity_rr"), (m_up, "uptake_ethnicity_rr")):
            if value is not None:
                out += [(f"{p}.access.{key}.{g}", value) for g in MINORITIES]
        if d_up is not None:
            old = list(_get(base, f"{p}.access.uptake_imd_rr"))
            out.append((f"{p}.access.uptake_imd_rr", [d_up, d_up, *old[2:]]))
        if drop is not None:
            out.append((f"{p}.access.dropout_weekly_hazard", drop))
    return out


def build_scenario(c: Controls) -> Scenario:
    """Check the controls with the CLI's schema; ConfigError (one line) if a value is bad."""
    _check_choice("population", c.population, PRESETS)
    _check_choice("programme", c.design, DESIGNS)
    _check_choice("imd_target", c.imd_target, tuple(IMD_TARGETS))
    base = _composed(c.population, c.design)
    common = []  # settings shared by the design and usual care
    for path, raw in (("population.n", c.n), ("seed", c.seed), ("replicates", c.replicates)):
        value = parse_value(raw)
        if value is not None:
            common.append((path, value))
        else:
            raise ConfigError(f"{path}: empty, expected a number")
    evidence = []
    for key, entry in KEY_EVIDENCE.items():
        value = parse_value(getattr(c, key))
        if value is not None:
            evidence.append((entry, value))
    own = _component_settings(c, base)

    def make(population_design: dict, settings) -> dict:
        cfg = copy.deepcopy(population_design)
        for path, value in settings:
            _set(cfg, path, value)
        reads = set(read_evidence_ids(cfg))  # the schema refuses values a design never reads
        if own := {k: v for k, v in evidence if k in reads}:
            cfg["evidence_values"] = own
        return cfg

    cfg = make(base, common + own)
    cfg = validate(cfg)
    people = cfg["population"]["n"] * cfg["replicates"]
    if people > MAX_PEOPLE:
        raise ConfigError(f"population.n: {cfg['population']['n']} x {cfg['replicates']} "
                          f"replicates = {people} people, expected at most {MAX_PEOPLE} in the "
                          "explorer (use python -m sim for larger runs)")
    ref = validate(make(_composed(c.population, REFERENCE), common))
    follow = parse_value(c.follow)
    if isinstance(follow, bool) or not isinstance(follow, int) or not 0 <= follow < people:
        raise ExplorerError(f"follow: got {c.follow!r}, expected a person number from 0 to "
                            f"{people - 1}")

    def overrides(design, settings, arm):
        out = [f"population={c.population}", f"programme={design}"]
        out += [f"{p}={_format(v)}" for p, v in settings]
        out += [f"+evidence_values.{k}={_format(v)}"
                for k, v in (arm.get("evidence_values") or {}).items()]
        return out

    changed = {p: v for p, v in common + own}
    changed.update({f"evidence_values.{k}": v for k, v in evidence})
    used = set(read_evidence_ids(cfg))
    unused = [k for k, _ in evidence if k not in used]
    return Scenario(c, cfg, ref, overrides(c.design, common + own, cfg),
                    overrides(REFERENCE, common, ref), changed, follow, unused)


# ---- running and comparing ------------------------------------------------------------


@dataclass
class Arm:
    """One design's full-horizon results, in the report's cell form."""

    config: dict
    results: object  # sim.simulate.Results
    cell: object  # sim.compare.report.Cell


_CACHE: OrderedDict[str, Arm] = OrderedDict()
CACHE_SIZE = 6
_CACHE_LOCK = threading.Lock()  # page sessions run in threads


def run_arm(cfg: dict) -> Arm:
    """Simulate one config (cached by config hash: switching designs reuses usual care)."""
    key = config_hash(cfg)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    res = simulate(cfg, core_only=True)  # the report needs no weekly or spell tables
    res.rtw_curves = rtw_curve_table(res.agents, res.config)
    manifest = {"config": res.config, "config_hash": key, "seed": cfg["seed"],
                "replicates": cfg["replicates"], "population": cfg["population"]["name"],
                "programme": cfg["programme"]["name"], "n_agents": int(len(res.agents)),
                "horizon_weeks": cfg["horizon_weeks"], "engine": cfg["engine"]}
    arm = Arm(res.config, res, Cell(Path("explorer"), manifest, res.summary, res.economics,
                                    res.rtw_curves))
    with _CACHE_LOCK:
        _CACHE[key] = arm
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return arm


@dataclass
class Outcome:
    """What the page shows for a scenario over the full horizon."""

    scenario: Scenario
    design: Arm
    reference: Arm
    comparison: object  # sim.compare.report.Comparison
    answer: list[tuple[str, str]]  # (bold label, plain text) lines


def answer_lines(comparison) -> list[tuple[str, str]]:
    """The report's plain-words answer (:func:`sim.compare.report._answers`), as (label, text)
    pairs of plain text: the page shows them as text, never as HTML."""
    out = []
    for line in _answers(comparison):
        m = re.match(r"\s*<b>(.*?)</b>\s*(.*)", line, flags=re.S)
        label, rest = (m.group(1), m.group(2)) if m else ("", line)
        strip = lambda s: html.unescape(re.sub(r"<[^>]+>", "", s)).strip()  # noqa: E731
        out.append((strip(label), strip(rest)))
    return out


def evaluate(scenario: Scenario) -> Outcome:
    ref = run_arm(scenario.reference)
    design = ref if scenario.config["programme"]["name"] == REFERENCE and \
        config_hash(scenario.config) == config_hash(scenario.reference) else \
        run_arm(scenario.config)
    cells = [ref.cell] if design is ref else [ref.cell, design.cell]
    comp = compare_cells(cells)
    return Outcome(scenario, design, ref, comp, answer_lines(comp))


# ---- views (pure: DataFrames for the page to draw) -------------------------------------


def design_label(name: str) -> str:
    acronyms = {"mdt": "MDT", "cbt": "CBT", "bps": "BPS", "ips": "IPS", "smi": "SMI",
                "vsw": "VSW", "rtw": "RTW", "msk": "MSK", "ot": "OT"}
    return " ".join(acronyms.get(w, w) for w in name.split("_"))


def curves_view(outcome: Outcome, dimension: str) -> pd.DataFrame:
    """RTW curves by group: design, group, week, share and the difference from usual care."""
    cur = outcome.comparison.curves
    cur = cur[cur["dimension"] == dimension][["design", "group", "week", "share"]]
    ref = cur[cur["design"] == REFERENCE].set_index(["group", "week"])["share"]
    out = cur.copy()
    out["vs_usual_care"] = out["share"].to_numpy() - ref.reindex(
        pd.MultiIndex.from_frame(out[["group", "week"]])).to_numpy()
    return out.reset_index(drop=True)


def ethnic_gap(values: dict, counts: dict) -> tuple[float, float]:
    """Population-weighted mean shortfall of minority groups against White British (the
    report's definition) and its binomial standard error (groups independent)."""
    wb = ETHNICITIES[0]
    groups = [g for g in MINORITIES if counts.get(g, 0) > 0]
    w = np.array([counts[g] for g in groups], dtype=float)
    w /= w.sum()
    p = np.array([values[g] for g in groups])
    n = np.array([counts[g] for g in groups], dtype=float)
    gap = float(values[wb] - (w * p).sum())
    var = values[wb] * (1 - values[wb]) / counts[wb] + float((w**2 * p * (1 - p) / n).sum())
    return gap, math.sqrt(var)


def gaps_view(outcome: Outcome) -> pd.DataFrame:
    """Per design: SII (Fingertips simulation interval) and ethnic gap (binomial interval)
    of RTW within 52 weeks, levels pooled over replicates, plus the change vs usual care with
    its 95% paired interval over replicates (NaN with one replicate)."""
    rows = []
    league = outcome.comparison.league
    for arm in ([outcome.reference] if outcome.design is outcome.reference
                else [outcome.reference, outcome.design]):
        name = arm.config["programme"]["name"]
        s = arm.results.summary
        s = s[s["metric"] == "rtw_52w"]
        pooled = {}
        for dim in ("imd_quintile", "ethnicity"):
            sub = s[s["dimension"] == dim].copy()
            sub["x"] = sub["value"] * sub["n"]
            g = sub.groupby("group")[["x", "n"]].sum()
            pooled[dim] = (g["x"] / g["n"]).to_dict(), g["n"].to_dict()
        v, n = pooled["imd_quintile"]
        q = [str(k) for k in range(1, 6)]
        sii = slope_index([v[k] for k in q], [n[k] for k in q], denominators=[n[k] for k in q],
                          ci="simulation", n_sim=20_000, rng=0)
        gap, se = ethnic_gap(*pooled["ethnicity"])
        lg = league[league["design"] == name].set_index("measure")
        for measure, level, low, high in (
            ("sii", sii.sii, sii.sii_low, sii.sii_high),
            ("ethnic_gap", gap, gap - 1.96 * se, gap + 1.96 * se),
        ):
            rows.append({"design": name, "measure": measure, "level": level,
                         "low": low, "high": high,
                         "change": lg.loc[measure, "estimate"] if measure in lg.index else 0.0,
                         "change_low": lg.loc[measure, "low"] if measure in lg.index else np.nan,
                         "change_high": lg.loc[measure, "high"] if measure in lg.index
                         else np.nan})
    return pd.DataFrame(rows)


def costs_view(outcome: Outcome) -> pd.DataFrame:
    """Discounted cost per person by perspective: level and change vs usual care (the
    report's cost table)."""
    return outcome.comparison.costs[["design", "perspective", "level", "estimate", "low",
                                     "high"]].copy()


ATTRIBUTE_NAMES = {
    "age_band": AGE_BANDS, "sex": SEXES, "ethnicity": ETHNICITIES, "condition": CONDITIONS,
    "severity": SEVERITIES, "occupation": OCCUPATIONS, "employer_size": EMPLOYER_SIZES,
    "disability": DISABILITY, "employment": EMPLOYMENT_TYPES, "state": STATES,
}
LABELS = {"ethnicity": ETHNICITY_LABELS, "condition": CONDITION_LABELS}


def describe_person(model, index: int) -> dict:
    """``model.person(i).describe()`` with codes turned into readable names."""
    raw = model.person(index).describe()
    out = {}
    for key, value in raw.items():
        if key in ATTRIBUTE_NAMES and isinstance(value, int):
            name = ATTRIBUTE_NAMES[key][value]
            value = LABELS.get(key, {}).get(name, name)
        elif key == "oh_access":
            value = bool(value)
        elif key == "weeks_by_state" and isinstance(value, list):
            value = dict(zip(STATES, value, strict=True))
        out[key] = value
    return out


# ---- the Mesa model -----------------------------------------------------------------


class ExplorerModel(mesa.Model):
    """What Mesa's SolaraViz drives: one scenario (design vs usual care), stepped weekly.

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
            pop = self.setup.config["population"]
            start = {"cohort": "absent", "workforce": "working",
                     "jobseekers": "unemployed"}[pop["mode"]]
            return pd.DataFrame([{"week": 0, **{s: float(s == start) for s in STATES}}])
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
