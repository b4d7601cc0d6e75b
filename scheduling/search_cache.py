"""What slot search reads that rarely changes, kept in memory and checked on every use.

A search needs the consulate (name, zone, languages, interview settings, consuls, hours),
the facility (name, zone, video rooms and their hours) and the interpreters of the
person's languages (with their hours). Those change when someone edits availability or an
account, not between searches, yet loading them was most of a search's statements. Here
they are cached per consulate, per facility and per language, and every use first reads
one value, `scheduling_version`, that database triggers set to a new random number on
every change to those tables (migration 0013). A change made by another server process,
the CLI or plain SQL therefore empties the cache before the next search, exactly as one
made here does.

Only what the triggers watch may be cached here; bookings and cases are always read fresh.
The cache belongs to the app's `WriteGate` (no module state); `SearchCache()` on its own,
as tests and tools may use it, just reads the same way without keeping anything long.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import BigInteger, Integer, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.accounts import Role, User
from interviews.consulates import Consulate, ConsulateLanguage
from interviews.db import Base
from interviews.facilities import Facility
from scheduling.busy import BusyPairs
from scheduling.resources import (
    AvailabilityException,
    AvailabilityWindow,
    ConsulateSchedule,
    InterpreterLanguage,
    InterpreterProfile,
    OwnerKind,
    Proficiency,
    VideoRoom,
)
from scheduling.slots import DayException, Schedule, Weekly

VERSION_ROW = 1


class SchedulingVersion(Base):
    """One row whose value the triggers of migration 0013 change on every change that
    slot search's cache depends on (a new random value each time, so never reused)."""

    __tablename__ = "scheduling_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


VERSION = select(SchedulingVersion.version).where(SchedulingVersion.id == VERSION_ROW)


@dataclass(frozen=True)
class Version:
    """A value of `scheduling_version` a caller read in a statement of its own (None: the
    row is missing), so that `SearchCache.statics` need not read it again."""

    value: int | None


@dataclass(frozen=True)
class Person:
    """A consul or an eligible interpreter, as search and invitations need them."""

    id: int
    name: str
    email: str
    language: str  # the language their invitations are written in (en, es)
    time_zone: str  # the account's zone (consuls) or the working zone (interpreters)
    max_per_day: int | None = None
    spoken: str | None = None  # interpreters: which of the person's languages they cover
    proficiency: str | None = None


@dataclass(frozen=True)
class InterviewRules:
    """A consulate's interview length, pause after each, slot grid and notice (minutes)."""

    interview_minutes: int = 60
    buffer_minutes: int = 15
    step_minutes: int = 30
    notice_minutes: int = 120


@dataclass(frozen=True)
class ConsulateInfo:
    """What search and bookings show or use of a consulate."""

    id: int
    name: str
    time_zone: str
    languages: tuple[str, ...]  # ISO 639-3, the main one first


@dataclass(frozen=True)
class FacilityInfo:
    """What search and bookings show or use of a facility."""

    id: int
    name: str
    time_zone: str


@dataclass(frozen=True)
class RoomInfo:
    """An active video room."""

    id: int
    name: str


@dataclass(frozen=True)
class ConsulatePart:
    """A consulate with its interview rules, enabled consuls (by id) and hours."""

    consulate: ConsulateInfo
    rules: InterviewRules
    consuls: dict[int, Person]
    schedule: Schedule


@dataclass(frozen=True)
class FacilityPart:
    """A facility with its active rooms (by name) and their hours."""

    facility: FacilityInfo
    rooms: dict[int, RoomInfo]
    schedules: dict[int, Schedule]


@dataclass(frozen=True)
class LanguagePart:
    """The enabled, active interpreters of one language (by id) and their hours."""

    speakers: dict[int, Person]
    schedules: dict[int, Schedule]


@dataclass(frozen=True)
class Statics:
    """The cached inputs of one search: consulate, facility and, when an interpreter is
    needed, the interpreters of the person's languages (best-ranked language each)."""

    consulate: ConsulatePart
    facility: FacilityPart
    needs_interpreter: bool
    interpreters: dict[int, Person]
    interpreter_schedules: dict[int, Schedule]


def language_rank(proficiency: str, language: str, languages: Sequence[str]) -> int:
    """Lower is better: proficiency first; between equals, the person's main language."""
    position = languages.index(language) if language in languages else len(languages)
    return Proficiency(proficiency).rank * 100 + position


def rank(person: Person, languages: Sequence[str]) -> int:
    """An interpreter's rank for a person speaking `languages`."""
    return language_rank(
        person.proficiency or Proficiency.WORKING.value, person.spoken or "", languages
    )


async def current_version(session: AsyncSession) -> int | None:
    """The version value (None when the row is missing: then nothing is kept)."""
    found = await session.scalar(VERSION)
    return None if found is None else int(found)


class SearchCache:
    """The static parts of slot search, per consulate, facility and language, valid for
    one value of `scheduling_version`."""

    def __init__(self) -> None:
        self._version: int | None = None
        self._consulates: dict[int, ConsulatePart] = {}
        self._facilities: dict[int, FacilityPart] = {}
        self._languages: dict[str, LanguagePart] = {}
        # Not versioned: bookings are read on every search, and only their parsing is
        # remembered, keyed by the text read (so it cannot go stale).
        self.busy_pairs = BusyPairs()
        self.loads = 0  # parts read from the database (tests and benches watch it)

    async def statics(
        self,
        session: AsyncSession,
        *,
        consulate_id: int,
        facility_id: int,
        languages: Sequence[str],
        seen: Version | None = None,
    ) -> Statics:
        """The parts for one case, from memory when the version has not changed (`seen`:
        the version as the caller read it in this session; otherwise it is read here)."""
        version = await current_version(session) if seen is None else seen.value
        if version is None or version != self._version:
            self._consulates.clear()
            self._facilities.clear()
            self._languages.clear()
            self._version = version
        consulate = self._consulates.get(consulate_id)
        facility = self._facilities.get(facility_id)
        if consulate is None or facility is None:
            consulate, facility = await self._load_places(
                session, consulate_id, facility_id, consulate, facility
            )
            # Parts read after the version are at least as new as it; keep them only while
            # it is still the cache's (another search may have seen a newer one meanwhile).
            if version is not None and version == self._version:
                self._consulates[consulate_id] = consulate
                self._facilities[facility_id] = facility
        needs = not set(languages) & set(consulate.consulate.languages)
        interpreters: dict[int, Person] = {}
        schedules: dict[int, Schedule] = {}
        if needs:
            parts = await self._language_parts(session, languages, version)
            interpreters, schedules = _speakers(parts, languages)
        return Statics(consulate, facility, needs, interpreters, schedules)

    async def _load_places(
        self,
        session: AsyncSession,
        consulate_id: int,
        facility_id: int,
        consulate: ConsulatePart | None,
        facility: FacilityPart | None,
    ) -> tuple[ConsulatePart, FacilityPart]:
        self.loads += 1
        info = rules = consuls = None
        if consulate is None:
            info, rules = await _consulate_row(session, consulate_id)
            consuls = await _consuls(session, consulate_id)
        place = rooms = None
        if facility is None:
            place, rooms = await _facility_rows(session, facility_id)
        windows, exceptions = await load_schedules(
            session,
            [
                (OwnerKind.CONSULATE, [consulate_id] if consulate is None else []),
                (OwnerKind.ROOM, list(rooms or ())),
            ],
        )
        if info is not None and rules is not None and consuls is not None:
            consulate = ConsulatePart(
                info,
                rules,
                consuls,
                _schedule(OwnerKind.CONSULATE, consulate_id, info.time_zone, windows, exceptions),
            )
        if place is not None and rooms is not None:
            facility = FacilityPart(
                place,
                rooms,
                {
                    room: _schedule(OwnerKind.ROOM, room, place.time_zone, windows, exceptions)
                    for room in rooms
                },
            )
        assert consulate is not None and facility is not None
        return consulate, facility

    async def _language_parts(
        self, session: AsyncSession, languages: Sequence[str], version: int | None
    ) -> dict[str, LanguagePart]:
        parts = {code: self._languages[code] for code in languages if code in self._languages}
        missing = [code for code in languages if code not in parts]
        if not missing:
            return parts
        self.loads += 1
        speakers = await _interpreters(session, missing)
        owners = sorted({person.id for found in speakers.values() for person in found})
        windows, exceptions = await load_schedules(session, [(OwnerKind.INTERPRETER, owners)])
        for code in missing:
            found = {person.id: person for person in speakers.get(code, [])}
            part = LanguagePart(
                found,
                {
                    ident: _schedule(
                        OwnerKind.INTERPRETER, ident, person.time_zone, windows, exceptions
                    )
                    for ident, person in found.items()
                },
            )
            parts[code] = part
            if version is not None and version == self._version:
                self._languages[code] = part
        return parts


def _speakers(
    parts: dict[str, LanguagePart], languages: Sequence[str]
) -> tuple[dict[int, Person], dict[int, Schedule]]:
    """Each interpreter once, for the best-ranked of the person's languages they speak,
    in id order."""
    found: dict[int, Person] = {}
    schedules: dict[int, Schedule] = {}
    for code in languages:
        part = parts[code]
        for ident, person in part.speakers.items():
            current = found.get(ident)
            if current is None or rank(person, languages) < rank(current, languages):
                found[ident] = person
                schedules[ident] = part.schedules[ident]
    order = sorted(found)
    return {i: found[i] for i in order}, {i: schedules[i] for i in order}


async def _consulate_row(
    session: AsyncSession, consulate_id: int
) -> tuple[ConsulateInfo, InterviewRules]:
    rows = (
        await session.execute(
            select(
                Consulate.name,
                Consulate.time_zone,
                ConsulateSchedule.interview_minutes,
                ConsulateSchedule.buffer_minutes,
                ConsulateSchedule.step_minutes,
                ConsulateSchedule.notice_minutes,
                ConsulateLanguage.language,
            )
            .outerjoin(ConsulateSchedule, ConsulateSchedule.consulate_id == Consulate.id)
            .outerjoin(ConsulateLanguage, ConsulateLanguage.consulate_id == Consulate.id)
            .where(Consulate.id == consulate_id)
            .order_by(ConsulateLanguage.position, ConsulateLanguage.language)
        )
    ).all()
    if not rows:
        raise LookupError(f"consulate {consulate_id} is missing")
    name, zone_name, minutes, buffer, step, notice, _language = rows[0]
    # Defaults when the consulate never saved its settings (as `consulate_settings`).
    rules = InterviewRules() if minutes is None else InterviewRules(minutes, buffer, step, notice)
    languages = tuple(row[-1] for row in rows if row[-1] is not None)
    return ConsulateInfo(consulate_id, name, zone_name, languages), rules


async def _consuls(session: AsyncSession, consulate_id: int) -> dict[int, Person]:
    query = (
        select(User.id, User.name, User.email, User.language, User.time_zone)
        .where(
            User.role == Role.CONSUL.value,
            User.consulate_id == consulate_id,
            User.disabled.is_(False),
        )
        .order_by(User.id)
    )
    return {row[0]: Person(*row) for row in (await session.execute(query)).all()}


async def _facility_rows(
    session: AsyncSession, facility_id: int
) -> tuple[FacilityInfo, dict[int, RoomInfo]]:
    rows = (
        await session.execute(
            select(Facility.name, Facility.time_zone, VideoRoom.id, VideoRoom.name)
            .outerjoin(
                VideoRoom, (VideoRoom.facility_id == Facility.id) & VideoRoom.active.is_(True)
            )
            .where(Facility.id == facility_id)
            .order_by(VideoRoom.name)
        )
    ).all()
    if not rows:
        raise LookupError(f"facility {facility_id} is missing")
    place = FacilityInfo(facility_id, rows[0][0], rows[0][1])
    return place, {row[2]: RoomInfo(row[2], row[3]) for row in rows if row[2] is not None}


async def _interpreters(session: AsyncSession, languages: list[str]) -> dict[str, list[Person]]:
    """Enabled, active interpreters speaking each language, in id order."""
    query = (
        select(
            User.id,
            User.name,
            User.email,
            User.language,
            InterpreterProfile.time_zone,
            InterpreterProfile.max_per_day,
            InterpreterLanguage.language,
            InterpreterLanguage.proficiency,
        )
        .join(InterpreterProfile, InterpreterProfile.user_id == User.id)
        .join(InterpreterLanguage, InterpreterLanguage.user_id == User.id)
        .where(
            User.role == Role.INTERPRETER.value,
            User.disabled.is_(False),
            InterpreterProfile.active.is_(True),
            InterpreterLanguage.language.in_(languages),
        )
        .order_by(User.id)
    )
    found: dict[str, list[Person]] = {}
    for row in (await session.execute(query)).all():
        person = Person(*row)
        found.setdefault(person.spoken or "", []).append(person)
    return found


Owner = tuple[str, int]


async def load_schedules(
    session: AsyncSession, owners: Iterable[tuple[OwnerKind, list[int]]]
) -> tuple[dict[Owner, list[Weekly]], dict[Owner, list[DayException]]]:
    """Windows and exceptions of these owners: two queries, plain tuples (no ORM objects)."""
    windows: dict[Owner, list[Weekly]] = {}
    exceptions: dict[Owner, list[DayException]] = {}
    wanted = [(kind, ids) for kind, ids in owners if ids]
    if not wanted:
        return windows, exceptions
    window_query = union_all(
        *(
            select(
                AvailabilityWindow.owner_kind,
                AvailabilityWindow.owner_id,
                AvailabilityWindow.weekday,
                AvailabilityWindow.start_minute,
                AvailabilityWindow.end_minute,
                AvailabilityWindow.priority_only,
            ).where(
                AvailabilityWindow.owner_kind == kind.value, AvailabilityWindow.owner_id.in_(ids)
            )
            for kind, ids in wanted
        )
    )
    for kind, owner, weekday, start, end, priority in (await session.execute(window_query)).all():
        windows.setdefault((kind, owner), []).append(Weekly(weekday, start, end, bool(priority)))
    exception_query = union_all(
        *(
            select(
                AvailabilityException.owner_kind,
                AvailabilityException.owner_id,
                AvailabilityException.day,
                AvailabilityException.start_minute,
                AvailabilityException.end_minute,
                AvailabilityException.available,
            ).where(
                AvailabilityException.owner_kind == kind.value,
                AvailabilityException.owner_id.in_(ids),
            )
            for kind, ids in wanted
        )
    )
    for kind, owner, day, first, last, available in (await session.execute(exception_query)).all():
        if isinstance(day, str):  # a UNION's columns lose their Date type on SQLite
            day = date.fromisoformat(day)
        exceptions.setdefault((kind, owner), []).append(
            DayException(day, first, last, bool(available))
        )
    return windows, exceptions


def _schedule(
    kind: OwnerKind,
    ident: int,
    zone_name: str,
    windows: dict[Owner, list[Weekly]],
    exceptions: dict[Owner, list[DayException]],
) -> Schedule:
    key = (kind.value, ident)
    return Schedule(zone_name, tuple(windows.get(key, ())), tuple(exceptions.get(key, ())))
