"""Topic names (``<domain>.<event>.v<N>``) and their partitioning."""

from __future__ import annotations

from lifesign.catalogue import CATALOGUE

EVENTS_NORMALIZED = "events.normalized.v1"
EVENTS_REJECTED = "events.rejected.v1"  # the dead-letter topic, for every consumer
EVENTS_VALIDATED = "events.validated.v1"
EVENTS_QUARANTINED = "events.quarantined.v1"
EVENTS_AUXILIARY = "events.auxiliary.v1"
REGISTRY_PENSIONERS = "registry.pensioners.v1"  # compacted, keyed by pseudonym
DECISIONS = "decisions.v1"
STATE_CHANGES = "state.changes.v1"
PAYMENTS_COMMANDS = "payments.commands.v1"
PAYMENTS_ACKS = "payments.acks.v1"

#: Partitions per topic. Everything after ingest is keyed by pseudonym, so one person's
#: events stay in order on one partition; more partitions let more replicas share the work.
DEFAULT_PARTITIONS = 4

COMPACTED = frozenset({REGISTRY_PENSIONERS})

#: Every department feed topic, known source or not (``feed.<source>.v1``).
FEED_TOPIC_PATTERN = r"^feed\.[^.]+\.v1$"


def feed_topics() -> list[str]:
    """Every department's feed topic, one per catalogue source."""
    return [source.feed_topic for source in CATALOGUE.values()]


def all_topics() -> list[str]:
    """Every topic lifesign uses, for creating them up front."""
    return [
        *feed_topics(),
        EVENTS_NORMALIZED,
        EVENTS_REJECTED,
        EVENTS_VALIDATED,
        EVENTS_QUARANTINED,
        EVENTS_AUXILIARY,
        REGISTRY_PENSIONERS,
        DECISIONS,
        STATE_CHANGES,
        PAYMENTS_COMMANDS,
        PAYMENTS_ACKS,
    ]
