"""Exactly-once effects on at-least-once delivery: the inbox and the outbox.

* **Inbox**: the id of every message a service has handled, written in the same
  transaction as its effects; the primary key drops a redelivered copy
  (pyeventsourcing's habit, ARCHITECTURE principle 2).
* **Outbox**: messages whose content depends on the state a transaction changed are
  written in that transaction and published after it commits; a crash between the two
  leaves them in the table, to be published by the next relay. Readers never see a
  message about rolled-back state.

Each service gets both tables in its own schema: call :func:`messaging_tables`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign.bus import OutMessage, Producer
from lifesign.db import bulk_insert, compiled, fetch


@dataclass(frozen=True, slots=True)
class MessagingTables:
    inbox: Table
    outbox: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    """Declare ``inbox`` and ``outbox`` on a service's metadata."""
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(64), primary_key=True),
        Column("message_id", String(64), primary_key=True),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("topic", String(255), nullable=False),
        Column("key", LargeBinary, nullable=True),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False, server_default="[]"),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return MessagingTables(inbox, outbox)


class Inbox:
    """Drops messages a consumer has already handled (one statement per batch)."""

    def __init__(self, table: Table, consumer: str) -> None:
        self._table = table
        self._consumer = consumer

    async def claim(self, session: AsyncSession, message_ids: Iterable[str]) -> set[str]:
        """Record the ids; return those seen for the first time (the ones to handle)."""
        ids = sorted(set(message_ids))
        if not ids:
            return set()
        rows = await bulk_insert(
            session,
            self._table,
            [{"consumer": self._consumer, "message_id": i} for i in ids],
            on_conflict="nothing",
            returning=["message_id"],
        )
        return {r["message_id"] for r in rows}


class Outbox:
    """Messages written with the state they describe, published after commit."""

    def __init__(self, table: Table) -> None:
        self._table = table
        # Take the oldest rows and delete them in one statement, run on the session's
        # asyncpg connection (lifesign.db.fetch): the relay handles every state change.
        oldest = (
            select(table.c.id)
            .order_by(table.c.id)
            .limit(bindparam("chunk", type_=Integer))
            .with_for_update(skip_locked=True)
        )
        self._take = compiled(
            table.delete()
            .where(table.c.id.in_(oldest.scalar_subquery()))
            .returning(table.c.id, table.c.topic, table.c.key, table.c.value, table.c.headers)
        )

    async def add(self, session: AsyncSession, messages: Sequence[OutMessage]) -> None:
        if not messages:
            return
        rows: list[dict[str, Any]] = [
            {
                "topic": m.topic,
                "key": m.key.encode() if isinstance(m.key, str) else m.key,
                "value": m.value,
                "headers": [[k, v.decode("latin-1")] for k, v in m.headers],
            }
            for m in messages
        ]
        await bulk_insert(session, self._table, rows)

    async def relay(
        self, sessions: async_sessionmaker[AsyncSession], producer: Producer, *, chunk: int = 5000
    ) -> int:
        """Publish pending messages in order; delete them once the broker has them.

        Rows are locked with SKIP LOCKED so replicas can relay side by side; the delete
        commits only after the broker acknowledged, so a failure publishes again (the
        consumers downstream drop the copy by its id).
        """
        published = 0
        while True:
            async with sessions.begin() as session:
                # The delete commits only if the send below succeeds, otherwise the rows
                # come back for the next relay.
                rows = sorted(await fetch(session, self._take, chunk), key=lambda r: r[0])
                if not rows:
                    return published
                await producer.send_many([_message(r) for r in rows])
                published += len(rows)
            if len(rows) < chunk:
                return published

    async def pending(self, session: AsyncSession) -> int:
        count = await session.scalar(select(func.count()).select_from(self._table))
        return int(count or 0)


def _message(row: Any) -> OutMessage:
    """An outbox row (id, topic, key, value, headers) as the message it was. The headers
    come decoded: SQLAlchemy registers a jsonb codec on every connection it opens."""
    _, topic, key, value, headers = row
    return OutMessage(topic, value, key, [(k, v.encode("latin-1")) for k, v in headers])
