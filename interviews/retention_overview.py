"""What retention would do now, for the admins' page and API: the periods in effect, the
active legal holds, and a bounded dry run (a count of everything, a list of the first items).

Read-only: it runs the same finders as the daily job, in one read transaction, and deletes
nothing. The list is bounded (the counts are not), so a large backlog stays a small page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.legal_holds import LegalHold
from interviews.retention import Expired, Storage, find_expired
from interviews.retention_policy import FROM_INTERVIEW_END, RetainedKind, RetentionPolicy

MAX_LISTED = 500


@dataclass(frozen=True)
class RetentionOverview:
    """The policy, the holds, and what a run at `now` would delete (first `listed` of it)."""

    now: datetime
    policy: RetentionPolicy
    legal_holds: int
    due: int  # items a run would delete
    due_by_kind: dict[RetainedKind, int]
    held: int  # expired items a legal hold keeps
    listed: list[Expired]

    @property
    def truncated(self) -> bool:
        """True when more items are due than are listed."""
        return self.due > len(self.listed)


def counted_from(kind: RetainedKind) -> str:
    """When the kind's period starts: `interview_end` or `case_closed`."""
    return "interview_end" if kind in FROM_INTERVIEW_END else "case_closed"


async def retention_overview(
    session: AsyncSession, policy: RetentionPolicy, storage: Storage, now: datetime, *, limit: int
) -> RetentionOverview:
    """A dry run at `now` listing at most `limit` items, with the active holds counted."""
    holds = (
        await session.scalars(select(LegalHold.case_id).where(LegalHold.cleared_at.is_(None)))
    ).all()
    held_cases = set(holds)
    found = await find_expired(session, policy, storage, now)
    due = [item for item in found if item.case_id not in held_cases]
    by_kind = Counter(item.kind for item in due)
    return RetentionOverview(
        now=now,
        policy=policy,
        legal_holds=len(holds),  # one row per active hold
        due=len(due),
        due_by_kind={kind: by_kind.get(kind, 0) for kind in RetainedKind},
        held=len(found) - len(due),
        listed=due[: min(limit, MAX_LISTED)],
    )
