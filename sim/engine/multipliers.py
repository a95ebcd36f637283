"""Each person's static hazard multipliers, from their attributes and the pathways config.

Split from :mod:`sim.engine.pathways` (issue 19): the run keeps no per-person static parts
(:data:`STATIC_PARTS`); :meth:`sim.engine.pathways.Pathways.set_age` recomputes them here
for the few people who move up an age band (:class:`_Rows`), the same products to the bit.
"""

from __future__ import annotations

import numpy as np

from sim.engine.bycode import ByCode
from sim.engine.categories import CONDITIONS, ETHNICITIES, SEVERITIES, SEXES


def _by_name(mapping: dict, names: tuple) -> np.ndarray:
    return np.array([float(mapping[n]) for n in names], dtype=np.float64)


def ethnicity_onset_hr(spell: dict) -> np.ndarray:
    """Onset hazard ratio by ethnic group (ETHNICITIES order), from ``new_spell``.

    ``ethnicity_onset_hr`` is the hazard ratio of the Black group vs White British
    (registry ``ethnicity_onset_hr_assumed``: 1, range 1-1.94); every other group gets it
    raised to its ``ethnicity_onset_profile`` exponent (the group's log hazard ratio relative
    to the Black group's in the source, Dorrington et al. 2020: 0 for no difference). At 1
    (the default) every group's ratio is exactly 1.
    """
    return float(spell["ethnicity_onset_hr"]) ** _by_name(spell["ethnicity_onset_profile"],
                                                          ETHNICITIES)


STATIC_PARTS = ("rtw_static", "inactivity_static", "spell_static", "reemploy_static")


class _Rows:
    """People ``idx`` of ``people``: each attribute gathered on access (what
    :func:`_person_multipliers` reads), for the few people who move up an age band."""

    def __init__(self, people, idx):
        self._people, self._idx = people, idx
        self.n = int(np.asarray(idx).size)

    def __getattr__(self, name):
        return getattr(self._people, name)[self._idx]


def _pick(values, codes) -> np.ndarray:
    """Each person's value of a per-category table (``codes`` index ``values``)."""
    return np.asarray(values, dtype=np.float64)[codes]


def _flag(hr, mask) -> np.ndarray:
    """``hr`` for the people in ``mask``, 1 for the others."""
    return np.where(mask, float(hr), 1.0)


def _person_multipliers(params: dict, p, population: dict | None,
                        names=None) -> dict:
    """Each person's static hazard multipliers (the age-band part is applied by
    :meth:`Pathways.set_age`): deprivation, ethnicity, occupation, employer size,
    occupational health and precarious employment on RTW and job loss; ethnicity on
    inactivity; condition, deprivation, occupation and sex on new spells (with the
    population's onset multiplier); condition on relapse; severity on what counts as an
    early return; condition and OH on phased returns; condition, deprivation and ethnicity
    on re-employment; deprivation and occupation on job separation. ``names``: only
    those (default: all)."""
    rtw, jl, ina = params["rtw"], params["job_loss"], params["inactivity"]
    spell, unemp, ph = params["new_spell"], params["unemployed"], params["phased_return"]
    sep = params["separation"]
    imd = p.imd_quintile - 1
    manual = p.occupation == 1
    sme = p.employer_size == 1
    oh = p.oh_access.astype(bool)
    precarious = getattr(p, "employment", np.zeros(p.n, dtype=np.int8)) == 1
    pre = (population or {}).get("precarious") or {}

    def rtw_static():
        return (
            _flag(pre.get("rtw_hr", 1.0), precarious)
            * _pick(rtw["imd_hr"], imd)
            * _pick(_by_name(rtw["ethnicity_hr"], ETHNICITIES), p.ethnicity)
            * _flag(rtw["manual_hr"], manual)
            * _flag(rtw["sme_hr"], sme)
            * _flag(rtw["oh_access_hr"], oh)
        )

    def job_loss_mult():
        return (
            _flag(pre.get("job_loss_hr", 1.0), precarious)
            * _pick(jl["imd_hr"], imd)
            * _pick(_by_name(jl["ethnicity_hr"], ETHNICITIES), p.ethnicity)
            * _flag(jl["manual_hr"], manual)
            * _flag(jl["sme_hr"], sme)
            * _flag(jl["oh_access_hr"], oh)
        )

    def spell_static():
        return (
            float((population or {}).get("onset_multiplier") or 1.0)
            * _pick(_by_name(spell["onset_weekly"], CONDITIONS), p.condition)
            * _pick(spell["imd_hr"], imd)
            * _flag(spell["manual_hr"], manual)
            * _pick(_by_name(spell["sex_hr"], SEXES), p.sex)
            * _pick(ethnicity_onset_hr(spell), p.ethnicity)
        )

    def phased_share():
        return np.minimum(
            1.0,
            _pick(_by_name(ph["share"], CONDITIONS), p.condition)
            * _flag(ph["oh_access_rr"], oh),
        )

    def reemploy_static():  # relative to the configured level reemployment_weekly
        return (
            _pick(_by_name(unemp["condition_hr"], CONDITIONS), p.condition)
            * _pick(unemp["imd_hr"], imd)
            * _pick(_by_name(unemp["ethnicity_hr"], ETHNICITIES), p.ethnicity)
        )

    makers = {
        "rtw_static": rtw_static, "job_loss_mult": job_loss_mult,
        "inactivity_static": lambda: _pick(_by_name(ina["ethnicity_hr"], ETHNICITIES),
                                           p.ethnicity),
        "spell_static": spell_static,
        # by condition / severity only: a table and the people's codes (sim.engine.bycode)
        "relapse_mult": lambda: ByCode(_by_name(spell["relapse_condition_hr"], CONDITIONS),
                                       p.condition),
        "early_before": lambda: ByCode(_by_name(spell["early_return_before_weeks"],
                                                SEVERITIES), p.severity),
        "phased_share": phased_share, "reemploy_static": reemploy_static,
        "separation_hazard": lambda: (sep["weekly_hazard"] * _pick(sep["imd_hr"], imd)
                                      * _flag(sep["manual_hr"], manual)),
    }
    return {name: make() for name, make in makers.items() if names is None or name in names}
