"""Names of the model's categories, in the fixed order used by every integer code.

Columns hold small integer codes (int8) that index these tuples; configs refer to the
names. Changing an order changes every code, so append rather than reorder.
"""

STATES = ("working", "absent", "phased", "unemployed", "inactive")
WORKING, ABSENT, PHASED, UNEMPLOYED, INACTIVE = range(len(STATES))
IN_WORK = (WORKING, PHASED)

CONDITIONS = ("cmd", "smi", "msk", "cancer", "abi_stroke", "cvd", "other")
CONDITION_LABELS = {
    "cmd": "Common mental disorder",
    "smi": "Severe mental illness",
    "msk": "Musculoskeletal (incl. back pain)",
    "cancer": "Cancer",
    "abi_stroke": "Acquired brain injury / stroke",
    "cvd": "Cardiovascular",
    "other": "Other (incl. minor illness)",
}
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
SEXES = ("female", "male")
OCCUPATIONS = ("non_manual", "manual")
EMPLOYER_SIZES = ("large", "sme")

# Which categorical person attribute each name-keyed config block refers to.
DIMENSIONS = {
    "condition": CONDITIONS,
    "severity": SEVERITIES,
    "ethnicity": ETHNICITIES,
    "age_band": AGE_BANDS,
    "sex": SEXES,
    "occupation": OCCUPATIONS,
    "employer_size": EMPLOYER_SIZES,
}
