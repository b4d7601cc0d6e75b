"""Detention facilities: the organisations whose staff register cases and host interviews."""

from __future__ import annotations

from sqlalchemy import Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.db import Base


class Facility(Base):
    """A migration station or shelter where detained people are held."""

    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str] = mapped_column(String(120))
    time_zone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(3), default="spa")
    # Days a case may take by law before it must be resolved; cases copy it and may edit it.
    deadline_days: Mapped[int] = mapped_column(Integer, default=60)


async def list_facilities(session: AsyncSession) -> list[Facility]:
    """All facilities by name."""
    return list((await session.scalars(select(Facility).order_by(Facility.name))).all())
