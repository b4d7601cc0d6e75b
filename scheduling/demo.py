"""Demo scheduling data: interview hours for the demo consulates, the demo interpreters'
languages and hours, two video rooms per facility, and three cases at Tapachula that show
what slot search does (an interpreter found, a priority hold, a language nobody covers).

Idempotent like the rest of the demo: an owner that already has hours, a profile or rooms
is left exactly as it is, and demo cases are matched by their names.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from interviews.access import Actor
from interviews.accounts import Role, User
from interviews.case_records import CaseIn, create_case
from interviews.cases import Case
from interviews.consulates import Consulate
from interviews.db import utcnow
from interviews.facilities import Facility
from interviews.sharing import ShareIn, share_case
from scheduling import availability
from scheduling.availability_input import ConsulateHoursIn, InterpreterProfileIn, RoomIn
from scheduling.resources import ConsulateSchedule, InterpreterProfile, VideoRoom

WEEKDAYS = range(5)
# Demo interpreter e-mail slug → languages (ISO 639-3) and how well.
INTERPRETER_LANGUAGES = {
    "hindi": (("hin", "native"), ("eng", "fluent")),
    "bengali": (("ben", "native"), ("eng", "fluent")),
    "nepali": (("nep", "native"), ("hin", "fluent")),
    "sinhala": (("sin", "native"), ("tam", "fluent")),
    "amharic": (("amh", "native"), ("tir", "fluent"), ("orm", "working")),
    "dari": (("prs", "native"), ("pus", "fluent")),
}
# (given names, family name, claimed nationality, languages, unaccompanied minor)
DEMO_CASES = (
    ("Arjun", "Demo", "IN", ("ben",), False),  # Bengali: an interpreter is needed and found
    ("Kiran", "Demo", "IN", ("hin",), True),  # the consulate speaks Hindi; priority hold
    ("Rahim", "Demo", "BD", ("syl",), False),  # Sylheti: no interpreter registered
)


def _windows(
    start: str, end: str, days: range = WEEKDAYS, **flags: bool
) -> list[dict[str, object]]:
    return [{"weekday": day, "start": start, "end": end, **flags} for day in days]


async def _consulate_hours(session: AsyncSession) -> int:
    added = 0
    consulates = await session.scalars(
        select(Consulate).where(Consulate.video_interviews.is_(True)).order_by(Consulate.id)
    )
    for consulate in consulates.all():
        if await session.get(ConsulateSchedule, consulate.id) is not None:
            continue
        windows = _windows("09:00", "12:00") + _windows("13:00", "16:00")
        if consulate.country == "IN":
            # An hour on Tuesdays and Thursdays held for unaccompanied minors.
            windows += _windows("08:00", "09:00", range(1, 4, 2), priority_only=True)
        await availability.set_consulate_hours(
            session,
            consulate.id,
            ConsulateHoursIn.model_validate({"windows": windows}),
            actor=_system(),
            now=utcnow(),
        )
        added += 1
    return added


async def _interpreters(session: AsyncSession) -> int:
    added = 0
    users = await session.scalars(
        select(User).where(User.role == Role.INTERPRETER.value).order_by(User.id)
    )
    for user in users.all():
        slug = user.email.split("@")[0].removeprefix("interpreter.")
        languages = INTERPRETER_LANGUAGES.get(slug)
        if languages is None or await session.get(InterpreterProfile, user.id) is not None:
            continue
        await availability.set_interpreter_profile(
            session,
            user.id,
            InterpreterProfileIn.model_validate(
                {
                    "time_zone": user.time_zone,
                    "max_per_day": 4,
                    "languages": [{"language": c, "proficiency": p} for c, p in languages],
                    "windows": _windows("08:00", "17:00"),
                }
            ),
            actor=_system(),
            now=utcnow(),
        )
        added += 1
    return added


async def _rooms(session: AsyncSession) -> int:
    added = 0
    for facility in (await session.scalars(select(Facility).order_by(Facility.id))).all():
        count = await session.scalar(
            select(func.count()).select_from(VideoRoom).where(VideoRoom.facility_id == facility.id)
        )
        if count:
            continue
        for name in ("Sala de videoentrevistas 1", "Sala de videoentrevistas 2"):
            await availability.save_room(
                session,
                facility.id,
                RoomIn.model_validate(
                    {"name": name, "windows": _windows("08:00", "18:00", range(6))}
                ),
                room=None,
                actor=_system(),
                now=utcnow(),
            )
            added += 1
    return added


async def _cases(session: AsyncSession) -> int:
    facility = await session.scalar(
        select(Facility).where(Facility.name == "Estación Migratoria Siglo XXI")
    )
    staff = (
        await session.scalar(
            select(User).where(User.role == Role.STAFF.value, User.facility_id == facility.id)
        )
        if facility is not None
        else None
    )
    if facility is None or staff is None:
        return 0
    actor = Actor.of(staff)
    now = utcnow()
    added = 0
    for given, family, country, languages, unaccompanied in DEMO_CASES:
        exists = await session.scalar(
            select(Case.id).where(
                Case.facility_id == facility.id,
                Case.given_names == given,
                Case.family_name == family,
            )
        )
        consulate = await session.scalar(
            select(Consulate).where(Consulate.country == country).order_by(Consulate.id)
        )
        if exists is not None or consulate is None:
            continue
        case = await create_case(
            session,
            CaseIn.model_validate(
                {
                    "given_names": given,
                    "family_name": family,
                    "claimed_nationality": country,
                    "languages": [{"language": code} for code in languages],
                    "detention_date": (now - timedelta(days=10)).date().isoformat(),
                    "estimated_age": 15 if unaccompanied else 30,
                    "minor": unaccompanied,
                    "unaccompanied_minor": unaccompanied,
                }
            ),
            facility=facility,
            actor=actor,
            now=now,
        )
        await share_case(
            session,
            case,
            ShareIn.model_validate(
                {
                    "consulate_id": consulate.id,
                    "purpose": "Identification interview (demo)",
                    "legal_basis": "consent",
                    "legal_basis_note": "Demo: consent recorded on paper at intake.",
                }
            ),
            actor=actor,
            now=now,
        )
        added += 1
    return added


def _system() -> Actor:
    # Demo set-up is done by nobody in particular; the audit log says so.
    return Actor(user_id=0, name="demo loader", role=Role.ADMIN)


async def load_demo_scheduling(session: AsyncSession) -> int:
    """Add the scheduling part of the demo (whatever is missing); returns rows added."""
    added = await _consulate_hours(session)
    added += await _interpreters(session)
    added += await _rooms(session)
    added += await _cases(session)
    return added
