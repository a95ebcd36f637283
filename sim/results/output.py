"""Writing a run's results: all or nothing.

Files are written into a hidden staging directory next to the destination, the manifest
last, and the staging directory is renamed into place in one step. A run that fails or is
killed half-way leaves no ``results/`` directory that could pass for a complete one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from sim.background import Background, Rows
from sim.engine.categories import CONDITION_LABELS, ETHNICITY_LABELS, SMALL_CELL
from sim.io import TMP_MARK, describe_os_error, release_free_memory, staged_dir
from sim.results.economics import with_person_economics
from sim.results.manifest import build_manifest
from sim.results.outcomes import sustained_label
from sim.results.parquet import write_parquet, write_parquet_parts
from sim.results.quality import quality_markdown
from sim.textsafe import md_text
from sim.uncertainty.decomposition import decomposition_markdown, for_results

HEADLINE = (
    ("rtw_13w", "Returned to work within 13 weeks", "pct"),
    ("rtw_26w", "Returned to work within 26 weeks", "pct"),
    ("rtw_52w", "Returned to work within 52 weeks", "pct"),
    ("sustained_rtw_52w", "Sustained return within 52 weeks", "pct"),  # + weeks: config
    ("days_absent", "Working days absent per person over the horizon", "num"),
    ("job_loss", "Lost their job", "pct"),
    ("inactive", "Became economically inactive", "pct"),
    ("relapse", "Relapsed after returning (of those who returned)", "pct"),
)
GROUP_COLUMNS = ("rtw_13w", "rtw_52w", "days_absent", "job_loss")


def _cell_text(value, kind):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{100 * value:.1f}%" if kind == "pct" else f"{value:,.1f}"


def _mean_over_replicates(summary: pd.DataFrame) -> pd.DataFrame:
    return (summary.groupby(["dimension", "group", "metric"], sort=False)
            .agg(value=("value", "mean"), n=("n", "sum")).reset_index())


def _group_table(means: pd.DataFrame, dimension: str, labels: dict | None) -> str:
    sub = means[means["dimension"] == dimension]
    if sub.empty:
        return ""
    kinds = {m: k for m, _, k in HEADLINE}
    cols = [c for c in GROUP_COLUMNS if c in set(sub["metric"])]
    header = "| group | people | " + " | ".join(cols) + " |"
    lines = [header, "|" + "---|" * (len(cols) + 2)]
    for group, g in sub.groupby("group", sort=False):
        vals = dict(zip(g["metric"], g["value"], strict=True))
        n = int(g.loc[g["metric"] == "days_absent", "n"].sum())
        name = md_text(labels.get(group, group) if labels else group)
        if n < SMALL_CELL:
            lines.append(f"| {name} | <{SMALL_CELL} | " + " | ".join("suppressed" for _ in cols)
                         + " |")
            continue
        lines.append(f"| {name} | {n:,} | "
                     + " | ".join(_cell_text(vals.get(c), kinds[c]) for c in cols) + " |")
    return "\n".join(lines)


def summary_markdown(results, figures: list[str]) -> str:
    cfg = results.config
    means = _mean_over_replicates(results.summary)
    overall = means[means["dimension"] == "all"].set_index("metric")["value"]
    t = results.timings
    lines = [
        f"# rtw-sim: {md_text(cfg['population']['name'])} x {md_text(cfg['programme']['name'])}",
        "",
        f"{md_text(cfg['population']['description'])}; programme: "
        f"{md_text(cfg['programme']['description'])}.",
        f"{len(results.agents):,} people ({cfg['replicates']} replicate(s) of "
        f"{cfg['population']['n']:,}), {cfg['horizon_weeks']} weeks, seed {cfg['seed']}, "
        f"engine {cfg['engine']}; simulated in {t.get('run_seconds', 0):.2f} s.",
        "",
        "## Headline outcomes",
        "",
        "| outcome | value |",
        "|---|---|",
    ]
    for metric, label, kind in HEADLINE:
        if metric.startswith("sustained_"):  # the configured weeks, e.g. (26+ weeks in work)
            label = label.replace("Sustained return", sustained_label(cfg).capitalize())
        if metric in overall:
            lines.append(f"| {label} | {_cell_text(overall[metric], kind)} |")
    sw = cfg["outcomes"]["sustained_weeks"]
    lines += ["", "RTW rates count people followed for the full period after their first "
              f"absence began (sustained return: that period plus {sw} weeks, so every "
              "return counted could be seen to last); values are means over replicates. "
              f"Groups with fewer than {SMALL_CELL} people are suppressed.", ""]
    if not results.programme.empty:
        prog = results.programme.groupby(["component", "label"], sort=False).mean(
            numeric_only=True).reset_index()
        lines += ["## Programme components", "",
                  "| component | started (per replicate) | mean wait (weeks) | RTW hazard ratio "
                  "used | variable cost (GBP) |", "|---|---|---|---|---|"]
        for r in prog.itertuples():
            hr = getattr(r, "rtw_hr", float("nan"))
            hr_text = "-" if hr != hr else f"{hr:.3f}"
            lines.append(f"| {md_text(r.label)} | {r.started:,.0f} | {r.mean_wait_weeks:.1f} | "
                         f"{hr_text} | {r.variable_cost_gbp:,.0f} |")
        enrolled = overall.get("enrolled", 0.0)
        cost = overall.get("programme_cost", 0.0)
        lines += ["", f"{100 * enrolled:.1f}% of people started a component; programme cost "
                  f"{cost:,.0f} GBP per person in the population (see programme.csv).", ""]
    index = "SIMD" if cfg["population"].get("deprivation_index") == "simd" else "IMD"
    for dim, title, labels in (
        ("imd_quintile", f"By {index} quintile (1 = most deprived)", None),
        ("ethnicity", "By ethnic group", ETHNICITY_LABELS),
        ("condition", "By health condition", CONDITION_LABELS),
        ("disability", "By disability (long-term condition limiting daily activity)", None),
        ("employment", "By employment (precarious: temporary, zero-hours or agency)", None),
    ):
        lines += [f"## {title}", "", _group_table(means, dim, labels), ""]
    if not results.calibration.empty:
        lines += ["## Calibration against UK figures", "",
                  "| target | UK figure | simulated | source |", "|---|---|---|---|"]
        for row in results.calibration.itertuples():
            lines.append(f"| {md_text(row.target)} | {row.target_value:.3g} | "
                         f"{row.simulated:.3g} | {md_text(row.source)} |")
        lines.append("")
    quality = getattr(results, "quality", None)
    if quality is not None and not quality.empty:
        lines += [quality_markdown(quality, cfg, SMALL_CELL, {"ethnicity": ETHNICITY_LABELS})]

    section = decomposition_markdown(getattr(results, "decomposition", None))
    if section:
        lines += [section, ""]
    if figures:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    lines += [
        "## Files",
        "",
        "- `agents.parquet`: one row per person: attributes and outcomes, discounted QALYs "
        "(`qaly_disc`), NHS/PSS and societal cost",
        "- `group_summary.csv` / `.parquet`: tidy metrics by replicate, dimension and group "
        "(value and its denominator n)",
        "- `weekly_counts.parquet`: people by week, replicate, IMD, ethnicity, condition, state",
        "- `state_totals.csv`: weekly totals by state (Mesa DataCollector)",
        "- `spell_lengths.csv`: absence spells by length (completed / ongoing at the horizon)",
        "- `calibration.csv`: UK targets vs simulated",
        "- `gap_decomposition.csv`: the deprivation and ethnicity gaps split into population "
        "structure, sourced and assumed hazard differences (counterfactual runs)",
        "- `programme.csv`: per component: hazard ratios used, referrals, starts, waits, costs",
        "- `economics.parquet`: per replicate and group (all, IMD, ethnicity, condition, "
        "IMD x ethnicity): mean discounted cost per person by perspective, discounted weeks "
        "in work and absent, people returned within 52 weeks",
        "- `rtw_curves.parquet`: people back at work by week since onset, per replicate and "
        "group (counts)",
        "- `quality.parquet`: quality of the return (lasted, broke down, early, same job, "
        "hours), health (utility, QALYs lost by state) and productivity (FTE weeks lost) per "
        "replicate and group (sim/results/quality.py)",
        "- `cif.parquet`: Aalen-Johansen cumulative incidence of RTW, job loss and inactivity "
        "by week and group (pooled over replicates, with 95% intervals)",
        "- `manifest.json`: config, seed, package versions, git commit, timings, peak memory",
        "",
    ]
    return "\n".join(lines)


class ResultsWriter:
    """Writing a run's results in two steps, for the CLI (issue 19): open it before the
    run, pass :meth:`agents_ready` to :func:`sim.simulate.simulate` so that
    ``agents.parquet`` is written in a thread (pyarrow encodes without the GIL) while the
    run's tables are computed, a row group as soon as the economics has costed its people
    (:class:`sim.background.Rows`), then :meth:`write` the rest. The same files, into the
    same staging folder, renamed into place only when everything succeeded::

        with ResultsWriter(dest, helper, ticket) as writer:
            writer.write(simulate(cfg, agents_ready=writer.agents_ready))
    """

    def __init__(self, dest: Path, helper=None, decomposition_ticket: int | None = None):
        self.dest = Path(dest)
        self.helper, self.ticket = helper, decomposition_ticket
        self._staged = None
        self.staging: Path | None = None
        self._agents: Background | None = None  # writing agents.parquet
        self._rows: Rows | None = None  # of it, the rows whose costs are complete

    def __enter__(self) -> ResultsWriter:
        self._staged = staged_dir(self.dest)
        self.staging = self._staged.__enter__()
        return self

    def agents_ready(self, agents: pd.DataFrame, cfg: dict, person_economics: dict,
                     rows: Rows | None = None) -> None:
        """Start writing ``agents.parquet`` (with the person costs) in a thread; ``rows``:
        how many people's costs are in ``person_economics`` so far (None: all)."""
        self._rows = rows
        self._agents = Background(_write_agents, agents, cfg, person_economics,
                                  self.staging / "agents.parquet", rows)

    def _join_agents(self) -> bool:
        """Wait for the agents thread; True once it wrote the file (its error re-raised)."""
        agents, self._agents = self._agents, None
        agents.result()
        return True

    def write(self, results, leave_out: Collection[str] = ()) -> Path:
        """Write everything else (and the manifest) into the staging folder."""
        # what the run freed (its model), before the writers' peak; a cycle collection
        # costs ~50 ms and the pages handed back are faulted in again by the next run,
        # worth it only where memory matters (sim.io.RELEASE_AT rows: not a sweep's cells)
        release_free_memory(collect=True, rows=len(results.agents))
        _write_into(results, self.dest, self.staging, leave_out, self.helper, self.ticket,
                    self._join_agents if self._agents is not None else None)
        return self.dest

    def __exit__(self, kind, value, tb) -> bool:
        if kind is not None:
            if self.helper is not None:  # nothing may write into the staging folder once
                self.helper.close(kill=True)  # it goes
            if self._agents is not None:
                if self._rows is not None:  # costs that will never come: it stops
                    self._rows.abandon()
                self._agents.join()  # ended before the staging folder goes
        return bool(self._staged.__exit__(kind, value, tb))


# rows in each of agents.parquet's row groups. With pyarrow's default (1,048,576) and
# pandas' own writing (a dictionary for every column, the cost columns copied) the writer
# held ~60-130 MB at 1M people x 260 weeks, the run's peak in `make bench` (~400 -> ~335
# bytes a person, issue 19, session 24); now ~20 MB. The file is ~4% larger (no
# dictionaries for its floats) and reads back the same frame, schema and attrs
AGENT_ROW_GROUP = 131_072


def _write_agents(agents: pd.DataFrame, cfg: dict, person_economics: dict | None,
                  path: Path, rows: Rows | None = None) -> None:
    """``agents.parquet``: the per-person table with its costs, in row groups of
    :data:`AGENT_ROW_GROUP` rows with each column's statistics, the identifier and the
    floats without a dictionary (the writer's table of distinct values was ~30 MB for
    ``person_id`` alone at 1M people), the cost columns not copied. A row group is written
    once ``rows`` says its people's costs are in ``person_economics`` (None: they all are;
    an empty ``person_economics``: each group's people are costed here)."""
    import pyarrow as pa

    def groups():
        n = len(agents)
        for lo in range(0, max(n, 1), AGENT_ROW_GROUP):
            hi = min(lo + AGENT_ROW_GROUP, n)
            if rows is not None:
                rows.wait(hi)
            part = agents.iloc[lo:hi]
            part.attrs = dict(agents.attrs)
            yield with_person_economics(
                part, cfg, {col: v[lo:hi] for col, v in (person_economics or {}).items()},
                copy=False)

    # the system allocator for the encoding: what it used is returned at once, not kept in
    # pyarrow's pool through the tables' peak (the file is the same)
    write_parquet_parts(groups(), path, AGENT_ROW_GROUP, statistics=True,
                        memory_pool=pa.system_memory_pool(), plain=("person_id",))
    # some of the writer's buffers come from pyarrow's default pool whatever it is given,
    # and mimalloc keeps this thread's freed pages: handed back before the decomposition
    # and figures allocate on top of them
    pa.default_memory_pool().release_unused()


def write_results(results, dest: Path, leave_out: Collection[str] = (),
                  helper=None, decomposition_ticket: int | None = None) -> Path:
    """Write every table, figure and the manifest to ``dest`` atomically; ``leave_out``:
    file names not to write (a sweep's cells: :data:`sim.compare.sweep.CELL_LEAVE_OUT`).

    ``helper`` (a :class:`sim.results.helper.Helper`, the CLI's): the figures are drawn
    there, into the staging folder, while this process writes the tables; the
    decomposition's counterfactual runs are the helper's ``decomposition_ticket`` (submitted
    before the run). The files are the same either way; a failure in the helper fails the
    writing (:class:`sim.results.helper.HelperError`) and nothing is kept."""
    with ResultsWriter(dest, helper, decomposition_ticket) as writer:
        return writer.write(results, leave_out)


def _write_into(results, dest: Path, staging: Path, leave_out: Collection[str], helper,
                decomposition_ticket: int | None, agents_written=None) -> Path:
    """:func:`write_results` into its staging folder (``agents_written``: a callable
    that waits for an ``agents.parquet`` being written already and says whether it was)."""
    cfg = results.config
    files = []
    plots_on = bool(cfg["output"]["plots"])
    figures_ticket = None
    if plots_on and helper is not None and (decomposition_ticket is None
                                            or helper.done(decomposition_ticket)):
        # the helper is free: it draws the figures while the tables are written here (if
        # it is still running the decomposition, they are drawn here, after the tables)
        figures_ticket = helper.submit("sim.results.plots:draw_figures",
                                       *_figure_tables(results, staging, leave_out))

    def save(name, writer):
        if name in leave_out:
            return
        writer(staging / name)
        files.append(name)

    if agents_written is not None and agents_written():
        files.append("agents.parquet")
    elif cfg["output"]["write_agents"]:
        save("agents.parquet", lambda p: _write_agents(
            results.agents, cfg, getattr(results, "person_economics", None), p))
    save("group_summary.parquet", lambda p: write_parquet(results.summary, p))
    save("group_summary.csv", lambda p: results.summary.to_csv(p, index=False))
    save("weekly_counts.parquet", lambda p: write_parquet(results.weekly, p))
    save("state_totals.csv", lambda p: results.state_totals.to_csv(p, index=False))
    save("spell_lengths.csv", lambda p: results.spells.to_csv(p, index=False))
    save("calibration.csv", lambda p: results.calibration.to_csv(p, index=False))
    if plots_on and figures_ticket is None:  # drawn here, before any wait for the helper
        from sim.results import plots  # matplotlib (~0.3 s to import) only when plotting

        drawn = plots.draw_figures(*_figure_tables(results, staging, leave_out))
    pending = None if decomposition_ticket is None else (
        lambda: helper.result(decomposition_ticket))
    decomposition = for_results(results, pending)
    if not decomposition.empty:
        save("gap_decomposition.csv", lambda p: decomposition.to_csv(p, index=False))
    if not results.programme.empty:
        save("programme.csv", lambda p: results.programme.to_csv(p, index=False))
    # cell-level tables a comparison report reads (present even without agents.parquet)
    for name in ("economics", "rtw_curves", "cif", "quality"):
        table = getattr(results, name, None)
        if table is not None and not table.empty:
            save(f"{name}.parquet", lambda p, t=table: write_parquet(t, p))
    figures = []
    if plots_on:
        files += helper.result(figures_ticket) if figures_ticket is not None else drawn
        figures = ["rtw_curves.png", "states.png"]
    save("summary.md", lambda p: p.write_text(summary_markdown(results, figures)))
    manifest = build_manifest(results, files + ["manifest.json"], {
        "helper_process": helper is not None, "agents_thread": agents_written is not None})
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return dest


def _figure_tables(results, staging: Path, leave_out: Collection[str]) -> tuple:
    """:func:`sim.results.plots.draw_figures`'s arguments: the figures' small tables and
    ``staging``, for the helper (by name: matplotlib is imported there only) or this
    process, whichever is free (:func:`_write_into`)."""
    from sim.results.figures_data import rtw_curves_data

    horizon = results.config["horizon_weeks"]
    curves = (None if "rtw_curves.png" in leave_out
              else rtw_curves_data(results.agents, horizon))
    totals = None if "states.png" in leave_out else results.state_totals
    return curves, totals, horizon, str(staging)


def point_latest(results_dir: Path, outputs_root: Path) -> str | None:
    """Make ``outputs/latest`` a symlink to ``results_dir`` (replaced atomically).

    Returns None on success, else a one-line warning: a ``latest`` that is a real file or
    directory (not a link this program made) is left alone, and so is an unwritable root.
    """
    link = outputs_root / "latest"
    if link.exists() and not link.is_symlink():
        return (f"{link} is a real {'directory' if link.is_dir() else 'file'}, not a link; "
                "left as it is (set output.latest_link=false to stop this warning)")
    tmp = outputs_root / f".latest{TMP_MARK}{os.getpid()}"
    try:
        os.symlink(os.path.relpath(results_dir, outputs_root), tmp)
        os.replace(tmp, link)
    except OSError as err:
        if tmp.is_symlink():
            tmp.unlink()
        return f"could not point {link} at the results: {describe_os_error(err)}"
    return None
