"""Names of the model's categories, in the fixed order used by every integer code.

Columns hold small integer codes (int8) that index these tuples; configs refer to the
names. Changing an order changes every code, so append rather than reorder.
"""

# Labour-market states (pathways v2, issue 14). The one place state codes are defined:
#   0 working           in work, full hours
#   1 absent            employed, off sick (the SSP clock runs from the spell's start)
#   2 phased            back at work on reduced hours (phased / graded return)
#   3 unemployed        out of work and seeking work (ILO unemployed; JSA/UC searching)
#   4 inactive          economically inactive because of ill health, NOT on a health-related
#                       benefit (long-term sick, supported by family, savings, other income)
#   5 inactive_benefit  economically inactive because of ill health ON a health-related
#                       benefit (ESA, or UC with LCW/LCWRA)
#   6 retired           retired (early, or at State Pension age) or left the population:
#                       absorbing
STATES = ("working", "absent", "phased", "unemployed", "inactive", "inactive_benefit",
          "retired")
WORKING, ABSENT, PHASED, UNEMPLOYED, INACTIVE, INACTIVE_BENEFIT, RETIRED = range(len(STATES))
IN_WORK = (WORKING, PHASED)
EMPLOYED = (WORKING, ABSENT, PHASED)  # holds a job
OUT_OF_WORK = (UNEMPLOYED, INACTIVE, INACTIVE_BENEFIT)  # working age, without a job
HEALTH_INACTIVE = (INACTIVE, INACTIVE_BENEFIT)  # economically inactive for ill health

CONDITIONS = ("cmd", "smi", "msk", "cancer", "abi_stroke", "cvd", "other", "long_covid")
CONDITION_LABELS = {
    "cmd": "Common mental disorder",
    "smi": "Severe mental illness",
    "msk": "Musculoskeletal (incl. back pain)",
    "cancer": "Cancer",
    "abi_stroke": "Acquired brain injury / stroke",
    "cvd": "Cardiovascular",
    "other": "Other (incl. minor illness)",
    "long_covid": "Long COVID",
}
# Issue 20: a condition added after the others takes, in a pathways or component table by
# condition that does not name it, the value of its proxy (sim.config.ByName). Long COVID's
# proxy is the common mental disorder: a fluctuating, fatiguing condition with a long
# tail of absence and relapses, treated in primary care; where long COVID is known to
# differ (longer absences, more phased returns, more exits from work) the population's
# `long_covid` block multiplies the proxy's values (sim.engine.pathways.population_adjusted).
# Population tables (condition shares, severity, disability) must name it.
CONDITION_PROXY = {"long_covid": "cmd"}
SEVERITIES = ("mild", "moderate", "severe")

# ONS 2021 Census groups, aggregated where groups are small.
ETHNICITIES = (
    "white_british",
    "white_other",
    "mixed",
    "indian",
    "pakistani",
    "bangladeshi",
    "black",
    "chinese_other",
)
ETHNICITY_LABELS = {
    "white_british": "White British",
    "white_other": "White other",
    "mixed": "Mixed",
    "indian": "Indian",
    "pakistani": "Pakistani",
    "bangladeshi": "Bangladeshi",
    "black": "Black",
    "chinese_other": "Chinese / other",
}
IMD_QUINTILES = (1, 2, 3, 4, 5)  # 1 = most deprived
AGE_BANDS = ("16-24", "25-34", "35-49", "50-64")
# first and last+1 year of age of each band (people age across bands over a run)
AGE_BAND_YEARS = ((16, 25), (25, 35), (35, 50), (50, 65))
SEXES = ("female", "male")
OCCUPATIONS = ("non_manual", "manual")
EMPLOYER_SIZES = ("large", "sme")
# Issue 20: a long-term condition or illness that limits day-to-day activity (Equality Act /
# ONS LFS "disabled" definition), and precarious employment (temporary, zero-hours or agency
# work). Both are drawn for every preset (sim.engine.population); code 1 = the named group.
DISABILITY = ("not_disabled", "disabled")
EMPLOYMENT_TYPES = ("secure", "precarious")
# Deprivation index of the population's quintile column (population.deprivation_index):
# the English IMD or the Scottish SIMD, both coded 1 = most deprived .. 5 = least.
DEPRIVATION_INDICES = ("imd", "simd")

# Which categorical person attribute each name-keyed config block refers to.
DIMENSIONS = {
    "condition": CONDITIONS,
    "severity": SEVERITIES,
    "ethnicity": ETHNICITIES,
    "age_band": AGE_BANDS,
    "sex": SEXES,
    "occupation": OCCUPATIONS,
    "employer_size": EMPLOYER_SIZES,
    "disability": DISABILITY,
    "employment": EMPLOYMENT_TYPES,
}

# Disclosure control: groups with fewer people than this are suppressed ("<10") in every
# table and summary (run summary, report, DCEA section). One value for all of them.
SMALL_CELL = 10
