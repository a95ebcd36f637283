"""Hostile names and descriptions reach the HTML report and summary.md only as text."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
HEADING = "Cohort\n# Injected heading\n| a | b |"
RUN = ("population.n=1000", "horizon_weeks=60", "replicates=2", "output.plots=false",
       "output.write_agents=false", "output.latest_link=false")


def _raw_html(page: str) -> list[str]:
    """Markup a hostile string would have injected, if it reached the page unescaped."""
    return [bad for bad in ("<script", "<img src=x", "onerror=alert(1)>", "<b>bold")
            if bad.lower() in page.lower()]


def _heading_lines(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.lstrip().startswith("# Injected")
            or line.lstrip().startswith("| a | b")]


def test_hostile_descriptions_through_the_cli_are_text_in_report_and_summary(tmp_path):
    """``python -m sim`` with hostile descriptions, then ``python -m sim.compare.report``."""
    def sim(*args):
        r = subprocess.run([sys.executable, "-m", "sim", *RUN, *args], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]

    pop = f"population.description='{HEADING} {SCRIPT}'"
    sim("programme=usual_care", pop, f"hydra.run.dir={tmp_path / 'runs' / 'uc'}")
    sim("programme=multicomponent", pop, f"programme.description='{IMG} <b>bold</b>'",
        f"hydra.run.dir={tmp_path / 'runs' / 'mc_hostile'}")
    for run in ("uc", "mc_hostile"):
        md = (tmp_path / "runs" / run / "results" / "summary.md").read_text()
        assert _heading_lines(md) == [], md[:600]
        assert "\\# Injected heading \\| a \\| b \\|" in md  # there, as text on one line
        assert "&lt;script&gt;" in md and "<script" not in md
    assert "&lt;img src=x onerror=alert(1)&gt;" in (
        tmp_path / "runs" / "mc_hostile" / "results" / "summary.md").read_text()
    r = subprocess.run([sys.executable, "-m", "sim.compare.report", str(tmp_path / "runs"), "--out",
                        str(tmp_path / "report")], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "report" / "report.html").read_text()
    assert _raw_html(page) == []
    # the text did reach the page (the runs table and the configuration), escaped
    assert "&lt;img src=x onerror=alert(1)&gt; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.fixture(scope="module")
def hostile_cells(tmp_path_factory):
    """Runs whose manifests carry hostile names (as an edited or foreign manifest could,
    whatever the config checks allow on the command line)."""
    from sim.config import load_config
    from sim.results.output import write_results
    from sim.simulate import simulate

    root = tmp_path_factory.mktemp("hostile")
    for design, name in (("usual_care", "usual_care"), ("multicomponent", IMG),
                         ("ips_smi", "$\\frac{x$ and $\\undefined{")):
        results = simulate(load_config([f"programme={design}", *RUN[:5]]))
        cfg = results.config  # names the config checks refuse, as a foreign manifest has
        cfg["population"]["name"] = SCRIPT
        cfg["population"]["description"] = HEADING
        cfg["programme"]["name"] = name
        cfg["programme"]["description"] = f"{name}\n# Injected heading"
        write_results(results, root / f"{design} {IMG}" / "results")  # a hostile path too
    return root


def _hostile_psa(folder: Path) -> Path:
    """A PSA folder (as ``make psa`` writes it) whose names are hostile."""
    import pandas as pd

    folder.mkdir()
    pd.DataFrame([{"design": SCRIPT, "rtw_52w_vs_uc": 0.01, "rtw_52w_vs_uc_low": 0.0,
                   "rtw_52w_vs_uc_high": 0.02, "net_benefit_vs_uc": 10.0,
                   "net_benefit_vs_uc_low": -5.0, "net_benefit_vs_uc_high": 20.0,
                   "p_best_net_benefit": 0.7, "p_best_rtw": 0.6,
                   "p_narrows_imd_gradient": 0.5}]).to_csv(folder / "summary.csv", index=False)
    pd.DataFrame([{"parameters": "all (EVPI)", "value_per_person": 3.0},
                  {"parameters": IMG, "value_per_person": 2.0}]).to_csv(folder / "voi.csv",
                                                                         index=False)
    pd.DataFrame([{"design": "$\\bad{", "wtp": 0, "probability": 0.5}]).to_csv(
        folder / "ceac.csv", index=False)
    return folder


def test_renderer_escapes_hostile_names_in_every_section(hostile_cells, tmp_path):
    from sim.compare.report import write_report

    psa = _hostile_psa(tmp_path / "psa")
    page = write_report([hostile_cells], tmp_path / "report", psa_dir=psa).read_text()
    assert _raw_html(page) == []
    assert "How sure, given the evidence:</b> &lt;script&gt;" in page  # PSA names, escaped
    assert "the evidence gap most worth closing is <i>&lt;img src=x" in page
    answers = page.split(">Answers</h2>")[1].split("<h2")[0]
    assert "Population: &lt;script&gt;alert(1)&lt;/script&gt;" in answers
    assert "&lt;img src=x onerror=alert(1)&gt;" in answers  # design names in the answers
    league = page.split(">League table</h2>")[1].split("<h2")[0]
    assert "&lt;img src=x onerror=alert(1)&gt;</td>" in league
    # a "$" in a name is drawn literally, not parsed as matplotlib mathtext (which failed)
    assert "$\\frac{x$ and $\\undefined{" in league
    runs = page.split(">Runs and configuration</h2>")[1]
    assert f"multicomponent &lt;img src=x onerror=alert(1)&gt;{os.sep}results</td>" in runs
    md = (hostile_cells / f"multicomponent {IMG}" / "results" / "summary.md").read_text()
    assert _heading_lines(md) == [] and "<script" not in md and "<img" not in md
    assert md.splitlines()[0] == ("# rtw-sim: &lt;script&gt;alert(1)&lt;/script&gt; x "
                                  "&lt;img src=x onerror=alert(1)&gt;")


def test_markdown_text_helper():
    from sim.textsafe import md_text

    assert md_text("a\r\nb\u2028c\td") == "a b c d"
    assert md_text("x | y") == "x \\| y"
    assert md_text("# h") == "\\# h" and md_text("- item") == "\\- item"
    assert md_text("1. one") == "1\\. one" and md_text("2024 plan") == "2024 plan"
    assert md_text("[link](javascript:x) *em* `code`") == (
        "\\[link\\](javascript:x) \\*em\\* \\`code\\`")
    assert md_text("fit_note_cohort") == "fit_note_cohort"  # intraword _ is not emphasis
    assert md_text("_em_") == "\\_em\\_"
    assert md_text("<b>&amp;</b>") == "&lt;b&gt;&amp;amp;&lt;/b&gt;"
    assert not re.search(r"[\n\r]", md_text("\n\n# x\n"))
