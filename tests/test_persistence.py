"""Persistence of effects after a service ends (issue 15): the decay formula, the expected
profile the conversions use, and the multipliers the programme really applies."""

import math

import numpy as np
import pytest

from sim.engine.model import RTWModel
from sim.evidence import conversions
from sim.programme.persistence import Persistence, expected_profile, fit_persistence


def test_share_is_lasting_plus_halving_decay():
    p = Persistence(half_life_weeks=10, lasting=0.2)
    s = p.share(np.array([10, 20, 1e6]))
    assert s == pytest.approx([0.2 + 0.8 / 2, 0.2 + 0.8 / 4, 0.2])
    assert Persistence().share(np.array([1, 5])).tolist() == [0.0, 0.0]
    assert Persistence(0, 0.5).share(np.array([1, 50])).tolist() == [0.5, 0.5]
    assert not Persistence().active and Persistence(3, 0).active
    assert Persistence(10, 0).gone_after() == pytest.approx(10 * math.log2(1e4))
    with pytest.raises(ValueError, match="lasting"):
        Persistence(4, 1.5)
    with pytest.raises(ValueError, match="half_life"):
        Persistence(-1, 0)


def test_profile_without_persistence_is_the_enrolment_curve():
    """No persistence: the share is 1 while enrolled past the lag, as the old conversions
    assumed (sim.evidence.conversions.enrolment_curve)."""
    enrolled, active = conversions.enrolment_curve(40, (2, 12, 0.05))
    prof = expected_profile(40, 2, 12, 0.05, Persistence())
    assert prof == pytest.approx(np.where(active, enrolled, 0.0))


def test_profile_with_persistence_by_hand():
    """No drop-out, 3-week service, lag 0: 1 for weeks 0-2, then g(1), g(2), ..."""
    p = Persistence(2.0, 0.1)
    prof = expected_profile(6, 0, 3, 0.0, p)
    g = 0.1 + 0.9 * 2.0 ** (-np.arange(1, 4) / 2.0)
    assert prof == pytest.approx([1, 1, 1, *g])
    # drop-out in the first week (before any effect at lag 1) keeps nothing
    prof = expected_profile(5, 1, 2, 0.5, Persistence(0, 1.0))
    # enrolled in week 0 with 0.5, week 1 with 0.25; effect from week 1 (lag 1); those who
    # leave at week 2 after an effect week (prob 0.25) keep all of it
    assert prof == pytest.approx([0.0, 0.25, 0.25, 0.25, 0.25])


def _programme_shares(cfg_overrides, make_config, weeks=40):
    """Run a design week by week and return, per week since start, the mean share of the
    enrolled log HR the programme applied to people who started at the first referral."""
    cfg = make_config(*cfg_overrides)
    model = RTWModel(cfg)
    comp = model.programme.components[0]
    hr = comp.effects["rtw_hr"]
    rows = []
    for _ in range(weeks):
        model.step()
        rows.append(model.effects.arrays["rtw"].copy())
    start = model.programme.start_week[0]
    first = start[start >= 0].min()
    cohort = np.flatnonzero(start == first)
    shares = np.array([np.log(r[cohort]) / np.log(hr[cohort]) for r in rows[first:]])
    return shares.mean(axis=1), comp


def test_programme_applies_the_expected_profile(make_config):
    """The multipliers the model applies (both engines read them) follow the profile the
    conversions assume: enrolled, drop-out, then decay to the lasting part."""
    mean, comp = _programme_shares(
        ("programme=workplace_contact", "population.n=20000", "horizon_weeks=60",
         "programme.components.workplace_contact.persistence.half_life_weeks=6",
         "programme.components.workplace_contact.persistence.lasting=0.3"), make_config)
    lag, duration, dropout = comp.effect_lag_weeks, comp.duration_weeks, float(
        comp.p_dropout.mean())
    expected = expected_profile(mean.size, lag, duration, dropout, comp.persistence)
    assert comp.persistence == Persistence(6.0, 0.3)
    assert mean == pytest.approx(expected, abs=0.015)
    assert mean[-1] == pytest.approx(0.3 + 0.7 * 2 ** (-(mean.size - duration) / 6), abs=0.02)


def test_no_persistence_stops_the_effect_at_the_end(make_config):
    mean, comp = _programme_shares(
        ("programme=workplace_contact", "population.n=5000", "horizon_weeks=30",
         "programme.components.workplace_contact.persistence=null"), make_config, weeks=30)
    assert not comp.persistence.active
    assert np.all(mean[comp.duration_weeks:] == 0)


def test_fit_recovers_persistence_from_two_follow_ups():
    """Trial HRs made from a known enrolled HR and persistence are fitted back."""
    truth = Persistence(13.0, 0.25)
    lag, duration, dropout = 0, 12, 0.02
    hrs = [conversions.trial_hr_from_enrolled_hr(
        1.8, expected_profile(t, lag, duration, dropout, truth), conversions.event_weights(t))
        for t in (26, 52)]
    hr, fitted, rss = fit_persistence((26, 52), hrs, (0.1, 0.1), lag, duration, dropout,
                                      half_lives=[4, 13, 26], lastings=[0, 0.25, 0.5])
    assert fitted == truth and hr == pytest.approx(1.8) and rss == pytest.approx(0, abs=1e-12)


def test_coordinator_persistence_is_the_fit_to_vogel(make_config):
    """The registry's lasting part for the coordinator is what fits Vogel 2017 at 6 and 12
    months (trial HRs and intervals from the registry)."""
    from sim.evidence.registry import load_registry
    from sim.programme.effects import exposure_of

    reg = load_registry()
    six, twelve = reg["coordination_vogel2017_hr_alt"], reg["coordination_vogel2017_hr"]
    spec = make_config("programme=rtw_coordinator")["programme"]["components"][
        "rtw_coordinator"]
    lag, duration, dropout = exposure_of(spec)
    ses = [math.log(e.ci[1] / e.ci[0]) / (2 * conversions.Z95) for e in (six, twelve)]
    _, fitted, _ = fit_persistence((26, 52), (six.value, twelve.value), ses, lag, duration,
                                   dropout, (six.control_risk, twelve.control_risk),
                                   half_lives=[0, 4, 13, 26, 52],
                                   lastings=np.linspace(0, 1, 21))
    assert fitted.lasting == reg["coordination_vogel2017_lasting"].value
