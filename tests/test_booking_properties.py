"""Property: whatever mix of bookings, confirmations, cancellations, reschedules and
passing time happens, no consul, interpreter or room is ever held by two overlapping
interviews (each with its buffer).

Hypothesis drives the real booking code on a real SQLite file: two consuls, two
interpreters and two rooms that many random requests compete for.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import date, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from interviews.access import Actor
from interviews.accounts import Role, User, create_user
from interviews.consulates import Consulate, ConsulateLanguage
from interviews.db import make_engine, make_sessionmaker, upgrade
from interviews.facilities import Facility
from scheduling import availability, booking
from scheduling.appointments import ACTIVE_VALUES, Interview
from scheduling.availability_input import ConsulateHoursIn, InterpreterProfileIn, RoomIn
from scheduling.booking_rules import BookIn, BookingError, RescheduleIn
from scheduling.followups import Policy
from scheduling.jobs import JobRunner
from scheduling.mail import OutboxMailer
from scheduling.notify import MailSettings
from scheduling.tasks import Tasks
from scheduling.writes import WriteGate
from tests.conftest import PASSWORD
from tests.test_scheduling_support import MONDAY_NOON, add_case, weekdays

CASES = 6
POLICY = Policy()


async def _build_template(path: Path) -> dict[str, Any]:
    """A migrated database with the people, hours, rooms and cases the machine books with."""
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            india = Consulate(
                name="Embassy of India",
                country="IN",
                kind="embassy",
                city="Washington",
                located_country="US",
                time_zone="America/New_York",
            )
            tapachula = Facility(
                name="Siglo XXI", country="MX", city="Tapachula", time_zone="America/Mexico_City"
            )
            session.add_all([india, tapachula])
            await session.flush()
            session.add(ConsulateLanguage(consulate_id=india.id, language="hin", position=0))

            async def user(email: str, role: Role, **org: int) -> User:
                return await create_user(
                    session, email=email, name=email, role=role, password=PASSWORD, **org
                )

            admin = await user("admin@x.org", Role.ADMIN)
            staff = await user("staff@x.org", Role.STAFF, facility_id=tapachula.id)
            consuls = [
                await user(f"consul{n}@x.org", Role.CONSUL, consulate_id=india.id) for n in (1, 2)
            ]
            interpreters = [await user(f"int{n}@x.org", Role.INTERPRETER) for n in (1, 2)]
            actor = Actor.of(admin)
            await availability.set_consulate_hours(
                session,
                india.id,
                ConsulateHoursIn.model_validate({"windows": weekdays("09:00", "13:00")}),
                actor=actor,
                now=MONDAY_NOON,
            )
            for person in interpreters:
                await availability.set_interpreter_profile(
                    session,
                    person.id,
                    InterpreterProfileIn.model_validate(
                        {
                            "time_zone": "America/Mexico_City",
                            "max_per_day": 3,
                            "languages": [{"language": "pan"}],
                            "windows": weekdays("08:00", "18:00"),
                        }
                    ),
                    actor=actor,
                    now=MONDAY_NOON,
                )
            rooms = [
                await availability.save_room(
                    session,
                    tapachula.id,
                    RoomIn.model_validate(
                        {"name": f"Sala {n}", "windows": weekdays("07:00", "19:00")}
                    ),
                    room=None,
                    actor=actor,
                    now=MONDAY_NOON,
                )
                for n in (1, 2)
            ]
            cases = [
                await add_case(
                    session, tapachula.id, f"P-{n}", deadline=date(2026, 3, 31), share_with=india.id
                )
                for n in range(CASES)
            ]
            return {
                "staff": Actor.of(staff),
                "consuls": [Actor.of(c) for c in consuls],
                "interpreters": [i.id for i in interpreters],
                "rooms": [int(r["id"]) for r in rooms],
                "cases": cases,
            }
    finally:
        await engine.dispose()


class BookingMachine(RuleBasedStateMachine):
    """Random booking traffic against one database."""

    template: Path
    folder: Path
    world: dict[str, Any]
    counter = 0

    interviews = Bundle("interviews")

    def __init__(self) -> None:
        super().__init__()
        BookingMachine.counter += 1
        self.path = self.folder / f"run-{BookingMachine.counter}.db"
        shutil.copyfile(self.template, self.path)
        self.loop = asyncio.new_event_loop()
        self.engine: AsyncEngine = make_engine(f"sqlite+aiosqlite:///{self.path}")
        self.gate = WriteGate(make_sessionmaker(self.engine))
        self.now = MONDAY_NOON
        tasks = Tasks(
            mailer=OutboxMailer(self.folder / f"outbox-{BookingMachine.counter}"),
            mail=MailSettings("consulink", "c@x.org", "https://c.test", b"k" * 32),
            translations=lambda _language: _English(),
            policy=POLICY,
            deadline_days=7,
            alert_at=datetime.min.time(),
        )
        self.runner = JobRunner(self.gate, lambda: self.now, tasks.handlers())

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()
        self.path.unlink(missing_ok=True)

    @initialize()
    def start(self) -> None:
        self.now = MONDAY_NOON

    def _start_time(self, day: int, slot: int) -> datetime:
        # Mondays to Fridays, 14:00-17:30 UTC (the consulate's 09:00-12:30 New York).
        return (MONDAY_NOON + timedelta(days=day)).replace(hour=14) + timedelta(minutes=30 * slot)

    @rule(
        target=interviews,
        case=st.integers(0, CASES - 1),
        day=st.integers(0, 4),
        slot=st.integers(0, 7),
        consul=st.integers(0, 1),
        interpreter=st.integers(0, 1),
        room=st.integers(0, 1),
    )
    def book(self, case: int, day: int, slot: int, consul: int, interpreter: int, room: int) -> int:
        made = self.run(self._book(case, day, slot, consul, interpreter, room))
        return made.id if isinstance(made, Interview) else -1

    @rule(
        target=interviews,
        requests=st.lists(
            # Few times, so that requests in one batch often compete.
            st.tuples(*(st.integers(0, n) for n in (CASES - 1, 1, 3, 1, 1, 1))),
            min_size=3,
            max_size=6,
        ),
    )
    def book_together(self, requests: list[tuple[int, ...]]) -> MultipleResults[int]:
        """Several requests at once: those that pass their checks are written in batches."""

        async def together() -> list[Interview | None]:
            return await asyncio.gather(*(self._book(*request) for request in requests))

        made = self.run(together())
        # One entry per request, as `book` gives: which of several competing requests wins
        # depends on the order their checks finish in.
        return multiple(*(-1 if one is None else one.id for one in made))

    async def _book(
        self, case: int, day: int, slot: int, consul: int, interpreter: int, room: int
    ) -> Interview | None:
        data = BookIn(
            case_id=self.world["cases"][case],
            starts_at=self._start_time(day, slot),
            consul_id=self.world["consuls"][consul].user_id,
            interpreter_id=self.world["interpreters"][interpreter],
            room_id=self.world["rooms"][room],
        )
        try:
            return await booking.request_interview(
                self.gate, data, booking.Change(self.world["staff"], self.now), POLICY
            )
        except BookingError as error:
            assert error.status in (400, 409), error.message
            return None

    @rule(interview=interviews)
    def confirm(self, interview: int) -> None:
        if interview < 0:
            return
        consul = self._consul_of(interview)
        try:
            self.run(
                booking.confirm(self.gate, interview, booking.Change(consul, self.now), POLICY)
            )
        except BookingError as error:
            assert error.status == 409

    @rule(interview=interviews)
    def cancel(self, interview: int) -> None:
        if interview < 0:
            return
        try:
            self.run(
                booking.cancel(
                    self.gate,
                    interview,
                    "changed plans",
                    booking.Change(self.world["staff"], self.now),
                    POLICY,
                )
            )
        except BookingError as error:
            assert error.status == 409

    @rule(
        interview=interviews,
        day=st.integers(0, 4),
        slot=st.integers(0, 7),
        room=st.integers(0, 1),
        interpreter=st.integers(0, 1),
    )
    def reschedule(self, interview: int, day: int, slot: int, room: int, interpreter: int) -> None:
        if interview < 0:
            return
        data = RescheduleIn(
            starts_at=self._start_time(day, slot),
            room_id=self.world["rooms"][room],
            interpreter_id=self.world["interpreters"][interpreter],
            reason="moved",
        )
        try:
            self.run(
                booking.reschedule(
                    self.gate,
                    interview,
                    data,
                    booking.Change(self.world["staff"], self.now),
                    POLICY,
                )
            )
        except BookingError as error:
            assert error.status in (400, 409), error.message

    @rule(hours=st.integers(1, 30))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        self.run(self.runner.run_due())

    def _consul_of(self, interview: int) -> Actor:
        async def find() -> int:
            async with self.gate.read() as session:
                row = await session.get(Interview, interview)
                assert row is not None
                return row.consul_id

        consul_id = self.run(find())
        return next(a for a in self.world["consuls"] if a.user_id == consul_id)

    @invariant()
    def nobody_is_in_two_places_at_once(self) -> None:
        async def active() -> list[Interview]:
            async with self.gate.read() as session:
                rows = await session.scalars(
                    select(Interview).where(Interview.status.in_(ACTIVE_VALUES))
                )
                return list(rows.all())

        rows = self.run(active())
        for a, b in combinations(rows, 2):
            if a.starts_at < b.busy_until and b.starts_at < a.busy_until:
                assert a.consul_id != b.consul_id, (a.id, b.id, "consul")
                assert a.room_id != b.room_id, (a.id, b.id, "room")
                assert a.interpreter_id is None or a.interpreter_id != b.interpreter_id, (
                    a.id,
                    b.id,
                    "interpreter",
                )
        assert len({row.case_id for row in rows}) == len(rows), "a case holds two interviews"


class _English:
    def gettext(self, message: str) -> str:
        return message


def test_no_resource_is_ever_double_booked(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    world = asyncio.run(_build_template(template))
    BookingMachine.template = template
    BookingMachine.folder = tmp_path
    BookingMachine.world = world
    run_state_machine_as_test(
        BookingMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
