"""The event contracts' deterministic ids."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from lifesign.events import LIFESIGN_NAMESPACE, deterministic_id, event_id_for


@given(parts=st.lists(st.text(), min_size=1, max_size=4))
def test_deterministic_id_is_the_uuid5_of_the_joined_parts(parts: list[str]) -> None:
    found = deterministic_id(*parts)
    assert found == uuid.uuid5(LIFESIGN_NAMESPACE, "\x1f".join(parts))
    assert found.version == 5
    assert found.variant == uuid.RFC_4122


def test_event_id_is_stable() -> None:
    # Published ids must never change: a redelivered record keeps its id forever.
    assert event_id_for("pharmacy_purchase", "R00000000") == uuid.UUID(
        "40bfd428-9aab-559f-aca7-342d85c1cf20"
    )
