"""Named design variants (sim/programme/variants.py): applied, validated, reported as their own
rows."""

import pytest

from sim.config import ConfigError
from sim.programme.variants import VariantError, apply_variant

WEEK = "programme.components.rtw_coordinator.eligibility.refer_at_week"
CAP = "programme.components.rtw_coordinator.capacity.starts_per_week_per_100k"


def _variants(**defs):
    return "variants={" + ",".join(
        f"{label}:{{" + ",".join(f"{k}:{v}" for k, v in settings.items()) + "}"
        for label, settings in defs.items()) + "}"


def _cfg(programme, variant, variants):
    return {"programme": programme, "variant": variant, "variants": variants}


def test_apply_variant_sets_the_settings_and_the_label():
    prog = {"name": "d", "components": {"c": {"eligibility": {"refer_at_week": 4}}}}
    out = apply_variant(_cfg(prog, "w1", {"w1": {"programme.components.c.eligibility."
                                                 "refer_at_week": 1}}))
    assert out["programme"]["components"]["c"]["eligibility"]["refer_at_week"] == 1
    assert out["programme"]["variant"] == "w1"
    assert prog["components"]["c"]["eligibility"]["refer_at_week"] == 4  # not mutated


def test_a_design_without_the_settings_runs_unchanged():
    prog = {"name": "usual_care", "combine": {"rule": "domain_strongest"}}
    out = apply_variant(_cfg(prog, "w1", {"w1": {"programme.components.c.x": 1}}))
    assert out["programme"] == prog  # no label either: the same usual care in every variant


@pytest.mark.parametrize("variant,variants,expected", [
    ("w9", {"w1": {WEEK: 1}}, "variant: unknown variant 'w9' (variants: w1)"),
    ("w1", {"w1": {"population.n": 5}}, "variants.w1.population.n: a variant sets the "
                                        "design's settings only"),
    ("w1", {"w1": {}}, "variants.w1: expected a mapping of programme settings"),
    ("w1", {"w1": {WEEK: 1, "programme.components.ips.duration_weeks": 3}},
     "variants.w1.programme.components.ips.duration_weeks: programme rtw_coordinator has no "
     "such setting"),
])
def test_bad_variants_are_one_line_errors(make_config, variant, variants, expected):
    with pytest.raises(ConfigError) as info:
        from sim.config import validate
        cfg = make_config("programme=rtw_coordinator")
        validate({**cfg, "variant": variant, "variants": variants})
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_variant_from_the_command_line(make_config):
    over = _variants(w1={WEEK: 1, CAP: 500}, w4={WEEK: 4})
    cfg = make_config("programme=rtw_coordinator", over, "variant=w1")
    comp = cfg["programme"]["components"]["rtw_coordinator"]
    assert comp["eligibility"]["refer_at_week"] == 1
    assert comp["capacity"]["starts_per_week_per_100k"] == 500
    assert cfg["programme"]["variant"] == "w1"
    usual = make_config("programme=usual_care", over, "variant=w1")
    assert usual["programme"] == make_config("programme=usual_care")["programme"]


def test_sweeping_a_setting_usual_care_lacks_suggests_variants():
    from sim.cli.preflight import check

    problem = check(["-m", "programme=usual_care,rtw_coordinator", f"{WEEK}=1,4"])
    assert "variant" in problem and "+programme" not in problem and "\n" not in problem
    assert check(["-m", "programme=usual_care,rtw_coordinator",
                  _variants(w1={WEEK: 1}, w4={WEEK: 4}), "variant=w1,w4"]) is None


def test_variants_are_separate_rows_and_usual_care_is_one(tmp_path):
    from sim.compare.report import compare_cells, load_cells
    from sim.config import load_config
    from sim.results.output import write_results
    from sim.simulate import simulate

    over = _variants(w1={WEEK: 1}, w4={WEEK: 4})
    for design in ("usual_care", "rtw_coordinator"):
        for v in ("w1", "w4"):
            cfg = load_config([f"programme={design}", over, f"variant={v}", "population.n=1500",
                               "replicates=2", "horizon_weeks=53", "output.plots=false",
                               "output.write_agents=false"])
            write_results(simulate(cfg), tmp_path / f"{design}_{v}" / "results")
    comp = compare_cells(load_cells([tmp_path]))
    assert [a.key for a in comp.arms] == ["usual_care", "rtw_coordinator [w1]",
                                          "rtw_coordinator [w4]"]
    assert len(comp.left_out) == 1 and "does not change this design" in \
        comp.left_out[0]["reason"]
    rtw = comp.league[comp.league["measure"] == "rtw_52w"].set_index("design")["estimate"]
    assert rtw["rtw_coordinator [w1]"] != rtw["rtw_coordinator [w4]"]


def test_variant_error_is_not_a_traceback():
    with pytest.raises(VariantError):
        apply_variant(_cfg({}, "x", {}))
