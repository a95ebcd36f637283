"""Baseline (usual care) pathways: weekly hazards and the decisions both engines share.

A person's week is one decision drawn from one uniform number ``u`` (stream
``transition``), laid out so that common random numbers stay monotone: "good" exits take
bands from the bottom of [0, 1), "bad" exits bands from the top (:func:`banded_outcome`).

* working:          new absence spell if ``u < p_spell``; ordinary job separation
                    (-> unemployed) in the top band, early retirement just below it.
* absent:           RTW if ``u < p_rtw``; from the top: job loss (-> unemployed),
                    inactivity on a health-related benefit, inactivity without one,
                    retirement.
* phased:           full return if ``u < p_full``; relapse (new absence spell) at the top.
* unemployed:       re-employment if ``u < p_reemploy``; from the top: inactivity,
                    retirement.
* inactive:         into work, then back to seeking work (-> unemployed) from the bottom;
                    from the top: a benefit claim (-> inactive_benefit), retirement.
* inactive_benefit: into work, then seeking work from the bottom; retirement at the top.
* retired:          absorbing.

Everyone reaching State Pension age retires that week whatever ``u`` (ageing: people move
up age bands over a run, and the age-dependent hazards follow; :meth:`Pathways.set_age`).

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

import copy
from dataclasses import dataclass

import numpy as np

from sim.engine.bycode import ByCode
from sim.engine.categories import AGE_BANDS, CONDITIONS, SEVERITIES
from sim.engine.multipliers import (  # noqa: F401  (ethnicity_onset_hr: public here too)
    STATIC_PARTS,
    _by_name,
    _person_multipliers,
    _Rows,
    ethnicity_onset_hr,
)

# Every deprivation gradient of the pathways config (a vector by quintile 1..5).
IMD_GRADIENTS = (("rtw", "imd_hr"), ("job_loss", "imd_hr"), ("new_spell", "imd_hr"),
                 ("unemployed", "imd_hr"), ("separation", "imd_hr"))


def population_adjusted(params: dict, population: dict | None) -> dict:
    """The pathways config as a population uses it: its ``long_covid`` block multiplies
    long COVID's Weibull RTW scale (``rtw_scale_x``: longer absences), phased-return share
    (``phased_share_x``, capped at 1) and inactivity hazard ratio (``inactivity_x``), which
    the pathways tables give as their proxy's values unless they name long COVID
    (sim.engine.categories.CONDITION_PROXY); and under ``deprivation_index: simd`` each
    IMD gradient, taken relative to the least deprived quintile, is raised to the power
    ``simd_gradient`` (1 = the SIMD gradient is the IMD one, quintile for quintile; 0 = no
    gradient; the least deprived quintile keeps its value). Other populations get
    ``params`` unchanged.

    >>> pw = {"rtw": {"imd_hr": [0.8, 0.85, 0.9, 0.95, 1.0]}}
    >>> pop = {"deprivation_index": "simd", "simd_gradient": 2.0}
    >>> [round(float(x), 4) for x in population_adjusted(pw, pop)["rtw"]["imd_hr"]]
    [0.64, 0.7225, 0.81, 0.9025, 1.0]
    """
    if not population:
        return params
    out = dict(params)
    lc = population.get("long_covid")
    if lc and "long_covid" in out.get("rtw", {}).get("scale_weeks", {}):
        out["rtw"] = dict(out["rtw"], scale_weeks=dict(
            out["rtw"]["scale_weeks"],
            long_covid=out["rtw"]["scale_weeks"]["long_covid"] * lc["rtw_scale_x"]))
        share = out["phased_return"]["share"]
        out["phased_return"] = dict(out["phased_return"], share=dict(
            share, long_covid=min(1.0, share["long_covid"] * lc["phased_share_x"])))
        hr = out["inactivity"]["condition_hr"]
        out["inactivity"] = dict(out["inactivity"], condition_hr=dict(
            hr, long_covid=hr["long_covid"] * lc["inactivity_x"]))
    if population.get("deprivation_index") != "simd":
        return out
    power = float(population.get("simd_gradient", 1.0))
    for block, key in IMD_GRADIENTS:
        if block in out and key in out[block]:
            values = np.asarray(out[block][key], dtype=np.float64)
            out[block] = dict(out[block], **{key: values[-1] * (values / values[-1]) ** power})
    return out


# Outcome codes of one week's decision (not states: several lead to the same state).
STAY, RETURN, JOB_LOSS, INACTIVITY = 0, 1, 2, 3
RELAPSE = 4            # a new absence spell (from working or phased)
INACTIVITY_BENEFIT = 5  # leave work / seeking work for inactivity on ESA or UC (LCW/LCWRA)
RETIRE = 6             # retirement (early, or at State Pension age)
SEEK = 7               # from inactivity back to seeking work
CLAIM = 8              # inactive -> on a health-related benefit
SEPARATION = 9         # ordinary job separation from work -> unemployed
NO_RETURN_WEEK = -32768  # "never returned": makes weeks-since-return huge


def competing_probabilities(*hazards):
    """Split ``1 - exp(-sum h)`` between competing causes in proportion to their hazards."""
    total = hazards[0]
    for h in hazards[1:]:  # left to right, as sum() (0 + h is h exactly for h >= 0)
        total = total + h
    p_any = -np.expm1(-total)
    safe_total = np.where(total > 0.0, total, 1.0)
    scale = p_any / safe_total
    return tuple(h * scale for h in hazards)


def hazard_to_probability(h):
    """Weekly probability of an event with weekly hazard ``h`` (no competing cause)."""
    return -np.expm1(-h)


def banded_outcome(u, low=(), high=()):
    """Outcome codes from one draw per person: ``low`` is ``(p, code)`` pairs given bands
    from 0 upwards, ``high`` pairs given bands from 1 downwards; STAY in between.

    Arrays or scalars alike. The probabilities of one person must sum to at most 1.

    >>> banded_outcome(np.array([0.05, 0.5, 0.97]), [(0.1, RETURN)], [(0.05, JOB_LOSS)]).tolist()
    [1, 0, 2]
    """
    lows, highs = [], []
    edge = 0.0
    for p, code in low:
        edge = edge + p
        lows.append((edge, code))
    edge = 1.0
    for p, code in high:
        edge = edge - p
        highs.append((edge, code))
    if np.ndim(u) == 0:  # one person (the per-agent engine)
        for edge, code in lows:
            if u < edge:
                return code
        for edge, code in highs:
            if u >= edge:
                return code
        return STAY
    # Probabilities are >= 0, so low edges only rise and high edges only fall: a draw
    # stays unless it is below the last low edge or at or above the last high edge. Only
    # those draws (a few per cent) are classified, the first matching band winning.
    out = np.zeros(u.shape, dtype=np.int8)
    if lows:
        moving = u < lows[-1][0]
        if highs:
            moving |= u >= highs[-1][0]
    elif highs:
        moving = u >= highs[-1][0]
    else:
        return out
    idx = moving.nonzero()[0]
    if idx.size == 0:
        return out
    sub = u[idx]

    def at(edge):
        return edge[idx] if np.ndim(edge) else edge

    # the first matching band wins (np.select's rule, without its overhead): assign the
    # bands last to first, so an earlier band overwrites a later one
    res = np.zeros(idx.size, dtype=np.int8)
    for edge, code in reversed(highs):
        res[sub >= at(edge)] = code
    for edge, code in reversed(lows):
        res[sub < at(edge)] = code
    out[idx] = res
    return out


def absent_outcome(u, p_rtw, p_job_loss, p_inactive, p_benefit=0.0, p_retire=0.0):
    """STAY, RETURN, JOB_LOSS, INACTIVITY, INACTIVITY_BENEFIT or RETIRE for an absent person."""
    return banded_outcome(u, [(p_rtw, RETURN)], [(p_job_loss, JOB_LOSS),
                                                 (p_benefit, INACTIVITY_BENEFIT),
                                                 (p_inactive, INACTIVITY),
                                                 (p_retire, RETIRE)])


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


def rtw_duration_decline(n_weeks: int, decline_per_year: float) -> np.ndarray:
    """Multiplier of the RTW hazard by spell week: ``exp(-decline * d / 52)``.

    On top of the Weibull shape: return chances keep falling the longer the absence lasts
    (the long tail; calibrated to the persistence of long-term absence, DWP RR774).
    """
    d = np.arange(n_weeks, dtype=np.float64)
    return np.exp(-float(decline_per_year) * d / 52.0)


def _static_property(name: str) -> property:
    """Everyone's static part ``name``, computed when asked (a run keeps none)."""
    return property(lambda self: self.static_parts(names=(name,))[name])


@dataclass
class Pathways:
    """Hazard tables (by condition x severity and duration) and per-person multipliers.

    Tables are indexed by spell week ``d`` (0 = first week of a spell) up to
    ``n_weeks - 1``; longer spells use the last entry. Per-person arrays that depend on age
    are products of a static part (``*_static``) and an age-band table (``*_by_age``), and
    are recomputed by :meth:`set_age` when people move up an age band. The static parts
    (:data:`STATIC_PARTS`) are not kept (4 float64 a person, 32 bytes, were a tenth of a
    long run's peak: issue 19): :meth:`static_parts` recomputes them from the people's
    static attributes for the people who move, the same products to the bit.
    """

    n_weeks: int
    rtw_table: np.ndarray  # [condition*3 + severity, d] weekly RTW hazard
    job_loss_table: np.ndarray  # [d]
    inactivity_table: np.ndarray  # [condition*3 + severity, d] (both inactive states)
    relapse_excess: np.ndarray  # [weeks since return] excess new-spell hazard
    relapse_window: int
    # per person (static for the run)
    job_loss_mult: np.ndarray
    relapse_mult: ByCode  # by condition
    early_before: ByCode  # by severity: spell length (weeks) below which a return is early
    phased_share: np.ndarray  # probability a return is phased
    full_return_hazard: float
    early_return_hr: float
    phased_relapse_hr: float
    benefit_share: float  # share of health-related exits from work that claim ESA/UC health
    separation_hazard: np.ndarray  # ordinary job separation while working
    # out of work: per person, relative to the unemployed re-employment multipliers
    inactive_to_work: float
    inactive_to_seeking: float
    inactive_to_benefit: float
    benefit_to_work: float
    benefit_to_seeking: float
    # per person, static part (static_parts) x age-band table (see set_age)
    rtw_by_age: np.ndarray
    inactivity_by_age: np.ndarray
    spell_by_age: np.ndarray
    reemploy_by_age: np.ndarray
    unemployed_inactive_base: float
    reemploy_level: float  # configured re-employment hazard (reemploy_static is relative)
    out_decline: np.ndarray  # [weeks out of work in the current state] into-work multiplier
    retire_by_age: np.ndarray  # weekly early-retirement hazard by age band
    # current values (age-dependent)
    rtw_mult: np.ndarray = None
    inactivity_mult: np.ndarray = None
    spell_hazard: np.ndarray = None  # background new-spell hazard while working
    reemploy_rel: np.ndarray = None  # re-employment multipliers (condition, IMD, ethnicity, age)
    unemployed_inactive_hazard: ByCode = None  # by age band
    retire_hazard: ByCode = None  # by age band
    age_band_now: np.ndarray = None  # int8, each person's current age band
    max_spell_hazard: float = 0.0  # bound over every age band (ageing cannot exceed it)
    max_retire_hazard: float = 0.0
    # (pathways params after population_adjusted, people, population config): what the
    # static parts are computed from (the people's attributes do not change over a run)
    static_source: tuple | None = None

    @classmethod
    def build(cls, params: dict, people, n_weeks: int, age_band=None,
              population: dict | None = None) -> Pathways:
        """Tables from the ``pathways`` config and multipliers from the population columns.

        ``age_band``: current age-band codes (default: the population's at the start).
        ``population``: the population config, for what a preset changes in the hazards
        (:func:`population_adjusted`): its onset multiplier, the hazard ratios of
        precarious employment and the deprivation gradients under SIMD.

        In steps: hazards by spell week (:func:`_duration_tables`), each person's static
        multipliers from condition, severity, deprivation, ethnicity, sex, occupation,
        employer and employment (:func:`_person_multipliers`), the flows between the
        out-of-work states and the age-band tables (:func:`_rates`); then the current,
        age-dependent values (:meth:`set_age`).
        """
        params = copy.deepcopy(population_adjusted(params, population))
        n_weeks = max(int(n_weeks), 1)
        rates = _rates(params, n_weeks)
        static = _person_multipliers(params, people, population)
        parts = {name: static.pop(name) for name in STATIC_PARTS}
        pw = cls(**_duration_tables(params, n_weeks), **static, **rates,
                 max_spell_hazard=float(parts["spell_static"].max(initial=0.0)
                                        * rates["spell_by_age"].max()),
                 max_retire_hazard=float(rates["retire_by_age"].max()),
                 static_source=(params, people, copy.deepcopy(population)))
        n = people.n
        pw.rtw_mult = np.empty(n)
        pw.inactivity_mult = np.empty(n)
        pw.spell_hazard = np.empty(n)
        pw.reemploy_rel = np.empty(n)
        # by age band only: tables read through each person's current band
        band = people.age_band if age_band is None else age_band
        pw.age_band_now = np.array(band, dtype=np.int8)
        pw.unemployed_inactive_hazard = ByCode(
            pw.unemployed_inactive_base * pw.inactivity_by_age, pw.age_band_now)
        pw.retire_hazard = ByCode(pw.retire_by_age, pw.age_band_now)
        pw._set_age(slice(None), band, parts)
        return pw

    def static_parts(self, idx=None, names=None) -> dict[str, np.ndarray]:
        """The static parts ``names`` (default :data:`STATIC_PARTS`) of people ``idx``
        (default: everyone), computed from their attributes as at the build."""
        params, people, population = self.static_source
        rows = people if idx is None else _Rows(people, idx)
        return _person_multipliers(params, rows, population, names or STATIC_PARTS)

    # the full static arrays, computed on demand (checks and bounds; the run keeps none)
    rtw_static = _static_property("rtw_static")
    inactivity_static = _static_property("inactivity_static")
    spell_static = _static_property("spell_static")
    reemploy_static = _static_property("reemploy_static")
    # re-employment hazard: the configured level x reemploy_rel, multiplied where it is
    # used (the same product; no per-person array kept)
    reemploy_hazard = property(lambda self: self.reemploy_level * self.reemploy_rel)

    def set_age(self, idx, band, parts: dict | None = None) -> None:
        """Recompute the age-dependent hazards of people ``idx`` now in age band ``band``
        (``parts``: their static parts, if computed already, as :meth:`static_parts`)."""
        idx = np.atleast_1d(np.asarray(idx))
        self._set_age(idx, np.asarray(band), self.static_parts(idx) if parts is None else parts)

    def _set_age(self, idx, band, parts: dict) -> None:
        """:meth:`set_age` with the static parts of ``idx`` given."""
        self.rtw_mult[idx] = parts["rtw_static"] * self.rtw_by_age[band]
        ina = self.inactivity_by_age[band]
        self.inactivity_mult[idx] = parts["inactivity_static"] * ina
        self.spell_hazard[idx] = parts["spell_static"] * self.spell_by_age[band]
        rel = parts["reemploy_static"] * self.reemploy_by_age[band]
        self.reemploy_rel[idx] = rel
        self.age_band_now[idx] = band  # unemployed_inactive_hazard, retire_hazard

    # ---- hazards shared by both engines (array or scalar inputs) -----------------------

    def absent_hazards(self, idx, cs, d, rtw_effect=None, job_loss_effect=None, copied=None):
        """RTW, job-loss, inactivity-on-benefit, inactivity-without and retirement hazards
        for absent people ``idx`` at spell week ``d``. ``copied``: the same per-person
        values already gathered, ``(cs * n_weeks, rtw_mult, job_loss_mult, inactivity_mult,
        retire_hazard)`` of ``idx`` (the vectorised engine's absent table keeps them)."""
        d = np.minimum(d, self.n_weeks - 1)
        if copied is None:
            copied = (cs * self.n_weeks, self.rtw_mult[idx], self.job_loss_mult[idx],
                      self.inactivity_mult[idx], self.retire_hazard[idx])
        row0, rtw_mult, job_loss_mult, inactivity_mult, retire = copied
        cell = row0 + d  # one flat index for both [cs, d] tables
        h_rtw = self.rtw_table.ravel()[cell] * rtw_mult
        if rtw_effect is not None:
            h_rtw = h_rtw * rtw_effect
        h_jl = self.job_loss_table[d] * job_loss_mult
        if job_loss_effect is not None:
            h_jl = h_jl * job_loss_effect
        h_in = self.inactivity_table.ravel()[cell] * inactivity_mult
        return (h_rtw, h_jl, h_in * self.benefit_share, h_in * (1.0 - self.benefit_share),
                retire)

    def absent_decision(self, u, idx, cs, d, rtw_effect=None, job_loss_effect=None,
                        copied=None):
        """Outcome codes for absent people (RETURN, JOB_LOSS, INACTIVITY_BENEFIT,
        INACTIVITY, RETIRE or STAY); ``copied`` as in :meth:`absent_hazards`."""
        h_rtw, h_jl, h_ib, h_in, h_ret = self.absent_hazards(idx, cs, d, rtw_effect,
                                                             job_loss_effect, copied)
        p_rtw, p_jl, p_ib, p_in, p_ret = competing_probabilities(h_rtw, h_jl, h_ib, h_in,
                                                                 h_ret)
        return absent_outcome(u, p_rtw, p_jl, p_in, p_ib, p_ret)

    def working_decision(self, u, idx, h_spell):
        """Working people ``idx`` with new-spell hazard ``h_spell`` (background plus any
        relapse excess): RELAPSE (a new spell), SEPARATION, RETIRE or STAY."""
        p_spell, p_sep, p_ret = competing_probabilities(
            h_spell, self.separation_hazard[idx], self.retire_hazard[idx])
        return banded_outcome(u, [(p_spell, RELAPSE)], [(p_sep, SEPARATION), (p_ret, RETIRE)])

    def unemployed_decision(self, u, idx, d, reemploy_effect=None):
        """RETURN (re-employment), INACTIVITY, RETIRE or STAY for unemployed people ``d``
        weeks into their spell (re-employment falls with time out of work)."""
        h_re = (self.reemploy_level * self.reemploy_rel[idx]
                * self.out_decline[np.minimum(d, self.n_weeks - 1)])
        if reemploy_effect is not None:
            h_re = h_re * reemploy_effect
        p_re, p_in, p_ret = competing_probabilities(
            h_re, self.unemployed_inactive_hazard[idx], self.retire_hazard[idx])
        return banded_outcome(u, [(p_re, RETURN)], [(p_in, INACTIVITY), (p_ret, RETIRE)])

    def inactive_decision(self, u, idx, on_benefit, d, reemploy_effect=None):
        """People inactive because of ill health: RETURN (into work), SEEK (back to seeking
        work), CLAIM (a health-related benefit; not for those already on one), RETIRE.

        The into-work hazard carries the person's re-employment multipliers (condition,
        deprivation, ethnicity, age: ``reemploy_rel``) and any programme
        effect on re-employment (IPS and supported employment serve people out of work), and
        falls with ``d``, the weeks in the current state (``out_of_work.duration_decline_per_year``:
        "two years on ESA, more likely to retire than return to work")."""
        rel = self.reemploy_rel[idx] * self.out_decline[np.minimum(d, self.n_weeks - 1)]
        if reemploy_effect is not None:
            rel = rel * reemploy_effect
        to_work = np.where(on_benefit, self.benefit_to_work, self.inactive_to_work) * rel
        to_seek = np.where(on_benefit, self.benefit_to_seeking, self.inactive_to_seeking)
        claim = np.where(on_benefit, 0.0, self.inactive_to_benefit)
        p_work, p_seek, p_claim, p_ret = competing_probabilities(
            to_work, to_seek, claim, self.retire_hazard[idx])
        return banded_outcome(u, [(p_work, RETURN), (p_seek, SEEK)],
                              [(p_claim, CLAIM), (p_ret, RETIRE)])

    def relapse_hazard(self, idx, since_return, early, phased, relapse_effect=None):
        """Excess new-spell hazard for people back at work ``since_return`` weeks ago
        (``since_return < relapse_window``)."""
        h = self.relapse_excess[since_return] * self.relapse_mult[idx]
        h = h * np.where(early, self.early_return_hr, 1.0)
        h = h * np.where(phased, self.phased_relapse_hr, 1.0)
        if relapse_effect is not None:
            h = h * relapse_effect
        return h


# ---- the steps of Pathways.build ---------------------------------------------------------

def _duration_tables(params: dict, n_weeks: int) -> dict:
    """Weekly hazards by spell week: RTW by condition x severity (Weibull x the long-tail
    decline x the severity HR), job loss and inactivity (duration profiles around the end
    of Statutory Sick Pay; inactivity by condition x severity) and the excess new-spell
    hazard in the weeks after a return (relapse)."""
    rtw, jl, ina = params["rtw"], params["job_loss"], params["inactivity"]
    spell = params["new_spell"]
    sev_hr = _by_name(rtw["severity_hr"], SEVERITIES)
    decline = rtw_duration_decline(n_weeks, rtw["duration_decline_per_year"])
    rows = []
    for c in CONDITIONS:
        base = weibull_weekly_hazards(rtw["scale_weeks"][c], rtw["shape"][c], n_weeks)
        rows.extend(base * decline * s for s in sev_hr)

    job_loss_table = jl["weekly_hazard"] * duration_profile(
        n_weeks, jl["duration_slope_per_year"], jl["ssp_end_week"], jl["ssp_end_hr"]
    )
    ina_profile = ina["weekly_hazard"] * duration_profile(
        n_weeks, ina["duration_slope_per_year"], jl["ssp_end_week"], ina["ssp_end_hr"]
    )
    # capability / dismissal processes once Statutory Sick Pay has ended
    ina_profile[np.arange(n_weeks) >= jl["ssp_end_week"]] += ina["post_ssp_weekly"]
    ina_cond = _by_name(ina["condition_hr"], CONDITIONS)
    ina_sev = _by_name(ina["severity_hr"], SEVERITIES)

    window = int(spell["relapse_window_weeks"])
    since = np.arange(window, dtype=np.float64)
    relapse_excess = spell["relapse_excess_weekly"] * np.exp(
        -since / spell["relapse_decay_weeks"]
    )
    return {"n_weeks": n_weeks, "rtw_table": np.array(rows),
            "job_loss_table": job_loss_table,
            "inactivity_table": np.array(
                [ina_profile * hc * hs for hc in ina_cond for hs in ina_sev]),
            "relapse_excess": relapse_excess, "relapse_window": window}


def _rates(params: dict, n_weeks: int) -> dict:
    """Rates the same for everyone: the end of a phased return, the relapse HRs of early
    and phased returns, the benefit share of health exits, the flows between the
    out-of-work states with their decline by weeks out, and the age-band tables."""
    ina, spell, unemp = params["inactivity"], params["new_spell"], params["unemployed"]
    out = params["out_of_work"]
    flows = ("inactive_to_work", "inactive_to_seeking", "inactive_to_benefit",
             "benefit_to_work", "benefit_to_seeking")
    by_age = {"rtw": params["rtw"], "inactivity": ina, "spell": spell, "reemploy": unemp}
    return {
        "full_return_hazard": float(params["phased_return"]["to_full_weekly_hazard"]),
        "early_return_hr": float(spell["early_return_hr"]),
        "phased_relapse_hr": float(spell["phased_return_hr"]),
        "benefit_share": float(ina["benefit_share"]),
        **{flow: float(out[f"{flow}_weekly"]) for flow in flows},
        **{f"{name}_by_age": _by_name(block["age_hr"], AGE_BANDS)
           for name, block in by_age.items()},
        "unemployed_inactive_base": float(unemp["to_inactive_weekly"]),
        "reemploy_level": float(unemp["reemployment_weekly"]),
        "out_decline": rtw_duration_decline(n_weeks, out["duration_decline_per_year"]),
        "retire_by_age": _by_name(params["retirement"]["early_weekly"], AGE_BANDS),
    }
