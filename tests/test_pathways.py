"""Hazard shapes and the decision layout shared by both engines."""

import numpy as np
import pytest

from sim.engine.pathways import (
    INACTIVITY,
    JOB_LOSS,
    RETURN,
    STAY,
    absent_outcome,
    competing_probabilities,
    duration_profile,
    weibull_weekly_hazards,
)


def test_weibull_hazard_falls_with_duration_and_sums_to_cumulative():
    h = weibull_weekly_hazards(scale_weeks=6.0, shape=0.75, n_weeks=52)
    assert (np.diff(h) < 0).all()
    assert h.sum() == pytest.approx((52 / 6.0) ** 0.75)
    flat = weibull_weekly_hazards(scale_weeks=4.0, shape=1.0, n_weeks=10)
    np.testing.assert_allclose(flat, 0.25)


def test_competing_probabilities_split_the_total():
    h = (np.array([0.2, 0.0, 1.0]), np.array([0.1, 0.0, 0.0]), np.array([0.05, 0.0, 2.0]))
    p = competing_probabilities(*h)
    total = sum(p)
    np.testing.assert_allclose(total, 1 - np.exp(-(h[0] + h[1] + h[2])))
    np.testing.assert_allclose(p[0][0] / p[1][0], 2.0)
    assert total[1] == 0.0  # no hazard, no event, no division by zero


def test_absent_outcome_regions():
    u = np.array([0.05, 0.5, 0.93, 0.97])
    out = absent_outcome(u, p_rtw=0.1, p_job_loss=0.05, p_inactive=0.04)
    assert out.tolist() == [RETURN, STAY, INACTIVITY, JOB_LOSS]


def test_raising_rtw_never_turns_a_return_into_something_else():
    rng = np.random.default_rng(1)
    u = rng.random(100_000)
    h_jl, h_in = 0.02, 0.01
    before = absent_outcome(u, *competing_probabilities(0.1, h_jl, h_in))
    after = absent_outcome(u, *competing_probabilities(0.3, h_jl, h_in))
    assert ((before == RETURN) <= (after == RETURN)).all()
    # and the bad exits only shrink
    assert ((after == JOB_LOSS) <= (before == JOB_LOSS)).all()


def test_job_loss_profile_rises_and_steps_at_ssp_end():
    profile = duration_profile(60, slope_per_year=1.0, ssp_end_week=28, ssp_end_hr=2.0)
    assert (np.diff(profile[:28]) > 0).all()
    assert profile[28] / profile[27] == pytest.approx(2.0 * (1 + 28 / 52) / (1 + 27 / 52))


def test_rtw_hazard_depends_on_the_person(make_config):
    from sim.engine.model import RTWModel

    model = RTWModel(make_config("population.n=20000"))
    pw, p = model.pathways, model.people
    assert pw.rtw_mult[p.imd_quintile == 1].mean() < pw.rtw_mult[p.imd_quintile == 5].mean()
    assert pw.rtw_mult[p.oh_access].mean() > pw.rtw_mult[~p.oh_access].mean()
    # severe spells return more slowly than mild ones of the same condition
    assert pw.rtw_table[0 * 3 + 2, 0] < pw.rtw_table[0 * 3 + 0, 0]
    # job loss steps up when SSP ends at week 28 (ssp_end_hr, calibrated 1.42; the week-to-
    # week rise from the duration slope alone is under 1%)
    assert pw.job_loss_table[28] > 1.3 * pw.job_loss_table[27]
    assert pw.job_loss_table[27] < 1.01 * pw.job_loss_table[26]
