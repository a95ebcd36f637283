"""Issue 19's memory work on the pathways: no per-person static parts kept, category-only
values as a table and a code (sim/engine/bycode.py), with the same values to the bit."""

import numpy as np
import pytest

from sim.engine.bycode import ByCode


def test_bycode_reads_like_the_array_it_replaces():
    table = np.array([0.5, 2.0, 7.0, 1.5])
    codes = np.array([1, 0, 1, 3, 0], dtype=np.int8)  # code 2 (the largest value) unused
    values = ByCode(table, codes)
    full = table[codes]
    idx = np.array([4, 0, 3])
    np.testing.assert_array_equal(values[idx], full[idx])
    np.testing.assert_array_equal(values[full > 1], full[full > 1])
    assert values[2] == full[2]
    np.testing.assert_array_equal(np.asarray(values), full)
    assert len(values) == values.size == 5
    # the largest value anyone has, not the table's largest
    assert values.max() == full.max() == 2.0
    assert values.max(initial=9.0) == 9.0
    assert ByCode(table, np.zeros(0, dtype=np.int8)).max(initial=0.0) == 0.0


def _separate_arrays(pw, people, band):
    """What pathways stored per person before issue 19's memory work, from its tables."""
    static = pw.static_parts()
    return {
        "rtw_mult": static["rtw_static"] * pw.rtw_by_age[band],
        "inactivity_mult": static["inactivity_static"] * pw.inactivity_by_age[band],
        "spell_hazard": static["spell_static"] * pw.spell_by_age[band],
        "reemploy_rel": static["reemploy_static"] * pw.reemploy_by_age[band],
        "retire_hazard": pw.retire_by_age[band],
        "unemployed_inactive_hazard": pw.unemployed_inactive_base * pw.inactivity_by_age[band],
    }


def test_ageing_recomputes_the_same_values_as_whole_arrays(make_config):
    """People moving up an age band get the products the whole-population arrays gave
    (static parts recomputed from their attributes for just them), and nobody else moves."""
    from sim.engine.model import RTWModel

    model = RTWModel(make_config("population.n=3000", "horizon_weeks=10"))
    pw, people = model.pathways, model.people
    band = people.age_band.astype(np.int64).copy()
    before = {k: np.asarray(getattr(pw, k)).copy() for k in _separate_arrays(pw, people, band)}
    moved = np.flatnonzero(band < band.max())[::7]
    band[moved] += 1
    pw.set_age(moved, band[moved])
    expected = _separate_arrays(pw, people, band)
    for name, values in expected.items():
        got = np.asarray(getattr(pw, name))
        np.testing.assert_array_equal(got, values, err_msg=name)  # to the bit
        still = np.setdiff1d(np.arange(people.n), moved)
        np.testing.assert_array_equal(got[still], before[name][still], err_msg=name)
    assert (np.asarray(pw.retire_hazard)[moved] != before["retire_hazard"][moved]).any()
    np.testing.assert_array_equal(pw.reemploy_hazard, pw.reemploy_level * pw.reemploy_rel)


def test_ageing_in_blocks_of_weeks_gives_every_week_the_whole_array_values(make_config):
    """The static parts of several weeks of band moves are computed at once
    (``RTWModel._band_static_parts``): after every week of a run over three blocks, each
    person's age-dependent hazards are the whole-population products for their band now."""
    from sim.engine.model import AGE_BLOCK_WEEKS, RTWModel

    weeks = 3 * AGE_BLOCK_WEEKS + 5
    model = RTWModel(make_config("population.n=3000", f"horizon_weeks={weeks}"))
    pw, people = model.pathways, model.people
    moved = 0
    for _ in range(weeks):
        bands = model.columns["age_band_now"].copy()
        model.step()
        band = model.columns["age_band_now"].astype(np.int64)
        moved += int((band != bands).sum())
        for name, values in _separate_arrays(pw, people, band).items():
            np.testing.assert_array_equal(np.asarray(getattr(pw, name)), values, err_msg=name)
    assert moved > 3 * AGE_BLOCK_WEEKS  # band moves in most weeks of every block


@pytest.mark.parametrize("population", ["fit_note_cohort", "workforce"])
def test_pathways_keep_few_per_person_float_arrays(make_config, population):
    """The per-person float64 arrays a run keeps for its hazards: the four age-dependent
    multipliers and three static ones (job loss, phased share, separation). A new one is
    8 bytes a person on a peak the issue caps at 400: put it in sim/engine/bycode.ByCode
    if it depends on one category, or say why here."""
    from sim.engine.model import RTWModel

    model = RTWModel(make_config(f"population={population}", "population.n=2000",
                                 "horizon_weeks=10"))
    n = model.people.n
    arrays = sorted(k for k, v in vars(model.pathways).items()
                    if isinstance(v, np.ndarray) and v.shape == (n,) and v.dtype == np.float64)
    assert arrays == ["inactivity_mult", "job_loss_mult", "phased_share", "reemploy_rel",
                      "rtw_mult", "separation_hazard", "spell_hazard"]
