"""The import paths users' scripts and notebooks use (README) keep working, whatever the
layout inside sim/ (scripts/relayout.py never rewrites this file; shims serve old paths)."""

import inspect


def test_public_import_paths():
    import mesa

    from sim.config import load_config
    from sim.metrics import (
        aalen_johansen,
        atkinson_ede,
        concentration_index,
        kolm_ede,
        paired_difference,
        slope_index,
    )
    from sim.model import RTWModel
    from sim.simulate import simulate

    assert issubclass(RTWModel, mesa.Model)
    for fn in (load_config, simulate, slope_index, aalen_johansen, concentration_index,
               atkinson_ede, kolm_ede, paired_difference):
        assert callable(fn) and inspect.signature(fn).parameters
    # a worked example through the public path: ranks 1/6, 1/2, 5/6 -> slope 0.2 / (1/3)
    est = slope_index([0.2, 0.4, 0.6], [1, 1, 1], ci="none")
    assert abs(est.sii - 0.6) < 1e-12


def test_evidence_registry_names_stay_importable_from_sim_evidence_registry():
    """The registry was split (measures, validate, tables); its public names are the same
    objects from the old path, and its command line is still ``python -m`` that module."""
    from sim.evidence import measures, registry, tables, validate

    homes = {"validate_entry": validate, "EvidenceEntry": measures, "MEASURES": measures,
             "DIRECT_MEASURES": measures, "RATIO_MEASURES": measures,
             "FOLLOWUP_MEASURES": measures, "ANCHORED_RR_MEASURES": measures,
             "evidence_table": tables, "to_markdown": tables, "format_value": tables}
    for name, home in homes.items():
        assert getattr(registry, name) is getattr(home, name), name
    assert set(homes) | {"load_registry", "sample_entry", "EvidenceError"} <= set(
        registry.__all__)
    assert issubclass(registry.EvidenceError, ValueError)
    for fn in (registry.load_registry, registry.sample_entry, registry.main):
        assert callable(fn)
