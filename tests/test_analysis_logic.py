"""The GSA and scenario-discovery logic as library functions (the scripts are thin)."""

import numpy as np
import pytest

from sim.uncertainty import discovery_analysis as da
from sim.uncertainty import gsa_analysis as ga

GSA = {"sobol_n": 8, "n_jobs": 1, "morris_trajectories": 2, "morris_levels": 4,
       "noise_seeds": 2, "outputs": ["rtw_52w", "d_sii"], "design": "multicomponent"}
DISC = {"samples": 10, "n_jobs": 2, "noise_seeds": 0,
        "failure": {"output": "d_sii", "above": 0.0}}


def test_gsa_settings_accept_the_defaults_and_refuse_each_bad_value():
    assert ga.check_settings(dict(GSA)) == GSA
    for change, message in [({"sobol_n": 6}, "power of two"),
                            ({"morris_levels": 3}, "even number"),
                            ({"noise_seeds": 1}, "at least 2"),
                            ({"outputs": ["nope"]}, "unknown output 'nope'"),
                            ({"design": "usual_care"}, "needs a design other than")]:
        with pytest.raises(ValueError, match=message):
            ga.check_settings({**GSA, **change})


def test_discovery_settings_and_failure_rule():
    assert da.check_settings(dict(DISC)) == DISC
    with pytest.raises(ValueError, match="exactly one of above or below"):
        da.check_settings({**DISC, "failure": {"output": "d_sii", "above": 0, "below": 1}})
    with pytest.raises(ValueError, match="noise_seeds"):
        da.check_settings({**DISC, "noise_seeds": 1})
    np.testing.assert_array_equal(da.failed([-0.1, 0.0, 0.2], {"above": 0.0}),
                                  [False, False, True])
    np.testing.assert_array_equal(da.failed([0.5, 0.7], {"below": 0.6}), [True, False])
