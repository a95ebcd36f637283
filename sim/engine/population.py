"""Population synthesis: a synthetic UK working-age population with joint structure.

Attributes are drawn in an order that carries the dependencies the evidence describes:
ethnicity -> IMD quintile (minority groups live more often in deprived areas) -> health
condition (common and severe mental illness more frequent in deprived areas) -> severity;
occupation depends on deprivation and ethnicity; occupational health (OH) access on
employer size, occupation and deprivation, scaled so the overall share matches the
configured figure (45%, Society of Occupational Medicine). Every share comes from the
population config, where each value carries a source or an ``assumption:`` note.

Issue 20 adds, from a second keyed stream (``population_extra``, so the attributes above
are drawn exactly as before): precarious employment (temporary, zero-hours or agency work;
more common among the young and in deprived areas; it lowers OH access through
``oh_access.precarious_rr`` within the same overall OH share), disability (a long-term
condition limiting day-to-day activity, more likely with severe and long-term conditions)
and, for ``mode: out_of_work``, the state each person starts in (``start_state_shares``).

Columns are small integer codes indexing the tuples in :mod:`sim.engine.categories`; the IMD
quintile is stored as 1..5.

>>> from sim.config import load_config
>>> people = synthesise(load_config(["population.n=1000"])["population"], seed=1)
>>> people.n
1000
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, fields

import numpy as np

from sim.engine.categories import (
    ABSENT,
    AGE_BANDS,
    CONDITIONS,
    ETHNICITIES,
    SEVERITIES,
    STATES,
    UNEMPLOYED,
    WORKING,
)
from sim.engine.rng import POPULATION_KEY, decision_key, generator

EXTRA_KEY = decision_key("population_extra")  # issue 20's attributes: their own stream
# where each mode starts everyone (out_of_work: drawn from population.start_state_shares)
START_STATES = {"cohort": ABSENT, "workforce": WORKING, "jobseekers": UNEMPLOYED}
OUT_OF_WORK_STARTS = ("unemployed", "inactive", "inactive_benefit")

ATTRIBUTES = (
    "age_band",
    "sex",
    "ethnicity",
    "imd_quintile",
    "condition",
    "severity",
    "occupation",
    "employer_size",
    "oh_access",
    "disability",
    "employment",
)


@dataclass
class People:
    """Static person attributes as columns (struct of arrays), replicates stacked."""

    replicate: np.ndarray  # int16
    person_id: np.ndarray  # int32, 0..n_r-1 within its replicate
    age_band: np.ndarray  # int8 code into AGE_BANDS
    sex: np.ndarray  # int8 code into SEXES
    ethnicity: np.ndarray  # int8 code into ETHNICITIES
    imd_quintile: np.ndarray  # int8, 1 = most deprived
    condition: np.ndarray  # int8 code into CONDITIONS
    severity: np.ndarray  # int8 code into SEVERITIES
    occupation: np.ndarray  # int8 code into OCCUPATIONS (1 = manual)
    employer_size: np.ndarray  # int8 code into EMPLOYER_SIZES (1 = SME)
    oh_access: np.ndarray  # bool
    disability: np.ndarray  # int8 code into DISABILITY (1 = disabled)
    employment: np.ndarray  # int8 code into EMPLOYMENT_TYPES (1 = precarious)
    start_state: np.ndarray  # int8 code into STATES: the state at week 0 of the run

    @property
    def n(self) -> int:
        return int(self.replicate.size)

    @classmethod
    def concatenate(cls, parts: list[People]) -> People:
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                      for f in fields(cls)})

    def copy(self) -> People:
        return type(self)(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


def _categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray | None, n: int):
    """Draw category codes; ``probs`` is a vector, or a table with one row per ``rows`` code.

    A person's code is the number of cumulative shares at or below their uniform draw
    (capped at the last category), counted one category at a time: the same comparisons
    as one ``[people x categories]`` matrix, without it (issue 19: 3-4x faster at 1M)."""
    u = rng.random(n)
    cum = np.cumsum(np.atleast_2d(probs), axis=1)
    k = cum.shape[1]
    if rows is not None:
        rows = np.asarray(rows, dtype=np.intp)
    codes = np.zeros(n, dtype=np.int16)
    for j in range(k):
        codes += u >= (cum[0, j] if rows is None else cum[:, j][rows])
    return np.minimum(codes, k - 1).astype(np.int8)


def _vector(mapping: dict, names) -> np.ndarray:
    return np.array([float(mapping[k]) for k in names])


def synthesise_one(pop: dict, seed: int, replicate: int, n: int) -> People:
    """One replicate's population, from its own keyed random stream."""
    rng = generator(seed, replicate, POPULATION_KEY)
    ethnicity = _categorical(rng, _vector(pop["ethnicity_shares"], ETHNICITIES), None, n)
    imd_table = np.array([pop["imd_by_ethnicity"][e] for e in ETHNICITIES], dtype=float)
    imd = (_categorical(rng, imd_table, ethnicity, n) + 1).astype(np.int8)
    # condition_by_imd is given per condition (a row of 5 quintile shares); transpose so
    # each quintile's row is a distribution over conditions.
    cond_table = np.array([pop["condition_by_imd"][c] for c in CONDITIONS], dtype=float).T
    condition = _categorical(rng, cond_table, imd - 1, n)
    sev_table = np.array(
        [[pop["severity_by_condition"][c][s] for s in SEVERITIES] for c in CONDITIONS]
    )
    severity = _categorical(rng, sev_table, condition, n)
    age_band = _categorical(rng, _vector(pop["age_band_shares"], AGE_BANDS), None, n)
    sex = (rng.random(n) >= pop["female_share"]).astype(np.int8)  # 0 female, 1 male
    p_manual = np.minimum(
        1.0,
        np.asarray(pop["manual_by_imd"], float)[imd - 1]
        * _vector(pop["manual_rr_by_ethnicity"], ETHNICITIES)[ethnicity],
    )
    occupation = (rng.random(n) < p_manual).astype(np.int8)
    employer_size = (rng.random(n) < pop["sme_share"]).astype(np.int8)
    u_oh = rng.random(n)
    extra = generator(seed, replicate, EXTRA_KEY)
    employment = _precarious(extra, pop.get("precarious"), age_band, imd, n)
    oh = pop["oh_access"]
    rel = (
        np.where(employer_size == 1, oh["sme_rr"], 1.0)
        * np.where(occupation == 1, oh["manual_rr"], 1.0)
        * np.asarray(oh["imd_rr"], float)[imd - 1]
        * np.where(employment == 1, oh.get("precarious_rr") or 1.0, 1.0)
    )
    oh_access = u_oh < _probabilities(oh["share"], rel)
    disability = _disability(extra, pop.get("disability"), condition, severity, n)
    return People(
        replicate=np.full(n, replicate, dtype=np.int16),
        person_id=np.arange(n, dtype=np.int32),
        age_band=age_band,
        sex=sex,
        ethnicity=ethnicity,
        imd_quintile=imd,
        condition=condition,
        severity=severity,
        occupation=occupation,
        employer_size=employer_size,
        oh_access=oh_access,
        disability=disability,
        employment=employment,
        start_state=_start_state(extra, pop, n),
    )


def _probabilities(share: float, rel: np.ndarray) -> np.ndarray:
    """``min(1, k * rel)`` with ``k`` such that the mean is ``share``: ``k = share /
    mean(rel)`` unless some probabilities reach 1, then ``k`` is found by bisection (a
    high share, e.g. NHS OH access at 90%, would otherwise lose the capped mass).

    >>> _probabilities(0.9, np.array([1.0, 1.0, 2.0, 2.0])).round(4).tolist()
    [0.8, 0.8, 1.0, 1.0]
    """
    if not rel.size:
        return rel
    k = share / rel.mean()
    if (k * rel).max() <= 1.0 or share >= 1.0:
        return np.minimum(1.0, k * rel)
    # the bisection runs on the distinct values of ``rel`` with their shares of the people
    # (products of a few categorical factors: tens of values, not a million; 0.34 -> 0.04 s
    # at 1M people)
    values, counts = np.unique(rel, return_counts=True)
    weights = counts / rel.size
    lo, hi = k, 1.0 / values[values > 0].min()
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.minimum(1.0, mid * values) @ weights < share else (lo, mid)
    return np.minimum(1.0, hi * rel)


def _scaled_share(rng, share: float, rel: np.ndarray, n: int) -> np.ndarray:
    """Bernoulli draws with relative odds ``rel`` scaled so the mean is ``share``."""
    u = rng.random(n)
    return (u < _probabilities(share, rel)).astype(np.int8)


def _precarious(rng, spec, age_band, imd, n):
    """Precarious employment (1) by age band and deprivation; none without a spec."""
    if spec is None:
        return np.zeros(n, dtype=np.int8)
    rel = (_vector(spec["age_rr"], AGE_BANDS)[age_band]
           * np.asarray(spec["imd_rr"], float)[imd - 1])
    return _scaled_share(rng, spec["share"], rel, n)


def _disability(rng, spec, condition, severity, n):
    """Disability (1) by primary condition and severity; none without a spec."""
    if spec is None:
        return np.zeros(n, dtype=np.int8)
    rel = (_vector(spec["condition_rr"], CONDITIONS)[condition]
           * _vector(spec["severity_rr"], SEVERITIES)[severity])
    return _scaled_share(rng, spec["share"], rel, n)


def _start_state(rng, pop, n):
    """Week-0 state codes: fixed by the mode, or drawn for an out-of-work population."""
    if pop["mode"] != "out_of_work":
        return np.full(n, START_STATES[pop["mode"]], dtype=np.int8)
    shares = _vector(pop["start_state_shares"], OUT_OF_WORK_STARTS)
    codes = np.array([STATES.index(s) for s in OUT_OF_WORK_STARTS], dtype=np.int8)
    return codes[_categorical(rng, shares, None, n)]


# Per process: the populations synthesised last (and what is derived from them alone,
# :func:`kept`), while they hold at most KEEP_PEOPLE people in all (~18 bytes a person),
# keyed by their config, seed and replicates. A sweep's cells repeat a few populations
# (the 100-cell benchmark: 2 populations x 50 designs and assumption values), each a
# third to a half of a cell's model set-up (issue 19).
_MADE: OrderedDict = OrderedDict()
KEEP_PEOPLE = 500_000
_KEPT_LOCK = threading.Lock()


def population_key(pop: dict, seed: int, replicates: int) -> tuple | None:
    """The key the population of ``pop``, ``seed`` and ``replicates`` is kept under, or
    None if it is too large to keep or its config is not plain JSON data (a config from
    Hydra is; anything else, e.g. a numpy array, whose text may be abridged, is not kept
    rather than risk two configs sharing a key)."""
    if int(pop["n"]) * int(replicates) > KEEP_PEOPLE:
        return None
    try:
        text = json.dumps(pop, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):
        return None
    return (text, int(seed), int(replicates))


def kept(store: OrderedDict, key, make, people: int, copy):
    """``make()``, kept in ``store`` under ``key`` (None: not kept) while the store holds
    at most :data:`KEEP_PEOPLE` people; each caller gets its own ``copy`` of the kept one,
    so nothing it changes reaches the next (and threads building models at once do not
    share one)."""
    if key is None:
        return make()
    with _KEPT_LOCK:
        hit = store.get(key)
        if hit is not None:
            store.move_to_end(key)
    if hit is not None:
        return copy(hit[1])
    made = make()
    with _KEPT_LOCK:
        store[key] = (people, copy(made))
        while sum(size for size, _ in store.values()) > KEEP_PEOPLE:
            store.popitem(last=False)
    return made


def synthesise(pop: dict, seed: int, replicates: int = 1) -> People:
    """Stacked populations for ``replicates`` replicates of ``pop['n']`` people each.

    The same arguments give the same people (each replicate from its own keyed stream);
    a population of up to :data:`KEEP_PEOPLE` people is kept, and asked for again it is
    a copy of the kept one, not drawn again."""
    n = int(pop["n"])
    return kept(_MADE, population_key(pop, seed, replicates), lambda: People.concatenate(
        [synthesise_one(pop, seed, r, n) for r in range(replicates)]), n * replicates,
        People.copy)


