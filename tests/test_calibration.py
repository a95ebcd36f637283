"""The baseline stays calibrated to the UK targets the README reports."""

import pytest

from sim.simulate import simulate


def _table(make_config, *overrides):
    results = simulate(make_config(*overrides))
    return results.calibration.set_index("target")


def test_fit_note_cohort_one_in_five_remain_off(make_config):
    """Pathways v2: the fit trades HSE's 'one in five' (a 2004 press release) against the
    persistence of long absences (DWP RR774, Henderson 2005): 0.30 on the held-out run
    (README "Calibration", z 2.0), down from 0.38 hand-tuned. The band pins that trade-off:
    above the HSE interval's centre, below the hand-tuned start."""
    cal = _table(make_config, "population.n=60000", "horizon_weeks=52")
    assert 0.25 <= cal.loc["remain_off_52w_given_off_6w", "simulated"] <= 0.34


def test_workforce_absence_rate_and_spell_lengths(make_config):
    cal = _table(make_config, "population=workforce", "population.n=60000", "horizon_weeks=52")
    # ONS 2019, 2022-24: 2.2% (1.9-2.6%); the fit gives 0.0223 on the held-out run
    assert cal.loc["absence_rate", "simulated"] == pytest.approx(0.022, abs=0.003)
    # pathways v2 fit: 0.604 on the held-out run (z -0.9; README "Calibration"), at the
    # bottom of the registry's assumed interval 0.598-0.696 for CIPD/CBI's 66%
    assert cal.loc["spells_1_week", "simulated"] == pytest.approx(0.604, abs=0.03)
    assert cal.loc["top5pct_spells_share_of_time", "simulated"] == pytest.approx(0.40, abs=0.06)
    # known shortfall (README): too few 5+ week spells, too many 2-4 week ones
    assert cal.loc["spells_5plus_weeks", "simulated"] == pytest.approx(0.196, abs=0.07)
