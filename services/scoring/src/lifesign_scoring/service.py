"""Behaviour features from auxiliary evidence (R-7.5.2), pure.

The classification model of R-7.5.2 is built on these daily counts in a later issue; this
module aggregates a batch of auxiliary events into (person, source, day) counts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from lifesign.certification import local_date
from lifesign.events import LifeEvent

Key = tuple[str, str, date]


def daily_counts(events: list[LifeEvent]) -> dict[Key, tuple[int, datetime]]:
    """Events per person, source and Beijing day, with the latest time seen."""
    counts: dict[Key, int] = defaultdict(int)
    latest: dict[Key, datetime] = {}
    for event in events:
        key = (event.person.pseudonym, event.source, local_date(event.occurred_at))
        counts[key] += 1
        if key not in latest or event.occurred_at > latest[key]:
            latest[key] = event.occurred_at
    return {key: (n, latest[key]) for key, n in counts.items()}
