"""What reviewers decide (R-7.3.3.2, R-7.11), applied through the same fold.

* A death or prison record whose id matched but whose name did not waits for a reviewer;
  confirmed, it is applied as loss evidence dated at the confirmation; rejected, it is
  never applied.
* A wrong death (or prison) record can be withdrawn: a retraction joins the fold's set of
  retractions, the person is re-evaluated, and the payments bridge restores payment with
  arrears (R-7.11) when the hold lifts.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.bus import Envelope
from lifesign.events import deterministic_id
from lifesign_matcher import repository
from lifesign_matcher.consumers import Certifier, ValidatedHandler
from lifesign_matcher.service import Outcome


class NotFound(LookupError):
    """No open review, or no loss evidence, with that id."""


class Reviews:
    def __init__(self, *, events: ValidatedHandler, certifier: Certifier) -> None:
        self._events = events
        self._certifier = certifier

    async def resolve(
        self,
        session: AsyncSession,
        event_id: uuid.UUID,
        *,
        confirm: bool,
        reviewer: str,
        at: datetime,
    ) -> str:
        event = await repository.open_review(session, event_id)
        if event is None:
            raise NotFound(f"no open review for event {event_id}")
        resolution = "confirmed" if confirm else "rejected"
        await repository.resolve_review(session, event_id, resolution, reviewer, at)
        if confirm:
            # Applied when the reviewer confirms it, not when it arrived (R-7.3.3.2).
            confirmed = event.model_copy(update={"received_at": at})
            await repository.set_outcomes(session, [(event_id, Outcome.LOSS.value)])
            envelope = Envelope(confirmed, "review", 0, 0, None, [], 0)
            await self._events.apply(session, [(envelope, Outcome.LOSS)])
        return resolution

    async def retract(
        self,
        session: AsyncSession,
        loss_event_id: uuid.UUID,
        *,
        reason: str,
        reviewer: str,
        at: datetime,
    ) -> uuid.UUID:
        owner = await repository.loss_owner(session, loss_event_id)
        if owner is None:
            raise NotFound(f"no death or prison evidence {loss_event_id}")
        retraction_id = deterministic_id("retraction", str(loss_event_id))
        await repository.add_retraction(
            session,
            retraction_id=retraction_id,
            pseudonym=owner,
            retracts=loss_event_id,
            reason=reason,
            reviewer=reviewer,
        )
        await self._certifier.reevaluate(session, {owner: at}, {})
        return retraction_id
