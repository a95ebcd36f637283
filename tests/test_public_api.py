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
