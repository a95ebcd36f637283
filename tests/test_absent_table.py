"""The absent table's bookkeeping (sim.engine.absent): rows move as spells start and end
(new spells take the rows of ended ones, the table grows, or its last rows fill the
holes), and each row's copies must stay those of the person in it."""

from types import SimpleNamespace

import numpy as np

from sim.engine.absent import AbsentTable


def _table(n: int, rng) -> AbsentTable:
    weeks = 5
    pw = SimpleNamespace(
        n_weeks=weeks, rtw_table=np.zeros((6, weeks)), inactivity_table=np.zeros((6, weeks)),
        **{name: rng.random(n) for name in AbsentTable.COPIED})
    return AbsentTable(pw, rng.integers(0, 6, n), rng.integers(0, 50, n).astype(np.int32))


def _check(table: AbsentTable, members: set, n: int, rng) -> None:
    idx = table.idx
    assert sorted(idx.tolist()) == sorted(members)
    # every copied column still belongs to the person in its row
    for name in AbsentTable.COPIED:
        assert np.array_equal(table.col(name), getattr(table.pw, name)[idx])
    assert np.array_equal(table.col("start"), table.state_since[idx])
    # rows_of: the rows holding those people, ascending, as a pass down the table finds them
    people = rng.permutation(n)[:rng.integers(0, n + 1)]
    expected = np.isin(idx, people).nonzero()[0]
    scratch = np.zeros(n, dtype=bool)
    assert np.array_equal(table.rows_of(people, scratch), expected)
    assert not scratch.any()  # left all False for its next use


def test_rows_follow_people_through_random_starts_and_ends():
    """A random run of weeks (spells ending in any rows, starting for anyone absent from
    the table, more ending than starting and the reverse): the table holds exactly the
    people in a spell, each with their own copies, and rows_of finds each one's row. A
    column left behind when a hole is filled from the table's end, or a row reused
    without all its copies, fails."""
    rng = np.random.default_rng(7)
    n = 60
    table = _table(n, rng)
    members: set = set()
    for week in range(200):
        size = len(table)
        leaving = np.sort(rng.permutation(size)[:rng.integers(0, size + 1)]) if size else \
            np.zeros(0, dtype=np.intp)
        gone = set(table.idx[leaving].tolist())
        outside = np.array(sorted(set(range(n)) - members), dtype=np.intp)
        new = np.sort(rng.permutation(outside)[:rng.integers(0, outside.size + 1)]) \
            if outside.size else np.zeros(0, dtype=np.intp)
        if week == 0:
            table.add(new)
        else:
            table.update(leaving.astype(np.intp), new)
        members = (members - gone) | set(new.tolist())
        _check(table, members, n, rng)


def test_a_cohort_starting_absent_fills_every_row_in_order():
    rng = np.random.default_rng(3)
    n = 40
    table = _table(n, rng)
    table.add(np.arange(n))
    assert np.array_equal(table.idx, np.arange(n))
    _check(table, set(range(n)), n, rng)
    table.update(np.array([0, 39, 5]), np.zeros(0, dtype=np.intp))  # the last row a hole too
    _check(table, set(range(n)) - {0, 39, 5}, n, rng)
