"""The Kafka bus: a producer, the batch consumer loop and the dead-letter topic.

Delivery is at least once. The embedded broker (Tansu) has no idempotent or transactional
producer, so exactly-once *effects* come from the consumers: deterministic ids, an inbox of
handled message ids and an outbox written in the same transaction (see
:mod:`lifesign.messaging`). The consumer loop is::

    getmany -> decode (failures -> dead-letter topic with the reason)
            -> handler(session, batch) in ONE database transaction
            -> publish what the handler emitted, then the outbox
            -> commit offsets

so a crash anywhere replays the batch and the idempotent handlers drop what they have seen.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import logging
import random
import struct
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import asyncpg
import numpy as np
import numpy.typing as npt
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.producer.message_accumulator import BatchBuilder
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import telemetry
from lifesign.topics import COMPACTED, DEFAULT_PARTITIONS, EVENTS_REJECTED

log = logging.getLogger(__name__)

T = TypeVar("T")
Headers = Sequence[tuple[str, bytes]]


def encode(model: BaseModel) -> bytes:
    """JSON codec: every value on the bus is a pydantic model as UTF-8 JSON."""
    return model.model_dump_json().encode()


def murmur2(data: bytes) -> int:
    """Kafka's key hash (the Java client's ``Utils.murmur2``), as aiokafka computes it.

    aiokafka's version handles one byte at a time in pure Python (about 30 µs for a
    64-character pseudonym, more than the rest of producing a message); this one unpacks
    the 4-byte words at once. Same results: the partition of a key must not change.
    """
    length = len(data)
    m = 0x5BD1E995
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    words = length // 4
    for k in struct.unpack_from(f"<{words}I", data):
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = data[words * 4 :]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    return h ^ (h >> 15)


def murmur2_many(keys: Sequence[bytes]) -> list[int]:
    """:func:`murmur2` of many keys at once: the same values, about 10x faster per key.

    Keys of one length (a topic's keys are pseudonyms, all 64 characters) are hashed as
    the columns of one numpy array; unsigned 32-bit array arithmetic wraps around exactly
    as the ``& 0xFFFFFFFF`` of the scalar version does.
    """
    hashes = [0] * len(keys)
    by_length: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        by_length.setdefault(len(key), []).append(i)
    for length, indices in by_length.items():
        data = np.frombuffer(b"".join(keys[i] for i in indices), dtype=np.uint8)
        values = _murmur2_rows(data.reshape(len(indices), length), length)
        for i, value in zip(indices, values.tolist(), strict=True):
            hashes[i] = value
    return hashes


_M = np.uint32(0x5BD1E995)


def _murmur2_rows(data: npt.NDArray[np.uint8], length: int) -> npt.NDArray[np.uint32]:
    h = np.full(data.shape[0], (0x9747B28C ^ length) & 0xFFFFFFFF, dtype=np.uint32)
    words = length // 4
    columns = np.ascontiguousarray(data[:, : words * 4]).view("<u4")
    for j in range(words):
        k = columns[:, j] * _M
        k ^= k >> np.uint32(24)
        k *= _M
        h *= _M
        h ^= k
    tail = data[:, words * 4 :].astype(np.uint32)
    if length % 4 >= 3:
        h ^= tail[:, 2] << np.uint32(16)
    if length % 4 >= 2:
        h ^= tail[:, 1] << np.uint32(8)
    if length % 4:
        h ^= tail[:, 0]
        h *= _M
    h ^= h >> np.uint32(13)
    h *= _M
    h ^= h >> np.uint32(15)
    return h


class KeyPartitioner:
    """aiokafka's default partitioning (murmur2 of the key), with the fast hash."""

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return random.choice(available or all_partitions)  # noqa: S311  (load spreading)
        return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]


class Producer:
    """A thin aiokafka producer: JSON values, str keys, trace headers."""

    def __init__(self, bootstrap: str, *, client_id: str = "lifesign") -> None:
        # No idempotence: Tansu does not support it (see module docstring).
        self._partitioner = KeyPartitioner()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            enable_idempotence=False,
            linger_ms=5,
            max_batch_size=1 << 20,
            max_request_size=8 << 20,
            partitioner=self._partitioner,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | bytes | None = None,
        headers: Headers = (),
        timestamp_ms: int | None = None,
    ) -> asyncio.Future[Any]:
        """Queue a message; await the returned future for its delivery. ``timestamp_ms``
        is when the message was produced (a replay or a simulation keeps its own)."""
        raw_key = key.encode() if isinstance(key, str) else key
        future: asyncio.Future[Any] = await self._producer.send(
            topic, value, key=raw_key, headers=list(headers), timestamp_ms=timestamp_ms
        )
        return future

    async def send_many(self, messages: Sequence[OutMessage]) -> None:
        """Send and wait until the broker has acknowledged every message.

        Messages are packed into one record batch per partition (``create_batch``) rather
        than queued one by one: per message that is an append, not a future and a lookup.
        Order per partition is the order given; keys land where :meth:`send` puts them.
        """
        if not messages:
            return
        partitions: dict[str, list[int]] = {}
        for topic in {m.topic for m in messages}:
            partitions[topic] = sorted(await self._producer.partitions_for(topic))
        keys = [m.key.encode() if isinstance(m.key, str) else m.key for m in messages]
        hashes = murmur2_many([k for k in keys if k is not None])
        by_partition: dict[tuple[str, int], list[OutMessage]] = {}
        hashed = iter(hashes)
        for message, key in zip(messages, keys, strict=True):
            choices = partitions[message.topic]
            if key is None:
                partition = self._partitioner(None, choices, [])
            else:  # as KeyPartitioner does, with the hash computed above
                partition = choices[(next(hashed) & 0x7FFFFFFF) % len(choices)]
            by_partition.setdefault((message.topic, partition), []).append(message)
        futures = []
        for (topic, partition), group in by_partition.items():
            futures.extend(await self._send_batches(topic, partition, group))
        await asyncio.gather(*futures)

    async def _send_batches(
        self, topic: str, partition: int, messages: list[OutMessage]
    ) -> list[asyncio.Future[Any]]:
        futures = []
        batch = self._producer.create_batch()
        for message in messages:
            raw_key = message.key.encode() if isinstance(message.key, str) else message.key
            headers = list(message.headers)
            if batch.append(key=raw_key, value=message.value, timestamp=None, headers=headers):
                continue
            if batch.record_count() == 0:
                raise ValueError(f"message too large for one batch ({len(message.value)} B)")
            futures.append(await self._send_batch(batch, topic, partition))
            batch = self._producer.create_batch()
            if not batch.append(key=raw_key, value=message.value, timestamp=None, headers=headers):
                raise ValueError(f"message too large for one batch ({len(message.value)} B)")
        if batch.record_count():
            futures.append(await self._send_batch(batch, topic, partition))
        return futures

    async def _send_batch(self, batch: BatchBuilder, topic: str, partition: int) -> Any:
        """Hand a complete batch to the sender. Closed first: an open batch waits out
        ``linger_ms`` for more messages (5 ms per send, twice per consumer batch, measured
        on the matcher) and :meth:`send` could append someone else's message to it."""
        batch.close()
        return await self._producer.send_batch(batch, topic, partition=partition)

    async def publish(
        self, topic: str, model: BaseModel, *, key: str | None = None, headers: Headers = ()
    ) -> None:
        """Send one model and wait for the broker's acknowledgement."""
        future = await self.send(topic, encode(model), key=key, headers=headers)
        await future


@dataclass(frozen=True, slots=True)
class OutMessage:
    """A message a handler wants published once its transaction has committed."""

    topic: str
    value: bytes
    key: str | bytes | None = None
    headers: Headers = ()

    @classmethod
    def of(
        cls, topic: str, model: BaseModel, *, key: str | None = None, headers: Headers = ()
    ) -> OutMessage:
        return cls(topic, encode(model), key, list(headers))


class DeadLetter(BaseModel):
    """What lands on the dead-letter topic: the original message and why it failed."""

    reason: str
    error_type: str
    consumer: str
    topic: str
    partition: int
    offset: int
    key: str | None
    value: str = ""
    value_base64: str | None = None
    headers: dict[str, str]
    failed_at: datetime

    @classmethod
    def of(
        cls, consumer: str, record: ConsumerRecord[bytes, bytes], error: Exception
    ) -> DeadLetter:
        """A message that could not be decoded."""
        return cls.build(
            consumer,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            headers=record.headers,
            raw=record.value or b"",
            reason=describe_error(error),
            error_type=type(error).__name__,
        )

    @classmethod
    def build(
        cls,
        consumer: str,
        *,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        headers: Iterable[tuple[str, bytes]],
        raw: bytes,
        reason: str,
        error_type: str,
    ) -> DeadLetter:
        """The one way a dead letter is made: the original bytes, as text when they are."""
        try:
            text, b64 = raw.decode(), None
        except UnicodeDecodeError:
            text, b64 = "", base64.b64encode(raw).decode()
        return cls(
            reason=reason,
            error_type=error_type,
            consumer=consumer,
            topic=topic,
            partition=partition,
            offset=offset,
            key=key.decode(errors="replace") if key else None,
            value=text,
            value_base64=b64,
            headers={k: v.decode(errors="replace") for k, v in headers},
            failed_at=datetime.now(UTC),
        )


def describe_error(error: Exception) -> str:
    """A reason a person can act on: pydantic errors list each failing field."""
    if isinstance(error, ValidationError):
        parts = []
        for item in error.errors(include_url=False)[:10]:
            where = ".".join(str(p) for p in item["loc"]) or "(message)"
            parts.append(f"{where}: {item['msg']}")
        return "; ".join(parts)
    if isinstance(error, json.JSONDecodeError):
        return f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
    return str(error) or type(error).__name__


@dataclass(slots=True)
class Envelope(Generic[T]):
    """A decoded message with the Kafka coordinates the handler may need."""

    value: T
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: Headers
    timestamp_ms: int
    raw: bytes = b""  # the value as it travelled, for forwarding it unchanged

    @property
    def trace_headers(self) -> Headers:
        return telemetry.trace_headers(self.headers)


@dataclass(slots=True)
class Batch(Generic[T]):
    """What a handler receives: the decoded messages and a place to put outputs.

    ``emit`` is for outputs that are a pure function of the input (a redelivered input
    gives the same message with the same id, and the next consumer drops the copy); they
    are published after the transaction commits and before the offsets are.
    Outputs that depend on state the transaction changes go through the outbox instead.
    """

    items: list[Envelope[T]]
    outgoing: list[OutMessage] = field(default_factory=list)
    rejected: list[tuple[Envelope[T], str]] = field(default_factory=list)

    def emit(self, message: OutMessage) -> None:
        self.outgoing.append(message)

    def reject(self, item: Envelope[T], reason: str) -> None:
        """Send a message that decoded but is unusable to the dead-letter topic."""
        self.rejected.append((item, reason))


Handler = Callable[[AsyncSession, Batch[T]], Awaitable[None]]
Decoder = Callable[[bytes], T]
AfterCommit = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class ConsumerStats:
    """Counts that must balance: received = handled + dead_lettered (after each batch)."""

    received: int = 0
    handled: int = 0
    dead_lettered: int = 0
    batches: int = 0
    retries: int = 0
    commit_failures: int = 0  # offsets the group refused (a rebalance): redelivered
    last_error: str | None = None
    idle: bool = False  # the last poll found nothing to do (all caught up)


class PoisonMessageError(Exception):
    """A handler's way to say one message cannot be processed, ever."""


# Errors worth waiting out (the database or the broker is away); anything else that a
# handler raises is treated as a property of the data and isolated to one message. The
# set-based statements run on asyncpg directly (lifesign.db.driver), so its own classes
# for a lost or refused connection count too.
RETRYABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    OSError,
    KafkaError,
    asyncio.TimeoutError,
)


class BatchConsumer(Generic[T]):
    """The batch consumer loop of ARCHITECTURE principle 6 (see the module docstring)."""

    def __init__(
        self,
        *,
        name: str,
        topics: Sequence[str],
        bootstrap: str,
        decode: Decoder[T],
        handler: Handler[T],
        sessions: async_sessionmaker[AsyncSession],
        producer: Producer,
        after_commit: AfterCommit | None = None,
        max_records: int = 2000,
        timeout_ms: int = 200,
        session_timeout_ms: int = 6000,
        dead_letter_topic: str = EVENTS_REJECTED,
        pattern: str | None = None,
    ) -> None:
        """``pattern`` (a regular expression) subscribes to every matching topic, also
        ones created later, instead of ``topics`` (which then only names the consumer)."""
        self.name = name
        self.topics = list(topics)
        self.stats = ConsumerStats()
        self._decode = decode
        self._handler = handler
        self._sessions = sessions
        self._producer = producer
        self._after_commit = after_commit
        self._after_commit_task: asyncio.Task[None] | None = None
        self._after_commit_again = False
        self._max_records = max_records
        self._timeout_ms = timeout_ms
        self._dlq = dead_letter_topic
        self._stopping = asyncio.Event()
        self._pattern = pattern
        self._consumer = AIOKafkaConsumer(
            *([] if pattern else self.topics),
            bootstrap_servers=bootstrap,
            group_id=name,
            client_id=name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(300, session_timeout_ms // 6),
            max_poll_interval_ms=300_000,
            max_partition_fetch_bytes=8 << 20,
            # A pattern subscription finds topics created later within this time.
            metadata_max_age_ms=10_000 if pattern else 300_000,
        )

    async def run(self) -> None:
        """Consume until :meth:`stop`; never gives up on a batch, never skips one silently."""
        await self._consumer.start()
        settle_garbage_collector()
        if self._pattern:
            self._consumer.subscribe(pattern=self._pattern)
        self._kick_after_commit()  # what an earlier life of this consumer left behind
        try:
            while not self._stopping.is_set():
                self._raise_if_after_commit_died()
                flat = await self._next_batch()
                self.stats.idle = not flat
                if flat:
                    await self._process_until_done(flat)
                    await self._commit(flat)
        except BaseException as error:
            # Never silent: a consumer that stops on its own says why (and /health is 503).
            if not isinstance(error, asyncio.CancelledError):
                self.stats.last_error = f"stopped: {error!r}"
                log.exception("%s: consumer stopped", self.name)
            raise
        finally:
            await self._finish_after_commit()
            await self._consumer.stop()

    def stop(self) -> None:
        self._stopping.set()

    def _kick_after_commit(self) -> None:
        """Run ``after_commit`` (the outbox relay) beside the loop, one run at a time; a
        request while it runs makes it run once more when it ends.

        It publishes what committed transactions wrote, so nothing waits for it: the next
        batch is fetched and handled meanwhile, and offsets are committed without it (the
        outbox rows are durable; a crash leaves them for the next run, for this loop's
        start and for the service's periodic relay). Awaiting it cost the matcher a broker
        round trip and a transaction per batch in which it did nothing else.
        """
        if self._after_commit is None:
            return
        if self._after_commit_task is None or self._after_commit_task.done():
            self._raise_if_after_commit_died()
            self._after_commit_task = asyncio.create_task(
                self._run_after_commit(self._after_commit)
            )
        else:
            self._after_commit_again = True

    async def _run_after_commit(self, step: AfterCommit) -> None:
        delay = 0.2
        self._after_commit_again = True
        while self._after_commit_again:
            self._after_commit_again = False
            try:
                await step()
                delay = 0.2
            except Exception as error:  # the database or broker is away: try again
                self.stats.retries += 1
                self.stats.last_error = f"after commit: {error!r}"
                log.warning("%s: after-commit step failed, retrying: %s", self.name, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                self._after_commit_again = True

    def _raise_if_after_commit_died(self) -> None:
        """What is not an error (a process being killed, in tests: ``BaseException``)
        ends the loop as it would have ended it inline."""
        task = self._after_commit_task
        if task is not None and task.done() and not task.cancelled():
            error = task.exception()
            if error is not None:
                self._after_commit_task = None
                raise error

    async def _finish_after_commit(self) -> None:
        task, self._after_commit_task = self._after_commit_task, None
        if task is None:
            return
        if not task.done():
            # Stopping: let a relay in flight finish (bounded), else it is cancelled and
            # its rows wait for the next run.
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(task), timeout=10)
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def _commit(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Commit the batch's offsets; a commit the group refuses is left to redelivery.

        The group rebalances when a replica joins or leaves, or when a pattern subscription
        finds a new topic; a batch handled meanwhile cannot commit (``CommitFailedError``,
        or ``IllegalStateError`` for partitions now someone else's). Its effects are
        committed in the database and idempotent: whoever owns the partitions now reads
        from the last committed offset and the inboxes drop what was already handled.
        Before this, the refused commit ended the consumer's loop (the demo's ingest
        stopped after a few batches when a department's topic appeared mid-run).
        """
        try:
            await self._consumer.commit(_next_offsets(records))
        except KafkaError as error:
            self.stats.commit_failures += 1
            self.stats.last_error = f"commit refused, batch left to redelivery: {error!r}"
            log.warning("%s: %s", self.name, self.stats.last_error)

    async def _next_batch(self) -> list[ConsumerRecord[bytes, bytes]]:
        """Wait for records, then take what else is already fetched, up to ``max_records``.

        ``getmany`` hands back one fetch response at a time (a few dozen records from
        Tansu); a batch's cost is mostly per statement, not per record, so a consumer
        that has fallen behind catches up in full batches instead of small ones.
        """
        records = await self._consumer.getmany(
            timeout_ms=self._timeout_ms, max_records=self._max_records
        )
        flat = [r for part in records.values() for r in part]
        while flat and len(flat) < self._max_records:
            more = await self._consumer.getmany(
                timeout_ms=0, max_records=self._max_records - len(flat)
            )
            if not more:
                break
            flat.extend(r for part in more.values() for r in part)
        return flat

    async def _process_until_done(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        delay = 0.2
        while True:
            try:
                await self.process(records)
                return
            except RETRYABLE as error:
                # The database or broker is away: wait and try the same batch again.
                self.stats.retries += 1
                self.stats.last_error = str(error) or type(error).__name__
                log.warning("%s: retrying batch in %.1fs: %s", self.name, delay, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def process(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Decode, handle in one transaction, publish; isolate a poison message if needed."""
        span_name = f"consume {','.join(sorted({r.topic for r in records}))}"
        links = telemetry.links_for(r.headers for r in records)
        with telemetry.tracer().start_as_current_span(span_name, links=links) as span:
            span.set_attribute("messaging.batch.message_count", len(records))
            items, dead = self._decode_all(records)
            try:
                await self._handle(items, dead)
            except RETRYABLE:
                raise
            except Exception as error:
                span.record_exception(error)
                log.warning("%s: batch failed (%s); handling one by one", self.name, error)
                await self._handle_one_by_one(items, dead)
        self.stats.received += len(records)
        self.stats.batches += 1

    def _decode_all(
        self, records: list[ConsumerRecord[bytes, bytes]]
    ) -> tuple[list[Envelope[T]], list[DeadLetter]]:
        items: list[Envelope[T]] = []
        dead: list[DeadLetter] = []
        for record in records:
            try:
                value = self._decode(record.value or b"")
            except Exception as error:
                dead.append(DeadLetter.of(self.name, record, error))
                continue
            items.append(
                Envelope(
                    value=value,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key,
                    headers=list(record.headers),
                    timestamp_ms=record.timestamp,
                    raw=record.value or b"",
                )
            )
        return items, dead

    async def _handle(self, items: list[Envelope[T]], dead: list[DeadLetter]) -> None:
        batch: Batch[T] = Batch(items)
        if items:
            async with self._sessions.begin() as session:
                await self._handler(session, batch)
        dead = dead + [_dead_letter_for(self.name, item, reason) for item, reason in batch.rejected]
        await self._producer.send_many(
            [*batch.outgoing, *(_dlq_message(self._dlq, d) for d in dead)]
        )
        self.stats.dead_lettered += len(dead)
        self.stats.handled += len(items) - len(batch.rejected)
        self._kick_after_commit()

    async def _handle_one_by_one(self, items: list[Envelope[T]], dead: list[DeadLetter]) -> None:
        await self._handle([], dead)
        for item in items:
            try:
                await self._handle([item], [])
            except RETRYABLE:
                raise
            except Exception as error:
                log.error("%s: dead-lettering %s@%s: %s", self.name, item.topic, item.offset, error)
                letter = _dead_letter_for(self.name, item, f"handler failed: {error!r}")
                await self._producer.send_many([_dlq_message(self._dlq, letter)])
                self.stats.dead_lettered += 1


#: Young-generation threshold while consuming (CPython's default is 700 allocations).
GC_THRESHOLDS = (50_000, 20, 20)


def settle_garbage_collector() -> None:
    """Tune CPython's cyclic collector for batch consumption; process-wide, idempotent.

    A batch allocates tens of thousands of short-lived objects (records, models, rows),
    so with the default thresholds the collector ran thousands of times per 30,000 events,
    and each full collection walked every object the process had made at start-up (the
    ORM's, pydantic's and aiokafka's). Measured on the matcher: 5.9 s of collection per
    30,000 direct events, 0.3 s after this. ``gc.freeze`` moves what exists now (imports,
    schemas, caches built at start-up) out of the collector's sight for good; the higher
    threshold lets a batch's garbage die by reference counting before anyone scans it.
    Cycles are still collected, only less often. Garbage is collected before the freeze,
    so none is kept for good (a test process starts many consumers).
    """
    gc.collect()
    gc.freeze()
    if gc.get_threshold()[0] < GC_THRESHOLDS[0]:
        gc.set_threshold(*GC_THRESHOLDS)


def _dead_letter_for(consumer: str, item: Envelope[Any], reason: str) -> DeadLetter:
    """A message that decoded but could not be used: its value as it travelled."""
    value = item.value
    if isinstance(value, BaseModel):
        raw = value.model_dump_json().encode()
    elif isinstance(value, bytes):
        raw = value  # a raw-bytes decoder (ingest): keep the department's bytes
    else:
        raw = str(value).encode()
    return DeadLetter.build(
        consumer,
        topic=item.topic,
        partition=item.partition,
        offset=item.offset,
        key=item.key,
        headers=item.headers,
        raw=raw,
        reason=reason,
        error_type="Rejected",
    )


def _dlq_message(topic: str, letter: DeadLetter) -> OutMessage:
    headers = [(k, v.encode()) for k, v in letter.headers.items() if k in ("traceparent",)]
    return OutMessage(topic, encode(letter), letter.key, headers)


def _next_offsets(records: Sequence[ConsumerRecord[bytes, bytes]]) -> dict[TopicPartition, int]:
    """The offset to commit per partition: one past the highest one in the batch. (Plain
    tuples per record; a TopicPartition per partition: this runs for every message.)"""
    highest: dict[tuple[str, int], int] = {}
    for record in records:
        where = (record.topic, record.partition)
        if record.offset >= highest.get(where, -1):
            highest[where] = record.offset
    return {TopicPartition(t, p): offset + 1 for (t, p), offset in highest.items()}


async def ensure_topics(
    bootstrap: str,
    topics: Sequence[str],
    *,
    partitions: int = DEFAULT_PARTITIONS,
    replication_factor: int = 1,
) -> None:
    """Create the topics that do not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="lifesign-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        new = [
            NewTopic(
                t,
                num_partitions=partitions,
                replication_factor=replication_factor,
                topic_configs={"cleanup.policy": "compact"} if t in COMPACTED else {},
            )
            for t in missing
        ]
        with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
            await admin.create_topics(new)
    finally:
        await admin.close()


def json_decoder(model: type[BaseModel]) -> Callable[[bytes], Any]:
    """A decoder that parses and validates one pydantic model from a message value."""

    def decode(raw: bytes) -> Any:
        return model.model_validate_json(raw)

    return decode
