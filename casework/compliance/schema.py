"""The shape of the public release: its columns, generalization levels, bands and dimensions."""

from __future__ import annotations

from decimal import Decimal

DEFAULT_K = 5

# Languages grouped by region, so a rare language can't single out a reporter.
LANGUAGE_GROUPS: dict[str, str] = {
    "hi": "south_asian",
    "bn": "south_asian",
    "ne": "south_asian",
    "ur": "south_asian",
    "tl": "southeast_asian",
    "id": "southeast_asian",
    "vi": "southeast_asian",
    "my": "southeast_asian",
    "ar": "arabic",
    "am": "east_african",
    "sw": "east_african",
    "zh": "east_asian",
    "ru": "eastern_european",
    "uk": "eastern_european",
    "en": "western_european",
    "es": "western_european",
    "fr": "western_european",
    "pt": "western_european",
}

# (upper bound exclusive, label); the last band is open-ended.
AMOUNT_BANDS: list[tuple[Decimal | None, str]] = [
    (Decimal(100), "under_100"),
    (Decimal(1000), "100_999"),
    (Decimal(10000), "1000_9999"),
    (Decimal(100000), "10000_99999"),
    (None, "100000_plus"),
]
FIRST_RESPONSE_BANDS: list[tuple[int | None, str]] = [(1, "0"), (3, "1_2"), (8, "3_7"), (31, "8_30"), (None, "31_plus")]
REMEDY_BANDS: list[tuple[int | None, str]] = [
    (30, "0_29"),
    (90, "30_89"),
    (180, "90_179"),
    (365, "180_364"),
    (None, "365_plus"),
]
CASE_AGE_BANDS: list[tuple[int | None, str]] = [
    (7, "0_6"),
    (30, "7_29"),
    (90, "30_89"),
    (180, "90_179"),
    (None, "180_plus"),
]
REMEDIED_OUTCOMES = frozenset({"remedied", "partially_remedied"})

# Columns of the public release, in order. `employer` is a pseudonym, or a public name for
# an employer an admin disclosed (see `EmployerDisclosure`).
PUBLIC_COLUMNS: tuple[str, ...] = (
    "closed_month",
    "category",
    "urgency",
    "route",
    "channel",
    "language_group",
    "country",
    "sector",
    "resolution_type",
    "remedies",
    "amount_band",
    "currency",
    "days_to_first_response_band",
    "days_to_remedy_band",
    "case_age_band",
    "inspection_requested",
    "sanction_reported",
    "employer",
)
# Generalization levels, each a subset of the one before. A record is released at the first
# level at which its row pattern is shared by >= k records; columns not in that level are
# published as null ("not published"); records left after the last level are withheld.
LEVELS: tuple[tuple[str, ...], ...] = (
    PUBLIC_COLUMNS,
    (
        "closed_month",
        "category",
        "channel",
        "language_group",
        "country",
        "sector",
        "resolution_type",
        "remedies",
        "amount_band",
        "currency",
        "days_to_first_response_band",
        "days_to_remedy_band",
        "inspection_requested",
        "sanction_reported",
    ),
    (
        "closed_month",
        "category",
        "channel",
        "country",
        "sector",
        "resolution_type",
        "inspection_requested",
        "sanction_reported",
    ),
    ("closed_month", "category", "country", "resolution_type", "inspection_requested", "sanction_reported"),
    ("closed_month", "category"),
    ("category",),
)
FILTER_DIMENSIONS = ("category", "country", "sector", "channel")
TABLE_DIMENSIONS = (
    "category",
    "sector",
    "country",
    "channel",
    "language_group",
    "resolution_type",
    "days_to_first_response_band",
    "days_to_remedy_band",
    "case_age_band",
)
BAND_ORDER: dict[str, list[str]] = {
    "days_to_first_response_band": [label for _, label in FIRST_RESPONSE_BANDS],
    "days_to_remedy_band": [label for _, label in REMEDY_BANDS],
    "case_age_band": [label for _, label in CASE_AGE_BANDS],
    "amount_band": [label for _, label in AMOUNT_BANDS],
}
# Upper bound in days of each band (None: open-ended), for medians compared with targets.
BAND_UPPER_DAYS: dict[str, dict[str, int | None]] = {
    "days_to_first_response_band": {
        label: (None if upper is None else upper - 1) for upper, label in FIRST_RESPONSE_BANDS
    },
    "days_to_remedy_band": {label: (None if upper is None else upper - 1) for upper, label in REMEDY_BANDS},
}
