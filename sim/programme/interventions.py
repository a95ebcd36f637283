"""Programme designs: evidence-based components that change people's weekly hazards.

A **component** is a service (RTW coordinator, work-focused CBT, IPS ...) that declares

* eligibility: the state it acts on (absent, unemployed, inactive or inactive_benefit),
  the week in that state at which people are referred, and who may be served by any person
  attribute: condition, severity, IMD quintile, age band, sex, ethnic group, occupation,
  employer size, occupational health access (:mod:`sim.programme.eligibility`);
* referral and uptake probabilities, with relative risks by IMD quintile and ethnic group
  (disadvantaged groups get poorer access unless the design addresses it), and a weekly
  drop-out hazard;
* capacity (new starts per week per 100,000 people, in each replicate) with a waiting
  list, a priority rule and a maximum wait;
* effects while enrolled: hazard ratios on RTW, job loss and re-employment, a multiplier of
  the chance that a return is phased, and a hazard ratio on relapse after a supported
  return; modified by condition and severity (``HR_c = HR ** modifier_c``); the weekly
  ones fade after the service ends as its ``persistence`` says (:mod:`sim.programme.persistence`:
  ``HR ** g(s)`` s weeks after leaving, computed here from enrolment history);
* costs: fixed per week of running, per participant, per participant-week.

A **modifier** changes the design's services: ``cultural_adaptation`` raises uptake, lowers
drop-out and (``effect_exponent``) strengthens the effect for minority ethnic groups;
``targeting`` restricts eligibility by any person attribute (as above), sets the priority
rule, or boosts referral in deprived areas (proportionate universalism); ``outreach`` (community
or social health workers) raises referral and uptake for the groups it reaches.

A **design** (``configs/programme/*.yaml``) lists components and modifiers and says how the
effects of several components on one person combine (``combine``). Each component's
effect was estimated against usual care, so two components that work through the same
mechanism cannot both add their full effect: the default ``domain_strongest`` keeps only the
strongest effect within a domain (health, coordination, workplace, vocational) and
multiplies across domains (Cullen 2018: components from different domains add to each
other). ``strongest`` (only the largest effect overall: the lower bound) and
``multiplicative`` (the product of all: the upper bound, double counting within a domain)
are there for sensitivity analysis. ``multidomain_hr`` is an extra term for people in two or
more of the domains health, coordination and workplace; unsourced, so it is 1.0 (off) in the
registry, with a range the sensitivity analyses vary.

All programme logic runs at model level on the columns, before and after the week's
decisions, so the vectorised and per-agent engines share it exactly. Every random decision
(referral, uptake, drop-out) draws from a keyed subset stream, so with common random
numbers a design with zero uptake or unit effects reproduces usual care exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.engine.categories import (
    ABSENT,
    CONDITIONS,
    ETHNICITIES,
    INACTIVE,
    OUT_OF_WORK,
    PHASED,
    SEVERITIES,
    STATES,
    WORKING,
)
from sim.programme.combine import combine, fading, multidomain_people, placement, whole
from sim.programme.draws import DROPOUT, REFERRAL, UPTAKE, chosen
from sim.programme.effects import resolve_cost, resolve_persistence
from sim.programme.eligibility import static_mask
from sim.programme.persistence import NEGLIGIBLE, Persistence
from sim.vocabulary import (
    COMPONENT_STATES,
    DECLINED,
    DROPPED,
    EFFECT_KEYS,
    EFFECT_TO_HAZARD,
    ENROLLED,
    FINISHED,
    LEFT_LIST,
    MULTIDOMAIN_DOMAINS,
    MULTIDOMAIN_EFFECTS,
    NEVER,
    REEMPLOY_INACTIVE,
    STARTED,
    STATUS_NAMES,
    WAITING,
    WEEKLY_EFFECTS,
)

# the state a component serves; people inactive for ill health (on a health benefit or not)
# can be served too (IPS, WorkWell-type services for people out of work)
ACTS_ON = {name: STATES.index(name) for name in COMPONENT_STATES}  # name -> state code
_WEEKLY_HAZARDS = tuple((key, EFFECT_TO_HAZARD[key]) for key in WEEKLY_EFFECTS)


def _by_name(mapping, names, default=1.0):
    return np.array([float(mapping.get(n, default)) if mapping else default for n in names])


@dataclass
class Component:
    """One service of a design, with its per-person arrays precomputed for a population."""

    key: str
    label: str
    domain: str
    acts_on: int
    refer_week: int
    duration_weeks: int
    capacity: int | None
    priority: str
    max_wait_weeks: int
    eligible: np.ndarray  # bool per person (static part of eligibility)
    p_referral: np.ndarray
    p_uptake: np.ndarray
    p_dropout: np.ndarray  # weekly probability
    effects: dict  # effect key -> per-person multiplier (None if the component has none)
    cost_fixed_per_week: float
    cost_per_participant: float
    cost_per_week: float
    effect_lag_weeks: int
    persistence: Persistence = field(default_factory=Persistence)  # after the service ends

    @property
    def draws(self) -> tuple[str, str, str]:
        """Names of its random decisions (keyed subset streams): referral, uptake, drop-out."""
        names = self.__dict__.get("_draws")
        if names is None:
            names = self.__dict__["_draws"] = tuple(
                f"{self.key}:{d}" for d in ("referral", "uptake", "dropout"))
        return names


def _component_arrays(spec: dict, people, modifiers: list[dict], resolved: dict,
                      replicate_size: int, evidence_values: dict | None = None) -> Component:
    """Per-person eligibility, access probabilities and effects for one component."""
    n = people.n
    imd = people.imd_quintile - 1
    elig = spec["eligibility"]
    access = spec["access"]
    referral = access["referral"] * np.asarray(access["referral_imd_rr"], float)[imd] * (
        _by_name(access["referral_ethnicity_rr"], ETHNICITIES)[people.ethnicity])
    uptake = access["uptake"] * np.asarray(access["uptake_imd_rr"], float)[imd] * (
        _by_name(access["uptake_ethnicity_rr"], ETHNICITIES)[people.ethnicity])
    dropout_hr = np.ones(n)
    effect_exponent = np.ones(n)  # cultural adaptation: how much better services work
    priority = spec["capacity"]["priority"]
    for mod in modifiers:
        if mod["kind"] == "cultural_adaptation":
            uptake = uptake * _by_name(mod["uptake_rr"], ETHNICITIES)[people.ethnicity]
            dropout_hr = dropout_hr * _by_name(mod["dropout_hr"], ETHNICITIES)[people.ethnicity]
            if mod.get("effect_exponent") is not None:  # adapted services work better
                groups = np.isin(np.asarray(ETHNICITIES), mod.get("effect_groups") or [])
                value = resolve_cost(mod["effect_exponent"], evidence_values)
                effect_exponent = effect_exponent * np.where(groups, value, 1.0)[
                    people.ethnicity]
        elif mod["kind"] == "outreach":  # community or social health workers
            reached = _outreach_reach(mod, people)
            referral = referral * np.where(
                reached, resolve_cost(mod["referral_rr"], evidence_values), 1.0)
            uptake = uptake * np.where(
                reached, resolve_cost(mod["uptake_rr"], evidence_values), 1.0)
        elif mod["kind"] == "targeting":  # who it serves: eligibility.static_mask below
            if mod.get("referral_imd_rr") is not None:
                referral = referral * np.asarray(mod["referral_imd_rr"], float)[imd]
            if mod.get("priority") is not None:
                priority = mod["priority"]
    eligible = static_mask(elig, people, modifiers)  # any person attribute, AND targeting
    weekly_dropout = -np.expm1(-spec["access"]["dropout_weekly_hazard"] * dropout_hr)

    effects = {}
    cond_mod = _by_name(spec["effect_modification"]["condition"], CONDITIONS)
    sev_mod = _by_name(spec["effect_modification"]["severity"], SEVERITIES)
    exponent = cond_mod[people.condition] * sev_mod[people.severity] * effect_exponent
    for key in EFFECT_KEYS:
        value = resolved.get(key)
        if value is None or value == 1.0:
            effects[key] = None
            continue
        effects[key] = np.exp(np.log(value) * exponent)
    cost = {k: resolve_cost(v, evidence_values) for k, v in spec["cost"].items()}
    culture_cost = sum(resolve_cost(m["cost_per_participant_gbp"], evidence_values)
                       for m in modifiers if m["kind"] in ("cultural_adaptation", "outreach"))
    return Component(
        key=spec["key"],
        label=spec["label"],
        domain=spec["domain"],
        acts_on=ACTS_ON[elig["state"]],
        refer_week=int(elig["refer_at_week"]),
        duration_weeks=int(spec["duration_weeks"]),
        capacity=_capacity(spec["capacity"]["starts_per_week_per_100k"], replicate_size),
        priority=priority,
        max_wait_weeks=int(spec["capacity"]["max_wait_weeks"]),
        eligible=eligible,
        p_referral=np.minimum(1.0, referral),
        p_uptake=np.minimum(1.0, uptake),
        p_dropout=weekly_dropout,
        effects=effects,
        cost_fixed_per_week=float(cost["fixed_per_week_gbp"]),
        cost_per_participant=float(cost["per_participant_gbp"]) + culture_cost,
        cost_per_week=float(cost["per_participant_week_gbp"]),
        effect_lag_weeks=int(spec["effect_lag_weeks"]),
        persistence=resolve_persistence(spec.get("persistence"), evidence_values),
    )


def _outreach_reach(mod: dict, people) -> np.ndarray:
    """Per person: in a group an outreach modifier reaches (named ethnic groups or IMD
    quintiles; neither named: everyone)."""
    groups, quintiles = mod.get("ethnicities"), mod.get("imd_quintiles")
    if not groups and not quintiles:
        return np.ones(people.n, dtype=bool)
    reached = np.zeros(people.n, dtype=bool)
    if groups:
        reached |= np.isin(np.asarray(ETHNICITIES), groups)[people.ethnicity]
    if quintiles:
        reached |= np.isin(people.imd_quintile, quintiles)
    return reached


def _capacity(per_100k, replicate_size: int) -> int | None:
    """New starts per week in one replicate's population (None: no limit)."""
    if per_100k is None:
        return None
    return int(np.floor(per_100k * replicate_size / 100_000 + 0.5))


class _Rows:
    """One component's rows of the programme's per-person tables, as 1-D views (indexing a
    row with a person array costs about half of indexing the 2-D table with ``(k, idx)``)."""

    __slots__ = ("k", "status", "status_week", "wait_weeks", "start_week", "weeks_enrolled")

    def __init__(self, programme, k: int):
        self.k = k
        self.status = programme.status[k]
        self.status_week = programme.status_week[k]
        self.wait_weeks = programme.wait_weeks[k]
        self.start_week = programme.start_week[k]
        self.weeks_enrolled = programme.weeks_enrolled[k]


class Programme:
    """A design's components acting on one model's population.

    ``before_decisions(model, t)`` refers, enrols and sets this week's effect multipliers;
    ``after_decisions(model, t)`` attaches relapse protection to supported returns.
    """

    def __init__(self, design: dict, people, resolved_effects: dict, n_weeks: int,
                 evidence_values: dict | None = None):
        self.name = design["name"]
        self.combine = design["combine"]["rule"]
        # numbers or registry ids alike
        # evidence_values (id -> value) replace registry values, as in sim.programme.effects
        self.multidomain_hr = resolve_cost(design["combine"]["multidomain_hr"], evidence_values)
        modifiers = [m for m in design["modifiers"].values()] if design["modifiers"] else []
        specs = design["components"] or {}
        replicate_size = int(np.bincount(people.replicate).max()) if people.n else 0
        self.components = [
            _component_arrays(dict(spec, key=key), people, modifiers, resolved_effects[key],
                              replicate_size, evidence_values)
            for key, spec in specs.items()
        ]
        k, n = len(self.components), people.n
        self.status = np.zeros((k, n), dtype=np.int8)
        self.status_week = np.zeros((k, n), dtype=np.int32)
        self.weeks_enrolled = np.zeros((k, n), dtype=np.int16)
        self.wait_weeks = np.zeros((k, n), dtype=np.int16)
        self.start_week = np.full((k, n), -1, dtype=np.int32)  # engine week of the start
        self.waiting = [np.zeros(0, dtype=np.int64) for _ in range(k)]
        self.enrolled = [np.zeros(0, dtype=np.int64) for _ in range(k)]
        # people who left a component whose effect outlives it (sim.programme.persistence),
        # after the effect had started; their end week is status_week
        self.former = [np.zeros(0, dtype=np.int64) for _ in range(k)]
        self.starts_by_week = np.zeros((k, n_weeks + 1), dtype=np.int64)
        self._changed: list[np.ndarray] = []  # this week's (before_decisions, _members)
        # who entered their state in each of the last weeks (_note_entries), by week
        self._entered: dict[int, np.ndarray] = {}
        self._lookback = max([c.refer_week for c in self.components], default=0)
        self._mask = np.zeros(n, dtype=bool)  # scratch for _union
        self._where = np.full(n, -1, dtype=np.int64)  # scratch for _within
        self.imd = people.imd_quintile
        self.replicate = people.replicate
        # each component's rows (1-D views of the tables above, which are never replaced)
        self._rows = [_Rows(self, k) for k in range(k)]

    @property
    def active(self) -> bool:
        return bool(self.components)

    def install(self, effects) -> None:
        """Give the model's effect table full arrays for the effects this design uses."""
        n = self.status.shape[1]
        used = {key for c in self.components for key, v in c.effects.items() if v is not None}
        domains = {c.domain for c in self.components} & set(MULTIDOMAIN_DOMAINS)
        if self.multidomain_hr != 1.0 and len(domains) >= 2:
            used |= set(MULTIDOMAIN_EFFECTS)  # the multi-domain term acts on its own too
        for key in used:
            effects.arrays[EFFECT_TO_HAZARD[key]] = np.ones(n)
        # re-employment effects of services for people out of work act on every move into
        # work while the participant is out of work: from unemployment ("reemploy") and from
        # inactivity ("reemploy_inactive"), whichever state they joined in (IPS trials count
        # a job found by everyone randomised, whether job-seeking or on a health benefit)
        if any(c.acts_on in OUT_OF_WORK and c.effects["reemploy_hr"] is not None
               for c in self.components):
            effects.arrays[REEMPLOY_INACTIVE] = np.ones(n)

    # ---- weekly hooks ---------------------------------------------------------------

    def before_decisions(self, model, t: int) -> None:
        if not self.components:
            return
        state, since = model.columns["state"], model.columns["state_since"]
        self._changed = []  # people whose weekly multipliers may change (_set_effects)
        self._note_entries(t, since)
        comps, streams = self.components, model.streams
        # each component acts on its own rows only: each kind of draw is made for all
        # components in one batch (sim.programme.draws: the values of one call each)
        # 1. referral and uptake at the referral week of a spell (once per person)
        referrals: dict[tuple[int, int], np.ndarray] = {}  # components sharing a referral
        cands = []
        for comp, rows in zip(comps, self._rows, strict=True):
            cand = referrals.get((comp.acts_on, comp.refer_week))
            if cand is None:
                cand = referrals[comp.acts_on, comp.refer_week] = self._referral_week(
                    comp, t, state, since)
            cands.append(cand[comp.eligible[cand] & (rows.status[cand] == NEVER)]
                         if cand.size else None)
        referred = [None if c is None else c[m] for c, m in zip(
            cands, chosen(streams, t, comps, REFERRAL, cands, "p_referral"), strict=True)]
        took = chosen(streams, t, comps, UPTAKE, referred, "p_uptake")
        for k, (comp, rows) in enumerate(zip(comps, self._rows, strict=True)):
            if took[k] is not None:
                self._refer(comp, rows, t, referred[k], took[k])
            # 2-3. the waiting list and its starts (with no capacity limit nobody waits:
            # _refer starts them at once)
            if self.waiting[k].size:
                self._admit(comp, k, rows, t, state, since)
        # 4. drop-out and completion
        drops = chosen(streams, t, comps, DROPOUT, self.enrolled, "p_dropout")
        for k, (comp, rows) in enumerate(zip(comps, self._rows, strict=True)):
            if drops[k] is not None:
                self._leave(comp, k, rows, t, drops[k])
        self._set_effects(model, t)

    def _referral_week(self, comp, t, state, since) -> np.ndarray:
        """People at a component's referral week this week (before eligibility)."""
        if comp.acts_on == WORKING:  # in work for at least refer_week weeks (once)
            return np.flatnonzero((since <= t - comp.refer_week) & (state == WORKING))
        # in the state since week t - refer_week, i.e. entered then, still there
        cand = self._entered_at(t - comp.refer_week, since)
        return cand[(since[cand] == t - comp.refer_week) & (state[cand] == comp.acts_on)]

    def _refer(self, comp, rows, t, referred, took) -> None:
        """The referred who take it up (``took``) join the list; the others declined.
        (A person's draws do not depend on who else draws: only the referred draw uptake.)"""
        joins = referred[took]
        declined = referred[~took]
        rows.status[declined] = DECLINED
        rows.status_week[declined] = t
        rows.status_week[joins] = t
        if comp.capacity is None:  # nobody waits: what _admit would do with them this week
            # (they are in the state, waited 0 weeks <= max_wait_weeks, and wait_weeks is 0)
            self._start(comp, rows, t, joins)
            return
        rows.status[joins] = WAITING
        self.waiting[rows.k] = np.concatenate([self.waiting[rows.k], joins])

    def _admit(self, comp, k, rows, t, state, since) -> None:
        """The waiting list: leave when no longer in the target state or waited too long;
        then, in each replicate, start up to ``capacity`` people this week, by priority."""
        w = self.waiting[k]
        gone = (state[w] != comp.acts_on) | (t - rows.status_week[w] > comp.max_wait_weeks)
        if gone.any():
            left = w[gone]
            rows.status[left] = LEFT_LIST
            rows.wait_weeks[left] = t - rows.status_week[left]
            rows.status_week[left] = t
            w = w[~gone]
        if comp.capacity is None or w.size <= comp.capacity:  # everyone starts (the order
            start, w = w, w[:0]  # of the enrolled changes no result: each is drawn alone)
        else:
            order = self._priority_order(comp, w, since, k)
            ranked = w[order]
            rep = self.replicate[ranked]
            first_of_rep = np.searchsorted(rep, rep, side="left")
            within = np.arange(ranked.size) - first_of_rep
            take = within < comp.capacity
            start, w = ranked[take], np.sort(ranked[~take])
        if start.size:
            rows.wait_weeks[start] = t - rows.status_week[start]
            self._start(comp, rows, t, start)
        self.waiting[k] = w

    def _start(self, comp, rows, t, start) -> None:
        """``start`` (their wait already recorded) begin the service this week; with no
        lag their effect starts now (:meth:`_members`)."""
        if comp.effect_lag_weeks == 0:
            self._changed.append(start)
        rows.status[start] = ENROLLED
        rows.status_week[start] = t
        rows.start_week[start] = t
        self.enrolled[rows.k] = np.concatenate([self.enrolled[rows.k], start])
        self.starts_by_week[rows.k, min(t, self.starts_by_week.shape[1] - 1)] += start.size

    def _leave(self, comp, k, rows, t, drop) -> None:
        """Drop-out (``drop``: this week's draws of the enrolled) and completion of the
        enrolled; the rest count one more week."""
        e = self.enrolled[k]
        done = (t - rows.status_week[e]) >= comp.duration_weeks
        ends = drop | done
        if ends.any():
            status = rows.status
            status[e[drop & ~done]] = DROPPED
            status[e[done]] = FINISHED
            ended = e[ends]
            self._changed.append(ended)  # their effect changes: gone, or fading
            rows.status_week[ended] = t
            if comp.persistence.active:  # only those the effect had reached keep it
                had = (t - rows.start_week[ended]) > comp.effect_lag_weeks
                self.former[k] = np.concatenate([self.former[k], ended[had]])
            e = e[~ends]
            self.enrolled[k] = e
        rows.weeks_enrolled[e] += 1

    def _note_entries(self, t: int, since) -> None:
        """Keep who entered their current state in week ``t`` (``state_since == t``), for
        as many weeks as the latest referral week looks back: one pass over everyone a
        week instead of one per component."""
        self._entered[t] = np.flatnonzero(since == t)
        self._entered.pop(t - self._lookback - 1, None)

    def _entered_at(self, week: int, since) -> np.ndarray:
        """People with ``state_since == week`` then (a superset of those with it now)."""
        found = self._entered.get(week)
        return found if found is not None else np.flatnonzero(since == week)

    def _priority_order(self, comp, w, since, k):
        """Order of the waiting list, grouped by replicate: first come first served, or by
        priority with ties broken by waiting time then person index (deterministic)."""
        joined = self.status_week[k, w]
        rep = self.replicate[w]
        if comp.priority == "longest_absent":
            return np.lexsort((w, joined, since[w], rep))
        # the others by one int64 key in mixed radix (weeks joined 0..n_weeks, quintiles
        # 1-5): the keys are unique (w is), so its argsort is lexsort's order, ~8x faster
        n, weeks = self.status.shape[1], self.starts_by_week.shape[1] + 1
        group = rep.astype(np.int64)
        if comp.priority == "most_deprived":
            group = group * 6 + self.imd[w]
        return np.argsort((group * weeks + joined) * n + w)

    def _set_effects(self, model, t):
        """This week's multipliers, set only for the people whose multipliers may have
        changed since last week (everyone else keeps theirs, computed the same way):
        those who left a component this week, whose effect started (the lag passed) or
        decayed to nothing, and former participants of a component whose effect fades
        (:meth:`_members`). Someone in no component any more gets 1 (no effect)."""
        eff = model.effects.arrays
        lagged, shares = self._members(t)
        idx = self._union(self._changed)
        self._changed = []
        if not idx.size:
            return
        lagged, shares, pos = self._within(idx, lagged, shares)
        multi = (multidomain_people(self.components, pos, idx.size)
                 if self.multidomain_hr != 1.0 else None)
        for key, name in _WEEKLY_HAZARDS:
            if eff[name] is None:
                continue
            eff[name][idx] = combine(self, key, lagged, pos, multi, idx.size, shares)
        if eff[REEMPLOY_INACTIVE] is not None:  # only services for people out of work
            pos = [p if c.acts_on in OUT_OF_WORK else None
                   for c, p in zip(self.components, pos, strict=True)]
            multi = (multidomain_people(self.components, pos, idx.size)
                     if self.multidomain_hr != 1.0 else None)
            eff[REEMPLOY_INACTIVE][idx] = combine(self, "reemploy_hr", lagged, pos, multi,
                                                  idx.size, shares)

    def _within(self, idx, lagged, shares):
        """Each component's people who are in ``idx`` (sorted, unique), their shares, and
        their positions in ``idx`` (None: nobody), as :func:`placement` finds them (a
        scratch map person -> position instead of a binary search per component)."""
        where = self._where  # scratch: -1 between uses
        where[idx] = np.arange(idx.size)
        members, kept_shares, pos = [], [], []
        for m, g in zip(lagged, shares, strict=True):
            p = where[m]
            keep = p >= 0
            members.append(m[keep])
            kept_shares.append(None if g is None else g[keep])
            p = p[keep]
            pos.append(p if p.size else None)
        where[idx] = -1
        return members, kept_shares, pos

    def _union(self, groups: list[np.ndarray]) -> np.ndarray:
        """Sorted unique people in any of ``groups`` (np.unique's result), by a mask over
        everyone (np.unique, hash-based, costs more even for a few dozen people)."""
        if not any(g.size for g in groups):
            return np.zeros(0, np.int64)
        mask = self._mask  # scratch: all False between uses
        for g in groups:
            mask[g] = True
        idx = np.flatnonzero(mask)
        mask[idx] = False
        return idx

    def _members(self, t):
        """Per component: the people its weekly effects reach this week (enrolled past the
        lag, then former participants while their effect lasts) and each one's share of
        the enrolled log HR (None: all 1, e.g. nobody former or an effect that lasts whole).
        People whose effect starts this week join ``_changed`` (with no lag, :meth:`_start`
        adds them)."""
        members, shares = [], []
        for k, (c, e) in enumerate(zip(self.components, self.enrolled, strict=True)):
            if c.effect_lag_weeks == 0:  # everyone enrolled is reached
                on = e
            else:
                weeks_in = t - self.status_week[k][e]
                on = e[weeks_in >= c.effect_lag_weeks]
                self._changed.append(e[weeks_in == c.effect_lag_weeks])  # the effect starts
            f = self.former[k]
            if not f.size:
                members.append(on)
                shares.append(None)
                continue
            if whole(c.persistence):  # a share of exactly 1 for every former participant
                members.append(np.concatenate([on, f]))
                shares.append(None)
                continue
            g = c.persistence.share(t - self.status_week[k][f] + 1)
            if c.persistence.lasting == 0:  # decayed to nothing: gone for good
                keep = g >= NEGLIGIBLE
                self._changed.append(f[~keep])
                f, g = f[keep], g[keep]
                self.former[k] = f
            if fading(c.persistence):  # the share changes every week
                self._changed.append(f)
            members.append(np.concatenate([on, f]))
            shares.append(np.concatenate([np.ones(on.size), g]))
        return members, shares

    def _combined(self, key, lagged, idx, shares=None):
        """Combined multiplier of effect ``key`` for people ``idx`` (sorted, unique).

        ``lagged``: per component, the people it reaches; ``shares``: per component, each
        one's share of the enrolled log HR (None: 1), so a person gets ``HR ** share``.

        ``strongest`` keeps the effect furthest from 1 (on the log scale) in one pool;
        ``domain_strongest`` keeps one such pool per domain and multiplies the pools;
        ``multiplicative`` multiplies every component's effect.
        """
        pos, multi = placement(self.components, lagged, idx, self.multidomain_hr != 1.0)
        return combine(self, key, lagged, pos, multi, idx.size, shares)

    def after_decisions(self, model, t: int) -> None:
        """Relapse protection for returns supported by a component with a relapse effect."""
        eff = model.effects.arrays[EFFECT_TO_HAZARD["relapse_hr"]]
        if eff is None or not self.components:
            return
        col = model.columns
        nxt = t + 1
        started = np.flatnonzero(col["state_since"] == nxt)
        if not started.size:
            return
        st = col["state"][started]
        new_spell = started[st == ABSENT]
        eff[new_spell] = 1.0
        returned = started[((st == WORKING) | (st == PHASED))
                           & (col["last_return"][started] == nxt)]
        if not returned.size:
            return
        supported = [np.intersect1d(e, returned, assume_unique=True) for e in self.enrolled]
        members = np.unique(np.concatenate(supported))
        if members.size:
            eff[members] = self._combined("relapse_hr", supported, members)

    # ---- outputs --------------------------------------------------------------------

    def person_costs(self) -> np.ndarray:
        """Programme cost per person (per-participant and per-week parts), GBP."""
        cost = np.zeros(self.status.shape[1])
        for k, comp in enumerate(self.components):
            started = np.isin(self.status[k], STARTED)
            cost += (comp.cost_per_participant * started
                     + comp.cost_per_week * self.weeks_enrolled[k])
        return cost

    def fixed_costs(self, weeks: int) -> float:
        """Running costs that do not depend on use (per replicate)."""
        return sum(c.cost_fixed_per_week for c in self.components) * weeks


def ever_enrolled(programme: Programme) -> np.ndarray:
    """Per person: enrolled in at least one component during the run."""
    if not programme.components:
        return np.zeros(programme.status.shape[1], dtype=bool)
    s = programme.status
    return np.isin(s, STARTED).any(axis=0)


__all__ = ["Programme", "Component", "ever_enrolled", "STATUS_NAMES", "INACTIVE"]
