"""Batch upload of a feed over HTTP (R-7.3.1, R-8.2.2): CSV or JSON lines, streamed.

The request body is read chunk by chunk and processed ``CHUNK_ROWS`` rows at a time, so a
1 GB file is never held in memory: each chunk's events are normalised like any Kafka
record, its bookkeeping (lineage, counts, the rejected rows) committed, then its events
published. Every rejected row is stored with its reason, for the downloadable error file.

A failed upload can simply be sent again: event ids are derived from (source, record id),
so the events of rows already published are dropped downstream as duplicates.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import telemetry, topics
from lifesign.bus import OutMessage, Producer, describe_error
from lifesign.catalogue import Source
from lifesign.clock import Clock
from lifesign.events import Channel, FeedRecord, Provenance
from lifesign_ingest import repository
from lifesign_ingest.intake import Intake, Normalised, Tally
from lifesign_ingest.service import (
    MAX_RECORD_BYTES,
    RecordRejected,
    feed_header,
    feed_record_from_row,
)

CHUNK_ROWS = 2000
#: Rows with their reasons kept in the HTTP answer; all of them are in the error file.
ERRORS_IN_ANSWER = 100
#: ``encoding=gbk`` decodes with GB 18030, the superset of GBK that departments' tools write.
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gb18030", "gb18030": "gb18030"}


class FileFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class UploadRefused(ValueError):
    """The file as a whole cannot be taken (its header, its encoding): nothing is ingested."""


@dataclass(frozen=True, slots=True)
class RowRejection:
    row: int
    record_id: str | None
    reason: str


@dataclass
class UploadResult:
    upload_id: uuid.UUID
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    first_errors: list[RowRejection] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Line:
    number: int  # physical line number, from 1
    raw: bytes | None  # None: longer than MAX_RECORD_BYTES


async def physical_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[_Line]:
    """Lines of a byte stream without their line ends, never buffering more than one line
    of at most MAX_RECORD_BYTES (a longer line is skipped to its end and reported).

    Splitting bytes on ``\\n`` is safe for UTF-8 and GBK alike: no multi-byte character of
    either contains the byte 0x0A.
    """
    buffer = bytearray()
    number, oversized = 0, False
    async for chunk in chunks:
        buffer += chunk
        while (end := buffer.find(b"\n")) >= 0:
            number += 1
            line = bytes(buffer[:end]).rstrip(b"\r")
            del buffer[: end + 1]
            yield _Line(number, None if oversized or len(line) > MAX_RECORD_BYTES else line)
            oversized = False
        if len(buffer) > MAX_RECORD_BYTES:
            oversized = True  # keep reading to the line end without keeping the bytes
            buffer.clear()
    if buffer or oversized:
        number += 1
        line = bytes(buffer).rstrip(b"\r")
        yield _Line(number, None if oversized or len(line) > MAX_RECORD_BYTES else line)


def _decode(line: _Line, encoding: str) -> str:
    if line.raw is None:
        raise RecordRejected(f"line longer than the limit of {MAX_RECORD_BYTES:,} bytes")
    raw = line.raw.removeprefix(b"\xef\xbb\xbf") if line.number == 1 else line.raw
    try:
        return raw.decode(ENCODINGS[encoding])
    except UnicodeDecodeError as error:
        hint = " (if the file is GBK-encoded, upload it with encoding=gbk)"
        raise RecordRejected(
            f"not valid {encoding}: byte 0x{raw[error.start]:02x} at position {error.start}"
            + (hint if encoding.startswith("utf") else "")
        ) from error


class _Parser:
    """Turns physical lines into (row number, FeedRecord or rejection) for one format."""

    def __init__(self, source: Source, fmt: FileFormat, encoding: str) -> None:
        self._source, self._format, self._encoding = source, fmt, encoding
        self._columns: list[str] | None = None
        self._pending: list[str] = []
        self._pending_start = 0

    def feed(self, line: _Line) -> Iterator[tuple[int, FeedRecord | RowRejection]]:
        if self._format is FileFormat.JSONL:
            yield from self._json_line(line)
        else:
            yield from self._csv_line(line)

    def finish(self) -> Iterator[tuple[int, FeedRecord | RowRejection]]:
        if self._pending:  # a quoted field never closed
            row = self._pending_start
            yield row, RowRejection(row, None, "unterminated quoted field at the end of the file")
        if self._format is FileFormat.CSV and self._columns is None:
            raise UploadRefused("empty file: a CSV upload starts with its header row")

    def _json_line(self, line: _Line) -> Iterator[tuple[int, FeedRecord | RowRejection]]:
        try:
            text = _decode(line, self._encoding)
            if not text.strip():
                return
            yield line.number, FeedRecord.model_validate_json(text)
        except (RecordRejected, ValidationError) as error:
            yield line.number, RowRejection(line.number, None, describe_error(error))

    def _csv_line(self, line: _Line) -> Iterator[tuple[int, FeedRecord | RowRejection]]:
        try:
            text = _decode(line, self._encoding)
        except RecordRejected as error:
            if self._columns is None:
                raise UploadRefused(f"header (line 1): {error}") from error
            self._pending = []
            yield line.number, RowRejection(line.number, None, str(error))
            return
        if not self._pending:
            self._pending_start = line.number
        self._pending.append(text)
        # A record ends where its quotes balance (RFC 4180 doubles a quote inside a field).
        if sum(part.count('"') for part in self._pending) % 2:
            return
        logical, self._pending = "\n".join(self._pending), []
        cells = next(csv.reader([logical]), [])
        if self._columns is None:
            try:
                self._columns = feed_header(self._source, cells)
            except ValueError as error:
                raise UploadRefused(str(error)) from error
            return
        if not any(c.strip() for c in cells):
            return  # a blank line
        yield self._pending_start, self._csv_record(self._pending_start, cells)

    def _csv_record(self, row: int, cells: list[str]) -> FeedRecord | RowRejection:
        assert self._columns is not None  # noqa: S101 (the header was read first)
        if len(cells) != len(self._columns):
            return RowRejection(
                row, None, f"{len(cells)} cells, but the header has {len(self._columns)} columns"
            )
        values = dict(zip(self._columns, cells, strict=True))
        try:
            return feed_record_from_row(self._source, values)
        except RecordRejected as error:
            return RowRejection(row, values.get("record_id") or None, str(error))


@dataclass
class Uploader:
    """Streams one upload through the intake, chunk by chunk (see the module docstring)."""

    intake: Intake
    sessions: async_sessionmaker[AsyncSession]
    producer: Producer
    clock: Clock

    async def run(
        self,
        chunks: AsyncIterator[bytes],
        *,
        source: Source,
        fmt: FileFormat,
        encoding: str,
        file: str,
    ) -> UploadResult:
        result = UploadResult(uuid.uuid4())
        async with self.sessions.begin() as session:
            await repository.start_upload(
                session,
                result.upload_id,
                source=source.code,
                file=file,
                fmt=fmt.value,
                encoding=encoding,
                at=self.clock.now(),
            )
        parser = _Parser(source, fmt, encoding)
        chunk: list[tuple[int, FeedRecord | RowRejection]] = []
        try:
            async for line in physical_lines(chunks):
                chunk.extend(parser.feed(line))
                if len(chunk) >= CHUNK_ROWS:
                    await self._store(chunk, source, file, result)
                    chunk = []
            chunk.extend(parser.finish())
            await self._store(chunk, source, file, result)
        except Exception as error:
            await self._finish(result, error=describe_error(error))
            raise
        await self._finish(result, error=None)
        return result

    async def _store(
        self,
        chunk: list[tuple[int, FeedRecord | RowRejection]],
        source: Source,
        file: str,
        result: UploadResult,
    ) -> None:
        if not chunk:
            return
        received_at = self.clock.now()
        tally = Tally()
        normalised: list[Normalised] = []
        rejections: list[RowRejection] = []
        for row, parsed in chunk:
            if isinstance(parsed, FeedRecord):
                try:
                    normalised.append(self._normalise(parsed, row, source, file, received_at))
                    tally.accept(source.code, received_at)
                    continue
                except RecordRejected as error:
                    parsed = RowRejection(row, parsed.record_id, str(error))
            rejections.append(parsed)
            tally.reject(source.code, received_at)
        async with self.sessions.begin() as session:
            events = await self.intake.check_names(session, normalised)
            await repository.record_lineage(session, events, upload_id=result.upload_id)
            await repository.add_counts(session, tally.accepted, tally.rejected)
            await repository.add_upload_errors(
                session, result.upload_id, [(r.row, r.record_id, r.reason) for r in rejections]
            )
            result.rows += len(chunk)
            result.accepted += len(events)
            result.rejected += len(rejections)
            await repository.progress_upload(
                session, result.upload_id, result.rows, result.accepted, result.rejected
            )
        room = ERRORS_IN_ANSWER - len(result.first_errors)
        result.first_errors += rejections[: max(room, 0)]
        # After the commit, like the consumer loop's emitted messages (see the docstring).
        await self.producer.send_many(
            [
                OutMessage.of(
                    topics.EVENTS_NORMALIZED,
                    e,
                    key=e.person.pseudonym,
                    headers=telemetry.first_hop_headers(e.event_id),
                )
                for e in events
            ]
        )

    def _normalise(
        self, record: FeedRecord, row: int, source: Source, file: str, received_at: Any
    ) -> Normalised:
        provenance = Provenance(
            channel=Channel.HTTP_UPLOAD, source_record_id=record.record_id, file=file, row=row
        )
        return self.intake.normalise(
            record, source=source, provenance=provenance, received_at=received_at
        )

    async def _finish(self, result: UploadResult, *, error: str | None) -> None:
        async with self.sessions.begin() as session:
            await repository.finish_upload(session, result.upload_id, self.clock.now(), error)
