"""Who changes a booking, when and from where, and how the change reads in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from interviews.access import Actor
from interviews.audit import Entry
from scheduling.appointments import Interview


@dataclass(frozen=True)
class Change:
    """Who changes what, when and from where."""

    actor: Actor
    now: datetime
    remote: str = ""


def audit_entry(action: str, interview: Interview, change: Change, **details: Any) -> Entry:
    """The audit event of a change to an interview."""
    return Entry(
        action,
        change.actor,
        target_type="interview",
        target_id=interview.id,
        remote=change.remote,
        details={
            "case_id": interview.case_id,
            "starts_at": interview.starts_at.isoformat(),
            **details,
        },
        note=interview.reason if action in {"interview.decline", "interview.cancel"} else "",
        now=change.now,
    )
