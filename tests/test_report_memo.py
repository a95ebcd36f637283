"""The report's per-cell tables are computed once per cell (the explorer compares one
usual-care cell with each new design), and again when a table of the cell is replaced."""

from pathlib import Path

import pandas as pd

from sim.compare.report_cells import Cell
from sim.compare.report_measures import _cell_memo


def test_cell_memo_computes_once_hands_out_copies_and_follows_replaced_tables():
    cell = Cell(Path("x"), {}, pd.DataFrame({"a": [1]}), pd.DataFrame(), pd.DataFrame())
    calls = []

    def make():
        calls.append(1)
        return pd.DataFrame({"v": [len(calls)]})

    first = _cell_memo(cell, "k", make)
    again = _cell_memo(cell, "k", make)
    assert len(calls) == 1 and again.equals(first) and again is not first
    again["v"] = 99  # a copy: the kept value is not changed through it
    assert _cell_memo(cell, "k", make)["v"].iloc[0] == 1
    cell.summary = pd.DataFrame({"a": [2]})  # another table: computed again
    assert _cell_memo(cell, "k", make)["v"].iloc[0] == 2 and len(calls) == 2
    assert _cell_memo(cell, "other", make)["v"].iloc[0] == 3  # keys apart
