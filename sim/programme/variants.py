"""Named design variants: a label and settings of the programme, swept beside usual care.

A variant is defined under ``variants`` (in an experiment YAML or on the command line)
and chosen with ``variant=<label>``; sweeping ``variant=a,b`` together with
``programme=usual_care,<design>`` runs every design in every variant::

    variants:
      refer_week_1:  {programme.components.rtw_coordinator.eligibility.refer_at_week: 1}
      refer_week_4:  {programme.components.rtw_coordinator.eligibility.refer_at_week: 4}
    hydra.sweeper.params:
      programme: usual_care,rtw_coordinator
      variant: refer_week_1,refer_week_4

Each variant's settings are ``programme.``-keys of settings the design already has. A
design that has none of them (usual care has no components) runs unchanged: usual care is
the same reference for every variant, and the report shows it once. A design that has
some of a variant's settings but not all is an error (one line), as is a label that
``variants`` does not define. Applied variants are recorded as ``programme.variant`` (the
label), which names the design's row in reports and ``comparison.csv``.
"""

from __future__ import annotations

import copy

PREFIX = "programme."


class VariantError(ValueError):
    """A variant that cannot be applied (one line)."""


def _lookup(node, parts):
    for name in parts:
        if not isinstance(node, dict) or name not in node:
            return False, None
        node = node[name]
    return True, node


def apply_variant(cfg: dict) -> dict:
    """``cfg`` with the chosen variant's settings applied to its programme (a copy)."""
    label = cfg.get("variant")
    variants = cfg.get("variants") or {}
    if not isinstance(variants, dict):
        raise VariantError(f"variants: got {variants!r}, expected a mapping of label to "
                           "settings")
    for name, settings in variants.items():
        if not isinstance(settings, dict) or not settings:
            raise VariantError(f"variants.{name}: expected a mapping of programme settings "
                               f"to values, e.g. {{{PREFIX}components.<key>.eligibility."
                               "refer_at_week: 1}")
        for key in settings:
            if not str(key).startswith(PREFIX):
                raise VariantError(f"variants.{name}.{key}: a variant sets the design's "
                                   f"settings only (keys starting '{PREFIX}'); set other "
                                   "settings for the whole sweep instead")
    if label is None:
        return cfg
    if not isinstance(label, str) or label not in variants:
        known = ", ".join(map(str, variants)) or "none defined"
        raise VariantError(f"variant: unknown variant {label!r} (variants: {known}); define "
                           "it under variants (README 'Design variants')")
    out = copy.deepcopy(cfg)
    programme = out.get("programme")
    found, missing = [], []
    for key, value in variants[label].items():
        parts = str(key)[len(PREFIX):].split(".")
        ok, _ = _lookup(programme, parts)
        (found if ok else missing).append((key, parts, value))
    if not found:  # e.g. usual care: the variant does not touch this design
        return out
    if missing:
        name = programme.get("name") if isinstance(programme, dict) else "?"
        raise VariantError(f"variants.{label}.{missing[0][0]}: programme {name} has no such "
                           f"setting (it has {found[0][0]}); a variant's settings must all "
                           "exist in each design it changes")
    for _, parts, value in found:
        _, parent = _lookup(programme, parts[:-1])
        parent[parts[-1]] = copy.deepcopy(value)
    programme["variant"] = label
    return out
