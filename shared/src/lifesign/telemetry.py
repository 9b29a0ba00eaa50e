"""OpenTelemetry: one trace per event, carried in Kafka headers (ARCHITECTURE principle 7).

A message's ``traceparent`` header travels with everything derived from it, so a funeral
record, the decision it causes and the SUSPEND command share one trace id.
"""

from __future__ import annotations

import itertools
import random
import sys
import uuid
from collections.abc import Iterable, Sequence

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

Headers = Sequence[tuple[str, bytes]]

_TRACE_HEADERS = ("traceparent", "tracestate")


def setup(service_name: str, *, console: bool = False) -> TracerProvider:
    """Install a tracer provider for this process; console export is for debugging."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if console:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    trace.set_tracer_provider(provider)
    return provider


def tracer() -> trace.Tracer:
    return trace.get_tracer("lifesign")


def trace_headers(headers: Iterable[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The W3C trace-context headers of a message, to copy onto what derives from it."""
    if not headers:  # the common case of a department's message: nothing to copy
        return []
    return [(k, v) for k, v in headers if k in _TRACE_HEADERS]


def context_from(headers: Iterable[tuple[str, bytes]]) -> Context:
    carrier = {k: v.decode("latin-1") for k, v in headers if k in _TRACE_HEADERS}
    return propagate.extract(carrier)


def current_headers() -> list[tuple[str, bytes]]:
    """Headers that start a trace from the current span (for a message's first hop)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(k, v.encode("latin-1")) for k, v in carrier.items()]


#: Links per batch span: the SDK keeps 128 at most (OTEL_SPAN_LINK_COUNT_LIMIT), and
#: extracting a context costs about 50 µs, so a 2,000-message batch links its first ones.
MAX_LINKS = 32


def links_for(
    headers_list: Iterable[Iterable[tuple[str, bytes]]], limit: int = MAX_LINKS
) -> list[trace.Link]:
    """Span links from the traced ones among a batch's first ``limit`` messages to the
    batch span. Only those are looked at: a batch of untraced messages (a department's
    feed) would otherwise cost an extraction per message for no link at all."""
    links: list[trace.Link] = []
    for headers in itertools.islice(headers_list, limit):
        if not headers:
            continue
        span_context = trace.get_current_span(context_from(headers)).get_span_context()
        if span_context.is_valid:
            links.append(trace.Link(span_context))
    return links


def first_hop_headers(event_id: uuid.UUID) -> list[tuple[str, bytes]]:
    """A trace context for an event that arrived without one.

    The trace id is the event id, so every replay of the event lands in the same trace and
    an operator can find the trace from the event id alone. No span object is created: at
    tens of thousands of events a second that would cost more than the rest of ingest.
    """
    # A span id need only be unique, not secret (the SDK's own generator uses ``random``
    # too); ``secrets`` asked the kernel for bytes on every record.
    span_id = random.getrandbits(64) or 1
    return [("traceparent", f"00-{event_id.hex}-{span_id:016x}-01".encode())]
