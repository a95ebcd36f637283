"""Eligibility and targeting by any person attribute (sim/programme/eligibility.py)."""

import numpy as np
import pytest

from sim.config import ConfigError
from sim.engine.model import RTWModel
from sim.programme.eligibility import ATTRIBUTES, static_mask
from sim.simulate import simulate

ELIG = "programme.components.rtw_coordinator.eligibility"
# one restriction per attribute: config key, override text, People column, allowed codes
CASES = [
    ("conditions", "[msk,cmd]", "condition", {2, 0}),
    ("severities", "[severe]", "severity", {2}),
    ("imd_quintiles", "[1,2]", "imd_quintile", {1, 2}),
    ("age_bands", "[16-24]", "age_band", {0}),
    ("sexes", "[female]", "sex", {0}),
    ("ethnicities", "[pakistani,bangladeshi]", "ethnicity", {4, 5}),
    ("occupations", "[manual]", "occupation", {1}),
    ("employer_sizes", "[sme]", "employer_size", {1}),
    ("oh_access", "[false]", "oh_access", {False}),
    ("disabilities", "[disabled]", "disability", {1}),
    ("employment", "[precarious]", "employment", {1}),
]


def _component(make_config, *overrides, design="rtw_coordinator", n=3000):
    model = RTWModel(make_config(f"programme={design}", "population=workforce",
                                 f"population.n={n}", "horizon_weeks=13", *overrides))
    return model, model.programme.components[0]


def test_every_attribute_has_a_case():
    assert {c[0] for c in CASES} == set(ATTRIBUTES)


@pytest.mark.parametrize("key,text,column,codes", CASES, ids=[c[0] for c in CASES])
def test_eligibility_by_attribute(make_config, key, text, column, codes):
    """Exactly the people with an allowed value are eligible (and some are not)."""
    model, comp = _component(make_config, f"{ELIG}.{key}={text}")
    values = getattr(model.people, column)
    expected = np.isin(values, list(codes))
    assert 0 < expected.sum() < expected.size  # the test population has both kinds
    np.testing.assert_array_equal(comp.eligible, expected)


def test_restrictions_combine_with_and(make_config):
    model, comp = _component(make_config, f"{ELIG}.employer_sizes=[sme]",
                             f"{ELIG}.oh_access=[false]", f"{ELIG}.age_bands=[16-24,25-34]")
    p = model.people
    expected = (p.employer_size == 1) & ~p.oh_access & (p.age_band <= 1)
    assert expected.any()
    np.testing.assert_array_equal(comp.eligible, expected)


def test_targeting_modifier_restricts_by_any_attribute(make_config):
    """A targeting modifier narrows the component's own eligibility (AND)."""
    model, comp = _component(make_config, f"{ELIG}.sexes=[male]")
    mods = [{"kind": "targeting", "ethnicities": ["black"]},
            {"kind": "cultural_adaptation", "ethnicities": ["indian"]}]  # not a restriction
    mask = static_mask({"sexes": ["male"]}, model.people, mods)
    p = model.people
    np.testing.assert_array_equal(mask, (p.sex == 1) & (p.ethnicity == 6))
    np.testing.assert_array_equal(static_mask({"sexes": ["male"]}, model.people),
                                  comp.eligible)


def test_targeted_design_from_config_serves_only_the_group(make_config):
    """targeting_deprived (IMD 1-2) via the shared mask, as before."""
    model, comp = _component(make_config, design="targeted_deprived")
    for c in model.programme.components:
        assert not c.eligible[model.people.imd_quintile > 2].any()
        assert c.eligible[model.people.imd_quintile <= 2].any()


def test_only_young_people_are_enrolled(make_config):
    # 8,000 people: under the session-15 streams 4,000 gave no young person enrolled
    r = simulate(make_config("programme=rtw_coordinator", "population=workforce",
                             "population.n=8000", "horizon_weeks=26", "output.plots=false",
                             f"{ELIG}.age_bands=[16-24]"))
    enrolled = r.agents.loc[r.agents["enrolled_any"], "age_band"].astype(str)
    assert len(enrolled) > 0
    assert set(enrolled) == {"16-24"}


@pytest.mark.parametrize("override,expected", [
    (f"{ELIG}.age_bands=[16-20]", "eligibility.age_bands: unknown age band '16-20'"),
    (f"{ELIG}.sexes=[other]", "eligibility.sexes: unknown sex 'other'"),
    (f"{ELIG}.ethnicities=[asian]", "eligibility.ethnicities: unknown ethnic group 'asian'"),
    (f"{ELIG}.occupations=[clerical]", "unknown occupation 'clerical'"),
    (f"{ELIG}.employer_sizes=[small]", "unknown employer size 'small'"),
    (f"{ELIG}.oh_access=[1]", "eligibility.oh_access: unknown occupational health access"),
    (f"{ELIG}.imd_quintiles=[true]", "eligibility.imd_quintiles: unknown IMD quintile True"),
    (f"{ELIG}.severities=[]", "eligibility.severities: got [], expected a non-empty list"),
    (f"+{ELIG}.benefit=[esa]", f"{ELIG}.benefit: unknown key"),
    (f"{ELIG}.state=benefit", "eligibility.state: unknown value 'benefit'"),
])
def test_bad_eligibility_is_one_line(make_config, override, expected):
    with pytest.raises(ConfigError) as info:
        make_config("programme=rtw_coordinator", override)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_benefit_status_is_the_state_served(make_config):
    """Benefit status: state inactive_benefit vs inactive (validated, both accepted)."""
    for state in ("inactive", "inactive_benefit"):
        cfg = make_config("programme=rtw_coordinator", f"{ELIG}.state={state}",
                          "programme.components.rtw_coordinator.effects.rtw_hr=1.2")
        assert cfg["programme"]["components"]["rtw_coordinator"]["eligibility"]["state"] == state
