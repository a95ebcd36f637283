"""Who a component may serve: the static part of eligibility, by any person attribute.

A component's ``eligibility`` block (configs/component/*.yaml) and a ``targeting``
modifier (configs/modifier/*.yaml) can each restrict the people served by any of the
person attributes below. A key that is absent or ``null`` restricts nothing; a list keeps
only people whose value is in it. A person must pass every restriction of the component
and of every targeting modifier of the design (they combine with AND)::

    eligibility:
      state: unemployed          # the state served: absent | unemployed | inactive |
      refer_at_week: 0           #   inactive_benefit (benefit status: ESA/UC health)
      age_bands: [16-24]         # young people (e.g. IPS for young adults)
      employer_sizes: [sme]      # small and medium employers ...
      oh_access: [false]         # ... without occupational health
      disabilities: [disabled]   # a long-term condition limiting daily activity
      employment: [precarious]   # temporary, zero-hours or agency work

Benefit status is a state, not a fixed attribute: ``state: inactive_benefit`` serves
people inactive for ill health on a health-related benefit (ESA, UC with LCW/LCWRA),
``state: inactive`` those inactive without one (sim.engine.categories).

Age band is the band at the start of the run (people age across bands over a run; a
component refers people by the band they were in when the population was drawn).

The table :data:`ATTRIBUTES` is the one place that maps config keys to person columns;
sim.config builds the validation from it (one-line error for an unknown value) and
sim.programme.interventions calls :func:`static_mask` once per component.
"""

from __future__ import annotations

import numpy as np

from sim.engine.categories import (
    AGE_BANDS,
    CONDITIONS,
    DISABILITY,
    EMPLOYER_SIZES,
    EMPLOYMENT_TYPES,
    ETHNICITIES,
    IMD_QUINTILES,
    OCCUPATIONS,
    SEVERITIES,
    SEXES,
)

# config key -> (People column, the values in code order, what one value is called).
# Columns hold codes into the value tuple, except imd_quintile (the quintile itself,
# 1 = most deprived) and oh_access (bool).
ATTRIBUTES = {
    "conditions": ("condition", CONDITIONS, "condition"),
    "severities": ("severity", SEVERITIES, "severity"),
    "imd_quintiles": ("imd_quintile", IMD_QUINTILES, "IMD quintile"),
    "age_bands": ("age_band", AGE_BANDS, "age band"),
    "sexes": ("sex", SEXES, "sex"),
    "ethnicities": ("ethnicity", ETHNICITIES, "ethnic group"),
    "occupations": ("occupation", OCCUPATIONS, "occupation"),
    "employer_sizes": ("employer_size", EMPLOYER_SIZES, "employer size"),
    "oh_access": ("oh_access", (False, True), "occupational health access (true/false)"),
    "disabilities": ("disability", DISABILITY, "disability status"),
    "employment": ("employment", EMPLOYMENT_TYPES, "employment type"),
}
# keys every component must give (the others are optional: null = everyone)
REQUIRED = ("conditions", "severities", "imd_quintiles")
OPTIONAL = tuple(k for k in ATTRIBUTES if k not in REQUIRED)


def _codes(people, column: str) -> np.ndarray:
    values = getattr(people, column)
    if column == "imd_quintile":
        return values.astype(np.intp) - 1
    return values.astype(np.intp)


def attribute_mask(people, key: str, allowed) -> np.ndarray:
    """People whose ``key`` attribute is one of ``allowed`` (``None``: everyone)."""
    if allowed is None:
        return np.ones(people.n, dtype=bool)
    column, names, _ = ATTRIBUTES[key]
    ok = np.array([any(v == a and isinstance(v, bool) == isinstance(a, bool) for a in allowed)
                   for v in names])
    return ok[_codes(people, column)]


def static_mask(eligibility: dict, people, modifiers=()) -> np.ndarray:
    """The static eligibility of one component: its own restrictions AND every targeting
    modifier's, by each attribute in :data:`ATTRIBUTES` (validated configs only)."""
    mask = np.ones(people.n, dtype=bool)
    blocks = [eligibility] + [m for m in modifiers if m.get("kind") == "targeting"]
    for block in blocks:
        for key in ATTRIBUTES:
            if block.get(key) is not None:
                mask &= attribute_mask(people, key, block[key])
    return mask
