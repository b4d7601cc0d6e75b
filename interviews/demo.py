"""Demo data for `consulink serve --demo`: facilities, the consular directory and users.

The content is in demo_data.py: facilities in Mexico, Guatemala, Costa Rica and Panama;
the consulates of India, Bangladesh, Nepal, Sri Lanka, Ethiopia and Afghanistan (as at the
2012 RCM meeting); one account per role, all with one printed password.

Loading is idempotent: rows are matched by name or e-mail and, when found, left exactly as
they are, so a restart adds nothing and keeps whatever was edited in the demo. To add demo
content, write an `async def _load_x(session) -> int` and append it to `_STEPS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews import accounts
from interviews.consulates import Consulate
from interviews.demo_data import CONSULATES, FACILITIES, PASSWORD, USERS
from interviews.directory import ConsulateIn, create_entry
from interviews.facilities import Facility
from interviews.questionnaire_demo import load_demo_questionnaires
from scheduling.demo import load_demo_scheduling


@dataclass(frozen=True)
class DemoLogins:
    """What `consulink serve --demo` prints: one password and (e-mail, who) per account."""

    password: str
    accounts: tuple[tuple[str, str], ...]


DEMO_LOGINS = DemoLogins(
    password=PASSWORD,
    accounts=tuple((user.email, user.description) for user in USERS),
)


async def _load_facilities(session: AsyncSession) -> int:
    added = 0
    for demo in FACILITIES:
        if await _facility_id(session, demo.name) is not None:
            continue
        session.add(
            Facility(
                name=demo.name,
                country=demo.country,
                city=demo.city,
                time_zone=demo.time_zone,
                language="spa",
                deadline_days=demo.deadline_days,
            )
        )
        added += 1
    await session.flush()
    return added


async def _facility_id(session: AsyncSession, name: str) -> int | None:
    found: int | None = await session.scalar(select(Facility.id).where(Facility.name == name))
    return found


async def _consulate_id(session: AsyncSession, name: str) -> int | None:
    found: int | None = await session.scalar(
        select(Consulate.id).where(func.lower(Consulate.name) == name.lower())
    )
    return found


async def _load_consulates(session: AsyncSession) -> int:
    added = 0
    for entry in CONSULATES:
        if await _consulate_id(session, str(entry["name"])) is None:
            # Through the directory's own validation and audit, like an admin's entry.
            await create_entry(session, ConsulateIn.model_validate(entry), actor=None)
            added += 1
    return added


async def _load_users(session: AsyncSession) -> int:
    added = 0
    for user in USERS:
        if await accounts.find_user(session, user.email) is not None:
            continue
        facility_id = consulate_id = None
        if user.facility is not None:
            facility_id = await _facility_id(session, user.facility)
        if user.consulate is not None:
            consulate_id = await _consulate_id(session, user.consulate)
        if (user.facility is not None and facility_id is None) or (
            user.consulate is not None and consulate_id is None
        ):
            continue  # its organisation was renamed in the demo: skip rather than guess
        await accounts.create_user(
            session,
            email=user.email,
            name=user.name,
            role=user.role,
            password=DEMO_LOGINS.password,
            facility_id=facility_id,
            consulate_id=consulate_id,
            language=user.language,
            time_zone=user.time_zone,
        )
        added += 1
    return added


# Run in order; each returns how many rows it added. Append new demo content here.
_STEPS: tuple[Callable[[AsyncSession], Awaitable[int]], ...] = (
    _load_facilities,
    _load_consulates,
    _load_users,
    load_demo_questionnaires,
    load_demo_scheduling,
)


async def load_demo(session: AsyncSession) -> int:
    """Add whatever demo rows are missing, in the caller's transaction; returns how many.

    Existing rows (matched by name or e-mail) are never changed, so loading twice adds and
    changes nothing.
    """
    added = 0
    for step in _STEPS:
        added += await step(session)
    return added
