"""Quality of the return, health and wellbeing by state, and productivity, by group.

Issue 20 asks for outcomes beyond "back at work": whether a return lasts, whether it is to the
same job, at what hours, how early it was (the WAVE study warns against premature returns),
and the health and productivity behind them. Everything is computed from the per-person
outcome table (:func:`sim.results.outcomes.agent_outcomes`), so both engines and every
launcher give the same table. Definitions (per person; ``s`` = ``outcomes.sustained_weeks``,
``H`` = the horizon in observed weeks):

* ``returned``: the first return (to the same or a new job) among people with an onset;
* ``first_return_sustained`` / ``first_return_broke_down``: among people whose first return
  was at least ``s`` weeks before the horizon, the first return lasted ``s`` weeks in work
  (``sustained_rtw == first_rtw``) or did not (a new spell, a separation or retirement within
  ``s`` weeks: a return that broke down);
* ``early_return``: the first return came sooner than ``pathways.new_spell.
  early_return_before_weeks`` for the person's severity (the model's premature return, which
  raises relapse); ``broke_down_after_early`` / ``broke_down_after_later``: the breakdown
  share among followed early and later first returns;
* ``same_job``: the first return was to the job held at onset (not re-employment after job
  loss or inactivity);
* ``weeks_to_first_return``: weeks from onset to the first return (mean over returners);
* ``hours_after_return``: mean share of usual hours in the weeks in work after the first
  return, ``1 - (1 - hours_fraction) x weeks_phased / weeks back``, weeks back =
  ``min(weeks_working + weeks_phased, H - first_rtw)`` (in a workforce run the weeks before
  the onset are in ``weeks_working`` too, so the minimum bounds them);
* productivity, full-time-equivalent weeks lost per person: ``fte_weeks_absent`` (weeks
  absent), ``fte_weeks_phased`` (hours not worked on a phased return) and
  ``fte_weeks_presenteeism`` (registry ``presenteeism_after_return`` times the weeks at full
  hours in the first ``presenteeism_weeks_after_return`` weeks after the first return,
  ``min(P, weeks_working, H - first_rtw)``: the first return only, an approximation);
* health and wellbeing: ``utility_mean`` (mean weekly EQ-5D utility over the run, from the
  economics layer's state utilities) and ``qaly_loss_<state>``, undiscounted QALYs lost in each
  state against a week in work (weeks x (u_work - u_state) / 52).

:func:`quality_table` returns the tidy table (replicate, dimension, group, metric, value, n),
like ``group_summary``; :func:`quality_markdown` the summary.md section.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.categories import SEVERITIES, STATES
from sim.programme.effects import resolve_cost
from sim.results.economics import resolve_economics, state_utilities
from sim.results.outcomes import grouped_sums, mean_table, replicates
from sim.textsafe import md_text

OUT_OF_WORK = ("absent", "phased", "unemployed", "inactive", "inactive_benefit")
# metric -> (label, kind): pct (a share), num (a mean)
QUALITY_METRICS = {
    "returned": ("returned to work", "pct"),
    "first_return_sustained": ("first return lasted", "pct"),
    "first_return_broke_down": ("first return broke down", "pct"),
    "early_return": ("early (premature) first return", "pct"),
    "broke_down_after_early": ("broke down, early returns", "pct"),
    "broke_down_after_later": ("broke down, later returns", "pct"),
    "same_job": ("first return to the same job", "pct"),
    "weeks_to_first_return": ("weeks to first return", "num"),
    "hours_after_return": ("share of usual hours after return", "pct"),
    "fte_weeks_absent": ("FTE weeks lost: absent", "num"),
    "fte_weeks_phased": ("FTE weeks lost: reduced hours (phased)", "num"),
    "fte_weeks_presenteeism": ("FTE weeks lost: presenteeism after return", "num"),
    "utility_mean": ("mean weekly utility (EQ-5D)", "num"),
    **{f"qaly_loss_{s}": (f"QALYs lost while {s.replace('_', ' ')}", "num")
       for s in OUT_OF_WORK},
}
QUALITY_CHUNK = 1 << 17  # people whose quality metrics are computed at a time
GROUP_METRICS = ("returned", "first_return_sustained", "first_return_broke_down",
                 "early_return", "same_job", "hours_after_return", "utility_mean")


def _value(ref, cfg: dict) -> float:
    return float(resolve_cost(ref, cfg.get("evidence_values")))


def quality_metrics(agents: pd.DataFrame, cfg: dict) -> dict[str, tuple]:
    """Per-person (value, eligible) arrays for every quality metric (definitions above)."""
    horizon = int(cfg["horizon_weeks"])
    sw = int(cfg["outcomes"]["sustained_weeks"])
    hours = float(cfg["pathways"]["phased_return"]["hours_fraction"])
    early_weeks = cfg["pathways"]["new_spell"]["early_return_before_weeks"]
    onset = agents["first_onset"].to_numpy()
    first = agents["first_rtw"].to_numpy().astype(np.int64)
    sustained = agents["sustained_rtw"].to_numpy()
    to_rtw = agents["weeks_to_rtw"].to_numpy().astype(float)
    working = agents["weeks_working"].to_numpy().astype(float)
    phased = agents["weeks_phased"].to_numpy().astype(float)
    everyone = np.ones(len(agents), dtype=bool)
    returned = first >= 0
    followed = returned & (first + sw <= horizon)
    lasted = followed & (sustained == first)
    broke = followed & ~lasted
    severity = agents["severity"].cat.codes.to_numpy()
    threshold = np.array([float(early_weeks[s]) for s in SEVERITIES])[severity]
    early = returned & (to_rtw < threshold)
    new_job = returned & (agents["reemployed_week"].to_numpy() == first)
    after = np.maximum(horizon - first, 0).astype(float)
    back = np.minimum(working + phased, after)
    hours_after = 1.0 - (1.0 - hours) * np.divide(phased, back, out=np.zeros_like(back),
                                                  where=back > 0)
    presenteeism = _value("presenteeism_after_return", cfg)
    p_weeks = _value("presenteeism_weeks_after_return", cfg)
    full_after = np.where(returned, np.minimum(np.minimum(p_weeks, working), after), 0.0)
    econ = resolve_economics(cfg["economics"], cfg.get("evidence_values"))
    utility = state_utilities(econ)
    # weeks by state one at a time (8 float columns at once were ~64 bytes a person of a
    # run's memory peak): the total is a sum of whole numbers, exact in any order; the
    # utility sum adds in the same order as before, so both are the same to the bit
    total = np.zeros(len(agents), dtype=np.int64)
    u_sum = 0
    for s in STATES:
        w = agents[f"weeks_{s}"].to_numpy()
        total += w
        u_sum = u_sum + w.astype(float) * utility[s]
    total = total.astype(float)
    absent = agents["weeks_absent"].to_numpy().astype(float)
    out = {
        "returned": (returned, onset >= 0),
        "first_return_sustained": (lasted, followed),
        "first_return_broke_down": (broke, followed),
        "early_return": (early, returned),
        "broke_down_after_early": (broke, followed & early),
        "broke_down_after_later": (broke, followed & ~early),
        "same_job": (returned & ~new_job, returned),
        "weeks_to_first_return": (np.where(returned, to_rtw, 0.0), returned),
        "hours_after_return": (hours_after, returned & (back > 0)),
        "fte_weeks_absent": (absent, everyone),
        "fte_weeks_phased": (phased * (1.0 - hours), everyone),
        "fte_weeks_presenteeism": (presenteeism * full_after, everyone),
        "utility_mean": (np.divide(u_sum, total, out=np.zeros_like(total), where=total > 0),
                         total > 0),
    }
    for s in OUT_OF_WORK:
        weeks = absent if s == "absent" else agents[f"weeks_{s}"].to_numpy().astype(float)
        out[f"qaly_loss_{s}"] = (weeks * (utility["working"] - utility[s]) / 52.0, everyone)
    return out


def quality_table(agents: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Tidy table: replicate, dimension, group, metric, value (mean over eligible), n.

    As in ``group_summary``, the work repeated across dimensions is done once: each
    metric's numerator among the eligible (a metric whose eligible are everyone is its own
    numerator; indicators stay boolean) and each distinct eligibility's count per group.
    People are taken :data:`QUALITY_CHUNK` at a time (the metrics are about 20 per-person
    float arrays: at 1M people at once they set a run's memory peak, +96 bytes a person,
    issue 19), their sums added in person order: the same sums as one bincount over
    everyone, so the table is the same to the bit."""
    n_rep = replicates(agents)
    sums = None
    for lo in range(0, max(len(agents), 1), QUALITY_CHUNK):
        # the table itself when it is one chunk (a sweep cell's: no slice of ~60 columns)
        part = agents if len(agents) <= QUALITY_CHUNK else agents.iloc[lo:lo + QUALITY_CHUNK]
        metrics = quality_metrics(part, cfg)
        numerators = {m: _numerator(value, eligible)
                      for m, (value, eligible) in metrics.items()}
        sums = grouped_sums(part, metrics, numerators, n_rep, sums)
        del metrics, numerators
    # one frame from whole columns (not a frame per metric and a concat: 0.5 s at 600k);
    # the text columns as strings, as the per-metric frames inferred them
    table = mean_table(agents, sums)
    if table is None:
        return pd.DataFrame(columns=["replicate", "dimension", "group", "metric", "value",
                                     "n"])
    return table


def _numerator(value: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """``np.where(eligible, value, 0.0)`` as bincount weights, without a copy where it can:
    the same weights, so the same sums to the bit."""
    if eligible.all():
        return value
    if value.dtype == bool:
        return value & eligible
    return np.where(eligible, value, 0.0)


def _text(value, kind) -> str:
    if value is None or value != value:
        return "-"
    return f"{100 * value:.1f}%" if kind == "pct" else f"{value:,.2f}"


def quality_markdown(table: pd.DataFrame, cfg: dict, small_cell: int = 10,
                     labels: dict | None = None) -> str:
    """The summary.md section: overall values, then the return-quality metrics by
    IMD quintile and ethnic group (groups under ``small_cell`` returners suppressed)."""
    if table is None or table.empty:
        return ""
    means = (table.groupby(["dimension", "group", "metric"], sort=False)
             .agg(value=("value", "mean"), n=("n", "sum")).reset_index())
    overall = means[means["dimension"] == "all"].set_index("metric")["value"]
    sw = cfg["outcomes"]["sustained_weeks"]
    lines = ["## Quality of the return, health and productivity", "",
             f"A first return *broke down* if it did not last {sw} weeks in work; *early* "
             "returns came sooner than the model's early-return threshold for the person's "
             "severity (WAVE warns against premature returns). FTE weeks and QALYs are per "
             "person in the population over the run (definitions: sim/results/quality.py; "
             "presenteeism is an assumption, registry presenteeism_after_return).", "",
             "| outcome | value |", "|---|---|"]
    for metric, (label, kind) in QUALITY_METRICS.items():
        if metric in overall:
            lines.append(f"| {label} | {_text(overall[metric], kind)} |")
    labels = labels or {}
    for dim, title in (("imd_quintile", "IMD quintile"), ("ethnicity", "ethnic group")):
        sub = means[means["dimension"] == dim]
        names = labels.get(dim) or {}
        if sub.empty:
            continue
        lines += ["", f"By {title}:", "",
                  "| group | returners | "
                  + " | ".join(QUALITY_METRICS[m][0] for m in GROUP_METRICS) + " |",
                  "|" + "---|" * (len(GROUP_METRICS) + 2)]
        for group, g in sub.groupby("group", sort=False):
            vals = dict(zip(g["metric"], g["value"], strict=True))
            n = int(g.loc[g["metric"] == "early_return", "n"].sum())
            name = md_text(names.get(group, group))
            if n < small_cell:
                lines.append(f"| {name} | <{small_cell} | "
                             + " | ".join("suppressed" for _ in GROUP_METRICS) + " |")
                continue
            lines.append(f"| {name} | {n:,} | " + " | ".join(
                _text(vals.get(m), QUALITY_METRICS[m][1]) for m in GROUP_METRICS) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["QUALITY_METRICS", "quality_metrics", "quality_table", "quality_markdown"]
