"""A sweep's report: one full report per setting, and a first page that names them all.

A sweep over designs x populations x assumption settings has several *settings*: groups
of runs that match in everything but the programme (and its named variant), seed and
output options (:func:`sim.compare.report._group_config`). A single report compares the runs of
one setting; nothing is kept silently: every setting that has a usual-care run gets its
own report in ``report/<n>_<name>/report.html``, and ``report/index.html`` names every
setting on its first screen (the settings that tell them apart: population, assumption
values ...) with its headline, design by design: change in RTW and in the slope index of
inequality (SII) against usual care, with 95% intervals over paired replicates. Settings
without a usual-care run are listed with the reason. With one setting the report is
written as before (``report/report.html``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pandas as pd
from markupsafe import Markup

from sim.compare import report as rp
from sim.compare.sweep import record_timing

INDEX = "index.html"
PARALLEL_FROM = 4  # settings from which their reports are written in parallel
# joblib's settings for the reports' processes: as hydra-joblib-launcher's (max_nbytes=None),
# so that loky reuses the sweep's own workers, which have the libraries loaded (joblib reuses
# an executor only when these match; new workers cost ~1.2 s of start-up each, issue 19)
PARALLEL_ARGS = {"backend": "loky", "max_nbytes": None}


def settings(cells: list) -> list[tuple[str, list]]:
    """The runs grouped by setting, each with its name: the settings that differ from the
    other groups (e.g. ``population.name=workforce``), in the order first given."""
    groups: dict[str, list] = {}
    for c in cells:
        groups.setdefault(json.dumps(rp._group_config(c), sort_keys=True, default=str),
                          []).append(c)
    flats = [rp._flat(rp._group_config(cs[0])) for cs in groups.values()]
    keys = sorted({k for f in flats for k in f} - {"population.description"})
    differing = [k for k in keys if len({f.get(k) for f in flats}) > 1]
    if "population.name" in differing:  # a preset's own values go with its name
        differing = ["population.name"] + [
            k for k in differing if not k.startswith("population.") or len(
                {(f.get("population.name"), f.get(k)) for f in flats}) > len(
                {f.get("population.name") for f in flats})]
    out = []
    for f, cs in zip(flats, groups.values(), strict=True):
        name = ", ".join(f"{k.removesuffix('.name')}={rp._show(f.get(k))}"
                         for k in differing[:4])
        if len(differing) > 4:
            name += f", +{len(differing) - 4} more"
        out.append((name or "all runs", cs))
    return out


def _slug(i: int, name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9]+", "_", name.replace("population=", "")).strip("_")
    return f"{i + 1:02d}_{text[:60] or 'setting'}"


def _headline(comp) -> pd.DataFrame:
    """Design x (RTW change, SII change) against usual care, with intervals."""
    lg = comp.league.set_index(["design", "measure"])
    names = rp._names(comp)
    rows = []
    for arm in comp.arms[1:]:
        r, s = lg.loc[(arm.key, comp.rtw)], lg.loc[(arm.key, "sii")]
        rows.append({
            "design": names.get(arm.key, arm.key),
            f"extra back at work by week {comp.rtw_week}, per 1,000": rp._ci(
                1000 * r["estimate"], 1000 * r["low"], 1000 * r["high"], "{:+.1f}"),
            "deprivation gap (SII), change in points (negative = narrows)": rp._ci(
                100 * s["estimate"], 100 * s["low"], 100 * s["high"], "{:+.2f}"),
        })
    return pd.DataFrame(rows)


def _entry(i: int, name: str, cs: list, out_dir: Path, figures: bool = False,
           full: bool = True) -> dict:
    """One setting's line of the index page and (``full``) its report, written under
    ``out_dir``."""
    entry = {"name": name, "runs": len(cs), "link": None, "table": None, "note": ""}
    cpu0 = time.process_time()
    try:
        return _fill_entry(entry, i, cs, out_dir, figures, full)
    finally:
        record_timing("report_setting", setting_cpu=time.process_time() - cpu0)


def _fill_entry(entry: dict, i: int, cs: list, out_dir: Path, figures: bool,
                full: bool = True) -> dict:
    name = entry["name"]
    if not any(c.design == rp.REFERENCE for c in cs):
        designs = ", ".join(sorted({c.design for c in cs}))
        entry["note"] = f"not compared: no usual_care run in this setting (runs of: {designs})"
        return entry
    sub = out_dir / _slug(i, name)
    try:
        comp = rp.compare_cells(cs, detail=full)
        page = rp.write_report([c.path for c in cs], sub, if_exists="refuse",
                               comparison=comp, draw_figures=figures) if full else None
    except rp.ReportError as err:
        entry["note"] = f"not compared: {err}"
    else:
        entry["link"] = f"{sub.name}/{page.name}" if page is not None else None
        entry["table"] = rp._table(_headline(comp), text=True)
        entry["people"] = f"{int(comp.cells[0].manifest.get('n_agents') or 0):,}"
    return entry


def _workers(settings_count: int, workers: int | None) -> int:
    """Processes for the per-setting reports: one per core (at most one per setting); a
    few settings are not worth starting processes for."""
    if workers is None:
        workers = (os.cpu_count() or 1) if settings_count >= PARALLEL_FROM else 1
    return max(1, min(int(workers), settings_count))


def write_sweep_report(paths, out_dir: Path, quiet: bool = False,
                       workers: int | None = None, figures: bool = False,
                       full: bool = True, preloaded: dict | None = None) -> Path:
    """Reports of every setting of the runs under ``paths`` and their index page.

    The settings' reports are independent, so they are written by ``workers`` processes
    (default: one per core when there are at least ``PARALLEL_FROM`` settings; joblib's
    reusable loky workers, the same a sweep's launcher used); the pages do not depend on
    it. Returns the index page (or the single report when there is one setting).

    ``figures``: draw each setting's charts. Off by default: five matplotlib charts per
    setting were about a quarter of all the CPU of a 30-cell benchmark sweep (issue 19);
    the pages say so and the tables hold the same numbers. A single setting's report keeps
    its charts (one report).

    ``full=False``: the index page only, each setting with its headline (the same numbers),
    no report per setting. Rendering a setting's full report (its DCEA, tables and page)
    was about 60% of a sweep's report CPU and 8% of all of a 100-cell benchmark sweep's
    (issue 19); a sweep's aggregate writes them when asked (``--setting-reports``).
    A single setting's report is always written in full.

    ``preloaded``: tables the caller already read (:func:`sim.compare.report.load_cells`;
    a sweep's aggregate hands over what it read). Without the full reports, each cell's
    RTW curves are not read (the index page does not use them)."""
    cells = rp.load_cells(paths, preloaded, curves=full)
    groups = settings(cells)
    if len(groups) == 1:
        return rp.write_report(paths, out_dir)
    out_dir = rp._free_out(Path(out_dir))
    out_dir.mkdir(parents=True)
    n = _workers(len(groups), workers)
    if n > 1:
        from joblib import Parallel, delayed

        entries = Parallel(n_jobs=n, **PARALLEL_ARGS)(
            delayed(_entry)(i, name, cs, out_dir, figures, full)
            for i, (name, cs) in enumerate(groups))
    else:
        entries = [_entry(i, name, cs, out_dir, figures, full)
                   for i, (name, cs) in enumerate(groups)]
    if not quiet:
        for entry in entries:
            print(f"report: setting {entry['name']}: "
                  f"{entry['link'] or entry['note'] or 'headline on the index page'}",
                  file=sys.stderr)
    (out_dir / INDEX).write_text(render_index(entries, full), encoding="utf-8")
    return out_dir / INDEX


def render_index(entries: list[dict], full: bool = True) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(rp._TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    intro = Markup(
        "Each setting (population or assumption values) is compared in its own report: "
        "designs against usual care on the same people. Changes are design minus usual care "
        "with 95% intervals over paired replicates; an interval that spans zero means the "
        "runs cannot tell the change from noise.")
    if not full:
        intro += Markup(
            " The full report of each setting (every measure, costs, the distributional "
            "cost-effectiveness analysis) is not written by default in a sweep: "
            "<code>python -m sim.compare.sweep aggregate &lt;sweep dir&gt; "
            "--setting-reports</code> writes them all.")
    return env.get_template("sweep_index.html.j2").render(entries=entries, intro=intro)
