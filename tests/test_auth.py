"""Signing in and out, CSRF, lockout and bearer tokens, against the real server."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews import accounts
from tests.conftest import PASSWORD, Clock, World, login_token, sign_in
from web.settings import Settings


async def test_staff_signs_in_sees_who_they_are_and_signs_out(
    client: TestClient[Any, Any], world: World
) -> None:
    page = await client.get("/login")
    token = login_token(await page.text())
    login = await client.post(
        "/login",
        data={"email": "staff@example.org", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    cookie = login.cookies["consulink_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    me = await (await client.get("/api/me")).json()
    assert me["role"] == "staff" and me["facility_id"] == world.tapachula.id
    csrf = me["csrf_token"]

    out = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert out.status == 303
    assert (await client.get("/api/me")).status == 401


@pytest.mark.parametrize(
    ("email", "start"),
    [
        ("staff@example.org", "/cases"),
        ("consul.in@example.org", "/scheduling"),
        ("interpreter@example.org", "/scheduling"),
        ("admin@example.org", "/directory"),
    ],
)
async def test_each_role_starts_at_its_own_page_which_opens(
    client: TestClient[Any, Any], world: World, email: str, start: str
) -> None:
    assert (await client.get("/", allow_redirects=False)).headers["Location"] == "/login"
    await sign_in(client, email)
    home = await client.get("/", allow_redirects=False)
    assert (home.status, home.headers["Location"]) == (303, start)
    assert (await client.get(start)).status == 200


async def test_a_stolen_cookie_is_useless_after_sign_out(
    client: TestClient[Any, Any], world: World
) -> None:
    csrf = await sign_in(client, "staff@example.org")
    stolen = client.session.cookie_jar.filter_cookies(client.make_url("/"))["consulink_session"]
    await client.post("/logout", data={"csrf_token": csrf})
    replay = await client.get("/api/me", cookies={"consulink_session": stolen.value})
    assert replay.status == 401


async def test_a_write_without_the_csrf_token_is_refused(
    client: TestClient[Any, Any], world: World
) -> None:
    await sign_in(client, "staff@example.org")
    response = await client.post("/logout", data={}, allow_redirects=False)
    assert response.status == 403
    assert "expired" in await response.text()
    # still signed in: the forged request changed nothing
    assert (await client.get("/api/me")).status == 200


async def test_wrong_passwords_lock_the_account_then_time_unlocks_it(
    client: TestClient[Any, Any], world: World, clock: Clock
) -> None:
    page = await client.get("/login")
    token = login_token(await page.text())
    form = {"email": "staff@example.org", "csrf_token": token, "next": "/"}
    statuses = []
    for _ in range(5):
        response = await client.post("/login", data={**form, "password": "wrong password!"})
        statuses.append(response.status)
        token = login_token(await response.text())
        form["csrf_token"] = token
    assert statuses == [401, 401, 401, 401, 429]
    # the right password is refused while locked
    locked = await client.post("/login", data={**form, "password": PASSWORD})
    assert locked.status == 429 and "locked" in await locked.text()
    clock.advance(seconds=301)
    await sign_in(client, "staff@example.org")


async def test_bearer_token_works_without_csrf_and_stops_when_user_is_disabled(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    async with db() as session, session.begin():
        user = await session.get(accounts.User, world.admin.id)
        assert user is not None
        token = await accounts.issue_api_token(session, user, "script")
    headers = {"Authorization": f"Bearer {token}"}
    me = await client.get("/api/me", headers=headers)
    assert me.status == 200 and (await me.json())["role"] == "admin"
    async with db() as session, session.begin():
        await accounts.disable_user(session, "admin@example.org")
    assert (await client.get("/api/me", headers=headers)).status == 401
    bad = await client.get("/api/me", headers={"Authorization": "Bearer nonsense"})
    assert bad.status == 401
    assert (await bad.json())["error"]["code"] == "unauthorized"


async def test_a_revoked_token_or_a_disabled_account_stops_working_at_once(
    client: TestClient[Any, Any], world: World, db: async_sessionmaker[AsyncSession]
) -> None:
    """The one-statement lookup keeps both rules: each is checked on its own here
    (`disable_user` would also revoke the tokens and end the sessions)."""
    async with db() as session, session.begin():
        user = await session.get(accounts.User, world.admin.id)
        assert user is not None
        revoked = await accounts.issue_api_token(session, user, "old")
        kept = await accounts.issue_api_token(session, user, "kept")
        await session.execute(
            update(accounts.ApiToken)
            .where(accounts.ApiToken.digest == accounts.digest(revoked))
            .values(revoked=True)
        )
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {kept}"})).status == 200
    refused = await client.get("/api/me", headers={"Authorization": f"Bearer {revoked}"})
    assert refused.status == 401
    async with db() as session, session.begin():
        await session.execute(
            update(accounts.User).where(accounts.User.id == world.admin.id).values(disabled=True)
        )
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {kept}"})).status == 401


async def test_a_session_ends_when_it_expires_or_its_account_is_disabled(
    client: TestClient[Any, Any],
    world: World,
    db: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
) -> None:
    await sign_in(client, "staff@example.org")
    clock.advance(hours=settings.session_hours, seconds=-1)
    assert (await client.get("/api/me")).status == 200
    clock.advance(seconds=1)
    assert (await client.get("/api/me")).status == 401

    await sign_in(client, "staff@example.org")
    async with db() as session, session.begin():
        await session.execute(
            update(accounts.User).where(accounts.User.id == world.staff.id).values(disabled=True)
        )
    assert (await client.get("/api/me")).status == 401


async def test_health_reports_the_database(client: TestClient[Any, Any]) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_a_new_data_folder_is_private_to_the_service(
    client: TestClient[Any, Any], settings: Settings
) -> None:
    assert settings.data_dir.stat().st_mode & 0o077 == 0
