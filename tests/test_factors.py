"""Uncertain factors: parsing, applying to configs, pre-flight checks, evaluation."""

import numpy as np
import pytest
import yaml

from sim.config import CONFIG_DIR, load_config, validate
from sim.uncertainty.factors import (
    apply,
    check_factors,
    evaluate,
    parse_factors,
    responses,
)

SPEC = {
    "coord": {"kind": "evidence", "id": "coordination_vogel2017_hr"},
    "grad": {"kind": "exponent", "paths": ["pathways.rtw.imd_hr"], "low": 0, "high": 2},
    "uptake": {"kind": "value", "paths": ["programme.components.*.access.uptake"],
               "low": 0.5, "high": 0.95, "nominal": 0.75},
    "scale": {"kind": "scale", "paths": ["pathways.rtw.scale_weeks"], "low": 0.8, "high": 1.25},
}


@pytest.fixture(scope="module")
def configs():
    base = ["population.n=600", "replicates=1", "output.plots=false"]
    return {d: load_config([f"programme={d}", *base]) for d in ("usual_care", "multicomponent")}


def test_parse_takes_evidence_ranges_from_the_registry():
    f = {x.name: x for x in parse_factors(SPEC)}
    assert (f["coord"].low, f["coord"].nominal, f["coord"].high) == (0.93, 1.32, 1.88)
    assert f["grad"].nominal == 1.0 and f["scale"].nominal == 1.0
    assert f["uptake"].nominal == 0.75


@pytest.mark.parametrize("spec, message", [
    ({"a": {"kind": "scal", "paths": ["x"], "low": 1, "high": 2}}, "factors.a.kind"),
    ({"a": {"kind": "scale", "paths": ["x"], "low": 2, "high": 1}}, "low 2 must be below"),
    ({"a": {"kind": "scale", "paths": ["x"], "low": -1, "high": 1}}, "above 0"),
    ({"a": {"kind": "evidence", "id": "no_such_entry"}}, "not in the evidence registry"),
    ({"a": {"kind": "value", "paths": ["x"], "low": 0, "high": 1}}, "nominal"),
    ({"a": {"kind": "scale", "paths": ["x"], "low": 1, "high": 2, "bound": 3}}, "unknown key"),
    ({"a": {"kind": "scale", "low": 1, "high": 2}}, "paths"),
    ({"a": {"kind": "scale", "paths": ["x"], "low": 1, "high": "2"}}, "finite number"),
])
def test_bad_specs_fail_in_one_line_naming_the_factor(spec, message):
    with pytest.raises(ValueError, match=message) as err:
        parse_factors(spec)
    assert "\n" not in str(err.value) and "factors.a" in str(err.value)


def test_apply_changes_exactly_the_named_numbers(configs):
    factors = parse_factors(SPEC)
    cfg = configs["multicomponent"]
    out = apply(cfg, factors, [1.5, 2.0, 0.9, 1.1])
    assert out["evidence_values"] == {"coordination_vogel2017_hr": 1.5}
    assert out["pathways"]["rtw"]["imd_hr"] == pytest.approx(
        [v**2 for v in cfg["pathways"]["rtw"]["imd_hr"]])
    comps = out["programme"]["components"]
    assert comps and all(c["access"]["uptake"] == 0.9 for c in comps.values())
    assert out["pathways"]["rtw"]["scale_weeks"] == pytest.approx(
        {k: 1.1 * v for k, v in cfg["pathways"]["rtw"]["scale_weeks"].items()})
    # nothing else moved, and the input is untouched
    out["evidence_values"] = None
    rest = {k: v for k, v in out.items() if k not in ("pathways", "programme", "evidence_values")}
    assert rest == {k: v for k, v in cfg.items() if k not in ("pathways", "programme")}
    assert "evidence_values" not in cfg
    validate(apply(cfg, factors, [1.5, 2.0, 0.9, 1.1]))
    # usual care has no components and uses no evidence: those factors leave it alone
    uc = apply(configs["usual_care"], factors, [1.5, 2.0, 0.9, 1.0])
    assert "evidence_values" not in uc and uc["programme"] == configs["usual_care"]["programme"]
    with pytest.raises(ValueError, match="matches nothing"):
        apply(configs["usual_care"], factors, [1.5, 2.0, 0.9, 1.0], strict=True)


def test_check_factors_rejects_paths_that_match_nothing_and_out_of_schema_ends(configs):
    bad_path = parse_factors({"a": {"kind": "scale", "paths": ["pathways.rtw.sclae_weeks"],
                                    "low": 0.5, "high": 2}})
    with pytest.raises(ValueError, match="sclae_weeks.*matches nothing"):
        check_factors(configs, bad_path)
    too_high = parse_factors({"u": {"kind": "value", "paths": [
        "programme.components.*.access.uptake"], "low": 0.5, "high": 1.5, "nominal": 0.75}})
    with pytest.raises(ValueError, match=r"factors.u = 1.5 \(multicomponent\).*uptake"):
        check_factors(configs, too_high)
    unused = parse_factors({"v": {"kind": "evidence", "id": "vsw_wave_hr"}})
    with pytest.raises(ValueError, match="no design here uses 'vsw_wave_hr'"):
        check_factors(configs, unused)
    check_factors(configs, parse_factors(SPEC))


def test_evaluate_is_deterministic_dedupes_and_responds_to_factors(configs):
    factors = parse_factors(SPEC)
    x = np.array([[1.32, 1.0, 0.75, 1.0],
                  [1.88, 1.0, 0.95, 1.0],   # stronger, wider-reaching programme
                  [1.32, 1.0, 0.75, 1.0]])  # the first row again
    a = evaluate(configs, factors, x, n_jobs=1, progress=False)
    b = evaluate(configs, factors, x, n_jobs=2, progress=False)
    assert a.equals(b)
    r = responses(a, "multicomponent")
    # usual care sees no evidence or access factor: identical in every row
    uc = a[a["design"] == "usual_care"].drop(columns="sample").reset_index(drop=True)
    assert (uc.nunique() <= 1).all()
    assert r.loc[0].equals(r.loc[2])  # same factors, same seed: same outcome
    assert r.loc[1, "d_days_absent"] < r.loc[0, "d_days_absent"]  # bigger HR, more uptake
    assert r.loc[1, "d_rtw_52w"] >= r.loc[0, "d_rtw_52w"]


@pytest.mark.parametrize("path", sorted((CONFIG_DIR / "analysis" / "factors").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_every_shipped_factor_set_fits_its_design(path):
    """configs/analysis/factors/<design>.yaml: every path reaches the design's config and
    every low/high builds a model (effects the baseline can reproduce)."""
    spec = yaml.safe_load(path.read_text())
    base = ["population.n=300", "replicates=1"]
    configs = {d: load_config([f"programme={d}", *base]) for d in ("usual_care", path.stem)}
    check_factors(configs, parse_factors(spec))


def test_infeasible_evidence_is_clamped_at_the_boundary_and_reported():
    """Anchored risk ratios always convert (issue 15): the MDT's upper 1.48 and beyond
    build without clamping. A mean difference in days, still solved on the model's
    baseline, can ask for more than the baseline allows: it is clamped at the boundary."""
    from sim.engine.model import RTWModel
    from sim.programme.effects import EffectError
    from sim.uncertainty.factors import feasible_evidence, run_measures

    cfg = load_config(["programme=culturally_adapted_mdt", "population.n=2000", "replicates=1",
                       "horizon_weeks=60"])
    for rr in (1.05, 1.48, 1.9):
        assert feasible_evidence({**cfg, "evidence_values": {"mdt_tingulstad2022_rr": rr}}
                                 )[1] == []
    cfg = load_config(["programme=rtw_coordinator", "population.n=2000", "replicates=1",
                       "horizon_weeks=60", "programme.components.rtw_coordinator.effects."
                       "rtw_hr=coordination_vogel2017_md_days"])
    entry = "coordination_vogel2017_md_days"
    ok = {**cfg, "evidence_values": {entry: -10.0}}
    assert feasible_evidence(ok)[1] == []
    bad = {**cfg, "evidence_values": {entry: -400.0}}  # more days than a year has
    with pytest.raises(EffectError) as err:
        RTWModel(bad)
    assert err.value.entry_id == entry
    fixed, moves = feasible_evidence(bad)
    assert [m["entry"] for m in moves] == [entry]
    used = moves[0]["used"]
    assert -400 < used < -16.18 and moves[0]["requested"] == -400.0
    RTWModel(fixed)  # the clamped value builds
    # just beyond the boundary (1/256 of the way, plus a margin) fails
    beyond = {**cfg, "evidence_values": {entry: used + 0.01 * (-400.0 + 16.18)}}
    with pytest.raises(EffectError):
        RTWModel(beyond)
    m = run_measures(validate(bad))
    assert m["clamped"].startswith(f"{entry} -400 -> ")
    assert m == run_measures(validate(fixed)) | {"clamped": m["clamped"]}


