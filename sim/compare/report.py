"""The decision report: compare programme designs with usual care, for commissioners.

Input: the ``results/`` directories of runs ("cells") of one or more designs, at least one
of them ``usual_care``, on the same population, replicates and horizon. Replicate r of a
design and of usual care with the same seed hold the same people with the same luck
(common random numbers). Only cell-level tables are read (``group_summary``,
``economics``, ``rtw_curves``, manifest), so the report also works for sweeps that did not
keep per-person tables. Every run given is used, or listed with the reason it was not
(:func:`select_runs`: other settings, no usual-care run of its seed, a repeat), on stderr,
in the page ("Runs not used") and in ``runs_not_used.csv``. Runs of one design with
different seeds are pooled as further paired replicates; runs of one design with other
programme settings or evidence values are separate rows labelled with what differs.

    python -m sim.compare.report outputs/compare/<time>/cells [more dirs ...] [--out DIR]

``--out`` must be a new or empty folder (anything else is refused: nothing is
overwritten); without it the report goes to ``<first path>/report``, or ``report-2``,
``-3`` ... if that is taken. The page is ``sim/templates/report.html.j2``, autoescaped:
no name or description from a config can inject markup. A bad manifest or table is one
line naming the file, exit code 2, nothing written.

What it computes, per design and replicate, then as paired differences with usual care
(mean over replicates and a paired t interval, :func:`sim.stats.metrics.paired_difference`):

* RTW within 52 weeks (or, for runs without it, e.g. a horizon under 52 weeks, at the
  latest RTW week they have: :func:`rtw_week`), days absent, job loss;
* the deprivation gap: IMD quintile 1 minus quintile 5 (absolute, percentage points, and
  relative, ratio), and the slope index of inequality across the five quintiles
  (Fingertips convention, :func:`sim.stats.metrics.slope_index`; SII > 0 means the least deprived
  do better);
* the ethnic gap: the population-weighted mean of each minority group's shortfall in RTW
  against White British;
* costs per person by perspective (discounted), programme cost per extra person back at
  work, net monetary benefit per person at the configured willingness to pay.

"How sure": replicate intervals reflect simulation noise only (the evidence is held at its
point values); the probabilistic sensitivity analysis varies the evidence.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup

from sim.compare import report_charts, report_dcea, report_text, report_words
from sim.engine.categories import ETHNICITIES, SMALL_CELL
from sim.errors import ReportError
from sim.stats.metrics import paired_difference, slope_index
from sim.uncertainty import decomposition

REFERENCE = "usual_care"
# named design variants (sim.programme.variants): not a setting
VARIANT_KEYS = ("variant", "variants")
# Okabe-Ito: a colour-blind-safe qualitative palette
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
PERSPECTIVES = (("cost_programme", "Programme (NHS / commissioner)"),
                ("cost_employer", "Employer (sick pay, net productivity loss, recruitment)"),
                ("cost_exchequer", "Exchequer (benefits, lost tax)"),
                ("cost_individual", "Individual (lost income)"))
SECTIONS = ("Answers", "Glossary", "Runs not used", "League table", "How sure, given the evidence",
            "Cost-effectiveness (NICE reference case)",
            "Distributional cost-effectiveness (DCEA)",
            "Return to work by group", "Inequality gaps",
            "Equity-efficiency impact plane", "Costs by perspective", "Groups",
            "Evidence", "Assumptions", "Runs and configuration")


SUMMARY_COLUMNS = ("replicate", "dimension", "group", "metric", "value", "n")
ECONOMICS_COLUMNS = ("replicate", "dimension", "n", "returned", "weeks_in_work_disc",
                     *(col for col, _ in PERSPECTIVES))
CURVE_COLUMNS = ("replicate", "dimension", "group", "week", "returned", "n")


@dataclass
class Cell:
    """One run of one design: its manifest and cell-level tables."""

    path: Path
    manifest: dict
    summary: pd.DataFrame
    economics: pd.DataFrame
    rtw_curves: pd.DataFrame

    @property
    def config(self) -> dict:
        return self.manifest["config"]

    @property
    def design(self) -> str:
        return self.config["programme"]["name"]


@dataclass
class Comparison:
    """Tidy tables of a comparison (see :func:`compare_cells`).

    ``design`` in every table is the row's label (:attr:`Arm.key`): the programme name,
    plus the settings that tell variants of one design apart."""

    per_replicate: pd.DataFrame  # design, seed, replicate, measure, value
    league: pd.DataFrame  # design x measure: estimate, low, high (paired vs usual care)
    groups: pd.DataFrame  # design, dimension, group, n, rtw_<week>w, days_absent (means)
    curves: pd.DataFrame  # design, dimension, group, week, share
    costs: pd.DataFrame  # design, perspective, delta per person: estimate, low, high
    cells: list = field(default_factory=list)  # the runs used, usual care's first
    arms: list = field(default_factory=list)  # Arm per row, the reference first
    left_out: list = field(default_factory=list)  # runs given but not used, and why
    runs_given: int = 0
    rtw_week: int = 52  # the RTW measure: returned within this many weeks
    econ_window: int = 52  # cost per extra RTW counts returns within this many weeks

    @property
    def rtw(self) -> str:
        return f"rtw_{self.rtw_week}w"

    @property
    def ref_key(self) -> str:
        return self.arms[0].key if self.arms else REFERENCE


# ---- loading ------------------------------------------------------------------------

RESULT_TABLES = ("group_summary.parquet", "economics.parquet", "rtw_curves.parquet")


def _results_dirs(path: Path) -> list[Path]:
    path = Path(path)
    if not path.exists():
        raise ReportError(f"{path}: no such file or directory")
    if (path / "manifest.json").is_file():
        return [path]
    if (path / "results" / "manifest.json").is_file():
        return [path / "results"]
    found = sorted(p.parent for p in path.glob("**/results/manifest.json")
                   if not any(part.startswith(".") for part in p.parts[len(path.parts):]))
    if not found:
        raise ReportError(f"{path}: no complete results (no results/manifest.json below it)")
    return found


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}"[:300]


def _read_manifest(d: Path) -> dict:
    try:
        manifest = json.loads((d / "manifest.json").read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ReportError(f"{d / 'manifest.json'}: not a readable manifest "
                          f"({_one_line(err)})") from None
    cfg = manifest.get("config") if isinstance(manifest, dict) else None
    programme = cfg.get("programme") if isinstance(cfg, dict) else None
    economics = cfg.get("economics") if isinstance(cfg, dict) else None
    wtp = economics.get("willingness_to_pay_per_week_in_work") if isinstance(
        economics, dict) else None
    if not (isinstance(programme, dict) and isinstance(programme.get("name"), str)
            and isinstance(wtp, int | float) and not isinstance(wtp, bool)):
        raise ReportError(f"{d / 'manifest.json'}: not a run manifest (no config with "
                          "programme.name and economics.willingness_to_pay_per_week_in_work)")
    if not (isinstance(cfg.get("seed"), int) and not isinstance(cfg.get("seed"), bool)):
        raise ReportError(f"{d / 'manifest.json'}: not a run manifest (config.seed is "
                          f"{cfg.get('seed')!r}, expected an integer)")
    return manifest


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001 - pyarrow raises many kinds for a bad file
        raise ReportError(f"{path}: unreadable table ({_one_line(err)})") from None


def load_cells(paths) -> list[Cell]:
    """The complete cells found at or below ``paths`` (results dirs, run dirs or sweeps).

    A missing, corrupt or incomplete file is a ReportError naming it (one line)."""
    cells = []
    seen = set()
    for given in paths:
        for d in _results_dirs(Path(given)):
            if d.resolve() in seen:
                continue  # the same results given twice (a folder and a run inside it)
            seen.add(d.resolve())
            manifest = _read_manifest(d)
            missing = [f for f in RESULT_TABLES if not (d / f).is_file()]
            if missing:
                raise ReportError(f"{d}: incomplete results, missing {', '.join(missing)}")
            cell = Cell(d, manifest, *(_read_table(d / f) for f in RESULT_TABLES))
            for name, table, cols in (
                    ("group_summary", cell.summary, SUMMARY_COLUMNS),
                    ("economics", cell.economics, ECONOMICS_COLUMNS),
                    ("rtw_curves", cell.rtw_curves, CURVE_COLUMNS)):
                lacking = [c for c in cols if c not in table.columns]
                if lacking:
                    raise ReportError(f"{d / (name + '.parquet')}: not a results table "
                                      f"(no column {lacking[0]!r})")
            cells.append(cell)
    if not cells:
        raise ReportError("no results given")
    return cells


# ---- which runs are compared ----------------------------------------------------------


def _flat(node, prefix: str = "") -> dict[str, str]:
    """A nested config as {"a.b.c": json text of the value}."""
    out = {}
    if isinstance(node, dict) and node:
        for k, v in node.items():
            out.update(_flat(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = json.dumps(node, sort_keys=True, default=str)
    return out


def _show(value: str | None) -> str:
    """A flattened config value for a label: plain text, at most 40 characters."""
    if value is None:
        return "unset"
    try:
        v = json.loads(value)
    except ValueError:
        v = value
    text = v if isinstance(v, str) else json.dumps(v, default=str)
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


def _differences(a: dict[str, str], b: dict[str, str], limit: int = 3) -> list[str]:
    """Keys where flattened configs ``a`` (this run) and ``b`` (the compared runs) differ."""
    first = ("population.name", "horizon_weeks", "replicates", "population.n", "engine")
    keys = sorted((k for k in set(a) | set(b) if a.get(k) != b.get(k)),
                  key=lambda k: (first.index(k) if k in first else len(first), k))
    out = [f"{k} {_show(a.get(k))} (compared runs: {_show(b.get(k))})" for k in keys[:limit]]
    if len(keys) > limit:
        out.append(f"and {len(keys) - limit} more setting(s)")
    return out


def _group_config(cell: Cell) -> dict:
    """What must match for runs to be compared: all but the programme, evidence values
    (they only change the programme's effects and costs), output settings and the seed
    (runs with other seeds are further independent replicates, paired within a seed)."""
    return {k: v for k, v in cell.config.items()
            if k not in ("programme", "output", "evidence_values", "seed", *VARIANT_KEYS)}


def _variant_config(cell: Cell) -> dict:
    return {"programme": cell.config["programme"],
            "evidence_values": cell.config.get("evidence_values") or {}}


@dataclass
class Arm:
    """One row of the comparison: a design (and variant) with its runs, one per seed."""

    design: str  # programme.name
    variant: str  # "" or the settings that tell it from other runs of the same design
    cells: dict  # seed -> Cell

    @property
    def key(self) -> str:
        return f"{self.design} [{self.variant}]" if self.variant else self.design


@dataclass
class Selection:
    arms: list  # Arm, the reference (usual care) first
    left_out: list  # {"path", "design", "reason"}
    total: int  # runs given


def select_runs(cells: list[Cell]) -> Selection:
    """Which of ``cells`` are compared, how they are paired, and why any are left out.

    * Runs that match in everything but the programme, evidence values, output settings
      and seed form a comparison set; the report uses the largest set that has a
      ``usual_care`` run (the first given, on a tie). Runs outside it are left out, each
      with the settings that differ.
    * Within the set, runs of one design whose programme or evidence values differ are
      separate rows ("variants"), labelled with the settings that differ.
    * Runs of a row with different seeds are pooled as further independent replicates:
      each is paired with the usual-care run of the same seed (common random numbers hold
      within a seed only). A run whose seed has no usual-care run is left out, as is a
      repeat of a run (same configuration and seed, so the same results).
    * With several usual-care variants, the one with the most seeds (the first given, on a
      tie) is the reference; the others are rows compared with it.
    """
    sets: dict[str, list[Cell]] = {}
    for c in cells:
        sets.setdefault(json.dumps(_group_config(c), sort_keys=True, default=str),
                        []).append(c)
    candidates = [s for s in sets.values() if any(c.design == REFERENCE for c in s)]
    if not candidates:
        designs = sorted({c.design for c in cells})
        raise ReportError(f"no usual_care run to compare with (runs given: "
                          f"{', '.join(designs)}): include programme=usual_care with the same "
                          "population, replicates and horizon")
    chosen = max(candidates, key=len)
    chosen_flat = _flat(_group_config(chosen[0]))
    left_out = []
    for s in sets.values():
        if s is chosen:
            continue
        why = _differences(_flat(_group_config(s[0])), chosen_flat)
        alone = ("; no usual_care run has its settings" if not any(
            c.design == REFERENCE for c in s) else "")
        for c in s:
            left_out.append({"path": str(c.path), "design": c.design,
                             "reason": "differs from the compared runs in "
                                       + "; ".join(why) + alone
                                       + ": compare these in a separate report"})
    # rows: design x variant; the runs of a row, one per seed
    by_design: dict[str, dict[str, list[Cell]]] = {}
    for c in chosen:
        vkey = json.dumps(_variant_config(c), sort_keys=True, default=str)
        by_design.setdefault(c.design, {}).setdefault(vkey, []).append(c)
    arms: list[Arm] = []
    for design, variants in by_design.items():
        flats = {v: _flat(_variant_config(cs[0])) for v, cs in variants.items()}
        differing = sorted(k for k in set().union(*flats.values())
                           if len({f.get(k) for f in flats.values()}) > 1
                           and k not in ("programme.name",))
        for vkey, cs in variants.items():
            named = cs[0].config["programme"].get("variant")  # a named variant's label
            label = named or ", ".join(f"{k.removeprefix('programme.')}={_show(flats[vkey].get(k))}"
                              for k in differing[:3])
            if len(differing) > 3 and not named:
                label += f", +{len(differing) - 3} more settings"
            arm = Arm(design, label, {})
            for c in cs:
                seed = c.config.get("seed")
                if seed in arm.cells:
                    why = (f"variant {c.config.get('variant')} does not change this design"
                           if c.config.get("variant") != arm.cells[seed].config.get("variant")
                           else "same configuration and seed")
                    left_out.append({"path": str(c.path), "design": c.design,
                                     "reason": f"repeat of {arm.cells[seed].path} ({why}, "
                                               "so the same results)"})
                else:
                    arm.cells[seed] = c
            arms.append(arm)
    refs = [a for a in arms if a.design == REFERENCE]
    ref = max(refs, key=lambda a: len(a.cells))
    kept = [ref]
    for arm in arms:
        if arm is ref:
            continue
        for seed in [s for s in arm.cells if s not in ref.cells]:
            c = arm.cells.pop(seed)
            left_out.append({"path": str(c.path), "design": c.design,
                             "reason": f"no usual_care run with seed {seed} to pair it with "
                                       f"(usual care was run with seed(s) "
                                       f"{', '.join(map(str, sorted(ref.cells)))})"})
        if arm.cells:
            kept.append(arm)
    seen: dict[str, int] = {}
    for a in kept:  # labels shortened to the same text: number them, never merge rows
        seen[a.key] = seen.get(a.key, 0) + 1
        if seen[a.key] > 1:
            a.variant = f"{a.variant or 'variant'} #{seen[a.key]}"
    return Selection(kept, left_out, len(cells))


# ---- per-replicate measures -----------------------------------------------------------


def rtw_week(summary: pd.DataFrame) -> int:
    """The week of the RTW measure a report uses: 52, or if the runs do not have it (a
    horizon under 52 weeks, or ``outcomes.rtw_weeks`` without 52) the latest RTW week
    under 52 that they have."""
    have = set(summary.loc[summary["dimension"] == "all", "metric"].astype(str))
    weeks = sorted(int(m[4:-1]) for m in have
                   if m.startswith("rtw_") and m.endswith("w") and m[4:-1].isdigit())
    usable = [w for w in weeks if w <= 52]
    if not usable:
        raise ReportError("the runs have no RTW rate (no rtw_<week>w metric up to week 52: "
                          "the horizon is shorter than every week in outcomes.rtw_weeks); "
                          "run with horizon_weeks of at least 13")
    return usable[-1]


def _metric(summary, dimension, metric):
    sub = summary[(summary["dimension"] == dimension) & (summary["metric"] == metric)]
    return sub.pivot_table(index="replicate", columns="group", values="value", aggfunc="sum"), \
        sub.pivot_table(index="replicate", columns="group", values="n", aggfunc="sum")


def _sii(values: np.ndarray, n: np.ndarray) -> float:
    """The SII of one replicate; NaN when a quintile has no value (nobody in it was followed
    to the RTW week, as in a small workforce run), which the paired comparisons skip."""
    if not np.isfinite(values).all():
        return np.nan
    return slope_index(values, n, ci="none").sii


def replicate_measures(cell: Cell, week: int | None = None) -> pd.DataFrame:
    """Per replicate: the outcome, gap and cost measures of one cell (wide).

    The RTW measure is ``rtw_<week>w``: ``week`` (default :func:`rtw_week`, i.e. 52 when the
    run has it); the gaps and the SII are of that measure."""
    s, e = cell.summary, cell.economics
    week = rtw_week(s) if week is None else week
    rtw = f"rtw_{week}w"
    overall, _ = _metric(s, "all", rtw)
    if "all" not in overall:
        raise ReportError(f"{cell.path}: no {rtw} in group_summary")
    out = pd.DataFrame(index=overall.index)
    out[rtw] = overall["all"]
    for m in ("days_absent", "job_loss", "programme_cost"):
        v, _ = _metric(s, "all", m)
        out[m] = v["all"] if "all" in v else 0.0
    imd, imd_n = _metric(s, "imd_quintile", rtw)
    cols = [str(q) for q in range(1, 6)]
    if any(c not in imd for c in cols):
        raise ReportError(f"{cell.path}: {rtw} is not there for every IMD quintile")
    out["imd_gap_abs"] = imd["5"] - imd["1"]  # least minus most deprived
    out["imd_gap_rel"] = imd["5"] / imd["1"]
    out["sii"] = [_sii(imd.loc[r, cols].to_numpy(), imd_n.loc[r, cols].to_numpy())
                  for r in imd.index]
    eth, eth_n = _metric(s, "ethnicity", rtw)
    minorities = [g for g in ETHNICITIES[1:] if g in eth]
    if ETHNICITIES[0] in eth and minorities:
        short = (eth[ETHNICITIES[0]].to_numpy()[:, None] - eth[minorities].to_numpy())
        # a group with no value (nobody in it reached the RTW week) carries no weight
        weights = np.where(np.isfinite(short), eth_n[minorities].to_numpy(), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["ethnic_gap"] = np.nansum(short * weights, axis=1) / weights.sum(axis=1)
    else:  # a population without White British or without minority groups: no gap
        out["ethnic_gap"] = np.nan
    ea = e[e["dimension"] == "all"].set_index("replicate")
    for col, _ in PERSPECTIVES:
        out[col + "_disc"] = ea[col]
    out["weeks_in_work_disc"] = ea["weeks_in_work_disc"]
    out["returned_window"] = ea["returned"]
    out["people"] = ea["n"]
    return out


def _arm_measures(arm: Arm, week: int) -> pd.DataFrame:
    """Per (seed, replicate): the measures of every run of one row."""
    frames = []
    for seed, cell in sorted(arm.cells.items()):
        try:
            m = replicate_measures(cell, week)
        except ReportError:
            raise
        except Exception as err:  # noqa: BLE001 - a table that parses but is not a run's
            raise ReportError(f"{cell.path}: tables do not hold a run's results "
                              f"({_one_line(err)})") from None
        m.index = pd.MultiIndex.from_arrays([[seed] * len(m), m.index],
                                            names=["seed", "replicate"])
        frames.append(m)
    return pd.concat(frames)


def compare_cells(cells: list[Cell]) -> Comparison:
    """Pair each design's runs with usual care on the same population and compare them
    (which runs, and why any are left out: :func:`select_runs`)."""
    sel = select_runs(cells)
    ref_arm = sel.arms[0]
    ref = next(iter(ref_arm.cells.values()))
    week = rtw_week(ref.summary)
    rtw = f"rtw_{week}w"
    wtp = ref.config["economics"]["willingness_to_pay_per_week_in_work"]
    measures = {a.key: _arm_measures(a, week) for a in sel.arms}
    base = measures[ref_arm.key]
    rows, league = [], []
    for design, m in measures.items():
        b_ = base.loc[m.index]
        for col in m.columns:
            rows += [{"design": design, "seed": s, "replicate": r, "measure": col, "value": v}
                     for (s, r), v in m[col].items()]
        delta = {
            rtw: (m[rtw], b_[rtw]),
            "extra_rtw_per_1000": (1000 * m[rtw], 1000 * b_[rtw]),
            "days_absent": (m["days_absent"], b_["days_absent"]),
            "job_loss": (m["job_loss"], b_["job_loss"]),
            "imd_gap_abs": (m["imd_gap_abs"], b_["imd_gap_abs"]),
            "imd_gap_rel": (m["imd_gap_rel"], b_["imd_gap_rel"]),
            "sii": (m["sii"], b_["sii"]),
            "ethnic_gap": (m["ethnic_gap"], b_["ethnic_gap"]),
            "programme_cost": (m["cost_programme_disc"], b_["cost_programme_disc"]),
        }
        for name, (values, b) in delta.items():
            v, bv = values.to_numpy(dtype=float), b.to_numpy(dtype=float)
            ok = np.isfinite(v) & np.isfinite(bv)  # e.g. a gap of a group nobody is in
            res = paired_difference(v[ok], bv[ok]) if ok.any() else None
            league.append({"design": design, "measure": name,
                           "level": float(np.nanmean(v)) if ok.any() else np.nan,
                           "estimate": res.estimate if res else np.nan,
                           "low": res.low if res else np.nan,
                           "high": res.high if res else np.nan,
                           "n_replicates": res.n if res else 0})
        extra = m["returned_window"] - b_["returned_window"]
        d_cost = (m["cost_programme_disc"] - b_["cost_programme_disc"]) * m["people"]
        cper = np.where(extra > 0, d_cost / extra.where(extra > 0, 1), np.nan)
        nmb = wtp * (m["weeks_in_work_disc"] - b_["weeks_in_work_disc"]) - (
            m["cost_programme_disc"] - b_["cost_programme_disc"])
        for name, values in (("cost_per_extra_rtw", pd.Series(cper)), ("nmb_per_person", nmb)):
            v = values.to_numpy(dtype=float)
            ok = np.isfinite(v)
            res = paired_difference(v[ok], np.zeros(ok.sum())) if ok.sum() else None
            league.append({"design": design, "measure": name,
                           "level": float(np.nanmean(v)) if ok.any() else np.nan,
                           "estimate": res.estimate if res else np.nan,
                           "low": res.low if res else np.nan, "high": res.high if res else np.nan,
                           "n_replicates": int(ok.sum())})
        # how sure: share of replicates in which the design beats usual care
        league.append({"design": design, "measure": "p_better_rtw",
                       "level": float((m[rtw] > b_[rtw]).mean()),
                       "estimate": np.nan, "low": np.nan, "high": np.nan,
                       "n_replicates": len(m)})
        league.append({"design": design, "measure": "p_narrows_sii",
                       "level": float((m["sii"] < b_["sii"]).mean()),
                       "estimate": np.nan, "low": np.nan, "high": np.nan,
                       "n_replicates": len(m)})
    per_rep = pd.DataFrame(rows)
    league = pd.DataFrame(league)
    # probability best (highest RTW) over the replicates every row has
    wide = per_rep[per_rep["measure"] == rtw].pivot(index=["seed", "replicate"],
                                                    columns="design", values="value").dropna()
    best = wide.idxmax(axis=1).value_counts(normalize=True)
    league = pd.concat([league, pd.DataFrame(
        [{"design": d, "measure": "p_best_rtw", "level": float(best.get(d, 0.0)),
          "estimate": np.nan, "low": np.nan, "high": np.nan, "n_replicates": len(wide)}
         for d in measures])], ignore_index=True)
    econ_window = int(ref.economics["rtw_window_weeks"].iloc[0]) \
        if "rtw_window_weeks" in ref.economics and len(ref.economics) else week
    return Comparison(per_rep, league, _group_table(sel.arms, rtw), _curves(sel.arms),
                      _cost_table(measures, base),
                      [c for a in sel.arms for c in a.cells.values()],
                      arms=sel.arms, left_out=sel.left_out, runs_given=sel.total,
                      rtw_week=week, econ_window=econ_window)


def _group_table(arms: list[Arm], rtw: str) -> pd.DataFrame:
    frames = []
    for arm in arms:
        s = pd.concat([c.summary for c in arm.cells.values()])
        s = s[s["dimension"].isin(["imd_quintile", "ethnicity", "condition", "disability",
                                   "employment"])
              & s["metric"].isin([rtw, "days_absent"])]
        g = (s.groupby(["dimension", "group", "metric"], sort=False)
             .agg(value=("value", "mean"), n=("n", "sum")).reset_index())
        wide = g.pivot_table(index=["dimension", "group"], columns="metric",
                             values="value").reset_index().rename_axis(columns=None)
        n = g[g["metric"] == "days_absent"].set_index(["dimension", "group"])["n"]
        wide["n"] = [int(n.get((d, gr), 0)) for d, gr in zip(wide["dimension"], wide["group"],
                                                             strict=True)]
        wide.insert(0, "design", arm.key)
        frames.append(wide)
    return pd.concat(frames, ignore_index=True)


def _curves(arms: list[Arm]) -> pd.DataFrame:
    frames = []
    for arm in arms:
        rc = pd.concat([c.rtw_curves for c in arm.cells.values()])
        r = rc.groupby(["dimension", "group", "week"], sort=False)[
            ["returned", "n"]].sum().reset_index()
        r["share"] = r["returned"] / r["n"]
        r.insert(0, "design", arm.key)
        frames.append(r)
    return pd.concat(frames, ignore_index=True)


def _cost_table(measures: dict, base: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for design, m in measures.items():
        b = base.loc[m.index]
        for col, label in PERSPECTIVES:
            res = paired_difference(m[col + "_disc"].to_numpy(), b[col + "_disc"].to_numpy())
            rows.append({"design": design, "perspective": label, "level": m[col + "_disc"].mean(),
                         "estimate": res.estimate, "low": res.low, "high": res.high})
    return pd.DataFrame(rows)


# ---- figures --------------------------------------------------------------------------


def _fig_to_uri(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _names(comp: Comparison) -> dict:
    """Display name of each row: the programme name in words, then its variant."""
    acronyms = {"mdt": "MDT", "cbt": "CBT", "bps": "BPS", "ips": "IPS", "smi": "SMI",
                "vsw": "VSW", "rtw": "RTW"}
    out = {}
    for arm in comp.arms:
        name = " ".join(acronyms.get(w, w) for w in arm.design.split("_"))
        out[arm.key] = f"{name} [{arm.variant}]" if arm.variant else name
    return out


def _mpl(text: str) -> str:
    """User text as a matplotlib label: literal, never mathtext (a "$" would start it)."""
    return str(text).replace("$", r"\$")  # matplotlib: no unescaped "$", no mathtext


def _league_value(comp, design, measure, what="estimate"):
    row = comp.league[(comp.league["design"] == design) & (comp.league["measure"] == measure)]
    return float(row[what].iloc[0]) if len(row) else np.nan


def figures(comp: Comparison) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = {k: _mpl(v) for k, v in _names(comp).items()}
    ref, w, rtw = comp.ref_key, comp.rtw_week, comp.rtw
    designs = [d for d in names if d != ref]
    designs.sort(key=lambda d: _league_value(comp, d, "extra_rtw_per_1000"))
    out = {}

    # 1. league: extra returns per 1,000 and change in SII, with intervals
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(designs) + 1.6), sharey=True)
    for ax, measure, scale, title in (
        (axes[0], "extra_rtw_per_1000", 1, f"Extra people back at work within {w} weeks\n"
                                           "per 1,000 people (vs usual care)"),
        (axes[1], "sii", -100, "Reduction in deprivation gradient (SII, percentage points)"
                               "\npositive = gap narrows"),
    ):
        est = [scale * _league_value(comp, d, measure) for d in designs]
        lo = [scale * _league_value(comp, d, measure, "low" if scale > 0 else "high")
              for d in designs]
        hi = [scale * _league_value(comp, d, measure, "high" if scale > 0 else "low")
              for d in designs]
        y = np.arange(len(designs))
        err = np.array([np.subtract(est, lo), np.subtract(hi, est)])
        ax.errorbar(est, y, xerr=np.nan_to_num(err), fmt="o", color=PALETTE[0], capsize=3)
        ax.axvline(0, color="grey", lw=1)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(np.arange(len(designs)), [names[d] for d in designs])
    axes[0].set_xlabel("people per 1,000 (95% interval over replicates)")
    axes[1].set_xlabel("percentage points (95% interval over replicates)")
    out["league"] = _fig_to_uri(fig)

    # 2. RTW over time as the difference from usual care; 3. gap reductions with
    # intervals, zoomed (sim.compare.report_charts: ordinal IMD and colour-blind-safe palettes)
    out["curves"] = _fig_to_uri(report_charts.rtw_difference(comp, names, SMALL_CELL))
    out["gaps"] = _fig_to_uri(report_charts.gap_reductions(
        comp, names, lambda d, m, w="estimate": _league_value(comp, d, m, w)))

    # 4. equity-efficiency impact plane
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    for k, d in enumerate(designs):
        x = 100 * _league_value(comp, d, rtw)
        y = -100 * _league_value(comp, d, "sii")
        xe = 100 * np.array([[x / 100 - _league_value(comp, d, rtw, "low")],
                             [_league_value(comp, d, rtw, "high") - x / 100]])
        ye = 100 * np.array([[_league_value(comp, d, "sii", "high") + y / 100],
                             [-y / 100 - _league_value(comp, d, "sii", "low")]])
        ax.errorbar(x, y, xerr=np.nan_to_num(np.abs(xe)), yerr=np.nan_to_num(np.abs(ye)),
                    fmt="o", color=PALETTE[k % len(PALETTE)], capsize=3, label=names[d])
    ax.axhline(0, color="grey", lw=1)
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel(f"change in RTW within {w} weeks vs usual care (percentage points)")
    ax.set_ylabel("reduction in deprivation gradient (SII, percentage points;\n"
                  "positive = gap narrows)")
    ax.set_title("Equity-efficiency impact plane\n(top right: more returns and a smaller gap)",
                 fontsize=10)
    if designs:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    out["plane"] = _fig_to_uri(fig)

    # 5. costs by perspective (change per person vs usual care)
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(designs) + 1.8))
    width = 0.8 / len(PERSPECTIVES)
    for k, (_, label) in enumerate(PERSPECTIVES):
        sub = comp.costs[comp.costs["perspective"] == label].set_index("design")
        ax.barh(np.arange(len(designs)) + (k - 1.5) * width,
                [sub.loc[d, "estimate"] for d in designs], height=width,
                color=PALETTE[k], label=label)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(np.arange(len(designs)), [names[d] for d in designs])
    ax.set_xlabel("change in discounted cost per person vs usual care (GBP; negative = saving)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="x", alpha=0.3)
    out["costs"] = _fig_to_uri(fig)
    return out


# ---- HTML ---------------------------------------------------------------------------


def _num(x, fmt):
    """Format, writing a value that rounds to zero as plain 0 (no "-0.0" / "+0.0")."""
    text = fmt.format(x)
    if text.lstrip("+-").replace("0", "").replace(".", "").replace(",", "") == "":
        return text.lstrip("+-")
    return text


def _ci(est, lo, hi, fmt="{:+.1f}"):
    if not np.isfinite(est):
        return "-"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return _num(est, fmt)
    return f"{_num(est, fmt)} ({_num(lo, fmt)} to {_num(hi, fmt)})"


def _sure(lo, hi) -> str:
    """Plain words on whether an interval excludes zero."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return " (one replicate: no interval)"
    if lo <= 0 <= hi:
        return " - the interval includes zero, so this is not distinguishable from no change"
    return ""


def _answers(comp: Comparison) -> list[Markup]:
    """The first screen, in plain words. Every value is escaped by ``Markup.format``."""
    names = _names(comp)
    ref_key, w = comp.ref_key, comp.rtw_week
    designs = [d for d in names if d != ref_key]
    lines: list[Markup] = []
    if comp.left_out:
        lines.append(Markup("<b>Runs not used:</b> {} of the {} runs given are not in this "
                            'comparison; <a href="#runs-not-used">see why</a>.').format(
                                len(comp.left_out), comp.runs_given))
    if not designs:
        return [*lines, Markup("Only usual care was run: add designs to compare.")]
    val = lambda d, m, w="estimate": _league_value(comp, d, m, w)  # noqa: E731
    ci = lambda d, m, k=1, fmt="{:+.1f}": _ci(k * val(d, m), k * val(d, m, "low"),  # noqa: E731
                                               k * val(d, m, "high"), fmt)
    best = max(designs, key=lambda d: val(d, "extra_rtw_per_1000"))
    fairest = min(designs, key=lambda d: val(d, "sii"))
    with_gap = [d for d in designs if np.isfinite(val(d, "ethnic_gap"))]
    ref = comp.cells[0].manifest
    seeds = sorted(comp.arms[0].cells)

    def cost_text(d):
        c = val(d, "cost_per_extra_rtw", "level")
        per = (Markup(" (about GBP {:,.0f} per extra person back at work within {} weeks)")
               .format(c, comp.econ_window) if np.isfinite(c) else "")
        return Markup("GBP {:,.0f} per person in the population{}").format(
            val(d, "programme_cost"), per)

    lines.append(Markup(
        "<b>Most people back at work:</b> {} returns {} more people per 1,000 to work within "
        "{} weeks than usual care, and changes days absent per person by {}; it costs {}.")
        .format(names[best], ci(best, "extra_rtw_per_1000"), w, ci(best, "days_absent"),
                cost_text(best)))
    # gaps: "narrows most" only of a change that clears the noise (sim.compare.report_words)
    trio = lambda d, m: tuple(val(d, m, k) for k in ("estimate", "low", "high"))  # noqa: E731
    lines.append(report_words.gap_line(
        "Deprivation gap", "the deprivation gap (slope index of inequality, SII, in RTW "
        "between the most and least deprived ends)", {d: trio(d, "sii") for d in designs},
        names, val(ref_key, "sii", "level")))
    if with_gap:
        lines.append(report_words.gap_line(
            "Ethnic gap", "the average RTW shortfall of minority ethnic groups against White "
            "British", {d: trio(d, "ethnic_gap") for d in with_gap}, names,
            val(ref_key, "ethnic_gap", "level")))
    else:
        lines.append(Markup("<b>Ethnic gap:</b> not measurable: the population has no White "
                            "British group or no minority ethnic group."))
    lines.append(Markup(
        "<b>How sure:</b> {} had the highest RTW rate in {:.0f}% of {} paired replicates "
        "(those every design has) and beat usual care in {:.0f}% of its {}; {} narrowed the "
        "deprivation gradient in {:.0f}%. "
        "Intervals are 95% paired intervals over replicates: they show simulation noise only, "
        "with the evidence held at its published values. How much the ranking depends on the "
        "evidence is for the probabilistic sensitivity analysis; most effects outside the six "
        "in-silico trials are assumptions (see Assumptions).").format(
            names[best], 100 * val(best, "p_best_rtw", "level"),
            int(val(best, "p_best_rtw", "n_replicates")),
            100 * val(best, "p_better_rtw", "level"),
            int(val(best, "p_better_rtw", "n_replicates")), names[fairest],
            100 * val(fairest, "p_narrows_sii", "level")))
    if w != 52:
        lines.append(Markup(
            "<b>Shorter follow-up:</b> these runs have no RTW rate at 52 weeks (horizon {} "
            "weeks), so every RTW measure, gap and SII here is at {} weeks.").format(
                ref.get("horizon_weeks"), w))
    seed_text = (Markup("seed {}").format(seeds[0]) if len(seeds) == 1 else Markup(
        "seeds {} (pooled: each seed's replicates are further independent replicates, "
        "paired with usual care of the same seed)").format(", ".join(map(str, seeds))))
    lines.append(Markup("Population: {}, {:,} people per design ({} replicates per run), {} "
                        "weeks, {}.").format(ref.get("population"), int(ref.get("n_agents") or 0),
                                             ref.get("replicates"), ref.get("horizon_weeks"),
                                             seed_text))
    return lines


def _table(df: pd.DataFrame, text: bool = False) -> Markup:
    """A DataFrame as an HTML table; pandas escapes every cell and header. ``text``: a table
    of words (left-aligned) rather than numbers."""
    return Markup('<div class="scroll">{}</div>').format(  # scrolls sideways on a phone
        Markup(df.to_html(index=False, escape=True, border=0, na_rep="-",
                          classes="t text" if text else "t")))


def _league_html(comp: Comparison) -> Markup:
    names = _names(comp)
    rows = []
    w, rtw = comp.rtw_week, comp.rtw
    order = sorted(names, key=lambda d: -_league_value(comp, d, "extra_rtw_per_1000"))
    for d in order:
        v = lambda m, w="estimate", d=d: _league_value(comp, d, m, w)  # noqa: E731
        rows.append({
            "design": names[d],
            f"RTW {w} w (%)": f"{100 * v(rtw, 'level'):.1f}",
            "extra RTW per 1,000": _ci(v("extra_rtw_per_1000"), v("extra_rtw_per_1000", "low"),
                                       v("extra_rtw_per_1000", "high")),
            "days absent (change)": _ci(v("days_absent"), v("days_absent", "low"),
                                        v("days_absent", "high")),
            "SII change (pp)": _ci(100 * v("sii"), 100 * v("sii", "low"),
                                   100 * v("sii", "high"), "{:+.2f}"),
            "ethnic gap change (pp)": _ci(100 * v("ethnic_gap"), 100 * v("ethnic_gap", "low"),
                                          100 * v("ethnic_gap", "high"), "{:+.2f}"),
            "programme cost / person (GBP)": f"{v('programme_cost', 'level'):,.0f}",
            "cost per extra RTW (GBP)": ("-" if not np.isfinite(v("cost_per_extra_rtw", "level"))
                                         else f"{v('cost_per_extra_rtw', 'level'):,.0f}"),
            "NMB / person (GBP)": _ci(v("nmb_per_person"), v("nmb_per_person", "low"),
                                      v("nmb_per_person", "high"), "{:+,.0f}"),
            "P(best RTW)": f"{v('p_best_rtw', 'level'):.0%}",
            "replicates": f"{int(v('extra_rtw_per_1000', 'n_replicates'))}",
        })
    return _table(pd.DataFrame(rows))


def _groups_html(comp: Comparison) -> Markup:
    """Display names for groups, and each group's RTW change against usual care."""
    return _table(report_text.groups_table(comp.groups, comp.rtw, comp.ref_key, _names(comp),
                                           SMALL_CELL))


def _left_out_html(comp: Comparison) -> Markup:
    if not comp.left_out:
        return Markup("<p>All {} runs given are in the comparison.</p>").format(comp.runs_given)
    return (Markup('<p id="runs-not-used"><b>{} of the {} runs given are not used</b>, each for '
                   "the reason shown. A comparison needs runs that match in everything but the "
                   "programme and the seed, with a usual-care run of the same seed.</p>")
            .format(len(comp.left_out), comp.runs_given)
            + _table(pd.DataFrame(comp.left_out, columns=["design", "path", "reason"]),
                     text=True))


def _evidence_html(comp: Comparison) -> tuple[Markup, Markup]:
    from sim.evidence.registry import evidence_table, load_registry

    registry = load_registry()
    try:
        from sim.programme.effects import evidence_ids

        ids = set()
        for c in comp.cells:
            ids |= set(evidence_ids(c.config))
        table = evidence_table(registry, ids=sorted(ids)) if ids else evidence_table(registry)
    except ImportError:
        table = evidence_table(registry)
    assumptions = []
    for c in comp.cells:
        cfg = c.config
        blocks = [("population", cfg["population"]), ("pathways", cfg["pathways"]),
                  ("economics", cfg["economics"])]
        for key, comp_cfg in (cfg["programme"].get("components") or {}).items():
            blocks.append((f"programme.components.{key}", comp_cfg))
            blocks.append((f"programme.components.{key}.access", comp_cfg.get("access", {})))
        for where, block in blocks:
            for param, text in (block.get("sources") or {}).items():
                if isinstance(text, str) and text.strip().lower().startswith("assumption"):
                    assumptions.append({"where": where, "parameter": param, "reasoning": text})
    for e in registry.values():
        if e.assumption:
            assumptions.append({"where": f"evidence registry ({e.file})", "parameter": e.id,
                                "reasoning": e.reason or ""})
    a = pd.DataFrame(assumptions).drop_duplicates() if assumptions else pd.DataFrame()
    return _table(table), _table(a) if not a.empty else Markup("<p>None.</p>")


PSA_FILES = ("summary.csv", "voi.csv", "ceac.csv")
PSA_COLUMNS = {
    "summary": ("design", "rtw_52w_vs_uc", "rtw_52w_vs_uc_low", "rtw_52w_vs_uc_high",
                "net_benefit_vs_uc", "net_benefit_vs_uc_low", "net_benefit_vs_uc_high",
                "p_best_net_benefit", "p_best_rtw", "p_narrows_imd_gradient"),
    "voi": ("parameters", "value_per_person"),
    "ceac": ("design", "wtp", "probability"),
}


def load_psa(folder) -> dict:
    """A PSA run's tables (``experiments/psa.py`` output) for the report; ReportError if
    the folder is not one."""
    folder = Path(folder)
    missing = [f for f in PSA_FILES if not (folder / f).is_file()]
    if missing:
        raise ReportError(f"--psa {folder}: no {missing[0]} (expected the folder of a "
                          "finished `make psa` run)")

    def read(path):
        try:
            return pd.read_csv(path)
        except Exception as err:  # noqa: BLE001 - any parse error: one line
            raise ReportError(f"--psa {path}: unreadable ({_one_line(err)})") from None

    out = {name.split(".")[0]: read(folder / name) for name in PSA_FILES}
    for name, cols in PSA_COLUMNS.items():
        lacking = [c for c in cols if c not in out[name].columns]
        if lacking:
            raise ReportError(f"--psa {folder / (name + '.csv')}: not a PSA table (no column "
                              f"{lacking[0]!r})")
    clamped = folder / "clamped_draws.csv"
    out["clamped"] = read(clamped) if clamped.is_file() else pd.DataFrame()
    draws = folder / "draws.csv"
    out["n_draws"] = len(read(draws)) if draws.is_file() else None
    out["path"] = folder
    return out


def _psa_ceac_uri(psa: dict, names: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4))
    for d, g in psa["ceac"].groupby("design", sort=False):
        ax.plot(g["wtp"], g["probability"], label=_mpl(names.get(d, d)))
    ax.set_xlabel("willingness to pay per discounted week in work (GBP)")
    ax.set_ylabel("P(highest net benefit)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _fig_to_uri(fig)


def _psa_html(psa: dict | None, names: dict) -> Markup:
    if psa is None:
        return Markup(
            "<p>No probabilistic sensitivity analysis attached. The intervals above are over "
            "replicates (simulation noise) with the evidence fixed at its central values. To "
            "see how sure the ranking is given the uncertainty of the evidence, run "
            "<code>make psa</code> and rebuild with <code>--psa outputs/psa/&lt;run&gt;</code>."
            "</p>")
    s = psa["summary"]
    pct = "{:.0%}".format
    rows = []
    for r in s.itertuples():
        rows.append({
            "design": names.get(r.design, r.design),
            "RTW change vs usual care, pp (95% over draws)": _ci(
                100 * r.rtw_52w_vs_uc, 100 * r.rtw_52w_vs_uc_low, 100 * r.rtw_52w_vs_uc_high,
                "{:+.2f}"),
            "net benefit change, GBP (95%)": _ci(r.net_benefit_vs_uc, r.net_benefit_vs_uc_low,
                                                 r.net_benefit_vs_uc_high, "{:+,.0f}"),
            "P(best net benefit)": pct(r.p_best_net_benefit),
            "P(most RTW)": pct(r.p_best_rtw),
            "P(narrows IMD gradient)": pct(r.p_narrows_imd_gradient)})
    voi = psa["voi"].sort_values("value_per_person", ascending=False)
    evpi = voi[voi["parameters"] == "all (EVPI)"]["value_per_person"]
    top = voi[voi["parameters"] != "all (EVPI)"].head(5)
    clamped = psa["clamped"]["draw"].nunique() if "draw" in psa["clamped"] else 0
    intro = Markup(
        "<p>Probabilistic sensitivity analysis from <code>{}</code>: {} draws of every evidence "
        "entry from its distribution (entries from one source correlated), each run for every "
        "design with common random numbers. Intervals here are over the evidence, not over "
        "replicates.{}</p>").format(
            str(psa["path"]), psa["n_draws"],
            Markup(" {} draws had a value the model's baseline cannot reproduce and were "
                   "clamped at the feasible boundary.").format(clamped) if clamped else "")
    evpi_text = (Markup("is <b>{:,.0f}</b>").format(float(evpi.iloc[0])) if len(evpi)
                 else Markup("is not available"))
    return (intro + _table(pd.DataFrame(rows))
            + Markup('<img src="{}" alt="acceptability curves">').format(
                _psa_ceac_uri(psa, names))
            + Markup("<p>Value of information (GBP per person in the modelled population): the "
                     "expected gain from deciding with perfect knowledge of all evidence (EVPI) "
                     "{}; per entry (EVPPI), the evidence gaps most worth closing:</p>").format(
                         evpi_text)
            + _table(top.assign(parameters=top["parameters"].map(report_text.entry_label))
                     .rename(columns={"parameters": "evidence entry",
                                         "value_per_person": "EVPPI (GBP per person)"})
                     .round(1)))


def _psa_answer(psa: dict | None, names: dict) -> Markup | None:
    if psa is None or psa["summary"].empty:
        return None
    s = psa["summary"].sort_values("p_best_net_benefit", ascending=False).iloc[0]
    voi = psa["voi"][psa["voi"]["parameters"] != "all (EVPI)"].sort_values(
        "value_per_person", ascending=False)
    gap = (Markup("; the evidence gap most worth closing is <i>{}</i> (EVPPI GBP {:,.0f} per "
                  "person)").format(report_text.entry_label(voi.iloc[0]["parameters"]),
                                    voi.iloc[0]["value_per_person"])
           if len(voi) else "")
    return Markup("<b>How sure, given the evidence:</b> {} has the highest net benefit in "
                  "{:.0%} of {} evidence draws{}.").format(
                      names.get(s.design, s.design), s.p_best_net_benefit, psa["n_draws"], gap)


def _img(uri: str, alt: str) -> Markup:
    return Markup('<img src="{}" alt="{}">').format(uri, alt)


_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def render_html(comp: Comparison, figs: dict[str, str],
                psa: dict | None = None) -> str:
    """The report page: ``sim/templates/report.html.j2`` with autoescaping on, so every
    string that is not explicitly built as :class:`Markup` (escaped parts) is escaped."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    names = _names(comp)
    w = comp.rtw_week
    evidence, assumptions = _evidence_html(comp)
    manifests = [{"design": arm.key, "seed": c.config.get("seed"),
                  "description": c.config["programme"].get("description", ""),
                  "path": str(c.path),
                  "config_hash": c.manifest.get("config_hash"),
                  "git": json.dumps(c.manifest.get("git")),
                  "people": c.manifest.get("n_agents")}
                 for arm in comp.arms for c in arm.cells.values()]
    answers = _answers(comp)
    psa_line = _psa_answer(psa, names)
    if psa_line is not None:
        answers.append(psa_line)
    # ---- NICE reference case and DCEA (issue 16): built in sim/compare/report_dcea.py ----
    # Every line is escaped HTML already (Markup here; report_dcea escapes what it builds):
    # order them as plain strings, then mark them safe once.
    lines = [str(a) for a in answers]
    lines[1:1] = report_dcea.answer_lines(comp)  # high on the first screen
    lines = report_dcea.order_how_sure(
        lines, None if psa_line is None else str(psa_line),
        report_dcea.psa_tie_line(psa, names), report_dcea.psa_reference_case_line(psa, names))
    answers = [Markup(line) for line in lines]
    # ---- end of the issue-16 hook ----
    sec = dict.fromkeys(SECTIONS, Markup(""))
    sec["Answers"] = Markup("<ul>{}</ul>").format(
        Markup("").join(Markup("<li>{}</li>").format(a) for a in answers))
    sec["Runs not used"] = _left_out_html(comp)
    sec["How sure, given the evidence"] = _psa_html(psa, names)
    sec["Cost-effectiveness (NICE reference case)"] = Markup(report_dcea.reference_case_html(comp))
    sec["Distributional cost-effectiveness (DCEA)"] = Markup(report_dcea.dcea_html(comp))
    sec["League table"] = (
        Markup("<p>Each design against usual care on the same people (paired replicates). "
               "Changes are design minus usual care with 95% intervals over replicates. A "
               "design run with other settings (a variant) has its own row, labelled with the "
               "settings that differ.</p>")
        + _league_html(comp) + _img(figs["league"], "league chart"))
    sec["Return to work by group"] = _img(figs["curves"], "RTW difference from usual care")
    sec["Inequality gaps"] = _img(figs["gaps"], "gap reductions vs usual care") + Markup(
        # issue 14 hook: escaped in sim.uncertainty.decomposition
        decomposition.report_html(comp.cells))
    sec["Equity-efficiency impact plane"] = _img(figs["plane"], "impact plane")
    sec["Costs by perspective"] = (
        Markup("<p>Discounted (3.5% a year beyond year one) cost per person in the "
               "population, change vs usual care.</p>")
        + _table(comp.costs.assign(change=[_ci(e, lo, hi, "{:+,.0f}") for e, lo, hi in
                                           zip(comp.costs["estimate"], comp.costs["low"],
                                               comp.costs["high"], strict=True)])
                 .pivot(index="design", columns="perspective", values="change")
                 .reindex(columns=[label for _, label in PERSPECTIVES])
                 .rename(index=names).reset_index()
                 .rename_axis(columns=None))
        + _img(figs["costs"], "costs by perspective"))
    sec["Groups"] = Markup("<p>Means over replicates; groups with fewer than {} people are "
                           "suppressed. Usual care and up to three designs here; every design "
                           "in groups.csv.</p>").format(SMALL_CELL) + _groups_html(comp)
    sec["Evidence"] = evidence
    sec["Assumptions"] = Markup("<p>Parameters without a published figure, with the reasoning "
                                "recorded in the configs and the registry.</p>") + assumptions
    sec["Glossary"] = report_text.glossary_html(w)  # near the top: acronyms expanded
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    return env.get_template("report.html.j2").render(
        sections=[(f"s{k}", title, sec[title]) for k, title in enumerate(SECTIONS)],
        runs=_table(pd.DataFrame(manifests)),
        versions=json.dumps(comp.cells[0].manifest.get("versions"), sort_keys=True),
        ref_config=json.dumps(comp.cells[0].config, indent=1, sort_keys=True, default=str))


# ---- writing ----------------------------------------------------------------------


def _usable_out(out_dir: Path) -> bool:
    """True if ``out_dir`` can take the report without touching anything already there."""
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        return False
    return not out_dir.exists() or not any(out_dir.iterdir())


def check_out(out_dir, flag: str = "--out") -> None:
    """ReportError (one line) if ``out_dir`` exists and is not an empty folder, or cannot
    be made (a file on its path, a folder we may not write in)."""
    out_dir = Path(out_dir)
    if not _usable_out(out_dir):
        kind = "folder is not empty" if out_dir.is_dir() and not out_dir.is_symlink() else \
            "path exists and is not a folder"
        raise ReportError(f"{flag} {out_dir}: the {kind}; nothing is overwritten: give a new "
                          "or empty folder")
    _check_parent(out_dir, flag)


def _check_parent(out_dir: Path, flag: str) -> None:
    parent = out_dir.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ReportError(f"{flag} {out_dir}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"{flag} {out_dir}: no permission to write in {parent}")


def _free_out(out_dir: Path) -> Path:
    """``out_dir``, or the first of ``<out_dir>-2``, ``-3`` ... that is free."""
    k = 1
    candidate = out_dir
    while not _usable_out(candidate):
        k += 1
        candidate = out_dir.with_name(f"{out_dir.name}-{k}")
    return candidate


def _print_left_out(comp: Comparison) -> None:
    if not comp.left_out:
        return
    print(f"report: {len(comp.left_out)} of {comp.runs_given} runs not used (listed in the "
          "report under 'Runs not used'):", file=sys.stderr)
    for r in comp.left_out:
        print(f"  not used: {r['path']}: {r['reason']}", file=sys.stderr)


def write_report(paths, out_dir, psa_dir=None, if_exists: str = "next") -> Path:
    """Build the report from results under ``paths`` into ``out_dir`` (atomically);
    ``psa_dir``: a finished PSA run (``experiments/psa.py``) to show how sure the ranking is.

    Nothing that exists is deleted or overwritten. ``out_dir`` must be new or an empty
    folder; if it is not: ``if_exists="next"`` writes to the first free ``<out_dir>-2``,
    ``-3``, ... (a sweep's re-aggregation keeps its earlier report), ``"refuse"`` raises a
    ReportError before any work. The files are written into a new hidden folder beside
    ``out_dir`` and renamed into place in one step. Runs given but not compared are
    listed on stderr and in the report (:func:`select_runs`)."""
    out_dir = Path(out_dir)
    if if_exists == "refuse":
        check_out(out_dir)
    elif if_exists == "next":
        _check_parent(out_dir, "output folder")
    else:
        raise ValueError(f"if_exists: {if_exists!r}")
    psa = load_psa(psa_dir) if psa_dir is not None else None
    comp = compare_cells(load_cells(paths))
    _print_left_out(comp)
    page = render_html(comp, figures(comp), psa)
    if if_exists == "next":
        out_dir = _free_out(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        (staging / "report.html").write_text(page, encoding="utf-8")
        comp.league.to_csv(staging / "league.csv", index=False)
        comp.per_replicate.to_csv(staging / "per_replicate.csv", index=False)
        comp.costs.to_csv(staging / "costs.csv", index=False)
        comp.groups.to_csv(staging / "groups.csv", index=False)
        pd.DataFrame(comp.left_out, columns=["design", "path", "reason"]).to_csv(
            staging / "runs_not_used.csv", index=False)
        for name, table in report_dcea.tables(comp).items():  # reference case, DCEA
            table.to_csv(staging / f"{name}.csv", index=False)
        os.chmod(staging, 0o777 & ~_umask())
        try:  # replaces only a missing or empty folder; never one with files in it
            os.rename(staging, out_dir)
        except OSError as err:
            raise ReportError(f"{out_dir}: cannot be written ({err.strerror}); nothing "
                              "there was changed") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # ours: made by mkdtemp above
        raise
    return out_dir / "report.html"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the design comparison report.")
    ap.add_argument("paths", nargs="+", help="results dirs, run dirs or a sweep dir")
    ap.add_argument("--out", default=None,
                    help="output folder, new or empty (default: <first path>/report, or "
                         "report-2, -3 ... if that exists)")
    ap.add_argument("--psa", default=None, help="a PSA run folder (make psa) to include")
    args = ap.parse_args(argv)
    try:
        if args.out:
            path = write_report(args.paths, Path(args.out), args.psa, if_exists="refuse")
        else:
            path = write_report(args.paths, Path(args.paths[0]) / "report", args.psa)
    except ReportError as err:
        print(f"report error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, permissions ...: one line
        print(f"report error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
