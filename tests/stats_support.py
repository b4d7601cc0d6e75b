"""A hand-built data set whose statistics are worked out by hand in the tests that use it.

Tapachula (MX), January 2026: six Indian cases detained on 1 January and opened on the
5th, two Nepali cases opened on the 7th; a February interview for one Indian case. The
comments give each figure's reason; tests/test_stats_indicators.py states the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from interviews.cases import Case, CaseStatusChange
from interviews.facilities import Facility
from scheduling.appointments import Interview, Participant
from scheduling.resources import VideoRoom
from scheduling.shortfalls import InterpreterShortfall
from tests.conftest import World

AS_OF = datetime(2026, 3, 15, tzinfo=UTC)


def at(day: str) -> datetime:
    """Noon UTC on an ISO day."""
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


@dataclass
class Built:
    """What the data set made."""

    guatemala: Facility
    cases: dict[str, Case]


async def build(session: AsyncSession, world: World) -> Built:
    """Add the data set to the world's database."""
    room = VideoRoom(facility_id=world.tapachula.id, name="Sala 1")
    guatemala = Facility(
        name="Albergue IGM", country="GT", city="Guatemala", time_zone="America/Guatemala"
    )
    session.add_all([room, guatemala])
    await session.flush()
    counter = 0

    def case(
        name: str,
        nationality: str,
        opened: str,
        detained: str,
        deadline: str,
        *,
        minor: bool = False,
        alone: bool = False,
    ) -> Case:
        nonlocal counter
        counter += 1
        row = Case(
            reference=f"TST-2026-{counter:04d}",
            facility_id=world.tapachula.id,
            family_name=name,
            claimed_nationality=nationality,
            detention_date=date.fromisoformat(detained),
            deadline=date.fromisoformat(deadline),
            minor=minor,
            unaccompanied_minor=alone,
            created_at=at(opened),
            updated_at=at(opened),
        )
        session.add(row)
        return row

    cases = {
        # Indian cohort of January: c1 and c2 minors (c2 alone); c6's deadline passes unresolved.
        "c1": case("One", "IN", "2026-01-05", "2026-01-01", "2026-03-01", minor=True),
        "c2": case("Two", "IN", "2026-01-05", "2026-01-01", "2026-03-01", minor=True, alone=True),
        "c3": case("Three", "IN", "2026-01-05", "2026-01-01", "2026-03-01"),
        "c4": case("Four", "IN", "2026-01-05", "2026-01-01", "2026-03-01"),
        "c5": case("Five", "IN", "2026-01-05", "2026-01-01", "2026-03-01"),
        "c6": case("Six", "IN", "2026-01-05", "2026-01-01", "2026-01-20"),
        # Nepali: n1's deadline passes unresolved; no interpreter found for either.
        "n1": case("Nine", "NP", "2026-01-07", "2026-01-02", "2026-01-10"),
        "n2": case("Ten", "NP", "2026-01-07", "2026-01-02", "2026-04-01"),
    }
    await session.flush()

    def interview(
        key: str, day: str, status: str, *, held: bool = False, language: str | None = "hin"
    ) -> None:
        row = Interview(
            case_id=cases[key].id,
            consulate_id=world.india.id,
            facility_id=world.tapachula.id,
            consul_id=world.consul_india.id,
            language=language,
            room_id=room.id,
            starts_at=at(day),
            ends_at=at(day),
            busy_until=at(day),
            status=status,
        )
        row.participants = [
            Participant(
                user_id=world.consul_india.id,
                role="consul",
                name="Consul",
                email="consul.in@example.org",
                joined_at=at(day) if held else None,
            )
        ]
        session.add(row)

    # Held (first) interviews: c1 day 10, c2 day 20, c3 day 30 (no interpreter), c4 day 40
    # (in February), c5 day 15 after a no-show on day 11; c6's one interview was cancelled.
    interview("c1", "2026-01-11", "confirmed", held=True)
    interview("c2", "2026-01-21", "confirmed", held=True)
    interview("c3", "2026-01-31", "confirmed", held=True, language=None)
    interview("c4", "2026-02-10", "confirmed", held=True)
    interview("c5", "2026-01-12", "no_show")
    interview("c5", "2026-01-16", "confirmed", held=True)
    interview("c6", "2026-01-14", "cancelled")

    def outcome(key: str, day: str, status: str) -> None:
        session.add(
            CaseStatusChange(
                case_id=cases[key].id,
                at=at(day),
                from_status="interview_held",
                to_status=status,
            )
        )

    # First outcomes: c1 day 11, c2 day 21, c3 day 31 (not confirmed), c4 day 41, c5 day 16
    # (not confirmed, then confirmed on day 24: counted as confirmed).
    outcome("c1", "2026-01-12", "identity_confirmed")
    outcome("c2", "2026-01-22", "identity_confirmed")
    outcome("c3", "2026-02-01", "identity_not_confirmed")
    outcome("c4", "2026-02-11", "identity_confirmed")
    outcome("c5", "2026-01-17", "identity_not_confirmed")
    outcome("c5", "2026-01-25", "identity_confirmed")

    # Interpreter shortfall: n1 searched twice, n2 once, for Nepali: two people.
    for key, day in (("n1", "2026-01-08"), ("n1", "2026-01-09"), ("n2", "2026-01-08")):
        session.add(
            InterpreterShortfall(
                at=at(day),
                case_id=cases[key].id,
                facility_id=world.tapachula.id,
                language="nep",
                reason="none_registered",
            )
        )
    await session.flush()
    return Built(guatemala=guatemala, cases=cases)


# -- a region: several facilities in several countries, cases in groups -----------------------

REGION_FACILITIES = {
    # name: country (Tapachula, Mexico, is the world's own facility)
    "Estación Migratoria Acayucan": "MX",
    "Albergue IGM": "GT",
    "Centro de Atención Migratoria": "CR",
}


@dataclass(frozen=True)
class Group:
    """`cases` people of one nationality at one facility, all with the same story.

    Opened on 10 January 2026 (detained on the 5th, deadline in June); the first `minors`
    are minors (none unaccompanied). Each has one interview on the 15th, held with the
    consul of their nationality in their language (days to first interview: 10), and an
    outcome on the 20th (days to identification: 15): the first `confirmed` confirmed,
    the others not confirmed. `pending` more interviews that day are still requested.
    """

    facility: str
    nationality: str  # IN or NP
    cases: int
    minors: int = 0
    confirmed: int = 0
    pending: int = 0


async def build_region(session: AsyncSession, world: World, groups: list[Group]) -> dict[str, int]:
    """Add the facilities of REGION_FACILITIES and the groups; returns facility ids by name."""
    facilities = {world.tapachula.name: world.tapachula}
    for name, country in REGION_FACILITIES.items():
        facilities[name] = Facility(name=name, country=country, city=name, time_zone="UTC")
    session.add_all(facilities.values())
    await session.flush()
    rooms = {name: VideoRoom(facility_id=f.id, name="Sala 1") for name, f in facilities.items()}
    session.add_all(rooms.values())
    await session.flush()
    consulates = {"IN": (world.india, world.consul_india, "hin"),
                  "NP": (world.nepal, world.consul_nepal, "nep")}  # fmt: skip
    number = 0
    for group in groups:
        facility, room = facilities[group.facility], rooms[group.facility]
        consulate, consul, language = consulates[group.nationality]
        for index in range(group.cases):
            number += 1
            row = Case(
                reference=f"REG-2026-{number:04d}",
                facility_id=facility.id,
                family_name=f"Person {number}",
                claimed_nationality=group.nationality,
                detention_date=date(2026, 1, 5),
                deadline=date(2026, 6, 1),
                minor=index < group.minors,
                created_at=at("2026-01-10"),
                updated_at=at("2026-01-10"),
            )
            session.add(row)
            await session.flush()
            for held in [True] + [False] * (group.pending if index == 0 else 0):
                session.add(
                    Interview(
                        case_id=row.id, consulate_id=consulate.id, facility_id=facility.id,
                        consul_id=consul.id, language=language, room_id=room.id,
                        starts_at=at("2026-01-15"), ends_at=at("2026-01-15"),
                        busy_until=at("2026-01-15"),
                        status="confirmed" if held else "requested",
                        participants=[Participant(
                            user_id=consul.id, role="consul", name="Consul",
                            email=consul.email, joined_at=at("2026-01-15") if held else None,
                        )],
                    )
                )  # fmt: skip
            outcome = "identity_confirmed" if index < group.confirmed else "identity_not_confirmed"
            session.add(
                CaseStatusChange(case_id=row.id, at=at("2026-01-20"),
                                 from_status="interview_held", to_status=outcome)
            )  # fmt: skip
    await session.flush()
    return {name: f.id for name, f in facilities.items()}


# Every count is 0 or at least 5, and so is every remainder (cases - minors...): nothing
# is suppressed, so every figure can be checked against its known answer.
LARGE_REGION = [
    Group("Estación Migratoria Siglo XXI", "IN", cases=10, minors=5, confirmed=5),
    Group("Estación Migratoria Siglo XXI", "NP", cases=5, confirmed=5),
    Group("Estación Migratoria Acayucan", "IN", cases=5),
    Group("Albergue IGM", "NP", cases=10, minors=5, confirmed=5),
]
