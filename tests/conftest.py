"""Shared fixtures: a real app on a real port over a real database file (or PostgreSQL).

Set CONSULINK_TEST_DATABASE_URL (postgresql+asyncpg://...) to run every database test a
second time against PostgreSQL; each test then gets a database of its own.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews import accounts
from interviews.accounts import Role
from interviews.consulates import Consulate
from interviews.db import make_engine, make_sessionmaker
from interviews.facilities import Facility
from web.app import create_app
from web.keys import CLOCK
from web.settings import Settings

pytest_plugins = ["tests.browser"]
_EXIT_STATUS = pytest.StashKey[int]()
PG_URL = os.environ.get("CONSULINK_TEST_DATABASE_URL", "")
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Real argon2id, but at the lowest work factor, in this process only.

    At production cost (64 MiB, 3 passes, 4 lanes) hashing and verifying the `world`'s
    passwords took about two thirds of the CPU time of tests that use it (test_cases_api.py
    with test_directory_api.py: 33 s CPU before, 12 s after). `consulink serve`
    subprocesses in tests still hash at production cost.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        yield


def _backends() -> list[Any]:
    params: list[Any] = ["sqlite"]
    if PG_URL:
        params.append(pytest.param("postgresql", marks=pytest.mark.postgresql))
    return params


@pytest.fixture(params=_backends())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: a SQLite file in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'consulink.db'}"
        return
    name = "t_" + uuid.uuid4().hex[:16]
    plain = re.sub(r"^postgresql\+asyncpg", "postgresql", PG_URL)
    admin = await asyncpg.connect(plain)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for one test: its own data folder and database."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key-not-for-production",
    )


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    """Controllable time, starting now."""
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def app(settings: Settings, clock: Clock) -> web.Application:
    """The real application, with the test's clock."""
    application = create_app(settings)
    application[CLOCK] = clock
    return application


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], app: web.Application) -> TestClient[Any, Any]:
    """An HTTP client talking to the app served on a real 127.0.0.1 port."""
    test_client: TestClient[Any, Any] = await aiohttp_client(app)
    return test_client


@pytest.fixture
async def db(
    settings: Settings, client: TestClient[Any, Any]
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A sessionmaker on the same database the running app uses (migrated on its start)."""
    engine = make_engine(settings.resolved_database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@dataclass
class World:
    """Organisations and one user per role, as most stories need."""

    india: Consulate
    nepal: Consulate
    tapachula: Facility
    admin: accounts.User
    staff: accounts.User
    consul_india: accounts.User
    consul_nepal: accounts.User
    interpreter: accounts.User


@pytest.fixture
async def world(db: async_sessionmaker[AsyncSession]) -> World:
    """Two consulates, one facility, and a user of each role."""
    async with db() as session, session.begin():
        india = Consulate(
            name="Embassy of India, Washington DC",
            country="IN",
            kind="embassy",
            city="Washington",
            located_country="US",
            time_zone="America/New_York",
        )
        nepal = Consulate(
            name="Embassy of Nepal, Washington DC",
            country="NP",
            kind="embassy",
            city="Washington",
            located_country="US",
            time_zone="America/New_York",
        )
        tapachula = Facility(
            name="Estación Migratoria Siglo XXI",
            country="MX",
            city="Tapachula",
            time_zone="America/Mexico_City",
        )
        session.add_all([india, nepal, tapachula])
        await session.flush()

        async def user(email: str, role: Role, **org: int) -> accounts.User:
            return await accounts.create_user(
                session,
                email=email,
                name=email.split("@")[0].title(),
                role=role,
                password=PASSWORD,
                **org,
            )

        return World(
            india=india,
            nepal=nepal,
            tapachula=tapachula,
            admin=await user("admin@example.org", Role.ADMIN),
            staff=await user("staff@example.org", Role.STAFF, facility_id=tapachula.id),
            consul_india=await user("consul.in@example.org", Role.CONSUL, consulate_id=india.id),
            consul_nepal=await user("consul.np@example.org", Role.CONSUL, consulate_id=nepal.id),
            interpreter=await user("interpreter@example.org", Role.INTERPRETER),
        )


def login_token(page: str) -> str:
    """The CSRF token of the sign-in form in a rendered page."""
    found = re.search(r'id="login-csrf" name="csrf_token" value="([^"]+)"', page)
    assert found, "sign-in form has no CSRF token"
    return found.group(1)


async def sign_in(client: TestClient[Any, Any], email: str, password: str = PASSWORD) -> str:
    """Sign in through the real form; returns the session's CSRF token."""
    page = await client.get("/login")
    token = login_token(await page.text())
    response = await client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/"},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    me = await client.get("/api/me")
    assert me.status == 200
    csrf: str = (await me.json())["csrf_token"]
    return csrf


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remember the run's exit status for the leak check below."""
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Never hang after the summary: name any non-daemon thread a test leaked, then exit.

    A media test that fails half-way can leave aiortc decoder threads (non-daemon) behind,
    and the interpreter would wait for them forever, turning one failure into a CI time-out.
    """
    leaked = [
        t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon
    ]
    if leaked:
        sys.stderr.write(f"\nleaked non-daemon threads at exit: {', '.join(leaked)}\n")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(config.stash.get(_EXIT_STATUS, 1))
