"""Trace context in Kafka headers (ARCHITECTURE principle 7)."""

from __future__ import annotations

import uuid

from lifesign import telemetry


def traceparent(n: int) -> list[tuple[str, bytes]]:
    return [("traceparent", f"00-{n + 1:032x}-{n + 1:016x}-01".encode())]


def test_a_batch_span_links_the_traced_among_its_first_messages() -> None:
    untraced: list[list[tuple[str, bytes]]] = [[] for _ in range(5)]
    headers = [*untraced, traceparent(1), [("other", b"x")], traceparent(2)]

    links = telemetry.links_for(headers, limit=8)

    assert [f"{link.context.trace_id:032x}" for link in links] == [f"{2:032x}", f"{3:032x}"]


def test_messages_past_the_limit_are_not_looked_at() -> None:
    headers: list[list[tuple[str, bytes]]] = [[] for _ in range(telemetry.MAX_LINKS)]
    headers.append(traceparent(1))

    assert telemetry.links_for(headers) == []
    assert len(telemetry.links_for([traceparent(i) for i in range(100)])) == telemetry.MAX_LINKS


def test_trace_headers_keep_only_the_trace_context() -> None:
    headers = [*traceparent(1), ("tracestate", b"a=b"), ("source", b"x")]

    assert telemetry.trace_headers(headers) == [*traceparent(1), ("tracestate", b"a=b")]
    assert telemetry.trace_headers([]) == []


def test_a_first_hop_trace_is_the_event_id() -> None:
    event_id = uuid.uuid4()

    [(name, value)] = telemetry.first_hop_headers(event_id)

    assert name == "traceparent" and value.decode().split("-")[1] == event_id.hex
