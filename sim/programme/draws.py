"""The programme's weekly random decisions, drawn for every component in one batch.

Each component draws referral, uptake and drop-out from its own keyed streams
(:attr:`sim.programme.interventions.Component.draws`). The components of a design act on
their own rows only (who was referred to, waits for, or is enrolled in component ``k``
does not depend on component ``j``'s draws or moves in the same week), so a week's draws
of one kind can be made for all components at once (:meth:`sim.engine.rng.Streams.uniform_many`:
the same values as one call per component, for the numpy overhead of one call).
"""

from __future__ import annotations

import numpy as np

REFERRAL, UPTAKE, DROPOUT = 0, 1, 2  # positions in Component.draws


def chosen(streams, t: int, components, kind: int, groups, probability: str) -> list:
    """Per component ``k``: a bool per person of ``groups[k]`` (None: nobody, no draw),
    True where their draw of decision ``kind`` this week is under the component's
    per-person array ``probability`` (e.g. ``"p_referral"``) for them."""
    live = [k for k, g in enumerate(groups) if g is not None and g.size]
    out: list[np.ndarray | None] = [None] * len(groups)
    if not live:
        return out
    draws = streams.uniform_many(t, [(components[k].draws[kind], groups[k]) for k in live])
    for k, u in zip(live, draws, strict=True):
        out[k] = u < getattr(components[k], probability)[groups[k]]
    return out


__all__ = ["DROPOUT", "REFERRAL", "UPTAKE", "chosen"]
