"""Baseline (usual care) pathways: weekly hazards and the decisions both engines share.

A person's week is one decision drawn from one uniform number ``u`` (stream
``transition``), laid out so that common random numbers stay monotone:

* absent:      RTW if ``u < p_rtw``; job loss if ``u >= 1 - p_jl``; inactivity just
               below job loss; otherwise stay absent.
* phased:      full return if ``u < p_full``; relapse (new absence spell) if
               ``u >= 1 - p_relapse``.
* working:     new absence spell if ``u < p_spell``.
* unemployed:  re-employment if ``u < p_reemploy``; inactivity if ``u >= 1 - p_inactive``.
* inactive:    absorbing.

Because the "good" exit sits at the bottom of [0, 1) and the "bad" exits at the top, a
programme that raises an RTW hazard only ever moves a draw from "stay" (or a bad exit)
into RTW, never the other way: with common random numbers, a stronger effect cannot make
anyone's first return later.

Cause-specific weekly hazards ``h_k`` become probabilities with the standard discrete
competing-risks split: ``p_any = 1 - exp(-sum h)``, ``p_k = p_any * h_k / sum h``.

The functions here take numpy arrays or numpy scalars alike: the vectorised engine calls
them on index arrays of agents, the per-agent engine on one agent's values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.categories import (
    AGE_BANDS,
    CONDITIONS,
    ETHNICITIES,
    SEVERITIES,
)

STAY, RETURN, JOB_LOSS, INACTIVITY = 0, 1, 2, 3
NO_RETURN_WEEK = -32768  # "never returned": makes weeks-since-return huge


def competing_probabilities(*hazards):
    """Split ``1 - exp(-sum h)`` between competing causes in proportion to their hazards."""
    total = sum(hazards)
    p_any = -np.expm1(-total)
    safe_total = np.where(total > 0.0, total, 1.0)
    scale = p_any / safe_total
    return tuple(h * scale for h in hazards)


def hazard_to_probability(h):
    """Weekly probability of an event with weekly hazard ``h`` (no competing cause)."""
    return -np.expm1(-h)


def absent_outcome(u, p_rtw, p_job_loss, p_inactive):
    """STAY, RETURN, JOB_LOSS or INACTIVITY for an absent person with draw ``u``."""
    top = 1.0 - p_job_loss
    return np.where(
        u < p_rtw,
        RETURN,
        np.where(u >= top, JOB_LOSS, np.where(u >= top - p_inactive, INACTIVITY, STAY)),
    )


def two_way_outcome(u, p_good, p_bad, good, bad):
    """``good`` if ``u < p_good``, ``bad`` if ``u >= 1 - p_bad``, else STAY."""
    return np.where(u < p_good, good, np.where(u >= 1.0 - p_bad, bad, STAY))


def weibull_weekly_hazards(scale_weeks: float, shape: float, n_weeks: int) -> np.ndarray:
    """Weekly hazard in week ``d`` of a spell: Lambda(d+1) - Lambda(d), Lambda(t)=(t/scale)^shape.

    With ``shape < 1`` the hazard falls with duration: the longer the absence, the less
    likely the return.
    """
    t = np.arange(n_weeks + 1, dtype=np.float64)
    cumulative = (t / scale_weeks) ** shape
    return np.diff(cumulative)


def duration_profile(n_weeks: int, slope_per_year: float, ssp_end_week: int, ssp_end_hr: float):
    """Multiplier of a job-loss / inactivity hazard by spell week: rises linearly with
    duration and steps up when Statutory Sick Pay ends."""
    d = np.arange(n_weeks, dtype=np.float64)
    profile = 1.0 + slope_per_year * d / 52.0
    profile[d >= ssp_end_week] *= ssp_end_hr
    return profile


def _by_name(mapping: dict, names: tuple) -> np.ndarray:
    return np.array([float(mapping[n]) for n in names], dtype=np.float64)


@dataclass
class Pathways:
    """Hazard tables (by condition x severity and duration) and per-person multipliers.

    Tables are indexed by spell week ``d`` (0 = first week of a spell) up to
    ``n_weeks - 1``; longer spells use the last entry.
    """

    n_weeks: int
    rtw_table: np.ndarray  # [condition*3 + severity, d] weekly RTW hazard
    job_loss_table: np.ndarray  # [d]
    inactivity_table: np.ndarray  # [condition*3 + severity, d]
    relapse_excess: np.ndarray  # [weeks since return] excess new-spell hazard
    relapse_window: int
    # per person (static for the run)
    rtw_mult: np.ndarray
    job_loss_mult: np.ndarray
    inactivity_mult: np.ndarray
    spell_hazard: np.ndarray  # background new-spell hazard while working
    relapse_mult: np.ndarray
    early_before: np.ndarray  # spell length (weeks) below which a return counts as early
    phased_share: np.ndarray  # probability a return is phased
    full_return_hazard: float
    reemploy_hazard: np.ndarray
    unemployed_inactive_hazard: np.ndarray
    early_return_hr: float
    phased_relapse_hr: float
    p_spell_background: np.ndarray  # hazard_to_probability(spell_hazard), precomputed

    @classmethod
    def build(cls, params: dict, people, n_weeks: int) -> Pathways:
        """Tables from the ``pathways`` config and multipliers from the population columns."""
        n_weeks = max(int(n_weeks), 1)
        rtw, jl, ina = params["rtw"], params["job_loss"], params["inactivity"]
        spell, unemp, ph = params["new_spell"], params["unemployed"], params["phased_return"]

        sev_hr = _by_name(rtw["severity_hr"], SEVERITIES)
        rows = []
        for c in CONDITIONS:
            base = weibull_weekly_hazards(rtw["scale_weeks"][c], rtw["shape"][c], n_weeks)
            rows.extend(base * s for s in sev_hr)
        rtw_table = np.array(rows)

        job_loss_table = jl["weekly_hazard"] * duration_profile(
            n_weeks, jl["duration_slope_per_year"], jl["ssp_end_week"], jl["ssp_end_hr"]
        )
        ina_profile = ina["weekly_hazard"] * duration_profile(
            n_weeks, ina["duration_slope_per_year"], jl["ssp_end_week"], ina["ssp_end_hr"]
        )
        ina_cond = _by_name(ina["condition_hr"], CONDITIONS)
        ina_sev = _by_name(ina["severity_hr"], SEVERITIES)
        inactivity_table = np.array(
            [ina_profile * hc * hs for hc in ina_cond for hs in ina_sev]
        )

        window = int(spell["relapse_window_weeks"])
        since = np.arange(window, dtype=np.float64)
        relapse_excess = spell["relapse_excess_weekly"] * np.exp(
            -since / spell["relapse_decay_weeks"]
        )

        p = people
        imd = p.imd_quintile - 1
        manual = p.occupation == 1
        sme = p.employer_size == 1
        oh = p.oh_access.astype(bool)

        def pick(values, codes):
            return np.asarray(values, dtype=np.float64)[codes]

        def flag(hr, mask):
            return np.where(mask, float(hr), 1.0)

        rtw_mult = (
            pick(rtw["imd_hr"], imd)
            * pick(_by_name(rtw["ethnicity_hr"], ETHNICITIES), p.ethnicity)
            * pick(_by_name(rtw["age_hr"], AGE_BANDS), p.age_band)
            * flag(rtw["manual_hr"], manual)
            * flag(rtw["sme_hr"], sme)
            * flag(rtw["oh_access_hr"], oh)
        )
        job_loss_mult = (
            pick(jl["imd_hr"], imd)
            * pick(_by_name(jl["ethnicity_hr"], ETHNICITIES), p.ethnicity)
            * flag(jl["manual_hr"], manual)
            * flag(jl["sme_hr"], sme)
            * flag(jl["oh_access_hr"], oh)
        )
        inactivity_mult = pick(_by_name(ina["age_hr"], AGE_BANDS), p.age_band) * pick(
            _by_name(ina["ethnicity_hr"], ETHNICITIES), p.ethnicity
        )
        spell_hazard = (
            pick(_by_name(spell["onset_weekly"], CONDITIONS), p.condition)
            * pick(spell["imd_hr"], imd)
            * flag(spell["manual_hr"], manual)
        )
        relapse_mult = pick(_by_name(spell["relapse_condition_hr"], CONDITIONS), p.condition)
        early_before = pick(_by_name(spell["early_return_before_weeks"], SEVERITIES), p.severity)
        phased_share = np.minimum(
            1.0,
            pick(_by_name(ph["share"], CONDITIONS), p.condition)
            * flag(ph["oh_access_rr"], oh),
        )
        reemploy = (
            unemp["reemployment_weekly"]
            * pick(_by_name(unemp["condition_hr"], CONDITIONS), p.condition)
            * pick(unemp["imd_hr"], imd)
            * pick(_by_name(unemp["ethnicity_hr"], ETHNICITIES), p.ethnicity)
            * pick(_by_name(unemp["age_hr"], AGE_BANDS), p.age_band)
        )
        unemployed_inactive = unemp["to_inactive_weekly"] * pick(
            _by_name(ina["age_hr"], AGE_BANDS), p.age_band
        )
        return cls(
            n_weeks=n_weeks,
            rtw_table=rtw_table,
            job_loss_table=job_loss_table,
            inactivity_table=inactivity_table,
            relapse_excess=relapse_excess,
            relapse_window=window,
            rtw_mult=rtw_mult,
            job_loss_mult=job_loss_mult,
            inactivity_mult=inactivity_mult,
            spell_hazard=spell_hazard,
            relapse_mult=relapse_mult,
            early_before=early_before,
            phased_share=phased_share,
            full_return_hazard=float(ph["to_full_weekly_hazard"]),
            reemploy_hazard=reemploy,
            unemployed_inactive_hazard=unemployed_inactive,
            early_return_hr=float(spell["early_return_hr"]),
            phased_relapse_hr=float(spell["phased_return_hr"]),
            p_spell_background=hazard_to_probability(spell_hazard),
        )

    # ---- hazards shared by both engines (array or scalar inputs) -----------------------

    def absent_hazards(self, idx, cs, d, rtw_effect=None, job_loss_effect=None):
        """RTW, job-loss and inactivity hazards for absent people ``idx`` at spell week ``d``."""
        d = np.minimum(d, self.n_weeks - 1)
        h_rtw = self.rtw_table[cs, d] * self.rtw_mult[idx]
        if rtw_effect is not None:
            h_rtw = h_rtw * rtw_effect
        h_jl = self.job_loss_table[d] * self.job_loss_mult[idx]
        if job_loss_effect is not None:
            h_jl = h_jl * job_loss_effect
        h_in = self.inactivity_table[cs, d] * self.inactivity_mult[idx]
        return h_rtw, h_jl, h_in

    def relapse_hazard(self, idx, since_return, early, phased, relapse_effect=None):
        """Excess new-spell hazard for people back at work ``since_return`` weeks ago
        (``since_return < relapse_window``)."""
        h = self.relapse_excess[since_return] * self.relapse_mult[idx]
        h = h * np.where(early, self.early_return_hr, 1.0)
        h = h * np.where(phased, self.phased_relapse_hr, 1.0)
        if relapse_effect is not None:
            h = h * relapse_effect
        return h
