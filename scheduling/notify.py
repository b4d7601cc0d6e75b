"""The words of every invitation, change notice, reminder and alert, in the reader's
language and time zone, with an .ics when a calendar should change.

Mail never names the detained person: the case reference is enough for those entitled to
open the case in consulink.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid
from enum import StrEnum
from typing import Protocol

from babel.dates import format_date, format_time

from interviews import codes
from scheduling import ics, zones
from scheduling.appointments import Interview, Participant, ParticipantRole
from scheduling.tokens import make_join_token


class Translations(Protocol):
    """What we need of a gettext catalog."""

    def gettext(self, message: str) -> str:
        """The message in the catalog's language."""


class MailEvent(StrEnum):
    """Why a person gets a message about an interview."""

    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    RESCHEDULED = "rescheduled"
    REMOVED = "removed"
    REMINDER_24H = "reminder_24h"
    REMINDER_15M = "reminder_15m"
    NO_SHOW = "no_show"

    @property
    def cancels(self) -> bool:
        """True when the attached .ics removes the event from the calendar."""
        return self in {self.DECLINED, self.CANCELLED, self.EXPIRED, self.REMOVED}

    @property
    def has_calendar(self) -> bool:
        """True when the message carries an .ics."""
        return self not in {self.REMINDER_24H, self.REMINDER_15M, self.NO_SHOW}


@dataclass(frozen=True)
class MailSettings:
    """Sender and links."""

    sender_name: str
    sender_email: str
    public_url: str  # e.g. https://consulink.example.org, no trailing slash
    secret: bytes  # signs join links


@dataclass(frozen=True)
class InterviewFacts:
    """What messages say about an interview, loaded once per message."""

    interview: Interview
    case_reference: str
    consulate_name: str
    consulate_zone: str
    facility_name: str
    facility_zone: str
    room_name: str
    interpreter_name: str | None


def when(moment: datetime, zone_name: str, language: str) -> str:
    """A time as its reader says it: 'Monday, 2 March 2026 09:00 (America/New_York)'."""
    local = moment.astimezone(zones.zone(zone_name))
    day = format_date(local.date(), "full", locale=language)
    return f"{day} {format_time(local, 'HH:mm', locale=language)} ({zone_name})"


def join_link(settings: MailSettings, interview: Interview, participant: Participant) -> str:
    """The participant's personal link to this interview."""
    token = make_join_token(settings.secret, interview.id, participant.id, participant.token_nonce)
    return f"{settings.public_url}/join/{token}"


def _subject(event: MailEvent, facts: InterviewFacts, role: str, _: Callable[[str], str]) -> str:
    params = {"reference": facts.case_reference}
    subjects = {
        MailEvent.REQUESTED: _("Interview request: case %(reference)s")
        if role == ParticipantRole.CONSUL
        else _("Interview requested, awaiting the consulate: case %(reference)s"),
        MailEvent.CONFIRMED: _("Interview confirmed: case %(reference)s"),
        MailEvent.DECLINED: _("Interview declined: case %(reference)s"),
        MailEvent.CANCELLED: _("Interview cancelled: case %(reference)s"),
        MailEvent.EXPIRED: _("Interview request expired: case %(reference)s"),
        MailEvent.RESCHEDULED: _("Interview moved: case %(reference)s"),
        MailEvent.REMOVED: _("You are no longer invited: interview for case %(reference)s"),
        MailEvent.REMINDER_24H: _("Reminder, interview tomorrow: case %(reference)s"),
        MailEvent.REMINDER_15M: _("Starting in 15 minutes: interview for case %(reference)s"),
        MailEvent.NO_SHOW: _("Nobody joined: interview for case %(reference)s"),
    }
    return subjects[event] % params


def _opening(event: MailEvent, role: str, _: Callable[[str], str]) -> str:
    if event is MailEvent.REQUESTED:
        if role == ParticipantRole.CONSUL:
            return _(
                "Detention staff ask your consulate for an identification interview. "
                "Please confirm or decline it on the interview page."
            )
        return _(
            "An identification interview was requested. The consulate has not confirmed it yet."
        )
    openings = {
        MailEvent.CONFIRMED: _("The consulate confirmed this identification interview."),
        MailEvent.DECLINED: _("The consulate declined this interview."),
        MailEvent.CANCELLED: _("This interview was cancelled."),
        MailEvent.EXPIRED: _(
            "This interview request was cancelled because the consulate did not answer in time."
        ),
        MailEvent.RESCHEDULED: _("This interview was moved to a new time."),
        MailEvent.REMOVED: _("This interview changed and you are no longer part of it."),
        MailEvent.REMINDER_24H: _(
            "Reminder: you have an identification interview in about 24 hours."
        ),
        MailEvent.REMINDER_15M: _("Reminder: your identification interview starts in 15 minutes."),
        MailEvent.NO_SHOW: _(
            "Nobody joined this interview within 15 minutes of its start; "
            "it was marked as not held."
        ),
    }
    return openings[event]


# UTF-8 bodies as quoted-printable: 7-bit safe for any SMTP server, still legible in .eml.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


@dataclass(frozen=True)
class _Envelope:
    subject: str
    sender_name: str
    sender_email: str
    to_name: str
    to_email: str
    now: datetime
    language: str


def _compose(envelope: _Envelope, body: str, calendar: bytes | None, method: str) -> Message:
    """A message built with the classic (compat32) email API.

    EmailMessage with the default policy parses and re-folds every header through the
    header registry: a notice took 2.4 ms to build and serialise that way, 1.2 ms this
    way, and a booking request sends three (bench/README.md, sixth round).
    """
    text = MIMENonMultipart("text", "plain")
    text.set_payload(body, _UTF8)
    message: Message = text
    if calendar is not None:
        message = MIMEMultipart("mixed")
        message.attach(text)
        # base64, as before: the .ics keeps its CRLF line ends byte for byte.
        part = MIMEText(calendar.decode("utf-8"), "calendar", "utf-8")
        part.set_param("method", method)
        part.add_header("Content-Disposition", "attachment", filename="interview.ics")
        message.attach(part)
    subject = envelope.subject
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    message["From"] = formataddr((envelope.sender_name, envelope.sender_email), "utf-8")
    message["To"] = formataddr((envelope.to_name, envelope.to_email), "utf-8")
    message["Date"] = format_datetime(envelope.now)
    message["Message-ID"] = make_msgid(domain="consulink")
    message["Content-Language"] = envelope.language
    return message


def interview_message(
    settings: MailSettings,
    translations: Translations,
    facts: InterviewFacts,
    participant: Participant,
    everyone: Sequence[Participant],
    event: MailEvent,
    now: datetime,
) -> Message:
    """One person's message about an interview event."""
    _ = translations.gettext
    interview = facts.interview
    language = participant.language if participant.language in ("en", "es") else "en"
    zone_name = participant.time_zone
    page = f"{settings.public_url}/scheduling/interviews/{interview.id}"
    link = join_link(settings, interview, participant)
    minutes = int((interview.ends_at - interview.starts_at).total_seconds() // 60)
    lines = [
        _("Hello %(name)s,") % {"name": participant.name},
        "",
        _opening(event, participant.role, _),
        "",
        _("When: %(when)s") % {"when": when(interview.starts_at, zone_name, language)},
        _("Consulate time: %(when)s")
        % {"when": when(interview.starts_at, facts.consulate_zone, language)},
        _("Facility time: %(when)s")
        % {"when": when(interview.starts_at, facts.facility_zone, language)},
        _("Length: %(minutes)d minutes") % {"minutes": minutes},
        _("Case: %(reference)s") % {"reference": facts.case_reference},
        _("Consulate: %(name)s") % {"name": facts.consulate_name},
        _("Facility: %(name)s, room %(room)s")
        % {"name": facts.facility_name, "room": facts.room_name},
    ]
    if facts.interpreter_name and interview.language:
        lines.append(
            _("Interpreter: %(name)s (%(language)s)")
            % {
                "name": facts.interpreter_name,
                "language": codes.language_name(interview.language, language),
            }
        )
    else:
        lines.append(_("No interpreter is needed: the consulate speaks the person's language."))
    if interview.reason and event in {
        MailEvent.DECLINED,
        MailEvent.CANCELLED,
        MailEvent.EXPIRED,
        MailEvent.RESCHEDULED,
    }:
        lines.append(_("Reason: %(reason)s") % {"reason": interview.reason})
    if not event.cancels and event is not MailEvent.NO_SHOW:
        lines += [
            "",
            _("Your personal link to join (do not share it): %(link)s") % {"link": link},
        ]
    lines += ["", _("Interview page: %(page)s") % {"page": page}, "", "-- ", "consulink"]

    calendar = None
    if event.has_calendar:
        calendar = ics.build(
            ics.CalendarEvent(
                uid=interview.uid,
                sequence=interview.sequence,
                starts_at=interview.starts_at,
                ends_at=interview.ends_at,
                summary=_("Identification interview, case %(reference)s")
                % {"reference": facts.case_reference},
                description=link,
                location=_("Video interview; facility room: %(room)s") % {"room": facts.room_name},
                url=link,
                organizer_name=settings.sender_name,
                organizer_email=settings.sender_email,
                attendees=[ics.Attendee(p.name, p.email, p.role) for p in everyone],
                confirmed=interview.status == "confirmed",
            ),
            cancel=event.cancels,
            stamp=now,
        )
    envelope = _Envelope(
        subject=_subject(event, facts, participant.role, _),
        sender_name=settings.sender_name,
        sender_email=settings.sender_email,
        to_name=participant.name,
        to_email=participant.email,
        now=now,
        language=language,
    )
    return _compose(envelope, "\n".join(lines), calendar, "CANCEL" if event.cancels else "REQUEST")


@dataclass(frozen=True)
class DeadlineItem:
    """A case in a deadline alert."""

    reference: str
    deadline: date
    days_left: int


def deadline_message(
    settings: MailSettings,
    translations: Translations,
    *,
    name: str,
    email: str,
    language: str,
    facility_name: str,
    days: int,
    items: Sequence[DeadlineItem],
    now: datetime,
) -> Message:
    """The daily alert to facility staff: cases with no confirmed interview, deadline near."""
    _ = translations.gettext
    language = language if language in ("en", "es") else "en"
    lines = [
        _("Hello %(name)s,") % {"name": name},
        "",
        _(
            "These cases at %(facility)s have no confirmed interview and their deadline "
            "is less than %(days)d days away:"
        )
        % {"facility": facility_name, "days": days},
        "",
    ]
    for item in items:
        lines.append(
            _("- %(reference)s: deadline %(deadline)s (%(left)d days left)")
            % {
                "reference": item.reference,
                "deadline": format_date(item.deadline, "long", locale=language),
                "left": item.days_left,
            }
        )
    lines += [
        "",
        _("Find a slot: %(url)s") % {"url": f"{settings.public_url}/cases"},
        "",
        "-- ",
        "consulink",
    ]
    envelope = _Envelope(
        subject=_("Deadline alert: %(count)d cases without a confirmed interview")
        % {"count": len(items)},
        sender_name=settings.sender_name,
        sender_email=settings.sender_email,
        to_name=name,
        to_email=email,
        now=now,
        language=language,
    )
    return _compose(envelope, "\n".join(lines), None, "")
