"""The config schema: what every key of a composed config may hold (node types in
:mod:`sim.config_nodes`; checked by :func:`sim.config.validate`). Unknown keys are errors."""

from __future__ import annotations

from sim.config_nodes import (
    PROB,
    RATE,
    RATIO,
    AnyValue,
    Bool,
    ByName,
    Choice,
    EvidenceRef,
    EvidenceValues,
    Int,
    List,
    Mapping,
    Name,
    Num,
    Str,
    Struct,
    Subset,
    Vector,
)
from sim.engine.categories import (
    AGE_BANDS,
    CONDITION_PROXY,
    CONDITIONS,
    DEPRIVATION_INDICES,
    ETHNICITIES,
    SEVERITIES,
    SEXES,
    STATES,
)
from sim.programme.eligibility import ATTRIBUTES as ELIGIBILITY_ATTRIBUTES
from sim.programme.eligibility import OPTIONAL as ELIGIBILITY_OPTIONAL
from sim.vocabulary import COMBINE_RULES, COMPONENT_STATES, DOMAINS, EFFECT_KEYS, PRIORITIES


def _by(names, what, item, shares=False):
    return ByName(names, item, what, shares)


def _by_condition(item):
    """A pathways or component table by condition: long COVID may be left out (it then
    takes its proxy's value, sim.engine.categories.CONDITION_PROXY)."""
    return ByName(CONDITIONS, item, "condition", derive=CONDITION_PROXY)


IMD5 = Vector(5, RATIO)
POPULATION_OPTIONAL = ("onset_multiplier", "start_state_shares", "deprivation_index",
                       "simd_gradient", "disability", "precarious", "long_covid")

POPULATION = Struct(
    {
        "name": Name(),
        "description": Str(),
        "mode": Str(("cohort", "workforce", "jobseekers", "out_of_work")),
        "n": Int(1, 50_000_000),
        "warmup_weeks": Int(0, 520),
        "female_share": PROB,
        "age_band_shares": _by(AGE_BANDS, "age band", PROB, shares=True),
        "ethnicity_shares": _by(ETHNICITIES, "ethnic group", PROB, shares=True),
        "imd_by_ethnicity": _by(ETHNICITIES, "ethnic group", Vector(5, PROB, shares=True)),
        "condition_by_imd": _by(CONDITIONS, "condition", Vector(5, PROB)),
        "severity_by_condition": _by(
            CONDITIONS, "condition", _by(SEVERITIES, "severity", PROB, shares=True)
        ),
        "manual_by_imd": Vector(5, PROB),
        "manual_rr_by_ethnicity": _by(ETHNICITIES, "ethnic group", RATIO),
        "sme_share": PROB,
        "oh_access": Struct(
            {"share": PROB, "sme_rr": RATIO, "manual_rr": RATIO, "imd_rr": IMD5,
             "precarious_rr": RATIO},
            optional=("precarious_rr",),
        ),
        # issue 20 (sim.engine.population): optional, absent = none / the default
        "onset_multiplier": Num(0.0, 100.0, gt=True),  # x every background onset hazard
        "start_state_shares": _by(("unemployed", "inactive", "inactive_benefit"),
                                  "starting state", PROB, shares=True),
        "deprivation_index": Str(DEPRIVATION_INDICES),
        "simd_gradient": Num(0.0, 5.0),  # exponent on the pathways' IMD gradients under SIMD
        "disability": Struct({
            "share": PROB,
            "condition_rr": _by(CONDITIONS, "condition", RATIO),
            "severity_rr": _by(SEVERITIES, "severity", RATIO),
        }),
        # long COVID's hazards relative to its proxy's (sim.engine.pathways.population_adjusted)
        "long_covid": Struct({
            "rtw_scale_x": RATIO,
            "phased_share_x": RATIO,
            "inactivity_x": RATIO,
        }),
        "precarious": Struct({
            "share": PROB,
            "age_rr": _by(AGE_BANDS, "age band", RATIO),
            "imd_rr": IMD5,
            "job_loss_hr": RATIO,
            "rtw_hr": RATIO,
        }),
    },
    optional=POPULATION_OPTIONAL,
    sources=True,
)

PATHWAYS = Struct(
    {
        "name": Str(),
        "rtw": Struct(
            {
                "scale_weeks": _by_condition(Num(0.0, 1e4, gt=True)),
                "shape": _by_condition(Num(0.0, 5.0, gt=True)),
                "severity_hr": _by(SEVERITIES, "severity", RATIO),
                "imd_hr": IMD5,
                "ethnicity_hr": _by(ETHNICITIES, "ethnic group", RATIO),
                "age_hr": _by(AGE_BANDS, "age band", RATIO),
                "manual_hr": RATIO,
                "sme_hr": RATIO,
                "oh_access_hr": RATIO,
                "duration_decline_per_year": Num(0.0, 50.0),
            }
        ),
        "phased_return": Struct(
            {
                "share": _by_condition(PROB),
                "oh_access_rr": RATIO,
                "to_full_weekly_hazard": RATE,
                "hours_fraction": PROB,
            }
        ),
        "job_loss": Struct(
            {
                "weekly_hazard": RATE,
                "duration_slope_per_year": Num(0.0, 100.0),
                "ssp_end_week": Int(1, 520),
                "ssp_end_hr": RATIO,
                "imd_hr": IMD5,
                "ethnicity_hr": _by(ETHNICITIES, "ethnic group", RATIO),
                "manual_hr": RATIO,
                "sme_hr": RATIO,
                "oh_access_hr": RATIO,
            }
        ),
        "inactivity": Struct(
            {
                "weekly_hazard": RATE,
                "duration_slope_per_year": Num(0.0, 100.0),
                "ssp_end_hr": RATIO,
                "condition_hr": _by_condition(RATIO),
                "severity_hr": _by(SEVERITIES, "severity", RATIO),
                "age_hr": _by(AGE_BANDS, "age band", RATIO),
                "ethnicity_hr": _by(ETHNICITIES, "ethnic group", RATIO),
                "benefit_share": PROB,
                "post_ssp_weekly": RATE,
            }
        ),
        "new_spell": Struct(
            {
                "onset_weekly": _by_condition(RATE),
                "imd_hr": IMD5,
                "manual_hr": RATIO,
                "relapse_excess_weekly": RATE,
                "relapse_decay_weeks": Num(0.0, 520.0, gt=True),
                "relapse_window_weeks": Int(1, 520),
                "relapse_condition_hr": _by_condition(RATIO),
                "early_return_hr": RATIO,
                "early_return_before_weeks": _by(SEVERITIES, "severity", Int(0, 520)),
                "phased_return_hr": RATIO,
                "sex_hr": _by(SEXES, "sex", RATIO),
                "age_hr": _by(AGE_BANDS, "age band", RATIO),
                "ethnicity_onset_hr": RATIO,
                "ethnicity_onset_profile": _by(ETHNICITIES, "ethnic group", Num(0.0, 1.0)),
            }
        ),
        "unemployed": Struct(
            {
                "reemployment_weekly": RATE,
                "condition_hr": _by_condition(RATIO),
                "imd_hr": IMD5,
                "ethnicity_hr": _by(ETHNICITIES, "ethnic group", RATIO),
                "age_hr": _by(AGE_BANDS, "age band", RATIO),
                "to_inactive_weekly": RATE,
            }
        ),
        "separation": Struct(
            {
                "weekly_hazard": RATE,
                "imd_hr": IMD5,
                "manual_hr": RATIO,
            }
        ),
        "out_of_work": Struct(
            {
                "inactive_to_work_weekly": RATE,
                "inactive_to_seeking_weekly": RATE,
                "inactive_to_benefit_weekly": RATE,
                "benefit_to_work_weekly": RATE,
                "benefit_to_seeking_weekly": RATE,
                "duration_decline_per_year": Num(0.0, 50.0),
            }
        ),
        "retirement": Struct(
            {
                "early_weekly": _by(AGE_BANDS, "age band", RATE),
                "state_pension_age": Int(50, 80),
            }
        ),
    },
    sources=True,
)


ELIGIBILITY_KEYS = {key: Subset(names, what)
                    for key, (_, names, what) in ELIGIBILITY_ATTRIBUTES.items()}


RATIO_OR_ID = EvidenceRef(RATIO)
COST_OR_ID = EvidenceRef(Num(0.0, 1e7))
ETH_RR = _by(ETHNICITIES, "ethnic group", RATIO)

COMPONENT = Struct(
    {
        "label": Str(),
        "domain": Str(DOMAINS),
        "duration_weeks": Int(1, 520),
        "effect_lag_weeks": Int(0, 520),
        "eligibility": Struct({
            "state": Str(COMPONENT_STATES),
            "refer_at_week": Int(0, 520),
            # conditions, severities, IMD, age, sex, ... (sim.programme.eligibility)
            **ELIGIBILITY_KEYS,
        }, optional=ELIGIBILITY_OPTIONAL),
        "access": Struct({
            "name": Str(),
            "referral": PROB,
            "referral_imd_rr": IMD5,
            "referral_ethnicity_rr": ETH_RR,
            "uptake": PROB,
            "uptake_imd_rr": IMD5,
            "uptake_ethnicity_rr": ETH_RR,
            "dropout_weekly_hazard": RATE,
        }, sources=True),
        "capacity": Struct({
            "starts_per_week_per_100k": Num(0.0, 1e9),
            "priority": Str(PRIORITIES),
            "max_wait_weeks": Int(0, 520),
        }, optional=("starts_per_week_per_100k",)),
        "effects": Struct(
            dict.fromkeys(EFFECT_KEYS, RATIO_OR_ID), optional=EFFECT_KEYS,
        ),
        "effect_modification": Struct({
            "condition": _by_condition(Num(0.0, 10.0)),
            "severity": _by(SEVERITIES, "severity", Num(0.0, 10.0)),
        }),
        "cost": Struct({
            "fixed_per_week_gbp": COST_OR_ID,
            "per_participant_gbp": COST_OR_ID,
            "per_participant_week_gbp": COST_OR_ID,
        }),
        # how long the weekly effects outlive the service (sim.programme.persistence); absent: they
        # stop when it ends
        "persistence": Struct({
            "half_life_weeks": EvidenceRef(Num(0.0, 520.0)),
            "lasting": EvidenceRef(PROB),
        }),
    },
    optional=("persistence",),
    sources=True,
)

MODIFIER = Choice("kind", {
    "cultural_adaptation": Struct({
        "kind": Str(),
        "label": Str(),
        "uptake_rr": ETH_RR,
        "dropout_hr": ETH_RR,
        "cost_per_participant_gbp": COST_OR_ID,
        "effect_exponent": EvidenceRef(Num(0.0, 10.0)),
        "effect_groups": Subset(ETHNICITIES, "ethnic group"),
    }, optional=("effect_exponent", "effect_groups"), sources=True),
    "targeting": Struct({
        "kind": Str(),
        "label": Str(),
        **ELIGIBILITY_KEYS,  # restricts who is served by any person attribute
        "referral_imd_rr": IMD5,
        "priority": Str(PRIORITIES),
    }, optional=(*ELIGIBILITY_ATTRIBUTES, "referral_imd_rr", "priority"), sources=True),
    # a referral route that reaches groups with low uptake (community or social health
    # workers): referral and uptake multiplied for people in the named ethnic groups or IMD
    # quintiles (sim.programme.interventions)
    "outreach": Struct({
        "kind": Str(),
        "label": Str(),
        "referral_rr": RATIO_OR_ID,
        "uptake_rr": RATIO_OR_ID,
        "ethnicities": Subset(ETHNICITIES, "ethnic group"),
        "imd_quintiles": Subset((1, 2, 3, 4, 5), "IMD quintile"),
        "cost_per_participant_gbp": COST_OR_ID,
    }, optional=("ethnicities", "imd_quintiles"), sources=True),
})

# Default design lists a design joins through ``tags`` in its YAML (sim.programme.catalogue):
# compare: configs/analysis/compare.yaml, psa: configs/analysis/psa.yaml (both tagged(<tag>)).
DESIGN_TAGS = ("compare", "psa")

PROGRAMME = Struct(
    {
        "name": Name(),
        "description": Str(),
        "combine": Struct({
            "rule": Str(COMBINE_RULES),
            "multidomain_hr": RATIO_OR_ID,
        }),
        "components": Mapping(COMPONENT),
        "modifiers": Mapping(MODIFIER),
        "variant": Str(),  # set by sim.programme.variants: the label of the variant applied
        "tags": List(Str(DESIGN_TAGS)),  # default design lists it joins; no effect on a run
    },
    optional=("components", "modifiers", "variant", "tags"),
)

GBP_OR_ID = EvidenceRef(Num(0.0, 1e7))
RATE_OR_ID = EvidenceRef(PROB)
UTILITY_OR_ID = EvidenceRef(Num(-1.0, 1.0))
STATE_NAMES = STATES  # every labour-market state (sim.engine.categories)

ECONOMICS = Struct(
    {
        "name": Str(),
        "discount_rate": Num(0.0, 0.5),
        "weekly_wage": _by(("non_manual", "manual"), "occupation", Num(0.0, 1e5)),
        "output_per_labour_cost": Num(0.0, 10.0),
        "ssp_weekly": GBP_OR_ID,
        "ssp_max_weeks": Int(0, 520),
        "occupational_sick_pay": _by(("large", "sme"), "employer size", PROB),
        "occupational_sick_pay_weeks": Int(0, 520),
        # the benefit rule is keyed by state (sim.results.economics.BENEFIT_RULES)
        "benefit_weekly": _by(("absent_after_sick_pay", "unemployed", "inactive_benefit"),
                              "benefit", GBP_OR_ID),
        "tax": Struct({
            "personal_allowance_weekly": GBP_OR_ID,
            "basic_rate": RATE_OR_ID,
            "higher_rate_threshold_weekly": GBP_OR_ID,
            "higher_rate": RATE_OR_ID,
            "employee_ni_threshold_weekly": GBP_OR_ID,
            "employee_ni_rate": RATE_OR_ID,
            "upper_earnings_limit_weekly": GBP_OR_ID,
            "employee_ni_upper_rate": RATE_OR_ID,
            "employer_ni_threshold_weekly": GBP_OR_ID,
            "employer_ni_rate": RATE_OR_ID,
        }),
        "recruitment_cost_per_job_loss": Num(0.0, 1e7),
        "willingness_to_pay_per_week_in_work": Num(0.0, 1e7),
        "qaly_thresholds": List(Num(0.0, 1e7, gt=True), min_len=1),
        "utility_in_work": UTILITY_OR_ID,
        "utility_decrement": _by(("absent", "phased", "unemployed", "inactive",
                                  "inactive_benefit"), "state", UTILITY_OR_ID),
        "nhs_cost_weekly": _by(STATE_NAMES, "state", GBP_OR_ID),
    },
    sources=True,
)

OUTCOMES = Struct(
    {
        "sustained_weeks": Int(1, 104),
        "snapshot_weeks": List(Int(0, 520)),
        "rtw_weeks": List(Int(1, 520), min_len=1),
        "working_days_per_year": Num(1.0, 366.0),
        # people in each counterfactual run of the gap decomposition (sim.uncertainty.decomposition;
        # 0 = none); optional so configs saved before it existed still load
        "decomposition_n": Int(0, 10_000_000),
    },
    optional=("decomposition_n",),
)

OUTPUT = Struct(
    {
        "write_agents": Bool(),
        "plots": Bool(),
        "latest_link": Bool(),
    }
)


SCHEMA = Struct(
    {
        "seed": Int(0, 2**63 - 1),
        "horizon_weeks": Int(1, 520),
        "replicates": Int(1, 10_000),
        "engine": Str(("vectorised", "agents")),
        "population": POPULATION,
        "pathways": PATHWAYS,
        "programme": PROGRAMME,
        "economics": ECONOMICS,
        "outcomes": OUTCOMES,
        "output": OUTPUT,
        "evidence_values": EvidenceValues(),
        "variant": Str(),  # the chosen named design variant (sim.programme.variants), or null
        # label -> {programme.<key>: value}; checked by sim.programme.variants
        "variants": AnyValue(),
    },
    optional=("evidence_values", "variant", "variants"),
)
