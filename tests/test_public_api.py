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
    from sim.evidence import measures, tables, validate
    from sim.evidence.registry import (
        ANCHORED_RR_MEASURES,
        DIRECT_MEASURES,
        FOLLOWUP_MEASURES,
        MEASURES,
        RATIO_MEASURES,
        EvidenceEntry,
        EvidenceError,
        evidence_table,
        format_value,
        load_registry,
        main,
        sample_entry,
        to_markdown,
        validate_entry,
    )

    assert validate_entry is validate.validate_entry and EvidenceEntry is measures.EvidenceEntry
    assert evidence_table is tables.evidence_table and to_markdown is tables.to_markdown
    assert format_value is tables.format_value and MEASURES is measures.MEASURES
    assert set(ANCHORED_RR_MEASURES) <= set(FOLLOWUP_MEASURES) <= set(RATIO_MEASURES) | {
        "md_days_absent"}
    assert set(DIRECT_MEASURES) <= set(RATIO_MEASURES)
    assert issubclass(EvidenceError, ValueError)
    for fn in (load_registry, sample_entry, main):
        assert callable(fn)
