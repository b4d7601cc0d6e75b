"""iCalendar (RFC 5545 / iTIP RFC 5546) invitations for interviews.

Times are written in UTC (every calendar shows them in its owner's zone), the UID stays
the same for the life of an interview and SEQUENCE grows with every change, so calendars
update or remove the event they already have instead of adding another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//consulink//interviews//EN"


@dataclass(frozen=True)
class Attendee:
    """A person on the invitation."""

    name: str
    email: str
    role: str  # consul, interpreter, staff


@dataclass(frozen=True)
class CalendarEvent:
    """What an invitation says about the interview."""

    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    summary: str
    description: str
    location: str
    url: str
    organizer_name: str
    organizer_email: str
    attendees: Sequence[Attendee]
    confirmed: bool


def _address(name: str, email: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(name)
    return address


def build(event: CalendarEvent, *, cancel: bool, stamp: datetime) -> bytes:
    """The .ics bytes: METHOD:REQUEST for new and changed interviews, METHOD:CANCEL to remove."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", event.starts_at)
    vevent.add("dtend", event.ends_at)
    vevent.add("summary", event.summary)
    vevent.add("description", event.description)
    vevent.add("location", event.location)
    if event.url:
        vevent.add("url", event.url)
    tentative = "CONFIRMED" if event.confirmed else "TENTATIVE"
    vevent.add("status", "CANCELLED" if cancel else tentative)
    vevent.add("organizer", _address(event.organizer_name, event.organizer_email))
    for person in event.attendees:
        address = _address(person.name, person.email)
        address.params["ROLE"] = vText("REQ-PARTICIPANT")
        address.params["PARTSTAT"] = vText("NEEDS-ACTION")
        address.params["RSVP"] = vText("FALSE")
        vevent.add("attendee", address, encode=False)
    calendar.add_component(vevent)
    return bytes(calendar.to_ical())
