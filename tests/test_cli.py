"""The `consulink` command as an operator uses it: accounts, tokens, migrations and serve.

Commands run in-process through `main(argv)` (in a worker thread, since each one runs its
own event loop) against the test's database; `serve --demo` runs as a real subprocess.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, CookieJar
from aiohttp.test_utils import TestClient
from sqlalchemy import func, inspect, select

from interviews.accounts import User
from interviews.db import make_engine
from interviews.models import Base
from tests.conftest import World, login_token
from web.cli import main
from web.settings import Settings

LONG_PASSWORD = "a long enough password"


@pytest.fixture
def run_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """`await run_cli(*args)` -> (exit status, stdout, stderr) on the test's database."""
    monkeypatch.setenv("CONSULINK_DATABASE_URL", settings.resolved_database_url)

    async def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        argv = [*args, "--data-dir", str(settings.data_dir)]
        try:
            status = await asyncio.to_thread(main, argv)
        except SystemExit as exit_:  # argparse refuses bad arguments this way
            status = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return status, out, err

    return run


async def _user_count(settings: Settings) -> int:
    engine = make_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count(User.id))) or 0)
    finally:
        await engine.dispose()


async def test_db_upgrade_creates_the_schema_on_an_empty_database(
    run_cli: Any, settings: Settings
) -> None:
    status, out, _ = await run_cli("db", "upgrade")
    assert status == 0 and "up to date" in out
    engine = make_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert set(Base.metadata.tables) <= tables


async def test_an_operator_adds_lists_and_disables_a_user(run_cli: Any) -> None:
    status, out, _ = await run_cli(
        "users", "add", "Ops@Example.org", "--name", "Ops Lead", "--role", "admin",
        "--password", LONG_PASSWORD,
    )  # fmt: skip
    assert status == 0 and "Added user ops@example.org (admin)" in out

    status, out, _ = await run_cli("users", "list")
    assert status == 0
    assert re.search(r"ops@example\.org\s+admin\s+.*active\s+Ops Lead", out)

    status, out, _ = await run_cli("users", "disable", "ops@example.org")
    assert status == 0 and "Disabled ops@example.org" in out
    status, out, _ = await run_cli("users", "list")
    assert re.search(r"ops@example\.org\s+admin\s+.*disabled", out)

    # A disabled account gets no new API token.
    status, out, err = await run_cli("users", "token", "ops@example.org")
    assert status == 2 and out == "" and "no active user" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "king"], "invalid choice: 'king'"),
        (["--role", "staff"], "facility staff must belong to a facility"),
        (["--role", "consul"], "a consul must belong to a consulate"),
        (["--role", "staff", "--facility", "999"], "no facility with id 999"),
        (["--role", "admin", "--facility", "1"], "only facility staff belong to a facility"),
        (["--role", "admin", "--password", "short"], "at least 10 characters"),
        (["--role", "admin", "--email", "not-an-address"], "is not an e-mail address"),
        (["--role", "admin", "--email", "first@example.org"], "already exists"),
    ],
)
async def test_bad_input_exits_2_with_a_clear_message_and_adds_nothing(
    run_cli: Any, settings: Settings, args: list[str], message: str
) -> None:
    await run_cli(
        "users", "add", "first@example.org", "--name", "First", "--role", "admin",
        "--password", LONG_PASSWORD,
    )  # fmt: skip
    before = await _user_count(settings)
    email = "new@example.org"
    if "--email" in args:
        email = args[args.index("--email") + 1]
        args = [a for a in args if a not in ("--email", email)]
    if "--password" not in args:
        args = [*args, "--password", LONG_PASSWORD]

    status, out, err = await run_cli("users", "add", email, "--name", "New", *args)

    assert status == 2, (out, err)
    assert message in err
    assert "Traceback" not in err and out == ""
    assert await _user_count(settings) == before


async def test_unknown_accounts_are_reported_not_crashed_on(run_cli: Any) -> None:
    for command in ("disable", "token"):
        status, _, err = await run_cli("users", command, "nobody@example.org")
        assert status == 2 and "nobody@example.org" in err


async def test_a_token_from_the_cli_works_as_a_bearer_until_the_user_is_disabled(
    client: TestClient[Any, Any], world: World, run_cli: Any
) -> None:
    status, out, _ = await run_cli("users", "token", "staff@example.org", "--label", "nightly")
    assert status == 0
    token = out.strip()
    assert token.startswith("cl_")
    headers = {"Authorization": f"Bearer {token}"}

    me = await client.get("/api/me", headers=headers)
    assert me.status == 200
    assert (await me.json())["email"] == "staff@example.org"

    assert (await run_cli("users", "disable", "staff@example.org"))[0] == 0
    assert (await client.get("/api/me", headers=headers)).status == 401


async def test_users_list_shows_the_people_of_the_world(world: World, run_cli: Any) -> None:
    status, out, _ = await run_cli("users", "list")
    assert status == 0
    listed = [line.split()[0] for line in out.splitlines()]
    assert listed == sorted(
        [
            "admin@example.org",
            "consul.in@example.org",
            "consul.np@example.org",
            "interpreter@example.org",
            "staff@example.org",
        ]
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _consulink_command() -> list[str]:
    script = Path(sys.executable).with_name("consulink")
    return [str(script)] if script.exists() else [sys.executable, "-m", "web.cli"]


@pytest.mark.slow
async def test_serve_demo_prints_logins_that_sign_in_and_stops_cleanly_on_sigterm(
    tmp_path: Path, database_url: str
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULINK_")}
    env["PYTHONUNBUFFERED"] = "1"
    if not database_url.startswith("sqlite"):
        env["CONSULINK_DATABASE_URL"] = database_url  # else the default file in --data-dir
    data_dir = tmp_path / "demo-data"
    process = await asyncio.create_subprocess_exec(
        *_consulink_command(),
        "serve", "--demo", "--port", str(port), "--data-dir", str(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        printed: list[str] = []
        while not printed or "consulink on http://" not in printed[-1]:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, f"serve exited early: {printed}"
            printed.append(line.decode())
        banner = "".join(printed)
        password = re.search(r"password for all: (\S+)\)", banner)
        assert password, banner
        assert "admin@demo.consulink.test" in banner
        assert "consul.india@demo.consulink.test" in banner
        assert f"http://127.0.0.1:{port}" in banner

        base = f"http://127.0.0.1:{port}"
        async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
            for _ in range(100):  # the banner comes just before the socket is bound
                try:
                    async with http.get(f"{base}/healthz") as health:
                        if health.status == 200:
                            break
                except OSError:
                    pass
                await asyncio.sleep(0.1)
            else:
                pytest.fail("server never became healthy")
            async with http.get(f"{base}/login") as page:
                token = login_token(await page.text())
            form = {
                "email": "consul.india@demo.consulink.test",
                "password": password.group(1),
                "csrf_token": token,
                "next": "/",
            }
            async with http.post(f"{base}/login", data=form, allow_redirects=False) as login:
                assert login.status == 303
            async with http.get(f"{base}/api/me") as me:
                assert me.status == 200
                assert (await me.json())["role"] == "consul"

        if database_url.startswith("sqlite"):
            assert (data_dir / "consulink.db").exists()
        assert (data_dir / "secret.key").exists()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
