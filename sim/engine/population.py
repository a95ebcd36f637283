"""Population synthesis: a synthetic UK working-age population with joint structure.

Attributes are drawn in an order that carries the dependencies the evidence describes:
ethnicity -> IMD quintile (minority groups live more often in deprived areas) -> health
condition (common and severe mental illness more frequent in deprived areas) -> severity;
occupation depends on deprivation and ethnicity; occupational health (OH) access on
employer size, occupation and deprivation, scaled so the overall share matches the
configured figure (45%, Society of Occupational Medicine). Every share comes from the
population config, where each value carries a source or an ``assumption:`` note.

Columns are small integer codes indexing the tuples in :mod:`sim.engine.categories`; the IMD
quintile is stored as 1..5.

>>> from sim.config import load_config
>>> people = synthesise(load_config(["population.n=1000"])["population"], seed=1)
>>> people.n
1000
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.engine.categories import (
    AGE_BANDS,
    CONDITIONS,
    ETHNICITIES,
    SEVERITIES,
)
from sim.engine.rng import POPULATION_KEY, generator

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

    @property
    def n(self) -> int:
        return int(self.replicate.size)

    @classmethod
    def concatenate(cls, parts: list[People]) -> People:
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                      for f in fields(cls)})


def _categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray | None, n: int):
    """Draw category codes; ``probs`` is a vector, or a table with one row per ``rows`` code."""
    u = rng.random(n)
    cum = np.cumsum(np.atleast_2d(probs), axis=1)
    cum = cum[rows] if rows is not None else np.broadcast_to(cum[0], (n, cum.shape[1]))
    codes = (u[:, None] >= cum).sum(axis=1)
    return np.minimum(codes, cum.shape[1] - 1).astype(np.int8)


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
    oh = pop["oh_access"]
    rel = (
        np.where(employer_size == 1, oh["sme_rr"], 1.0)
        * np.where(occupation == 1, oh["manual_rr"], 1.0)
        * np.asarray(oh["imd_rr"], float)[imd - 1]
    )
    p_oh = np.minimum(1.0, oh["share"] * rel / rel.mean()) if n else rel
    oh_access = rng.random(n) < p_oh
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
    )


def synthesise(pop: dict, seed: int, replicates: int = 1) -> People:
    """Stacked populations for ``replicates`` replicates of ``pop['n']`` people each."""
    n = int(pop["n"])
    return People.concatenate([synthesise_one(pop, seed, r, n) for r in range(replicates)])


