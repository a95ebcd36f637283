"""Gap decomposition (issue 14): structure, sourced and assumed hazard differences."""

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.results.output import write_results
from sim.simulate import simulate
from sim.uncertainty.decomposition import (
    ASSUMED_PATHS,
    COLUMNS,
    SOURCED_PATHS,
    _neutral,
    counterfactual_configs,
    decompose,
    decomposition_markdown,
    gaps,
    report_html,
)

SMALL = ("population.n=1500", "horizon_weeks=60", "replicates=2", "output.plots=false")


def _lookup(cfg, path):
    node = cfg
    for part in path.split("."):
        node = node[part]
    return node


def _values(node):
    if isinstance(node, dict):
        return [float(v) for v in node.values()]
    if isinstance(node, list):
        return [float(v) for v in node]
    return [float(node)]


def test_counterfactual_configs_neutralise_only_the_listed_multipliers(make_config):
    cfg = make_config(*SMALL)
    # the onset HR by ethnicity is 1 by default (an assumed range 1-1.94): give it a value
    # so that its neutralisation is checked too
    cfg["pathways"]["new_spell"]["ethnicity_onset_hr"] = 1.5
    runs = counterfactual_configs(cfg, 700)
    assert runs["full"]["population"]["n"] == 700 and runs["full"]["replicates"] == 1
    assert runs["full"]["pathways"] == cfg["pathways"]
    for path in ASSUMED_PATHS:
        assert any(v != 1.0 for v in _values(_lookup(cfg, path))), path  # a real gradient
        assert _values(_lookup(runs["no_assumed"], path)) == pytest.approx(
            [1.0] * len(_values(_lookup(cfg, path))))
    for path in SOURCED_PATHS:
        assert _lookup(runs["no_assumed"], path) == _lookup(cfg, path)
        assert set(_values(_lookup(runs["no_group_hazards"], path))) == {1.0}
    # what is not a deprivation / ethnicity multiplier stays as configured
    for path in ("pathways.new_spell.sex_hr", "pathways.rtw.manual_hr",
                 "pathways.new_spell.ethnicity_onset_profile",
                 "pathways.rtw.oh_access_hr", "pathways.new_spell.age_hr"):
        assert _lookup(runs["no_group_hazards"], path) == _lookup(cfg, path)
    assert cfg["population"]["n"] == 1500  # the run's own config is not changed


def test_gaps_hand_computed():
    rows = []
    for q, v in zip(range(1, 6), (0.5, 0.55, 0.6, 0.65, 0.7), strict=True):
        rows.append(("imd_quintile", str(q), "rtw_52w", v, 100))
    rows += [("ethnicity", "white_british", "rtw_52w", 0.7, 300),
             ("ethnicity", "black", "rtw_52w", 0.5, 100),
             ("ethnicity", "indian", "rtw_52w", 0.6, 100)]
    summary = pd.DataFrame(rows, columns=["dimension", "group", "metric", "value", "n"])
    g = gaps(summary)
    # equal quintiles, a linear gradient of 0.05 per quintile: SII = 5 x 0.05 = 0.25
    assert g[("imd_sii", "rtw_52w")] == pytest.approx(0.25)
    assert g[("ethnicity", "rtw_52w")] == pytest.approx(0.7 - 0.55)
    assert math.isnan(g[("imd_sii", "days_absent")])  # not in the table: NaN, not 0


def test_parts_add_up_and_vanish_without_group_hazards(make_config):
    cfg = make_config(*SMALL)
    table = decompose(cfg, n=1200).set_index(["gap", "metric"])
    assert list(table.reset_index().columns) == COLUMNS
    parts = table["structure"] + table["sourced"] + table["assumed"]
    assert np.allclose(parts, table["gap_full"])
    assert (table["assumed"].abs() > 0).all() and (table["sourced"].abs() > 0).any()
    # with the group multipliers already 1 in the config, nothing is left to attribute to
    # them (common random numbers: the three runs are identical)
    flat = _neutral(_neutral(cfg, ASSUMED_PATHS), SOURCED_PATHS)
    none = decompose(flat, n=1200).set_index(["gap", "metric"])
    assert np.allclose(none[["sourced", "assumed"]], 0.0)
    assert np.allclose(none["structure"], none["gap_full"])
    # the structural part is the same whatever the hazards were (same people, same draws)
    assert np.allclose(none["structure"], table["structure"])


def test_every_written_run_has_the_decomposition(make_config, tmp_path):
    results = simulate(make_config(*SMALL, "outcomes.decomposition_n=800"))
    dest = write_results(results, tmp_path / "run")
    table = pd.read_csv(dest / "gap_decomposition.csv")
    assert set(table["gap"]) == {"imd_sii", "ethnicity"}
    assert (table["n"] == 800).all()
    text = (dest / "summary.md").read_text()
    assert "How much of each gap is evidence, and how much assumption" in text
    assert "assumed hazard differences" in text
    # the run's own gap is its full-size table's
    own = gaps(results.summary)
    assert table.set_index(["gap", "metric"]).loc[("imd_sii", "rtw_52w"), "gap_run"] == (
        pytest.approx(own[("imd_sii", "rtw_52w")]))
    off = write_results(simulate(make_config(*SMALL, "outcomes.decomposition_n=0")),
                        tmp_path / "off")
    assert not (off / "gap_decomposition.csv").exists()
    assert "How much of each gap" not in (off / "summary.md").read_text()


@dataclass
class _Cell:
    path: Path
    config: dict


def test_report_section_escapes_and_skips_runs_without_a_table(tmp_path):
    table = pd.DataFrame([{"gap": "imd_sii", "metric": "rtw_52w", "gap_run": 0.05,
                           "gap_full": 0.04, "structure": 0.01, "sourced": 0.02,
                           "assumed": 0.01, "share_structure": 0.25, "share_sourced": 0.5,
                           "share_assumed": 0.25, "n": 1000}])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    table.to_csv(tmp_path / "a" / "gap_decomposition.csv", index=False)
    cells = [_Cell(tmp_path / "a", {"programme": {"name": "<b>x</b>"}}),
             _Cell(tmp_path / "b", {"programme": {"name": "old run"}})]
    out = report_html(cells)
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "<b>x</b>" not in out
    assert "old run" not in out
    assert "+2.0 pts (50%)" in out
    assert decomposition_markdown(pd.DataFrame(columns=COLUMNS)) == ""


def test_summary_only_runs_give_the_full_runs_summary(make_config):
    """The decomposition's runs compute only the group summary: it must be the one a full
    run of the same config gives (same people, same draws, same table)."""
    from sim.simulate import simulate_summary

    cfg = make_config(*SMALL, "programme=multicomponent")
    pd.testing.assert_frame_equal(simulate_summary(cfg), simulate(cfg).summary)
