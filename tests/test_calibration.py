"""The baseline stays calibrated to the UK targets the README reports."""

import pytest

from sim.simulate import simulate


def _table(make_config, *overrides):
    results = simulate(make_config(*overrides))
    return results.calibration.set_index("target")


def test_fit_note_cohort_one_in_five_remain_off(make_config):
    """HSE's 'one in five' (a 2004 press release): 0.25 on the held-out run (README
    "Calibration", z 1.0; the previous fit, to Henderson's persistence, gave 0.30), down
    from 0.39 hand-tuned. Band: the HSE interval (0.15-0.25) widened by the fit's miss and
    Monte Carlo error at this size (+/-0.01); it fails on the hand-tuned start."""
    cal = _table(make_config, "population.n=60000", "horizon_weeks=52")
    assert 0.18 <= cal.loc["remain_off_52w_given_off_6w", "simulated"] <= 0.30


def test_workforce_absence_rate_and_spell_lengths(make_config):
    cal = _table(make_config, "population=workforce", "population.n=60000", "horizon_weeks=52")
    # ONS 2019, 2022-24: 2.2% (1.9-2.6%). Re-pinned in session 15 (stream change): the
    # shipped baseline gives 0.0191 at 5 x 100,000 x 260 weeks both before and after it
    # (experiments/calibration_check.py; README, Performance); at this size seeds 1 and 2
    # gave 0.0194 / 0.0189 before and 0.0188 / 0.0192 after, so the old band's floor of
    # 0.019 was the mean itself. The band is the model's mean +/- 4 Monte Carlo SDs
    # (~0.0003 here); the miss of ONS's 2.2% (0.003) is the calibration's, not noise.
    assert cal.loc["absence_rate", "simulated"] == pytest.approx(0.0191, abs=0.0012)
    # pathways v2 fit: 0.604 on the held-out run (z -0.9; README "Calibration"), at the
    # bottom of the registry's assumed interval 0.598-0.696 for CIPD/CBI's 66%
    assert cal.loc["spells_1_week", "simulated"] == pytest.approx(0.604, abs=0.03)
    assert cal.loc["top5pct_spells_share_of_time", "simulated"] == pytest.approx(0.40, abs=0.06)
    # known shortfall (README): too few 5+ week spells, too many 2-4 week ones
    assert cal.loc["spells_5plus_weeks", "simulated"] == pytest.approx(0.196, abs=0.07)
