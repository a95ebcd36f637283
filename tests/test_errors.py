"""sim.errors: one home for the error types and the one-line messages."""

import pytest

from sim import config, errors, io
from sim.cli import resources
from sim.compare import report
from sim.errors import one_line, typed_line
from sim.evidence import registry as evidence
from sim.explorer import adapter as explorer
from sim.programme import effects
from sim.results import economics


def test_every_error_type_has_one_definition():
    assert config.ConfigError is errors.ConfigError
    assert config.ConfigWarning is errors.ConfigWarning
    assert resources.ResourceError is errors.ResourceError
    assert issubclass(errors.ResourceError, errors.ConfigError)  # printed as config errors
    assert evidence.EvidenceError is errors.EvidenceError
    assert effects.EffectError is errors.EffectError
    assert io.OutputError is errors.OutputError
    assert report.ReportError is errors.ReportError
    assert explorer.ExplorerError is errors.ExplorerError
    assert economics.ReconciliationError is errors.ReconciliationError
    err = errors.EffectError("no", entry_id="x")
    assert err.entry_id == "x" and str(err) == "no"


def test_one_line_joins_causes_and_drops_hydra_noise():
    try:
        try:
            raise RuntimeError("inner\nSet the environment variable HYDRA_FULL_ERROR=1 for more")
        except RuntimeError as inner:
            raise ValueError("outer\n   problem\nfull_key: a.b") from inner
    except ValueError as err:
        assert one_line(err) == "outer problem; inner"


def test_typed_line():
    assert typed_line(ValueError("a\n  b")) == "ValueError: a b"
    assert typed_line(RuntimeError()) == "RuntimeError"


def test_an_unknown_evidence_id_is_a_config_error():
    """config.validate -> effects.check_evidence_refs raises the one ConfigError (the
    former import cycle config -> effects -> config)."""
    cfg = config.load_config(["programme=rtw_coordinator"])
    comp = next(iter(cfg["programme"]["components"].values()))
    comp["effects"] = {k: "no_such_entry_xyz" for k in list(comp.get("effects") or {})[:1]}
    if not comp["effects"]:
        pytest.skip("the design has no effects to point elsewhere")
    with pytest.raises(errors.ConfigError, match="no_such_entry_xyz"):
        config.validate(cfg)
