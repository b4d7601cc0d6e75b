"""What an availability edit may contain: weekly windows, dated exceptions, a consulate's
interview settings, an interpreter's profile and a room, validated (pydantic)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from interviews.directory import LanguageCode, TimeZone
from scheduling.resources import Proficiency

_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def parse_clock(value: str) -> int:
    """'HH:MM' (00:00 to 24:00) as minutes of the day."""
    found = _CLOCK.match(value.strip())
    if not found or (found.group(1) == "24" and found.group(2) != "00"):
        raise ValueError(f"{value!r} is not a time of day (use HH:MM, 00:00 to 24:00)")
    return int(found.group(1)) * 60 + int(found.group(2))


def format_clock(minutes: int) -> str:
    """Minutes of the day as 'HH:MM'."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


Clock = Annotated[str, AfterValidator(lambda v: format_clock(parse_clock(v)))]


class WindowIn(BaseModel):
    """A weekly window: weekday 0=Monday … 6=Sunday, from `start` to `end` local time."""

    model_config = ConfigDict(extra="forbid")

    weekday: Annotated[int, Field(ge=0, le=6)]
    start: Clock
    end: Clock
    priority_only: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> WindowIn:
        if parse_clock(self.end) <= parse_clock(self.start):
            raise ValueError("end must be after start")
        return self


class ExceptionIn(BaseModel):
    """A dated exception: closed (holiday, closure, leave) or extra hours; all day if no times."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    day: date
    start: Clock | None = None
    end: Clock | None = None
    available: bool = False
    reason: Annotated[str, Field(max_length=200)] = ""

    @model_validator(mode="after")
    def _span(self) -> ExceptionIn:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither for the whole day")
        if self.start is not None and self.end is not None:
            if parse_clock(self.end) <= parse_clock(self.start):
                raise ValueError("end must be after start")
        elif self.available:
            raise ValueError("extra hours need a start and an end")
        return self


Windows = Annotated[list[WindowIn], Field(max_length=100)]
Exceptions = Annotated[list[ExceptionIn], Field(max_length=500)]


class ConsulateHoursIn(BaseModel):
    """A consulate's interview settings and hours, replaced as a whole."""

    model_config = ConfigDict(extra="forbid")

    interview_minutes: Annotated[int, Field(ge=15, le=240)] = 60
    buffer_minutes: Annotated[int, Field(ge=0, le=120)] = 15
    step_minutes: Annotated[int, Field(ge=5, le=120)] = 30
    notice_minutes: Annotated[int, Field(ge=0, le=20160)] = 120
    windows: Windows = Field(default_factory=list)
    exceptions: Exceptions = Field(default_factory=list)


class LanguageIn(BaseModel):
    """A language an interpreter works in."""

    model_config = ConfigDict(extra="forbid")

    language: LanguageCode
    proficiency: Proficiency = Proficiency.FLUENT


class InterpreterProfileIn(BaseModel):
    """An interpreter's profile, replaced as a whole."""

    model_config = ConfigDict(extra="forbid")

    time_zone: TimeZone
    max_per_day: Annotated[int, Field(ge=1, le=20)] = 4
    active: bool = True
    languages: Annotated[list[LanguageIn], Field(min_length=1, max_length=30)]
    windows: Windows = Field(default_factory=list)
    exceptions: Exceptions = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct(self) -> InterpreterProfileIn:
        codes = [item.language for item in self.languages]
        if len(codes) != len(set(codes)):
            raise ValueError("each language once")
        return self


class RoomIn(BaseModel):
    """A video room: name, whether in use, and its hours (facility time)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=120)]
    active: bool = True
    windows: Windows = Field(default_factory=list)
    exceptions: Exceptions = Field(default_factory=list)
