"""The comparison report: builds from small runs, has every section, compares honestly."""

import numpy as np
import pytest

from sim.compare.report import (
    SECTIONS,
    ReportError,
    compare_cells,
    load_cells,
    replicate_measures,
    write_report,
)
from sim.results.output import write_results
from sim.simulate import simulate

BASE = ("population.n=3000", "replicates=3", "horizon_weeks=60", "output.plots=false",
        "output.write_agents=false")


@pytest.fixture(scope="module")
def cells_dir(tmp_path_factory):
    from sim.config import load_config

    root = tmp_path_factory.mktemp("cells")
    for design in ("usual_care", "multicomponent", "ips_smi"):
        cfg = load_config([f"programme={design}", *BASE])
        write_results(simulate(cfg), root / design / "results")
    return root


def test_report_builds_from_a_small_run_with_every_section(cells_dir, tmp_path):
    path = write_report([cells_dir], tmp_path / "report")
    text = path.read_text()
    for title in SECTIONS:
        assert f">{title}</h2>" in text, title
    assert text.count("data:image/png;base64,") >= 5  # figures inline: opens offline
    assert "multicomponent" in text and "Most people back at work" in text
    for name in ("league.csv", "per_replicate.csv", "costs.csv", "groups.csv"):
        assert (tmp_path / "report" / name).is_file()
    assert not list(tmp_path.glob(".report.partial-*"))


def test_paired_differences_match_the_runs(cells_dir):
    comp = compare_cells(load_cells([cells_dir]))
    cells = {c.design: c for c in comp.cells}
    design = replicate_measures(cells["multicomponent"])
    usual = replicate_measures(cells["usual_care"])
    row = comp.league[(comp.league["design"] == "multicomponent")
                      & (comp.league["measure"] == "rtw_52w")].iloc[0]
    assert row["estimate"] == pytest.approx((design["rtw_52w"] - usual["rtw_52w"]).mean())
    assert row["low"] <= row["estimate"] <= row["high"]
    # usual care against itself: exactly zero difference
    ref = comp.league[(comp.league["design"] == "usual_care")
                      & (comp.league["measure"].isin(["rtw_52w", "sii", "days_absent"]))]
    assert np.all(ref["estimate"] == 0)
    # an effective design puts more people back at work than usual care in every replicate
    assert (design["rtw_52w"] > usual["rtw_52w"]).all()


def test_gap_measures_follow_their_definitions(cells_dir):
    cell = load_cells([cells_dir / "usual_care"])[0]
    m = replicate_measures(cell)
    s = cell.summary.query("dimension == 'imd_quintile' and metric == 'rtw_52w'")
    for rep in m.index:
        q = s[s["replicate"] == rep].set_index("group")["value"]
        assert m.loc[rep, "imd_gap_abs"] == pytest.approx(q["5"] - q["1"])
        assert m.loc[rep, "imd_gap_rel"] == pytest.approx(q["5"] / q["1"])
    # the deprivation gradient favours the least deprived under usual care
    assert (m["sii"] > 0).all() and (m["imd_gap_abs"] > 0).all()


def test_small_groups_are_suppressed(cells_dir):
    from sim.compare.report import _groups_html

    comp = compare_cells(load_cells([cells_dir]))
    comp.groups.loc[comp.groups.index[0], "n"] = 7  # a group below the publication threshold
    shown = comp.groups.iloc[0]
    text = _groups_html(comp)
    # its RTW rate, its RTW change against usual care and days absent
    assert text.count("suppressed (&lt;10)") == 3
    assert f"{100 * shown['rtw_52w']:.1f}</td>" not in text.split("suppressed")[0][-400:]


def test_needs_usual_care_and_complete_results(cells_dir, tmp_path):
    with pytest.raises(ReportError, match="usual_care"):
        compare_cells(load_cells([cells_dir / "ips_smi"]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match="no complete results"):
        load_cells([tmp_path / "empty"])


def test_cli_reports_bad_input_in_one_line(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "sim.compare.report", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("report error:") and len(r.stderr.strip().splitlines()) == 1


def test_psa_results_are_shown_when_attached(cells_dir, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    repo = Path(__file__).resolve().parent.parent
    psa = tmp_path / "psa"
    r = subprocess.run([sys.executable, str(repo / "experiments" / "psa.py"), "draws=4",
                        "n=1000", "replicates=1", "designs=[multicomponent,ips_smi]",
                        f"out={psa}"], capture_output=True, text=True, cwd=repo, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    page = write_report([cells_dir], tmp_path / "with_psa", psa_dir=psa).read_text()
    summary = pd.read_csv(psa / "summary.csv").set_index("design")
    voi = pd.read_csv(psa / "voi.csv")
    section = page.split("How sure, given the evidence</h2>")[1].split("<h2")[0]
    assert "4 draws" in section and "acceptability curves" in section
    for design, label in (("multicomponent", "multicomponent"), ("ips_smi", "IPS SMI")):
        p = summary.loc[design, "p_best_net_benefit"]
        assert f"<td>{label}</td>" in section and f"{p:.0%}" in section
    evpi = voi.loc[voi["parameters"] == "all (EVPI)", "value_per_person"].iloc[0]
    assert f"<b>{evpi:,.0f}</b>" in section
    assert "How sure, given the evidence:</b>" in page.split("League table</h2>")[0]
    # without a PSA the section says how to get one; a folder that is not a PSA run fails
    plain = write_report([cells_dir], tmp_path / "plain").read_text()
    assert "No probabilistic sensitivity analysis attached" in plain
    with pytest.raises(ReportError, match="no summary.csv"):
        write_report([cells_dir], tmp_path / "bad", psa_dir=cells_dir)
    assert not (tmp_path / "bad").exists()


def test_charts_show_differences_with_one_sign_convention(cells_dir):
    """Gap charts: reductions vs usual care, zoomed to the intervals, sign stated; IMD
    palette ordinal (luminance falls with deprivation rank: readable in greyscale)."""
    import matplotlib

    matplotlib.use("Agg")
    from sim.compare import report_charts
    from sim.compare.report import _league_value, _names

    comp = compare_cells(load_cells([cells_dir]))
    names = _names(comp)
    fig = report_charts.gap_reductions(
        comp, names, lambda d, m, w="estimate": _league_value(comp, d, m, w))
    widest = 0.0
    for ax, (measure, _) in zip(fig.axes, report_charts.GAPS, strict=True):
        assert "positive = gap narrows" in ax.get_title()
        for d in names:
            if d != comp.ref_key:
                widest = max(abs(100 * _league_value(comp, d, measure, k)) for k in
                             ("low", "high"))
                lo, hi = ax.get_xlim()
                assert lo <= -widest and widest <= hi and hi - lo <= 2.4 * max(
                    abs(100 * _league_value(comp, e, measure, k)) for e in names
                    for k in ("low", "high") if e != comp.ref_key) + 1e-6
    lum = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b, _ in report_charts.imd_colours()]
    assert all(a < b for a, b in zip(lum, lum[1:], strict=False))
    curves = report_charts.rtw_difference(comp, names, 10)
    assert "minus usual care" in curves.axes[0].get_title()
    assert "positive = more back at work" in curves.axes[0].get_ylabel()


def test_page_layout_glossary_and_groups_against_usual_care(cells_dir, tmp_path):
    text = write_report([cells_dir], tmp_path / "r").read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert text.index(">Glossary</h2>") < text.index(">League table</h2>")
    for term in ("Individual Placement and Support", "severe mental illness",
                 "multidisciplinary team", "biopsychosocial", "vocational support worker"):
        assert term in text
    assert '<div class="scroll"><table' in text
    assert "RTW vs usual care (pp)" in text and "Common mental disorder" in text
    assert "1 (most deprived)" in text and ">abi_stroke<" not in text


def test_league_value_is_the_first_matching_row_and_follows_a_new_league():
    """The league's looked-up values (indexed once per league) equal the first row the
    plain mask finds; a missing pair is NaN; a new league frame is indexed afresh."""
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from sim.compare.report_figures import _league_value

    league = pd.DataFrame({"design": ["a", "a", "b", "a"], "measure": ["x", "y", "x", "x"],
                           "estimate": [1.0, 2.0, 3.0, 9.0], "low": [0.5, 1.5, 2.5, 8.0]})
    comp = SimpleNamespace(league=league)
    for (d, m), row in league.groupby(["design", "measure"], sort=False).head(1).set_index(
            ["design", "measure"]).iterrows():
        assert _league_value(comp, d, m) == row["estimate"]
        assert _league_value(comp, d, m, "low") == row["low"]
    assert np.isnan(_league_value(comp, "b", "y"))
    other = SimpleNamespace(league=league.assign(estimate=league["estimate"] * 10))
    assert _league_value(other, "a", "x") == 10.0
    assert _league_value(comp, "a", "x") == 1.0


def test_how_sure_with_one_replicate_says_the_noise_is_not_measured():
    """A share of one replicate ("100% of 1") says nothing: with one replicate per design
    the line says the run has no interval for simulation noise; with more it gives the
    shares and counts."""
    from sim.compare.report_html import _how_sure

    def val_for(n):
        return lambda d, m, w="estimate": {"n_replicates": n}.get(w, 1.0)

    one = str(_how_sure({"a": "A", "b": "B"}, "a", "b", val_for(1)))
    assert "not measured" in one and "100%" not in one and "of 1 " not in one
    many = str(_how_sure({"a": "A", "b": "B"}, "a", "b", val_for(10)))
    assert "A had the highest RTW rate in 100% of 10 paired replicates" in many
    assert "sensitivity analysis" in one and "sensitivity analysis" in many
