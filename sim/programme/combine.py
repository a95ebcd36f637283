"""How the effects of several components on one person combine (a design's ``combine``
rule), and how a former participant's share of an effect changes: the pure functions
behind :class:`sim.programme.interventions.Programme`'s weekly multipliers.

``strongest`` keeps the effect furthest from 1 (on the log scale) in one pool;
``domain_strongest`` keeps one such pool per domain and multiplies the pools;
``multiplicative`` multiplies every component's effect; ``multidomain_hr`` is an extra
term for people in two or more of the domains health, coordination and workplace.
"""

from __future__ import annotations

import numpy as np

from sim.programme.persistence import Persistence
from sim.vocabulary import DOMAINS, MULTIDOMAIN_EFFECTS


def whole(persistence: Persistence) -> bool:
    """Whether a former participant keeps the whole effect (``lasting`` 1: the share
    ``1 + 0 * 2 ** (-s / h)`` is exactly 1, and ``HR ** 1`` is HR)."""
    return persistence.lasting == 1.0


def fading(persistence: Persistence) -> bool:
    """Whether a former participant's share of the effect changes from week to week: a
    half-life and a part that fades (with ``lasting`` 1 the share is exactly 1, with no
    half-life exactly ``lasting``)."""
    return persistence.half_life_weeks > 0 and persistence.lasting < 1


def placement(components, lagged, idx, multidomain: bool):
    """Where each component's people sit in ``idx`` (sorted, unique; None: nobody), and
    who is in two or more of the domains health, coordination and workplace (None unless
    ``multidomain``): the same for every effect of a week, so found once."""
    pos = [np.searchsorted(idx, members) if members.size else None for members in lagged]
    return pos, multidomain_people(components, pos, idx.size) if multidomain else None


def multidomain_people(components, pos, size: int) -> np.ndarray:
    """Per position of ``idx``: in two or more of the domains health, coordination and
    workplace (``pos``: each component's people's positions, None: nobody)."""
    domains = np.zeros((len(DOMAINS), size), dtype=bool)
    for comp, p in zip(components, pos, strict=True):
        if p is not None:
            domains[DOMAINS.index(comp.domain), p] = True
    return domains[:3].sum(axis=0) >= 2


def combine(programme, key, lagged, pos, multi, size, shares=None):
    """:meth:`Programme._combined` given the placement (:func:`placement`).

    The pools multiply in order (``pools.prod(axis=0)`` of one pool per domain, or of one
    pool) starting from 1; a pool that only one component fills is 1 except at that
    component's people, so it multiplies only them (the same products, in the same order:
    ``1 * v`` and ``x * 1`` are exact), and no pool is built for it."""
    rule = programme.combine
    shares = shares if shares is not None else [None] * len(programme.components)
    pools: dict[int, list] = {}  # pool -> its components' (members, positions, share, values)
    for comp, members, p, share in zip(programme.components, lagged, pos, shares,
                                       strict=True):
        values = comp.effects[key]
        if p is None or values is None:
            continue
        d = DOMAINS.index(comp.domain) if rule == "domain_strongest" else 0
        pools.setdefault(d, []).append((members, p, share, values))
    combined = np.ones(size)
    for d in sorted(pools):
        filling = pools[d]
        if len(filling) == 1 or rule == "multiplicative":
            for members, p, share, values in filling:
                combined[p] *= values[members] if share is None else np.power(
                    values[members], share)
            continue
        combined *= _strongest(filling, size)
    if programme.multidomain_hr != 1.0 and key in MULTIDOMAIN_EFFECTS:
        combined[multi] *= programme.multidomain_hr
    return combined


def _strongest(filling, size):
    """One pool of several components: each person's effect furthest from 1 (log scale)."""
    pool = np.ones(size)
    for i, (members, p, share, values) in enumerate(filling):
        v = values[members] if share is None else np.power(values[members], share)
        if i == 0:  # the strongest of 1 and v is v
            pool[p] = v
        else:
            better = np.abs(np.log(v)) > np.abs(np.log(pool[p]))
            pool[p] = np.where(better, v, pool[p])
    return pool


__all__ = ["combine", "fading", "multidomain_people", "placement", "whole"]
