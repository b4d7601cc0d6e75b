"""People who sign in: users with one role, their sign-in sessions and API tokens.

Secrets are never stored: sessions and tokens are kept as SHA-256 digests of random
values, passwords as argon2 hashes.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import Boolean, ForeignKey, Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from interviews.consulates import Consulate
from interviews.db import Base, UTCDateTime, utcnow
from interviews.facilities import Facility

_hasher = PasswordHasher()
# Deliberately loose (one @, a dot in the domain, no spaces): the check that matters is
# that mail arrives; reserved demo domains such as .test must still pass.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# A real hash to verify against when the e-mail is unknown, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("not a real password")


class Role(StrEnum):
    """What a user does in consulink; each role has its own organisation scope."""

    ADMIN = "admin"
    STAFF = "staff"  # detention staff, belongs to one facility
    CONSUL = "consul"  # belongs to one consulate
    INTERPRETER = "interpreter"


class User(Base):
    """An account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), nullable=True)
    consulate_id: Mapped[int | None] = mapped_column(ForeignKey("consulates.id"), nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginSession(Base):
    """A browser sign-in; the cookie holds a random value whose digest is the key."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for scripts; shown once when made."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AccountError(ValueError):
    """A user could not be created or changed as asked."""


@dataclass(frozen=True)
class LoginResult:
    """What a sign-in attempt came to."""

    user: User | None
    locked_until: datetime | None = None


def digest(secret: str) -> str:
    """SHA-256 hex digest of a random secret (sessions, tokens)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    if len(password) < 10:
        raise AccountError("password must have at least 10 characters")
    return _hasher.hash(password)


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
    facility_id: int | None = None,
    consulate_id: int | None = None,
    language: str = "en",
    time_zone: str = "UTC",
) -> User:
    """Add a user, checking that the role's organisation is given (and only that one)."""
    if role is Role.STAFF and facility_id is None:
        raise AccountError("facility staff must belong to a facility")
    if role is Role.CONSUL and consulate_id is None:
        raise AccountError("a consul must belong to a consulate")
    if role is not Role.STAFF and facility_id is not None:
        raise AccountError("only facility staff belong to a facility")
    if role is not Role.CONSUL and consulate_id is not None:
        raise AccountError("only consuls belong to a consulate")
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email):
        raise AccountError(f"{email!r} is not an e-mail address")
    if not name.strip():
        raise AccountError("a user needs a name")
    if facility_id is not None and await session.get(Facility, facility_id) is None:
        raise AccountError(f"no facility with id {facility_id}")
    if consulate_id is not None and await session.get(Consulate, consulate_id) is None:
        raise AccountError(f"no consulate with id {consulate_id}")
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AccountError(f"a user with e-mail {email} already exists")
    user = User(
        email=email,
        name=name.strip(),
        role=role.value,
        facility_id=facility_id,
        consulate_id=consulate_id,
        language=language,
        time_zone=time_zone,
        password_hash=hash_password(password),
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    now: datetime,
    max_failures: int,
    lockout: timedelta,
) -> LoginResult:
    """Check a password; count failures and lock the account after `max_failures` in a row.

    While locked, even the right password is refused, so guessing gains nothing.
    """
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.disabled:
        with contextlib.suppress(VerifyMismatchError):
            _hasher.verify(_DUMMY_HASH, password)
        return LoginResult(None)
    if user.locked_until is not None and user.locked_until > now:
        return LoginResult(None, locked_until=user.locked_until)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
            return LoginResult(None, locked_until=user.locked_until)
        return LoginResult(None)
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return LoginResult(user)


async def start_login_session(
    session: AsyncSession, user: User, *, now: datetime, lifetime: timedelta
) -> tuple[str, LoginSession]:
    """Open a sign-in session; returns the cookie value (only ever held by the browser)."""
    secret = secrets.token_urlsafe(32)
    row = LoginSession(
        id=digest(secret),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    await session.flush()
    return secret, row


async def resolve_login_session(
    session: AsyncSession, secret: str, *, now: datetime
) -> tuple[User, LoginSession] | None:
    """The user behind a session cookie, if the session is current and the user enabled.

    One joined SELECT (every request runs it): an expired session or a disabled account
    finds no row, so either stops working at once.
    """
    found = (
        await session.execute(
            select(User, LoginSession)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(
                LoginSession.id == digest(secret),
                LoginSession.expires_at > now,
                User.disabled.is_(False),
            )
        )
    ).first()
    return None if found is None else (found[0], found[1])


async def end_login_session(session: AsyncSession, secret: str) -> None:
    """Sign out: forget the session server-side."""
    await session.execute(delete(LoginSession).where(LoginSession.id == digest(secret)))


async def issue_api_token(session: AsyncSession, user: User, label: str = "") -> str:
    """Make a bearer token for `user`; the plain value is returned once and never stored."""
    secret = "cl_" + secrets.token_urlsafe(32)
    session.add(ApiToken(digest=digest(secret), user_id=user.id, label=label))
    await session.flush()
    return secret


async def resolve_api_token(session: AsyncSession, secret: str) -> User | None:
    """The user behind a bearer token, if the token is not revoked and the user enabled.

    One joined SELECT, as for sessions: a revoked token or a disabled account finds no row.
    """
    return await session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.digest == digest(secret),
            ApiToken.revoked.is_(False),
            User.disabled.is_(False),
        )
    )


async def disable_user(session: AsyncSession, email: str) -> User:
    """Disable an account and end its sessions and tokens."""
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AccountError(f"no user with e-mail {email}")
    user.disabled = True
    await session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    for token in await session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        token.revoked = True
    return user


async def list_users(session: AsyncSession) -> list[User]:
    """All users by e-mail."""
    return list((await session.scalars(select(User).order_by(User.email))).all())


async def find_user(session: AsyncSession, email: str) -> User | None:
    """A user by e-mail."""
    return await session.scalar(select(User).where(User.email == email.strip().lower()))
