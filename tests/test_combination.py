"""Combining components without double counting (issue 15): a component whose domain is
already covered does not add its full effect again; mechanisms are declared once."""

from types import SimpleNamespace

import numpy as np
import pytest

from sim.engine.model import RTWModel
from sim.programme.effects import read_evidence_ids
from sim.programme.interventions import Programme

N = 4


def _component(domain, hr):
    return SimpleNamespace(domain=domain, effects={"rtw_hr": np.full(N, hr)})


def _combined(components, rule, members=None, shares=None, bonus=1.0):
    fake = SimpleNamespace(components=components, combine=rule, multidomain_hr=bonus)
    idx = np.arange(N)
    members = members if members is not None else [idx] * len(components)
    return Programme._combined(fake, "rtw_hr", members, idx, shares)


def test_a_second_component_in_a_covered_domain_adds_nothing():
    coordinator = _component("coordination", 1.3)
    second = _component("coordination", 1.2)  # e.g. a vocational support worker
    alone = _combined([coordinator], "domain_strongest")
    both = _combined([coordinator, second], "domain_strongest")
    assert both == pytest.approx(alone)  # not 1.3 * 1.2
    assert both == pytest.approx(1.3)
    # a component in another domain does add its effect (Cullen 2018: domains add up)
    health = _component("health", 1.2)
    assert _combined([coordinator, second, health], "domain_strongest") == pytest.approx(
        1.3 * 1.2)


def test_rules_bound_the_combination():
    comps = [_component("coordination", 1.3), _component("coordination", 1.2),
             _component("health", 1.1)]
    strongest = _combined(comps, "strongest")
    domain = _combined(comps, "domain_strongest")
    product = _combined(comps, "multiplicative")
    assert strongest == pytest.approx(1.3)
    assert domain == pytest.approx(1.3 * 1.1)
    assert product == pytest.approx(1.3 * 1.2 * 1.1)  # the double-counting upper bound
    assert np.all(strongest <= domain) and np.all(domain <= product)


def test_strongest_keeps_harm_when_it_is_the_larger_effect():
    """'Strongest' means furthest from 1 on the log scale, whichever the direction."""
    comps = [_component("health", 1.1), _component("health", 0.8)]
    assert _combined(comps, "domain_strongest") == pytest.approx(0.8)


def test_a_fading_effect_does_not_add_to_a_current_one_in_its_domain():
    """A former participant's decayed effect (share 0.5 of log 1.3 = 1.14) and a current
    service of 1.2 in the same domain: the stronger one, not both."""
    comps = [_component("coordination", 1.3), _component("coordination", 1.2)]
    idx = np.arange(N)
    shares = [np.full(N, 0.5), None]
    got = _combined(comps, "domain_strongest", [idx, idx], shares)
    assert got == pytest.approx(1.2)
    shares = [np.full(N, 0.9), None]  # 1.3 ** 0.9 = 1.266 > 1.2
    assert _combined(comps, "domain_strongest", [idx, idx], shares) == pytest.approx(
        1.3 ** 0.9)


def test_multidomain_term_needs_two_of_health_coordination_workplace():
    idx = np.arange(N)
    comps = [_component("coordination", 1.3), _component("health", 1.2),
             _component("vocational", 1.5)]
    members = [idx[:2], idx[1:3], idx[2:]]  # person 1: two domains; person 2: health + voc
    got = _combined(comps, "domain_strongest", members, bonus=1.1)
    assert got == pytest.approx([1.3, 1.3 * 1.2 * 1.1, 1.2 * 1.5, 1.5])


def test_graded_return_lowers_relapse_through_phasing_only(make_config):
    """Graded return: more phased returns (phased returns relapse less in the pathways);
    its own relapse HR is not applied on top, and its registry entry is not read."""
    cfg = make_config("programme=graded_return", "population.n=500", "horizon_weeks=4")
    spec = cfg["programme"]["components"]["graded_return"]
    assert spec["effects"]["relapse_hr"] == 1.0
    assert isinstance(spec["effects"]["phased_rr"], str)
    assert "graded_return_relapse_hr" not in read_evidence_ids(cfg)
    comp = RTWModel(cfg).programme.components[0]
    assert comp.effects["relapse_hr"] is None and comp.effects["phased_rr"] is not None
    assert cfg["pathways"]["new_spell"]["phased_return_hr"] < 1.0  # the phasing mechanism
