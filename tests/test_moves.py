"""The vectorised engine's bookkeeping shortcuts (issue 19, session 16) against the plain
computation they replace: move tables, rosters, incremental counts, the calendar's due
list and the precomputed age-band moves. All small and fast."""

import numpy as np
import pytest

from sim.engine import moves
from sim.engine.calendar import NEVER, WorkCalendar
from sim.engine.categories import (
    ABSENT,
    INACTIVE,
    INACTIVE_BENEFIT,
    PHASED,
    RETIRED,
    STATES,
    UNEMPLOYED,
    WORKING,
)
from sim.engine.model import RTWModel
from sim.engine.pathways import RETIRE, RETURN, STAY
from sim.engine.rng import Streams
from sim.engine.rosters import Rosters
from sim.engine.vectorised import add_counts

GROUPS = {"phased": (PHASED,), "unemployed": (UNEMPLOYED,),
          "inactive": (INACTIVE, INACTIVE_BENEFIT)}


def test_rosters_follow_random_moves_as_a_scan_of_states_would():
    """Many weeks of random moves between every pair of states (repeats of a group,
    empty groups, everyone leaving): each roster stays the people of its states (in no
    order, each once), and ``positions`` finds exactly the asked people who are in it."""
    rng = np.random.default_rng(4)
    n = 400
    state = rng.integers(0, len(STATES), n).astype(np.int8)
    rosters = Rosters(state, GROUPS, len(STATES))
    for week in range(60):
        k = int(rng.integers(0, 80)) if week != 30 else n
        moved = np.sort(rng.choice(n, k, replace=False))
        to = rng.integers(0, len(STATES), k).astype(np.int8)
        if week == 30:
            to[:] = WORKING  # every roster emptied at once
        rosters.move(moved, state[moved], to)
        state[moved] = to
        asked = rng.choice(n, 50, replace=False)
        for name, codes in GROUPS.items():
            np.testing.assert_array_equal(np.sort(rosters[name]),
                                          np.flatnonzero(np.isin(state, codes)),
                                          err_msg=f"{name}, week {week}")
            found = rosters[name][rosters.positions(name, asked)]
            np.testing.assert_array_equal(np.sort(found),
                                          np.sort(asked[np.isin(state[asked], codes)]))


@pytest.mark.parametrize("cells", [7, 5000])  # ufunc.at (fewer cells than counts), bincount
def test_add_counts_adds_repeated_cells_like_bincount(cells):
    rng = np.random.default_rng(cells)
    counts = rng.integers(0, 1000, 64)
    idx = rng.integers(0, 8, cells)  # repeats: a plain counts[idx] += 1 would lose them
    expected = counts + np.bincount(idx, minlength=64)
    add_counts(counts, idx, 1)
    np.testing.assert_array_equal(counts, expected)
    add_counts(counts, idx, -1)
    np.testing.assert_array_equal(counts, expected - np.bincount(idx, minlength=64))


def test_move_table_sends_every_retirement_to_retired_and_refuses_non_moves():
    live = [s for s in range(len(STATES)) if s != RETIRED]
    to, events, present = moves.lookup(np.array(live, dtype=np.int8),
                                       np.full(len(live), RETIRE, dtype=np.int8))
    assert (to == RETIRED).all() and present & moves.BIT["retired_week"]
    assert (events & moves.BIT["retired_week"]).all()
    # leaving work for good credits a sustained return; leaving absence does not
    assert set(np.array(live)[(events & moves.LEFT_WORK) != 0].tolist()) == {WORKING, PHASED}
    for state, code in ((WORKING, STAY), (RETIRED, RETURN), (UNEMPLOYED, moves.N_CODES - 1)):
        with pytest.raises(AssertionError):
            moves.lookup(np.array([state], dtype=np.int8), np.array([code], dtype=np.int8))
    # an absent person's return: working until the return-mode draw says phased
    to, events, _ = moves.lookup(np.array([ABSENT], dtype=np.int8), np.array([RETURN]))
    assert to[0] == WORKING and events[0] & moves.RETURN_FROM_ABSENCE


def test_due_is_everyone_whose_candidate_week_it_is_after_drops_and_reschedules():
    n, end = 300, 30
    cal = WorkCalendar(n, end, Streams(2, [n]))
    rng = np.random.default_rng(0)
    everyone = np.arange(n)
    cal.schedule(-1, everyone, np.full(n, 0.05), np.full(n, 0.02), 0, "start")
    for t in range(end):
        expected = np.flatnonzero(cal.next == t)
        due = cal.due(t)
        np.testing.assert_array_equal(due, expected)
        leaving = rng.choice(due, due.size // 3, replace=False) if due.size else due
        cal.drop(leaving)
        stay = np.setdiff1d(due, leaving)
        back = rng.choice(np.flatnonzero(cal.next == NEVER), 3)  # people starting work
        idx = np.unique(np.concatenate([stay, back]))
        cal.schedule(t, idx, np.full(idx.size, 0.05), np.full(idx.size, 0.02), t, "gap")
        assert (cal.next[idx] > t).all()
    assert cal.due(end).size == 0


def test_band_moves_are_precomputed_as_the_weekly_recomputation_gives(make_config):
    """Each precomputed move's new band is one up from the person's previous one, and its
    'next move' week is the week of the same person's next move (or none in the run)."""
    model = RTWModel(make_config("population.n=2000", "horizon_weeks=40", "seed=5"))
    weeks, people = model._band_weeks, model._band_people
    band0 = model.people.age_band.astype(np.intp)
    assert weeks.size > 50
    for person in np.unique(people)[:100].tolist():
        mine = np.flatnonzero(people == person)
        np.testing.assert_array_equal(model._band_new[mine],
                                      band0[person] + 1 + np.arange(mine.size))
        nexts = model._band_next[mine]
        np.testing.assert_array_equal(nexts[:-1], weeks[mine][1:])
        assert nexts[-1] >= model.warmup + model.horizon
        np.testing.assert_array_equal(
            nexts, model._next_band_week(np.full(mine.size, person), model._band_new[mine]))


def test_filling_holes_keeps_every_other_row_once():
    """The rosters' and the absent table's removal (sim.engine.rosters.fill_holes): after
    moving ``tail`` into ``inside``, the first ``size - holes`` rows are exactly the rows
    that were not removed, each once, whichever rows are removed (the last ones too)."""
    from sim.engine.rosters import fill_holes

    gen = np.random.default_rng(2)
    for size in (1, 2, 7, 50):
        for k in range(size + 1):
            table = gen.permutation(1000)[:size]
            holes = gen.choice(size, k, replace=False)
            inside, tail = fill_holes(holes, size)
            kept = table.copy()
            kept[inside] = kept[tail]
            want = np.delete(table, holes)
            assert sorted(kept[:size - k].tolist()) == sorted(want.tolist())
