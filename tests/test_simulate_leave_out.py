"""simulate(leave_out=...): a table only a left-out file holds is not built; the others are
the same to the bit (a sweep cell leaves out weekly_counts.parquet, issue 19)."""

import pandas as pd

from sim.compare.sweep import CELL_LEAVE_OUT
from sim.config import load_config
from sim.simulate import simulate

TABLES = ("summary", "spells", "calibration", "state_totals", "programme", "economics",
          "rtw_curves", "cif", "quality")


def test_leave_out_weekly_counts_skips_only_the_weekly_table():
    cfg = load_config(["population.n=400", "horizon_weeks=20", "replicates=2"])
    full = simulate(cfg)
    cell = simulate(cfg, leave_out=CELL_LEAVE_OUT)
    assert "weekly_counts.parquet" in CELL_LEAVE_OUT
    assert not full.weekly.empty and cell.weekly.empty
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(full, name), getattr(cell, name),
                                      check_exact=True, obj=name)
    pd.testing.assert_frame_equal(full.agents, cell.agents, check_exact=True)
