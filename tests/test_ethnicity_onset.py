"""Onset of sickness absence by ethnic group (issue 14): the flagged assumption
``ethnicity_onset_hr_assumed`` (1, range 1-1.94) as ``pathways.new_spell.ethnicity_onset_hr``,
shaped across groups by ``ethnicity_onset_profile`` (Dorrington et al. 2020)."""

import numpy as np
import pytest

from sim.engine.categories import ETHNICITIES
from sim.engine.model import RTWModel
from sim.engine.pathways import ethnicity_onset_hr
from sim.evidence.registry import load_registry
from sim.uncertainty.decomposition import ASSUMED_PATHS
from sim.uncertainty.factors import apply, parse_factors

BASE = ("population=workforce", "population.n=3000", "horizon_weeks=30", "seed=21")


def _run(cfg):
    model = RTWModel(cfg)
    model.run()
    return model


def test_at_one_the_profile_changes_nothing(make_config):
    """At the default HR of 1 every group's ratio is exactly 1, whatever the profile says:
    the run is identical to one with a different profile (a profile applied as a multiplier
    itself, or an HR other than 1 leaking in, would change the trajectories)."""
    default = _run(make_config(*BASE))
    other = make_config(*BASE)
    other["pathways"]["new_spell"]["ethnicity_onset_profile"] = {e: 1.0 for e in ETHNICITIES}
    changed = _run(other)
    for name in default.columns:
        np.testing.assert_array_equal(default.columns[name], changed.columns[name],
                                      err_msg=name)
    np.testing.assert_array_equal(default.pathways.spell_static, changed.pathways.spell_static)


def test_hr_above_one_raises_onset_for_the_named_groups_only(make_config):
    cfg = make_config(*BASE)
    spell = cfg["pathways"]["new_spell"]
    profile = spell["ethnicity_onset_profile"]
    base = RTWModel(cfg).pathways
    cfg["pathways"]["new_spell"]["ethnicity_onset_hr"] = 1.5
    raised = RTWModel(cfg).pathways
    eth = RTWModel(cfg).people.ethnicity
    ratio = raised.spell_static / base.spell_static
    for code, name in enumerate(ETHNICITIES):
        mask = eth == code
        assert mask.any(), name
        np.testing.assert_allclose(ratio[mask], 1.5 ** profile[name], rtol=1e-12,
                                   err_msg=name)
    # the source supports a raise for Black, Mixed and Other, not White or South Asian
    assert profile["black"] == 1.0
    assert profile["mixed"] > 0 and profile["chinese_other"] > 0
    for name in ("white_british", "white_other", "indian", "pakistani", "bangladeshi"):
        assert profile[name] == 0.0, name
    # the bound the vectorised engine thins against follows the raised hazard
    assert raised.max_spell_hazard >= raised.spell_hazard.max()
    assert np.allclose(ethnicity_onset_hr(spell | {"ethnicity_onset_hr": 1.0}), 1.0)


def test_raised_onset_raises_spells_of_the_black_group(make_config):
    def spells(hr):
        cfg = make_config(*BASE[:1], "population.n=8000", *BASE[2:])
        cfg["pathways"]["new_spell"]["ethnicity_onset_hr"] = hr
        m = _run(cfg)
        eth = m.people.ethnicity
        groups = {"black": eth == ETHNICITIES.index("black"),
                  "white_british": eth == ETHNICITIES.index("white_british")}
        return {g: m.columns["spells"][mask].mean() for g, mask in groups.items()}

    base, raised = spells(1.0), spells(1.94)
    assert raised["black"] > 1.4 * base["black"]  # onset x1.94 for Black workers
    # White British workers' onset is unchanged: their spells differ only through chance
    # (the same draws are consumed differently once others' trajectories change)
    assert raised["white_british"] == pytest.approx(base["white_british"], rel=0.08)


def test_registry_and_factors_vary_it(make_config):
    entry = load_registry()["ethnicity_onset_hr_assumed"]
    assert entry.assumption and entry.value == 1.0 and tuple(entry.ci) == (1.0, 1.94)
    import yaml

    from sim.config import CONFIG_DIR
    for name in ("multicomponent", "culturally_adapted_mdt", "usual_care"):
        spec = yaml.safe_load((CONFIG_DIR / "analysis" / "factors" / f"{name}.yaml").read_text())
        factors = {f.name: f for f in parse_factors(spec)}
        f = factors["ethnicity_onset_hr"]
        assert (f.low, f.high, f.nominal) == (1.0, 1.94, 1.0), name
        assert f.paths == ("pathways.new_spell.ethnicity_onset_hr",), name
        cfg = apply(make_config(*BASE), [f], [f.high])
        assert cfg["pathways"]["new_spell"]["ethnicity_onset_hr"] == 1.94
    # the gap decomposition counts it with the other assumed ethnicity multipliers
    assert "pathways.new_spell.ethnicity_onset_hr" in ASSUMED_PATHS


def test_psa_draws_it_uniformly_on_its_own_stream():
    from sim.uncertainty.psa_analysis import assumption_factors, check_settings, draw_assumptions

    (f,) = assumption_factors(["ethnicity_onset_hr"])
    d = draw_assumptions([f], 400, seed=5)["ethnicity_onset_hr"]
    assert d.between(1.0, 1.94).all() and 1.3 < d.mean() < 1.65
    # adding a second assumption does not change the first one's draws
    both = draw_assumptions([f, *assumption_factors(["precarious_rtw"])], 400, seed=5)
    assert both["ethnicity_onset_hr"].equals(d)
    with pytest.raises(ValueError, match="unknown factor 'nope'"):
        check_settings({"draws": 3, "wtp": None, "designs": ["usual_care"],
                        "assumptions": ["nope"]})
