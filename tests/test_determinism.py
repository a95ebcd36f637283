"""Determinism: the same config and seed give byte-identical tables, whichever engine ran them.

Timings live only in manifest.json and summary.md, so every other table file must match
byte for byte between two runs (and between the vectorised and per-agent engines).
"""

import subprocess
import sys

import pytest

from sim.results.output import write_results
from sim.simulate import simulate

TABLES = ("agents.parquet", "group_summary.parquet", "group_summary.csv",
          "weekly_counts.parquet", "state_totals.csv", "spell_lengths.csv", "calibration.csv",
          "gap_decomposition.csv")


def _tables(results, dest):
    out = write_results(results, dest)
    return {name: (out / name).read_bytes() for name in TABLES if (out / name).exists()}


@pytest.mark.parametrize("population", ["fit_note_cohort", "workforce"])
def test_same_config_and_seed_give_byte_identical_tables(make_config, tmp_path, population):
    cfg = make_config(f"population={population}", "population.n=3000", "horizon_weeks=30",
                      "replicates=2", "output.plots=false", "programme=usual_care")
    first = _tables(simulate(cfg), tmp_path / "a")
    second = _tables(simulate(make_config(f"population={population}", "population.n=3000",
                                          "horizon_weeks=30", "replicates=2",
                                          "output.plots=false", "programme=usual_care")),
                     tmp_path / "b")
    assert set(first) == set(TABLES)
    for name in TABLES:
        assert first[name] == second[name], name


def test_engines_write_byte_identical_tables(make_config, tmp_path):
    base = ("population.n=1500", "horizon_weeks=26", "output.plots=false")
    vec = _tables(simulate(make_config(*base, "engine=vectorised")), tmp_path / "v")
    per_agent = _tables(simulate(make_config(*base, "engine=agents")), tmp_path / "a")
    for name in TABLES:
        assert vec[name] == per_agent[name], name


def test_separate_processes_give_byte_identical_tables(tmp_path):
    """Hash seeds, import order and the like must not leak into results."""
    code = ("import sys; from sim.config import load_config; from sim.simulate import simulate;"
            "from sim.results.output import write_results;"
            "cfg = load_config(['population.n=2000', 'horizon_weeks=20', 'output.plots=false']);"
            "write_results(simulate(cfg), __import__('pathlib').Path(sys.argv[1]))")
    for name, hashseed in (("p1", "1"), ("p2", "12345")):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], check=True,
                       env={"PYTHONHASHSEED": hashseed, "PATH": "/usr/bin:/bin"},
                       cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    for name in TABLES:
        assert (tmp_path / "p1" / name).read_bytes() == (tmp_path / "p2" / name).read_bytes(), name
