"""A sweep's report: every setting (population, assumption values) shown and named."""

import re
import sys

import pytest

from sim.compare.report import load_cells
from sim.compare.report_sweep import settings, write_sweep_report
from sim.results.output import write_results
from sim.simulate import simulate

# 2,000 people: under the session-15 streams 1,500 left the workforce usual-care run with
# no rtw_52w in one IMD quintile (the report then refuses the setting)
BASE = ("population.n=2000", "replicates=2", "horizon_weeks=53", "output.plots=false",
        "output.write_agents=false")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from sim.config import load_config

    root = tmp_path_factory.mktemp("settings")
    grid = [(p, d, ()) for p in ("fit_note_cohort", "workforce")
            for d in ("usual_care", "multicomponent")]
    grid.append(("workforce", "ips_smi", ("economics.discount_rate=0.015",)))
    for pop, design, extra in grid:
        cfg = load_config([f"population={pop}", f"programme={design}", *BASE, *extra])
        write_results(simulate(cfg), root / f"{pop}_{design}" / "results")
    return root


def test_settings_are_named_by_what_differs(runs):
    names = [name for name, _ in settings(load_cells([runs]))]
    assert sorted(names) == ["population=fit_note_cohort, economics.discount_rate=0.035",
                             "population=workforce, economics.discount_rate=0.015",
                             "population=workforce, economics.discount_rate=0.035"]


def test_index_names_every_setting_and_links_its_report(runs, tmp_path):
    index = write_sweep_report([runs], tmp_path / "report", quiet=True)
    text = index.read_text()
    assert index.name == "index.html"
    assert 'name="viewport"' in text
    for pop in ("fit_note_cohort", "workforce"):
        assert f"population={pop}" in text
    links = re.findall(r'href="([^"#]+/report.html)"', text)
    assert len(links) == 2  # the two settings with usual care
    for link in links:
        page = tmp_path / "report" / link
        assert page.is_file() and (page.parent / "league.csv").is_file()
        assert "Runs not used" in page.read_text()
    # the setting with only ips_smi has no usual care: listed with the reason, not dropped
    assert "no usual_care run in this setting (runs of: ips_smi)" in text
    assert "Multicomponent" in text or "multicomponent" in text
    assert "per 1,000" in text and "negative = narrows" in text
    # a sweep writes the settings' reports in several processes: same files, same bytes
    one = index.parent
    two = write_sweep_report([runs], tmp_path / "two", quiet=True, workers=2).parent
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    assert len(files) > 10
    for f in files:
        assert (one / f).read_bytes() == (two / f).read_bytes(), f



def test_setting_reports_leave_charts_out_unless_asked(runs, tmp_path, monkeypatch):
    """Charts were about a quarter of a sweep's CPU: the settings' pages leave them out by
    default and say how to draw them; figures=True passes through to every setting."""
    from sim.compare import report as rp

    index = write_sweep_report([runs], tmp_path / "plain", quiet=True, workers=1)
    pages = sorted(index.parent.glob("*/report.html"))
    assert len(pages) == 2
    for page in pages:
        text = page.read_text()
        assert "<img" not in text and "--figures" in text
    drawn = {k: f"data:image/png;base64,{k}" for k in ("league", "curves", "gaps", "plane",
                                                       "costs")}
    monkeypatch.setattr(rp, "figures", lambda comp: drawn)  # the charts themselves: test_report
    index = write_sweep_report([runs], tmp_path / "drawn", quiet=True, workers=1, figures=True)
    for page in sorted(index.parent.glob("*/report.html")):
        text = page.read_text()
        assert all(f'src="{uri}"' in text for uri in drawn.values())
        assert "--figures" not in text


def _setting_sections(text: str) -> list[str]:
    """The index page's section of each setting, without its link to a full report."""
    body = text.split("<h2 ", 1)[1]
    return [re.sub(r' <a href="[^"]*">Full report for this setting</a>\.', "", part)
            for part in body.split("<h2 ")]


def test_index_without_setting_reports_has_the_same_headlines_and_no_report_folders(
        runs, tmp_path):
    full = write_sweep_report([runs], tmp_path / "full", quiet=True, workers=1).read_text()
    index = write_sweep_report([runs], tmp_path / "index", quiet=True, workers=1, full=False)
    text = index.read_text()
    # nothing but the index page: no folder per setting, no link to one
    assert [p.name for p in index.parent.iterdir()] == ["index.html"]
    assert "report.html" not in text and "--setting-reports" in text
    # every setting is there with the same headline table, word for word
    sections = _setting_sections(text)
    assert len(sections) == 3 and sections == _setting_sections(full)
    assert "no usual_care run in this setting (runs of: ips_smi)" in text
    assert text.count("per 1,000") == 2


def test_index_from_tables_already_read_reads_no_file_again_and_is_the_same(runs, tmp_path,
                                                                            monkeypatch):
    """A sweep's aggregate hands the report the tables it read (issue 19): no table or
    manifest is read again, RTW curves are not read for the index page, same page."""
    import json

    import pandas as pd

    from sim.compare import report_cells

    plain = write_sweep_report([runs], tmp_path / "plain", quiet=True, workers=1, full=False)
    dirs = sorted(p.parent for p in runs.glob("*/results/manifest.json"))
    known = {d.resolve(): (json.loads((d / "manifest.json").read_text()),
                           pd.read_parquet(d / "group_summary.parquet"),
                           pd.read_parquet(d / "economics.parquet")) for d in dirs}
    reads = []
    monkeypatch.setattr(report_cells, "_read_table", lambda path: reads.append(path))
    monkeypatch.setattr(report_cells, "_read_manifest", lambda d: reads.append(d))
    fast = write_sweep_report([runs], tmp_path / "fast", quiet=True, workers=1, full=False,
                              preloaded=known)
    assert reads == []
    assert fast.read_bytes() == plain.read_bytes()


def _sweep_dir(runs, root):
    """A sweep directory of the runs: cells/<key>/{cell.json, results}, with factors that
    count four settings (the aggregate then writes the index page in a worker process)."""
    import json
    import shutil

    for i, results in enumerate(sorted(runs.glob("*/results"))):
        pop, design = results.parent.name.split("_", 1)[0], results.parent.name
        cell = root / "cells" / f"cell{i}"
        shutil.copytree(results, cell / "results")
        factors = {"programme": design, "setting": i % 4, "population": pop}
        (cell / "cell.json").write_text(json.dumps({"key": f"cell{i}", "hash": f"h{i}",
                                                    "factors": factors}))
    return root


def test_index_page_written_aside_is_the_one_written_in_the_parent(runs, tmp_path, capsys,
                                                                   monkeypatch):
    """A sweep's aggregate writes its index page in a worker while it builds the tables
    (issue 19): the same page and tables, byte for byte, and the same lines printed."""
    from sim.compare import report_aside, sweep

    jobs = []

    class Job(report_aside.ReportJob):
        def result(self):
            jobs.append(self)
            return super().result()

    monkeypatch.setattr(report_aside, "ReportJob", Job)
    aside = _sweep_dir(runs, tmp_path / "aside")
    sweep.aggregate(aside)
    printed_aside = capsys.readouterr()
    assert len(jobs) == 1  # the page was written aside
    monkeypatch.setattr(report_aside, "worth_it", lambda complete: False)
    here = _sweep_dir(runs, tmp_path / "here")
    sweep.aggregate(here)
    printed_here = capsys.readouterr()
    files = sorted(p.relative_to(here) for p in here.rglob("*")
                   if p.is_file() and p.parts[len(here.parts)] in ("aggregate", "report"))
    assert files and files == sorted(p.relative_to(aside) for p in aside.rglob("*")
                                     if p.is_file() and p.parts[len(aside.parts)]
                                     in ("aggregate", "report"))
    for f in files:
        assert (here / f).read_bytes() == (aside / f).read_bytes(), f
    assert printed_here.out.replace(str(here), "X") == printed_aside.out.replace(str(aside), "X")
    assert printed_here.err == printed_aside.err and "report: setting" in printed_here.err


# The aggregate after a sweep's forked workers, in a fresh interpreter as ``python -m sim``
# runs it (one thread: this test process may hold threads of earlier tests' loky pools,
# whose locks a fork would copy held): ``dies``, the page's worker is killed mid-way (out of
# memory, say); ``no_fork``, no process to spare for it. Prints what it saw as JSON.
PAGE_AFTER_FORKED = """
import json, os, signal, sys
from pathlib import Path

import psutil

from sim.cli import fork_pool
from sim.compare import report_aside, sweep

case, root = sys.argv[1], Path(sys.argv[2])


def killed(*args):
    os.kill(os.getpid(), signal.SIGKILL)


def no_fork(size):
    raise BlockingIOError(11, "Resource temporarily unavailable")


sweep_pool = fork_pool.pool(2)  # the sweep's workers, idle after its last cell
made = []


class Pool(fork_pool.Pool):
    def __init__(self, size):
        made.append([size, sweep_pool.closed])
        super().__init__(size)


fork_pool.Pool = no_fork if case == "no_fork" else Pool
if case == "dies":
    report_aside.report_in_worker = killed
outcome = sweep.aggregate(root)
print(json.dumps({"made": made, "report": str(outcome["report"]),
                  "complete": outcome["complete"],
                  "children": len(psutil.Process().children())}))
"""


def _aggregate_after_forked(case: str, root):
    import json
    import subprocess

    from tests.conftest import REPO

    run = subprocess.run([sys.executable, "-c", PAGE_AFTER_FORKED, case, str(root)],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1]), run.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux only")
def test_a_page_worker_forked_after_the_cells_that_dies_leaves_the_tables(runs, tmp_path):
    """After a sweep's forked workers, the index page is written by a worker forked for it
    (sim.compare.report_aside.ReportJob._forked), the sweep's workers released first: if
    that worker dies, the report is said to have failed, the tables are written, and no
    worker is left running."""
    root = _sweep_dir(runs, tmp_path / "sw")
    out, err = _aggregate_after_forked("dies", root)
    assert out["made"] == [[1, True]]  # one worker forked for the page, after the release
    assert out["report"] == "None" and out["complete"] == 5
    assert (root / "aggregate" / "summary.parquet").is_file()
    assert (root / "aggregate" / "comparison.csv").is_file()
    assert "report: failed: BrokenProcessPool" in err
    assert out["children"] == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux only")
def test_a_page_whose_worker_cannot_be_forked_is_written_by_the_parent(runs, tmp_path,
                                                                       monkeypatch):
    """No process to spare for the page's worker after the sweep's forked workers: the
    parent writes the page itself, the same bytes as when nothing is written aside."""
    from sim.compare import report_aside, sweep

    root = _sweep_dir(runs, tmp_path / "sw")
    out, err = _aggregate_after_forked("no_fork", root)
    assert out["report"] == str(root / "report" / "index.html")
    assert "report: failed" not in err and out["children"] == 0
    monkeypatch.setattr(report_aside, "worth_it", lambda complete: False)
    here = _sweep_dir(runs, tmp_path / "here")
    sweep.aggregate(here)
    assert ((here / "report" / "index.html").read_bytes()
            == (root / "report" / "index.html").read_bytes())


def test_a_report_that_fails_in_its_worker_leaves_the_tables(runs, tmp_path, capsys,
                                                             monkeypatch):
    from sim.compare import report_aside, sweep

    def broken(*args):  # a local function: shipped to the worker by value, raises there
        raise RuntimeError("no page today")

    monkeypatch.setattr(report_aside, "report_in_worker", broken)
    root = _sweep_dir(runs, tmp_path / "sw")
    outcome = sweep.aggregate(root)
    assert outcome["report"] is None and outcome["complete"] == 5
    assert (root / "aggregate" / "summary.parquet").is_file()
    assert (root / "aggregate" / "comparison.csv").is_file()
    assert "report: failed: RuntimeError: no page today" in capsys.readouterr().err
