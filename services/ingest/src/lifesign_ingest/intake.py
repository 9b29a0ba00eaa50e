"""What every channel shares (Kafka feed, HTTP upload, scheduled pull): normalise records,
attach the R-7.3.3.2 name check, and keep the per-source counts that must balance.

Each channel parses its own transport into :class:`FeedRecord` values and hands them here,
so a record is normalised the same way however it arrived (R-7.3.1, R-7.3.2).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.catalogue import Source
from lifesign.events import FeedRecord, LifeEvent, NameCheck, Provenance
from lifesign.identity import FieldCipher, Pseudonymizer
from lifesign.names import name_similarity
from lifesign_ingest import repository
from lifesign_ingest.service import EventDocument, event_document, normalize_record_and_name

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Normalised:
    """An event and the plaintext canonical name behind its name digest (ingest only)."""

    event: LifeEvent
    name: str


@dataclass(slots=True)
class Tally:
    """Per (source, day of arrival): received = accepted + rejected."""

    accepted: Counter[tuple[str, date]] = field(default_factory=Counter)
    rejected: Counter[tuple[str, date]] = field(default_factory=Counter)

    def accept(self, source: str, at: datetime) -> None:
        self.accepted[(source, at.date())] += 1

    def reject(self, source: str, at: datetime) -> None:
        self.rejected[(source, at.date())] += 1


class Intake:
    """Normalisation and the registry name check, the same for every channel."""

    def __init__(self, *, pseudonymizer: Pseudonymizer, cipher: FieldCipher) -> None:
        self._pseudonymizer = pseudonymizer
        self._cipher = cipher

    def normalise(
        self, record: FeedRecord, *, source: Source, provenance: Provenance, received_at: datetime
    ) -> Normalised:
        """Raises :class:`~lifesign_ingest.service.RecordRejected` with the reason."""
        event, name = normalize_record_and_name(
            record,
            source=source,
            provenance=provenance,
            received_at=received_at,
            pseudonymizer=self._pseudonymizer,
        )
        return Normalised(event, name)

    def document(
        self,
        record: FeedRecord,
        *,
        source: Source,
        provenance: dict[str, Any],
        received_at: datetime,
    ) -> tuple[EventDocument, str]:
        """:meth:`normalise` without the models: the event's fields and the canonical name
        (the Kafka channel's hot path; see :func:`~lifesign_ingest.service.event_document`)."""
        return event_document(
            record,
            source=source,
            provenance=provenance,
            received_at=received_at,
            pseudonymizer=self._pseudonymizer,
        )

    async def check_names(
        self, session: AsyncSession, items: Sequence[Normalised]
    ) -> list[LifeEvent]:
        """The events, each with a :class:`NameCheck` when its id number is a registered
        pensioner's but its name is not that pensioner's name (R-7.3.3.2).

        One query per batch; the registry's encrypted name is decrypted only for the few
        records whose name digest differs, and only inside this process.
        """
        checks = await self._name_checks(
            session, [(i.event.person.pseudonym, i.event.person.name_digest, i.name) for i in items]
        )
        return [
            item.event
            if check is None
            else item.event.model_copy(update={"name_check": NameCheck.model_validate(check)})
            for item, check in zip(items, checks, strict=True)
        ]

    async def check_documents(
        self, session: AsyncSession, items: Sequence[tuple[EventDocument, str]]
    ) -> None:
        """:meth:`check_names` for documents: sets their ``name_check`` where it applies."""
        checks = await self._name_checks(
            session,
            [(d["person"]["pseudonym"], d["person"]["name_digest"], name) for d, name in items],
        )
        for (document, _), check in zip(items, checks, strict=True):
            if check is not None:
                document["name_check"] = check

    async def _name_checks(
        self, session: AsyncSession, people: Sequence[tuple[str, str, str]]
    ) -> list[dict[str, Any] | None]:
        """For each (pseudonym, name digest, canonical name): the fields of its
        :class:`NameCheck`, or None (names agree, not registered, or not decryptable)."""
        registered = await repository.registered_under_other_names(
            session, ((p, d) for p, d, _ in people)
        )
        names: dict[str, str | None] = {}  # decrypted once per pseudonym and batch
        checks: list[dict[str, Any] | None] = []
        for pseudonym, digest, name in people:
            found = registered.get(pseudonym)
            if found is None or found[0] == digest:
                checks.append(None)
                continue
            if pseudonym not in names:
                names[pseudonym] = self._registry_name(found[1])
            known = names[pseudonym]
            if known is None:
                checks.append(None)
                continue
            similarity = name_similarity(known, name)
            checks.append({"similarity": similarity.score, "reasons": list(similarity.reasons)})
        return checks

    def _registry_name(self, pii_cipher: str) -> str | None:
        """The registry's plaintext name, or None if it cannot be decrypted (a rotated key):
        the event then goes on without the helper score, never to the dead-letter topic;
        the matcher still sees the differing name digest and holds it for review."""
        try:
            name: str = json.loads(self._cipher.decrypt(pii_cipher, context="pii"))["name"]
        except (ValueError, KeyError) as error:
            log.warning("registry name not decryptable, no name check: %s", error)
            return None
        return name
