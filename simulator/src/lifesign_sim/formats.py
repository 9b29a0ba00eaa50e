"""The simulator's files: what it writes (registry, feeds, ground truth) and what the
evaluation reads back from a run of the platform (results).

Output directory of ``lifesign simulate``::

    registry.csv              the R-7.2 base information (columns of ingest's registry import)
    feeds/<source>.jsonl      one department record per line, as the department publishes it
                              (a FeedRecord, with ``reported_at``), in order of ``reported_at``
    truth/persons.csv         one row per person: who they are and what really happened
    truth/records.csv         one row per feed line: what it describes and its defect, if any
    manifest.json             parameters, seed, counts per source and per defect

Results directory read by ``lifesign evaluate`` (the demo writes it from the topics)::

    state_changes.jsonl       StateChange, one per line (state.changes.v1)
    payment_commands.jsonl    PaymentCommand, one per line (payments.commands.v1)
    rejected.jsonl            DeadLetter, one per line (events.rejected.v1); ``key`` = record id
    quarantined.jsonl         QuarantinedEvent, one per line (events.quarantined.v1)
    duplicates.jsonl          optional: {"record_id": ...} per record dropped as a duplicate
    reviews.jsonl             optional: {"record_id": ...} per record held for name review
"""

from __future__ import annotations

from enum import StrEnum

REGISTRY_FILE = "registry.csv"
FEEDS_DIR = "feeds"
PERSONS_FILE = "truth/persons.csv"
RECORDS_FILE = "truth/records.csv"
MANIFEST_FILE = "manifest.json"

STATE_CHANGES_FILE = "state_changes.jsonl"
PAYMENT_COMMANDS_FILE = "payment_commands.jsonl"
REJECTED_FILE = "rejected.jsonl"
QUARANTINED_FILE = "quarantined.jsonl"
DUPLICATES_FILE = "duplicates.jsonl"
REVIEWS_FILE = "reviews.jsonl"

#: Columns of truth/persons.csv. Dates are ISO; empty means none.
PERSON_COLUMNS = (
    "person_id",  # the agency's person number, as in registry.csv
    "id_number",  # the true 18-digit id number
    "name",
    "sex",  # M / F
    "birth_date",
    "insurance_type",  # enterprise / public_institution / urban_rural_resident / survivor
    "monthly_benefit",  # yuan, 2 decimals
    "benefit_start",  # first month of benefit; after the start date for new pensioners
    "registration_region",  # GB/T 2260, household registration
    "residence_region",  # where they live (another province for 异地)
    "urban",  # 1 / 0
    "abroad",  # 1 / 0: lives abroad (consular app only)
    "profile",  # behaviour profile, see population.Profile
    "last_certified_on",  # the business system's last certification before the period
    "death_date",  # empty if alive at the end
    "death_reported",  # 1 if a department publishes the death within the period
    "impersonated_until",  # relatives kept using card/account after death until this date
    "prison_start",
    "prison_end",  # release date; empty if still serving at the end
    "never_certifies",  # 1: will not come forward for biometric or home visit
    "moved_on",  # the day they moved house within the period, if they did
    "moved_to",  # the GB/T 2260 code of their new residence
)

#: Columns of truth/records.csv.
RECORD_COLUMNS = (
    "record_id",
    "source",
    "person_id",  # who the record is really about ("" for a record about nobody)
    "occurred_at",
    "reported_at",
    "kind",  # RecordKind
    "defect",  # Defect value or ""
    "expected",  # Expected value: what a correct platform does with this record
)


class RecordKind(StrEnum):
    """What a record truly describes."""

    GENUINE = "genuine"  # a real event of the person, alive (or their death)
    IMPERSONATION = "impersonation"  # after death, by a relative using their card (冒领)
    NOISE = "noise"  # produced by a defect (a duplicate, a record of an unknown source)


class Defect(StrEnum):
    """The feed defects the simulator injects, each at a configurable rate."""

    WRONG_CHECK_DIGIT = "wrong_check_digit"
    ID_15_DIGIT = "id_15_digit"
    FULL_WIDTH = "full_width"
    TRADITIONAL_NAME = "traditional_name"
    NAME_TYPO = "name_typo"
    DEATH_NAME_MISMATCH = "death_name_mismatch"  # R-7.3.3.2
    EXACT_DUPLICATE = "exact_duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    MISSING_KEY_FIELD = "missing_key_field"
    OUT_OF_DOMAIN = "out_of_domain"
    FUTURE_TIMESTAMP = "future_timestamp"
    ABSURD_TIMESTAMP = "absurd_timestamp"
    LATE_BATCH = "late_batch"
    SILENT_SOURCE = "silent_source"
    UNKNOWN_SOURCE = "unknown_source"
    MALFORMED_JSON = "malformed_json"


class Expected(StrEnum):
    """What a correct platform does with a record."""

    ACCEPT = "accept"  # clean: must not be quarantined or rejected
    REPAIR = "repair"  # normalisation fixes it (15 digits, full width, traditional): accept
    REJECT = "reject"  # dead-letter (malformed, invalid id, unknown source)
    QUARANTINE = "quarantine"  # a table-1 rule holds it back
    DROP_DUPLICATE = "drop_duplicate"  # entity integrity: dropped once
    REVIEW = "review"  # R-7.3.3.2: loss evidence held for a person to check
    UNMATCHED = "unmatched"  # c: alive evidence whose name does not match
    FLAG = "flag"  # accepted, but the platform must notice (late batch, silent source)


#: The expected handling of each defect (a name typo on alive evidence is UNMATCHED).
EXPECTED_FOR: dict[Defect, Expected] = {
    Defect.WRONG_CHECK_DIGIT: Expected.REJECT,
    Defect.ID_15_DIGIT: Expected.REPAIR,
    Defect.FULL_WIDTH: Expected.REPAIR,
    Defect.TRADITIONAL_NAME: Expected.REPAIR,
    Defect.NAME_TYPO: Expected.REVIEW,
    Defect.DEATH_NAME_MISMATCH: Expected.REVIEW,
    Defect.EXACT_DUPLICATE: Expected.DROP_DUPLICATE,
    Defect.NEAR_DUPLICATE: Expected.DROP_DUPLICATE,
    Defect.MISSING_KEY_FIELD: Expected.QUARANTINE,
    Defect.OUT_OF_DOMAIN: Expected.QUARANTINE,
    Defect.FUTURE_TIMESTAMP: Expected.QUARANTINE,
    Defect.ABSURD_TIMESTAMP: Expected.QUARANTINE,
    Defect.LATE_BATCH: Expected.FLAG,
    Defect.SILENT_SOURCE: Expected.FLAG,
    Defect.UNKNOWN_SOURCE: Expected.REJECT,
    Defect.MALFORMED_JSON: Expected.REJECT,
}
