"""Who may see or touch a case: the one place where "a consul sees a case only while shared" lives.

Every handler that reads or changes a case, or anything hanging off one (documents,
questionnaire answers, interviews), loads the case through `load_case` and lists cases
through `visible_cases`. Neither ever returns a case the caller may not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, exists, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from interviews.access import Action, Actor, Forbidden, authorize
from interviews.accounts import Role
from interviews.cases import Case
from interviews.sharing import CaseShare, active_share


class CaseNotFound(LookupError):
    """No case with that id (web maps it to 404)."""


@dataclass(frozen=True)
class CaseGrant:
    """A case the caller may act on, and for a consul the share that lets them see it."""

    case: Case
    share: CaseShare | None


async def load_case_grant(
    session: AsyncSession, actor: Actor | None, case_id: int, action: Action = Action.CASE_READ
) -> CaseGrant:
    """Load a case for `actor` doing `action`, or raise NotSignedIn, Forbidden or CaseNotFound.

    The rules, in order:
    - the role must be allowed `action` at all (`interviews.access._ROLES`); interpreters,
      for now, see no case;
    - admins may act on every case;
    - staff only on cases of their own facility;
    - consuls only on cases with an *active* (unrevoked) share to their consulate; a revoked
      share is the same as none. Consuls only ever read: give them read-type actions
      (CASE_READ, DOCUMENT_READ, or your own read action whose _ROLES include CONSUL).

    Use it from any handler that touches a case or something of a case (documents,
    questionnaire answers, interview bookings): `grant = await load_case_grant(session,
    actor, case_id, Action.X)`; `grant.share` tells which share a consul reads through.
    """
    checked = authorize(actor, action)
    # The languages in the same statement (every scheduling request reads them).
    case = await session.get(Case, case_id, options=[joinedload(Case.language_rows)])
    if case is None:
        raise CaseNotFound(case_id)
    return await _grant(session, checked, action, case)


async def load_case_with(
    session: AsyncSession,
    actor: Actor | None,
    case_id: int,
    action: Action,
    extras: Sequence[ScalarSelect[Any]],
) -> tuple[Case, Sequence[Any]]:
    """`load_case`, with `extras` (scalar subqueries, correlated to `Case` or not) read in
    the same statement: one round trip where a request needs more than the case."""
    checked = authorize(actor, action)
    query = select(Case, *extras).where(Case.id == case_id)
    result = await session.execute(query.options(joinedload(Case.language_rows)))
    row = result.unique().one_or_none()
    if row is None:
        raise CaseNotFound(case_id)
    case = row[0]
    await _grant(session, checked, action, case)
    return case, tuple(row[1:])


async def _grant(session: AsyncSession, checked: Actor, action: Action, case: Case) -> CaseGrant:
    """The rules of `load_case_grant` after the role check, for a loaded case."""
    if checked.role is Role.CONSUL:
        if checked.consulate_id is None:
            raise Forbidden(action, "this account belongs to no consulate")
        share = await active_share(session, case.id, checked.consulate_id)
        if share is None:
            raise Forbidden(action, "this case is not shared with your consulate")
        return CaseGrant(case, share)
    authorize(checked, action, facility_id=case.facility_id)
    return CaseGrant(case, None)


async def load_case(
    session: AsyncSession, actor: Actor | None, case_id: int, action: Action = Action.CASE_READ
) -> Case:
    """The case `case_id` if `actor` may do `action` on it (see `load_case_grant` for the rules)."""
    return (await load_case_grant(session, actor, case_id, action)).case


def visible_cases(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on `Case` that keeps only the cases `actor` may read (same rules)."""
    if actor.role is Role.ADMIN:
        return true()
    if actor.role is Role.STAFF and actor.facility_id is not None:
        return Case.facility_id == actor.facility_id
    if actor.role is Role.CONSUL and actor.consulate_id is not None:
        return exists(
            select(CaseShare.id).where(
                CaseShare.case_id == Case.id,
                CaseShare.consulate_id == actor.consulate_id,
                CaseShare.revoked_at.is_(None),
            )
        )
    return false()
