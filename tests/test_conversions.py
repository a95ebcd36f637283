"""Effect-measure conversions (sim/evidence/conversions.py), each checked against an independent
calculation: closed forms, explicit week-by-week loops, and simulated data."""

import math

import numpy as np
import pytest
from scipy import stats

from sim.evidence import conversions as cv

Z = stats.norm.ppf(0.975)


def _baseline(weeks=60):
    """Three strata with falling RTW hazards (Weibull shape < 1) and a rising competing
    hazard, as the model's baseline looks."""
    t = np.arange(weeks) + 0.5
    h = np.stack([0.9 * 0.08 * t ** -0.1, 0.6 * 0.05 * t ** -0.3, 0.03 * t ** -0.2])
    other = np.stack([0.002 + 0.0001 * t] * 3)
    return h, other, np.array([0.5, 0.3, 0.2])


def _loop_cif(h, other, hr, weeks, w, profile=None):
    """Independent week-by-week loop of the discrete competing-risk model; ``profile``
    gives the multiplier in each week (default ``hr`` throughout)."""
    total_cif, total_days = 0.0, 0.0
    for s in range(h.shape[0]):
        surv, cif, days = 1.0, 0.0, 0.0
        for u in range(weeks):
            m = hr if profile is None else profile[u]
            a, b = m * h[s, u], other[s, u]
            p_any = 1 - math.exp(-(a + b))
            days += surv
            cif += surv * p_any * a / (a + b)
            surv *= 1 - p_any
        total_cif += w[s] * cif
        total_days += w[s] * days
    return total_cif, total_days


# ---- distributions from a reported interval ---------------------------------------------

def test_lognormal_from_ci_reproduces_a_log_symmetric_interval():
    est, half = 1.32, 0.35
    mu, sigma = cv.lognormal_from_ci(est, est * math.exp(-half), est * math.exp(half))
    assert mu == pytest.approx(math.log(est))
    assert sigma == pytest.approx(half / Z)
    assert math.exp(mu + Z * sigma) == pytest.approx(est * math.exp(half))


def test_normal_beta_gamma_from_ci_match_mean_and_sd():
    mean, sd = cv.normal_from_ci(-3.654, -5.253, -2.046)
    assert mean == -3.654 and sd == pytest.approx((-2.046 + 5.253) / (2 * Z))
    a, b = cv.beta_from_ci(0.7, 0.5, 0.9)
    sd = 0.4 / (2 * Z)
    assert a / (a + b) == pytest.approx(0.7)
    assert a * b / ((a + b) ** 2 * (a + b + 1)) == pytest.approx(sd ** 2)
    shape, scale = cv.gamma_from_ci(600, 300, 1200)
    assert shape * scale == pytest.approx(600)
    assert math.sqrt(shape) * scale == pytest.approx(900 / (2 * Z))


# ---- closed form RR <-> HR ---------------------------------------------------------------

@pytest.mark.parametrize("rr,f0", [(1.23, 0.6), (0.8, 0.3), (2.4, 0.2), (1.0, 0.5)])
def test_rr_hr_round_trip(rr, f0):
    hr = cv.hr_from_rr_at_followup(rr, f0)
    assert cv.rr_at_followup_from_hr(hr, f0) == pytest.approx(rr, rel=1e-12)
    assert (hr > 1) == (rr > 1) or rr == 1


def test_competing_solver_equals_closed_form_without_competing_risk():
    h = np.full(52, 0.02)
    f0 = 1 - math.exp(-0.02 * 52)
    hr = cv.hr_for_target_rr_competing(1.23, h, None, 52)
    assert hr == pytest.approx(cv.hr_from_rr_at_followup(1.23, f0), rel=1e-9)


def test_target_rr_recovered_on_a_known_competing_risk_baseline():
    h, other, w = _baseline()
    hr = cv.hr_for_target_rr_competing(1.23, h, other, 52, weights=w)
    treated, _ = _loop_cif(h, other, hr, 52, w)
    control, _ = _loop_cif(h, other, 1.0, 52, w)
    assert treated / control == pytest.approx(1.23, rel=1e-9)
    # competing risk and the follow-up matter: not the one-group closed form
    assert abs(hr - cv.hr_from_rr_at_followup(1.23, control)) > 0.01


def test_exposure_equals_an_explicit_mixture_over_dropout_times():
    """Enrolled for ``duration`` weeks unless dropping out (checked each week from the
    first), HR from ``lag``: the two-compartment recursion equals the average over the
    week of leaving the service."""
    h, other, w = _baseline()
    lag, duration, dropout, hr, weeks = 2, 12, 0.05, 1.8, 52
    expected = 0.0
    for leave in range(duration + 1):  # last enrolled week is leave - 1
        if leave < duration:
            p = (1 - dropout) ** leave * dropout
        else:
            p = (1 - dropout) ** duration
        profile = [hr if lag <= u < leave else 1.0 for u in range(weeks)]
        expected += p * _loop_cif(h, other, hr, weeks, w, profile)[0]
    got = cv.cif_rtw(h, other, hr, weeks, w, exposure=(lag, duration, dropout))
    assert got == pytest.approx(expected, rel=1e-10)
    # a service that acts for part of the follow-up needs a larger HR for the same RR
    full = cv.hr_for_target_rr_competing(1.2, h, other, weeks, weights=w)
    part = cv.hr_for_target_rr_competing(1.2, h, other, weeks, weights=w,
                                         exposure=(lag, duration, dropout))
    assert part > full > 1
    control = cv.cif_rtw(h, other, 1.0, weeks, w)
    assert cv.cif_rtw(h, other, part, weeks, w, exposure=(lag, duration, dropout)) / control \
        == pytest.approx(1.2, rel=1e-9)


def test_unit_hr_or_unreachable_exposure_changes_nothing():
    h, other, w = _baseline()
    base = cv.cif_rtw(h, other, 1.0, 52, w)
    assert cv.cif_rtw(h, other, 1.0, 52, w, exposure=(0, 10, 0.1)) == pytest.approx(base)
    # a lag beyond the duration: the HR never acts
    assert cv.cif_rtw(h, other, 5.0, 52, w, exposure=(20, 10, 0.0)) == pytest.approx(base)


# ---- mean difference in days --------------------------------------------------------------

def test_md_days_conversion_against_a_direct_computation():
    h, other, w = _baseline()
    hr = cv.hr_from_mean_difference_days(-10.0, h, other, weights=w, horizon_weeks=52)
    _, days0 = _loop_cif(h, other, 1.0, 52, w)
    _, days1 = _loop_cif(h, other, hr, 52, w)
    assert 5 * (days1 - days0) == pytest.approx(-10.0, rel=1e-8)
    assert hr > 1
    # baseline given as a survival curve instead of hazards
    surv = np.exp(-np.concatenate([[0.0], np.cumsum(h[0])]))
    hr_s = cv.hr_from_mean_difference_days(-5.0, baseline_survival=surv, horizon_weeks=40)
    d0 = cv.mean_days_absent(h[0][:40], None, 1.0)
    d1 = cv.mean_days_absent(h[0][:40], None, hr_s)
    assert d1 - d0 == pytest.approx(-5.0, rel=1e-8)


def test_hazards_from_survival_round_trip():
    h = np.array([0.1, 0.05, 0.2, 0.0])
    surv = np.exp(-np.concatenate([[0.0], np.cumsum(h)]))
    np.testing.assert_allclose(cv.hazards_from_survival(surv)[0], h, atol=1e-12)


# ---- trial-level Cox HR ---------------------------------------------------------------------

def test_expected_cox_hr_is_the_hr_under_proportional_hazards():
    h = np.full((1, 30), 0.001)  # rare events: Breslow ties negligible
    assert cv.expected_cox_hr(h, None, 1.5, 30) == pytest.approx(1.5, rel=1e-3)
    # with common weekly events Breslow's tie handling attenuates the estimate, as it does
    # in the trials (which is why the conversion models the estimator, not just the HR)
    assert cv.expected_cox_hr(np.full((1, 30), 0.1), None, 1.5, 30) < 1.47


def test_hr_for_target_cox_round_trip_and_exposure():
    h, other, w = _baseline()
    exposure = (0, 12, 0.02)
    hr = cv.hr_for_target_cox_hr(1.32, h, other, 26, weights=w, exposure=exposure)
    assert cv.expected_cox_hr(h, other, hr, 26, w, exposure) == pytest.approx(1.32, rel=1e-8)
    assert hr > 1.32  # acting for 12 of 26 weeks needs a larger HR while it acts
    assert cv.hr_for_target_cox_hr(0.9, h, other, 26, weights=w, exposure=exposure) < 0.9


def test_expected_cox_hr_matches_a_cox_fit_on_simulated_trial_data():
    """A simulated 1:1 trial with the same exposure, analysed by
    sim.evidence.trials.cox_hr_binary."""
    from sim.evidence.trials import cox_hr_binary

    rng = np.random.default_rng(3)
    weeks, lag, duration, dropout, hr = 26, 1, 10, 0.05, 1.7
    t = np.arange(weeks) + 0.5
    h_s, o_s = 0.07 * t ** -0.2, np.full(weeks, 0.004)
    n = 60_000
    treated = rng.random(n) < 0.5
    leave = np.where(treated, np.minimum(rng.geometric(dropout, n) - 1, duration), 0)
    time, event = np.full(n, weeks), np.zeros(n, bool)
    alive = np.ones(n, bool)
    for u in range(weeks):
        m = np.where(treated & (u >= lag) & (u < leave), hr, 1.0)
        a, b = m * h_s[u], o_s[u]
        p_any = 1 - np.exp(-(a + b))
        draw = rng.random(n)
        rtw = alive & (draw < p_any * a / (a + b))
        other = alive & ~rtw & (draw < p_any)
        time[rtw | other] = u + 1
        event |= rtw
        alive &= ~(rtw | other)
    est, low, high = cox_hr_binary(time, event, treated)
    expected = cv.expected_cox_hr(h_s, o_s, hr, weeks, exposure=(lag, duration, dropout))
    assert low < expected < high
    assert expected < 1.7  # diluted by drop-out, the lag and the end of the service


# ---- odds ratios ----------------------------------------------------------------------------

def test_or_rr_round_trip():
    rr = cv.rr_from_or(2.0, 0.3)
    assert rr == pytest.approx(2.0 / (0.7 + 0.6))
    assert cv.or_from_rr(rr, 0.3) == pytest.approx(2.0)


# ---- bad input: one-line ValueError ---------------------------------------------------------

@pytest.mark.parametrize("call,match", [
    (lambda: cv.hr_from_rr_at_followup(0.0, 0.5), "risk ratio must be > 0"),
    (lambda: cv.hr_from_rr_at_followup(2.5, 0.5), "infeasible"),
    (lambda: cv.rr_at_followup_from_hr(-1.0, 0.5), "hazard ratio must be > 0"),
    (lambda: cv.hr_from_rr_at_followup(1.2, 1.0), "between 0 and 1"),
    (lambda: cv.lognormal_from_ci(1.5, 0.9, 1.4), "outside its interval"),
    (lambda: cv.normal_from_ci(0.0, 1.0, -1.0), "above high"),
    (lambda: cv.lognormal_from_ci(1.0, 0.0, 2.0), "must be > 0"),
    (lambda: cv.beta_from_ci(0.05, 0.0, 0.9), "too wide"),
    (lambda: cv.hr_for_target_rr_competing(-1.2, np.full(10, 0.1), None, 10), "> 0"),
    (lambda: cv.hr_for_target_rr_competing(5.0, np.full(10, 0.1), None, 10), "infeasible"),
    (lambda: cv.cif_rtw(np.full(10, 0.1), None, 1.0, 20), "fewer than the follow-up"),
    (lambda: cv.cif_rtw(np.full((2, 10), 0.1), None, 1.0, 10, weights=[1.0]), "weights"),
    (lambda: cv.cif_rtw(np.full(10, -0.1), None, 1.0, 10), ">= 0"),
    (lambda: cv.cif_rtw(np.full(10, 0.1), None, 2.0, 10, exposure=(0, 0, 0.1)),
     "duration >= 1"),
    (lambda: cv.cif_rtw(np.full(10, 0.1), None, 2.0, 10, exposure=(0, 5, 1.0)),
     "drop-out probability"),
    (lambda: cv.hr_from_mean_difference_days(-500.0, np.full(52, 0.1), None), "unreachable"),
    (lambda: cv.hr_for_target_cox_hr(0.0, np.full(10, 0.1), None, 10), "> 0"),
    (lambda: cv.rr_from_or(2.0, 1.0), "control risk"),
])
def test_bad_input_raises_one_line(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_effect_modification_exponent_per_stratum():
    """exponent m_s gives stratum s the HR ** m_s, with or without exposure."""
    h, other, w = _baseline()
    m = np.array([1.0, 2.0, 0.0])
    for exposure in (None, (1, 10, 0.03)):
        got = cv.cif_rtw(h, other, 1.5, 40, w, exposure=exposure, exponent=m)
        parts = [cv.cif_rtw(h[s:s + 1], other[s:s + 1], 1.5 ** m[s], 40, exposure=exposure)
                 for s in range(3)]
        assert got == pytest.approx(float(np.dot(w, parts)), rel=1e-12)
    hr = cv.hr_for_target_rr_competing(1.2, h, other, 40, weights=w, exponent=m)
    assert cv.cif_rtw(h, other, hr, 40, w, exponent=m) / cv.cif_rtw(h, other, 1.0, 40, w) \
        == pytest.approx(1.2, rel=1e-9)
    with pytest.raises(ValueError, match="exponents needed"):
        cv.cif_rtw(h, other, 1.5, 40, w, exponent=[1.0, 2.0])


# ---- conversions anchored on the source trial (issue 15) --------------------------------

def test_event_weights_follow_a_constant_control_hazard():
    w = cv.event_weights(52, 0.6)
    assert w.sum() == pytest.approx(1.0)
    rate = -math.log(0.4) / 52
    assert w[1:] / w[:-1] == pytest.approx(np.full(51, math.exp(-rate)))
    assert cv.event_weights(4) == pytest.approx([0.25] * 4)
    with pytest.raises(ValueError, match="between 0 and 1"):
        cv.event_weights(52, 1.0)


def test_enrolled_and_trial_hr_are_inverse():
    profile = np.r_[np.ones(12), np.full(40, 0.3)]
    w = cv.event_weights(52, 0.7)
    share = float(w @ profile)
    enrolled = cv.enrolled_hr_from_trial_hr(1.3, profile, w)
    assert math.log(enrolled) == pytest.approx(math.log(1.3) / share)
    assert cv.trial_hr_from_enrolled_hr(enrolled, profile, w) == pytest.approx(1.3)
    # acting all the time: the enrolled HR is the trial HR
    assert cv.enrolled_hr_from_trial_hr(1.3, np.ones(52), w) == pytest.approx(1.3)
    with pytest.raises(ValueError, match="never acts"):
        cv.enrolled_hr_from_trial_hr(1.3, np.zeros(52), w)


def test_risk_ratio_and_trial_hr_round_trip_and_stay_feasible():
    hr = cv.trial_hr_from_rr(1.23, 0.66)
    # S1 = S0 ** HR: the treated arm's risk is 1.23 x 0.66
    assert 1 - 0.34 ** hr == pytest.approx(1.23 * 0.66)
    assert cv.rr_from_trial_hr(hr, 0.66) == pytest.approx(1.23)
    assert cv.rr_from_trial_hr(20.0, 0.66) < 1 / 0.66  # never beyond 100% risk


def test_anchored_effect_does_not_depend_on_the_models_baseline(make_config):
    """The HR carried to the model comes from the source trial, not from re-solving on the
    model's usual care: a slower baseline gives the same enrolled-period HR (the old
    conversions gave a different one)."""
    from sim.engine.model import RTWModel

    base = ("programme=multidisciplinary_bps", "population.n=2000", "horizon_weeks=12")
    slow = "pathways.rtw.scale_weeks={cmd: 12.0, smi: 28.0, msk: 7.0, cancer: 40.0, " \
           "abi_stroke: 52.0, cvd: 16.0, other: 1.1}"
    a = RTWModel(make_config(*base)).resolved_effects
    b = RTWModel(make_config(*base, slow)).resolved_effects
    assert a == b
    assert a["cancer_rehab"]["rtw_hr"] > 1.0


def test_psa_draws_of_anchored_risk_ratios_are_never_infeasible():
    """Drawn on the implied trial-HR scale: the median and 95% interval of the draws are the
    published ones, and no draw needs more than 100% of the treated arm to return."""
    from sim.evidence.registry import ANCHORED_RR_MEASURES, load_registry
    from sim.uncertainty.psa import draw_evidence

    reg = load_registry()
    entries = [e for e in reg.values() if e.measure in ANCHORED_RR_MEASURES]
    assert entries and all(e.control_risk is not None for e in entries)
    draws = draw_evidence(entries, 4000, seed=3, rho=0.0)
    for e in entries:
        x = draws[e.id].to_numpy()
        assert np.all(x * e.control_risk < 1) and np.all(x > 0)
        q = np.quantile(x, [0.025, 0.5, 0.975])
        assert q == pytest.approx([e.ci[0], e.value, e.ci[1]], rel=0.03)


def test_split_modules_are_reexported_unchanged():
    """conversions.py was split (anchoring, distributions, rates); every name a registry
    ``conversion.function`` or a caller uses still resolves there, to the same object."""
    from sim.evidence import anchoring, distributions, rates

    for module in (anchoring, distributions, rates):
        for name in module.__all__:
            assert name in cv.__all__, name
            assert getattr(cv, name) is getattr(module, name), name
    for name in cv.__all__:
        assert callable(getattr(cv, name)) or name == "Z95", name
