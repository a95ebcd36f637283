"""Loading and validating configuration.

Hydra composes ``configs/config.yaml`` and its groups; :func:`validate` then checks the
result against the schema before any simulation work starts. Every problem is
reported as one line naming the key path, the value and what was expected, e.g.::

    population.ethnicity_shares: shares sum to 0.95, expected 1

The schema is declarative: each node says its type, its range, and for name-keyed
blocks, which names are allowed (conditions, ethnic groups, ...). Unknown keys are errors,
so a typo in a hand-edited YAML never silently falls back to a default.

The schema is in :mod:`sim.config_schema`, its node types in :mod:`sim.config_nodes`; this
module loads (Hydra compose), validates and holds the cross-field checks.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from sim.config_nodes import SHARE_TOLERANCE
from sim.config_schema import DESIGN_TAGS, SCHEMA  # noqa: F401 - DESIGN_TAGS: read from here
from sim.engine.categories import CONDITIONS
from sim.errors import ConfigError, ConfigWarning  # defined there; still importable from here
from sim.programme.variants import VariantError, apply_variant  # a named design variant

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


_format_warning = warnings.formatwarning


def _format_config_warning(message, category, filename, lineno, line=None):
    """ConfigWarnings print as one line (``config warning: ...``); others as usual."""
    if isinstance(category, type) and issubclass(category, ConfigWarning):
        return f"config warning: {message}\n"
    return _format_warning(message, category, filename, lineno, line)


_show_warning = warnings.showwarning
_SHOWN: set[str] = set()  # a config is validated several times (pre-flight, run): say it once


def _show_config_warning(message, category, filename, lineno, file=None, line=None):
    if isinstance(category, type) and issubclass(category, ConfigWarning):
        if str(message) in _SHOWN:
            return
        _SHOWN.add(str(message))
    _show_warning(message, category, filename, lineno, file, line)


warnings.formatwarning = _format_config_warning
warnings.showwarning = _show_config_warning


def validate(cfg: dict) -> dict:
    """Check a plain-dict config against the schema; return the checked copy."""

    try:
        cfg = apply_variant(cfg) if isinstance(cfg, dict) else cfg
    except VariantError as err:
        raise ConfigError(str(err)) from None
    out = SCHEMA.check("", cfg)
    if out.get("evidence_values") is None:  # optional: absent unless PSA sets it
        out.pop("evidence_values", None)
    _check_cross_fields(out)
    # lazy on purpose (no cycle since sim.errors): sim.programme.effects imports numpy, ~0.9 s more
    # before the CLI pre-flight can answer a bad command line (measured under load)
    from sim.programme.effects import check_evidence_refs  # the registry ids the config names

    check_evidence_refs(out)
    return out


def _check_cross_fields(cfg):
    pop = cfg["population"]
    cond = pop["condition_by_imd"]
    for q in range(5):
        total = sum(cond[c][q] for c in CONDITIONS)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise ConfigError(
                f"population.condition_by_imd: shares for IMD quintile {q + 1} sum to "
                f"{total:.6g}, expected 1"
            )
    _check_population_modes(pop)
    if pop["mode"] != "workforce" and pop["warmup_weeks"] != 0:
        raise ConfigError(
            f"population.warmup_weeks: got {pop['warmup_weeks']}, expected 0 for a "
            f"{pop['mode']} population (everyone starts together at week 0)"
        )
    _check_horizon(cfg)
    agents = pop["n"] * cfg["replicates"]
    if cfg["engine"] == "agents" and agents > 200_000:
        raise ConfigError(
            f"engine: 'agents' with {agents} people would take hours; use "
            "engine=vectorised or at most 200000 people"
        )


def _check_population_modes(pop):
    """Keys that belong to one mode or one deprivation index only (issue 20)."""
    shares = pop["start_state_shares"]
    if pop["mode"] == "out_of_work" and shares is None:
        raise ConfigError("population.start_state_shares: missing, required for mode "
                          "out_of_work (shares of unemployed, inactive, inactive_benefit)")
    if pop["mode"] != "out_of_work" and shares is not None:
        raise ConfigError(f"population.start_state_shares: only for mode out_of_work, "
                          f"got mode {pop['mode']!r}")
    if pop["deprivation_index"] is None:
        pop["deprivation_index"] = "imd"
    if pop["deprivation_index"] == "simd" and pop["simd_gradient"] is None:
        raise ConfigError("population.simd_gradient: missing, required with "
                          "deprivation_index simd (exponent on the IMD gradients; 1 = same)")


def _check_horizon(cfg):
    """Settings that reach beyond the observed weeks.

    Errors, when the setting can never work: ``outcomes.sustained_weeks`` longer than the
    horizon (no return could ever be seen to last), and a component's
    ``eligibility.refer_at_week`` that no absence reaches while the programme runs
    (observation weeks; a workforce's warm-up adds its weeks of earlier absences).
    A warning, when the run is right but reports less than the config lists: RTW weeks
    beyond the horizon are left out, and the warning names each. Snapshot weeks beyond the
    horizon and sustained-RTW weeks whose returns cannot be followed ``sustained_weeks``
    before the horizon (sim.results.outcomes) are left out too, without a warning (documented in
    configs/config.yaml).
    """
    horizon = cfg["horizon_weeks"]
    out = cfg["outcomes"]
    sustained = out["sustained_weeks"]
    if sustained > horizon:
        raise ConfigError(
            f"outcomes.sustained_weeks: got {sustained}, expected at most horizon_weeks "
            f"({horizon}): no return could be followed {sustained} weeks in work")
    reach = horizon + cfg["population"]["warmup_weeks"]
    for key, spec in ((cfg["programme"] or {}).get("components") or {}).items():
        week = spec["eligibility"]["refer_at_week"]
        if week >= reach:
            extra = (f" + population.warmup_weeks ({cfg['population']['warmup_weeks']})"
                     if reach != horizon else "")
            raise ConfigError(
                f"programme.components.{key}.eligibility.refer_at_week: got {week}, expected "
                f"less than horizon_weeks ({horizon}){extra}: no absence reaches week "
                f"{week} while the programme runs, so nobody would be referred")
    # Only the headline RTW weeks warn: the default snapshot weeks reach 260 and the last
    # RTW week's sustained figure needs sustained_weeks more, so warning on those would
    # print on every run shorter than five years (both are left out, as documented).
    missing = [f"rtw_{w}w and sustained_rtw_{w}w (outcomes.rtw_weeks {w})"
               for w in out["rtw_weeks"] if w > horizon]
    if missing:
        warnings.warn(f"horizon_weeks={horizon}: not reported: {'; '.join(missing)}",
                      ConfigWarning, stacklevel=2)


def to_plain(cfg) -> dict:
    """An OmegaConf/DictConfig (or plain dict) as a resolved plain dict."""
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg


def load_config(overrides: Sequence[str] = (), config_name: str = "config",
                config_dir: str | Path | None = None) -> dict:
    """Compose the Hydra config with ``overrides`` (as on the command line) and validate it.
    ``config_dir``: another configs/ tree (default: the repository's).

    >>> cfg = load_config(["population=workforce", "population.n=1000"])
    >>> cfg["population"]["mode"]
    'workforce'

    Each config file is read once per process (:mod:`sim.cli.compose_cache`, installed
    here as ``python -m sim`` installs it): a compose then takes about a third of Hydra's
    own time (189 -> 68 ms here), and gives the same config
    (tests/test_sweep_overhead.py). The explorer, the analysis commands and the tests
    compose hundreds of configs in one process.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from sim.cli.compose_cache import install as cache_config_files

    cache_config_files()

    # Inside a running Hydra app (the analysis experiments are one) Hydra is already
    # initialised with another config dir: set it aside, compose, and put it back.
    outer = GlobalHydra.instance()
    saved = outer.hydra if outer.is_initialized() else None
    outer.clear()
    try:
        with initialize_config_dir(version_base="1.3",
                                   config_dir=str(Path(config_dir or CONFIG_DIR).resolve())):
            composed = compose(config_name=config_name, overrides=list(overrides))
    finally:
        if saved is not None:
            GlobalHydra.instance().clear()
            GlobalHydra.instance().initialize(saved)
    plain = to_plain(composed)
    plain.pop("hydra", None)
    return validate(plain)
