"""When the right to be in a session lapses: a rescheduled interview invalidates every old
link (the notices carry new ones), and a cancelled one refuses its links, passes and
sockets. Booked, confirmed, moved and cancelled through the real API; links read from the
real outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduling.appointments import Interview
from scheduling.tokens import join_window
from tests.conftest import Clock, World, sign_in
from tests.test_mail import outbox, to
from tests.test_scheduling_support import (
    Schedule,
    act_as,
    booking_body,
    join_path,
    set_up_schedule,
)
from tests.test_session_support import Signal, connect
from web.keys import CATALOGS, JOB_RUNNER, ROOMS
from web.settings import Settings

STARTS = "2026-03-04T14:00:00Z"
IN_WINDOW = datetime(2026, 3, 4, 13, 55, tzinfo=UTC)
WINDOW_CLOSED = "The time set aside for this interview is over: the session has closed."


@pytest.fixture
async def schedule(db: async_sessionmaker[AsyncSession], world: World, clock: Clock) -> Schedule:
    """Hours, an interpreter, a room and a case shared with India."""
    return await set_up_schedule(db, world, clock)


async def _confirmed(client: TestClient[Any, Any], schedule: Schedule) -> int:
    """Staff book, the consul confirms, the notices go out; the interview's id."""
    await act_as(client, "staff@example.org")
    booked = await client.post("/api/interviews", json=booking_body(schedule, STARTS))
    assert booked.status == 201, await booked.text()
    interview_id = int((await booked.json())["id"])
    await act_as(client, "consul.in@example.org")
    assert (await client.post(f"/api/interviews/{interview_id}/confirm")).status == 200
    await client.app[JOB_RUNNER].run_due()
    return interview_id


def _latest_link(settings: Settings, address: str) -> str:
    return join_path(to(outbox(settings), address)[-1])


async def _open_link(client: TestClient[Any, Any], link: str) -> int:
    """Follow a join link as a visitor without an account; the status of the answer."""
    client.session.cookie_jar.clear()
    response = await client.get(link, allow_redirects=False)
    return response.status


async def _refused_upgrade(client: TestClient[Any, Any], interview_id: int) -> int:
    """The HTTP status that refuses a WebSocket upgrade made with the current cookies."""
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect(f"/session/{interview_id}/ws")
    return refused.value.status


async def _join_error(client: TestClient[Any, Any], interview_id: int, token: str) -> str:
    client.session.cookie_jar.clear()
    signal: Signal = await connect(client, interview_id, token, "Old link")
    code = str((await signal.expect("error"))["code"])
    assert await signal.closed() == 4403
    return code


async def test_a_reschedule_invalidates_every_old_link_and_the_notices_carry_new_ones(
    client: TestClient[Any, Any], schedule: Schedule, settings: Settings, clock: Clock
) -> None:
    interview_id = await _confirmed(client, schedule)
    clock.now = IN_WINDOW
    old_link = _latest_link(settings, "interpreter@")
    assert await _open_link(client, old_link) == 303
    old_pass = client.session.cookie_jar.filter_cookies(client.make_url("/"))

    # The consul moves it two days on (it stays confirmed, with the same people), and
    # the old links are tried when the moved interview opens.
    await act_as(client, "consul.in@example.org")
    moved = await client.post(
        f"/api/interviews/{interview_id}/reschedule",
        json={"starts_at": "2026-03-06T14:00:00Z", "reason": "The consul is delayed"},
    )
    assert moved.status == 200, await moved.text()
    await client.app[JOB_RUNNER].run_due()
    clock.now = IN_WINDOW.replace(day=6)

    # The old link, the pass it gave and its token on the socket: all refused.
    assert await _open_link(client, old_link) == 404
    client.session.cookie_jar.update_cookies(old_pass)
    refused = await client.get(f"/api/sessions/{interview_id}/config")
    assert refused.status == 404 and (await refused.json())["error"]["code"] == "revoked"
    assert await _refused_upgrade(client, interview_id) == 404
    assert await _join_error(client, interview_id, old_link.removeprefix("/join/")) == "revoked"
    # Nobody keeps an old link: the staff member who was not replaced either.
    staff_old = join_path(to(outbox(settings), "staff@")[0])
    assert await _open_link(client, staff_old) == 404

    # The notice of the move carries a new link, and it opens the session.
    new_link = _latest_link(settings, "interpreter@")
    assert new_link != old_link
    assert await _open_link(client, new_link) == 303
    signal = await connect(client, interview_id, None, "Interpreter")
    assert (await signal.expect("welcome"))["role"] == "interpreter"


async def test_a_cancelled_interview_refuses_its_link_its_pass_and_its_socket(
    client: TestClient[Any, Any], schedule: Schedule, settings: Settings, clock: Clock
) -> None:
    interview_id = await _confirmed(client, schedule)
    clock.now = IN_WINDOW
    link = _latest_link(settings, "consul.in@")
    assert await _open_link(client, link) == 303
    the_pass = client.session.cookie_jar.filter_cookies(client.make_url("/"))

    await act_as(client, "staff@example.org")
    cancelled = await client.post(
        f"/api/interviews/{interview_id}/cancel", json={"reason": "The person was released"}
    )
    assert cancelled.status == 200, await cancelled.text()

    client.session.cookie_jar.clear()
    page = await client.get(link, allow_redirects=False)
    assert page.status == 200 and "over or was cancelled" in await page.text()
    client.session.cookie_jar.update_cookies(the_pass)
    refused = await client.get(f"/api/sessions/{interview_id}/config")
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "not_confirmed"
    assert (await client.get(f"/session/{interview_id}")).status == 403
    assert await _refused_upgrade(client, interview_id) == 403
    assert await _join_error(client, interview_id, link.removeprefix("/join/")) == "not_confirmed"


async def _in_session(
    client: TestClient[Any, Any], interview_id: int, link: str, name: str
) -> Signal:
    """Open a mailed link and join the live session with the pass it gives."""
    assert await _open_link(client, link) == 303
    signal = await connect(client, interview_id, None, name)
    await signal.expect("welcome")
    return signal


async def test_people_in_the_session_are_let_go_when_the_interview_is_moved(
    client: TestClient[Any, Any], schedule: Schedule, settings: Settings, clock: Clock
) -> None:
    interview_id = await _confirmed(client, schedule)
    clock.now = IN_WINDOW
    host = await _in_session(client, interview_id, _latest_link(settings, "staff@"), "Staff")
    interpreter = await _in_session(
        client, interview_id, _latest_link(settings, "interpreter@"), "Interpreter"
    )
    await host.send({"type": "open"})
    await interpreter.expect("admitted")

    await act_as(client, "consul.in@example.org")
    moved = await client.post(
        f"/api/interviews/{interview_id}/reschedule",
        json={"starts_at": "2026-03-06T14:00:00Z", "reason": "The consul is delayed"},
    )
    assert moved.status == 200, await moved.text()
    for person in (host, interpreter):
        assert (await person.expect("withdrawn"))["reason"] == "rescheduled"
        assert await person.closed() == 4412


async def test_people_in_the_lobby_are_let_go_when_the_interview_is_cancelled(
    client: TestClient[Any, Any], schedule: Schedule, settings: Settings, clock: Clock
) -> None:
    """Cancelled through the interview page's form (the API does the same, see above)."""
    interview_id = await _confirmed(client, schedule)
    clock.now = IN_WINDOW
    consul = await _in_session(client, interview_id, _latest_link(settings, "consul.in@"), "C")

    await act_as(client, "staff@example.org")
    cancelled = await client.post(
        f"/scheduling/interviews/{interview_id}/cancel",
        data={"reason": "The person was released"},
        allow_redirects=False,
    )
    assert cancelled.status == 303, await cancelled.text()
    assert (await consul.expect("withdrawn"))["reason"] == "cancelled"
    assert await consul.closed() == 4412


async def test_a_call_joined_without_opening_a_link_is_not_marked_no_show(
    client: TestClient[Any, Any],
    schedule: Schedule,
    settings: Settings,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
) -> None:
    """The host joins with the token in the socket's join message, the consul signed in
    from the calendar: neither opens GET /join, and the no-show job runs mid-call."""
    interview_id = await _confirmed(client, schedule)
    clock.now = IN_WINDOW
    client.session.cookie_jar.clear()
    staff_token = _latest_link(settings, "staff@").removeprefix("/join/")
    host = await connect(client, interview_id, staff_token, "Staff")
    await host.expect("welcome")
    await host.send({"type": "open"})
    await host.expect("admitted")
    await act_as(client, "consul.in@example.org")
    consul = await connect(client, interview_id, None, "Consul")
    assert (await consul.expect("welcome"))["admitted"]

    clock.now = IN_WINDOW + timedelta(minutes=25)  # 20 minutes into the call
    await client.app[JOB_RUNNER].run_due()
    async with db() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None and interview.status == "confirmed"

    again = await connect(client, interview_id, None, "Consul", rejoin=True)
    assert (await again.expect("welcome"))["admitted"]


async def test_a_session_the_host_ended_can_be_held_again_once_rescheduled(
    client: TestClient[Any, Any], schedule: Schedule, settings: Settings, clock: Clock
) -> None:
    interview_id = await _confirmed(client, schedule)
    clock.now = IN_WINDOW
    host = await _in_session(client, interview_id, _latest_link(settings, "staff@"), "Staff")
    await host.send({"type": "open"})
    await host.expect("admitted")
    await host.send({"type": "end"})
    assert await host.closed() == 4410
    assert await _open_link(client, _latest_link(settings, "consul.in@")) == 303
    assert (await client.get(f"/session/{interview_id}")).status == 403  # ended

    await act_as(client, "consul.in@example.org")
    moved = await client.post(
        f"/api/interviews/{interview_id}/reschedule",
        json={"starts_at": "2026-03-06T14:00:00Z", "reason": "The connection failed"},
    )
    assert moved.status == 200, await moved.text()
    await client.app[JOB_RUNNER].run_due()
    clock.now = IN_WINDOW.replace(day=6)

    host = await _in_session(client, interview_id, _latest_link(settings, "staff@"), "Staff")
    await host.send({"type": "open"})
    await host.expect("admitted")


async def test_a_stale_pass_gives_way_to_a_valid_sign_in(
    client: TestClient[Any, Any], schedule: Schedule, settings: Settings, clock: Clock
) -> None:
    """The consul, signed in, opened their link; the interview is then moved (new links):
    their old pass must not lock them out of their own interview at its new time."""
    interview_id = await _confirmed(client, schedule)
    clock.now = IN_WINDOW
    await act_as(client, "consul.in@example.org")
    link = _latest_link(settings, "consul.in@")
    assert (await client.get(link, allow_redirects=False)).status == 303
    moved = await client.post(
        f"/api/interviews/{interview_id}/reschedule",
        json={"starts_at": "2026-03-06T14:00:00Z", "reason": "The consul is delayed"},
    )
    assert moved.status == 200, await moved.text()
    clock.now = IN_WINDOW.replace(day=6)
    await sign_in(client, "consul.in@example.org")  # a new day, a new sign-in; same browser

    stale = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    page = await client.get(f"/session/{interview_id}")
    assert page.status == 200, await page.text()
    assert page.cookies[f"consulink_pass_{interview_id}"].value == ""  # dropped
    assert (await client.get(f"/api/sessions/{interview_id}/config")).status == 200
    client.session.cookie_jar.update_cookies(stale)  # say, another tab still had it
    signal = await connect(client, interview_id, None, "Consul")
    assert (await signal.expect("welcome"))["role"] == "consul"


async def test_a_call_nobody_ended_is_closed_when_its_join_window_closes(
    client: TestClient[Any, Any],
    schedule: Schedule,
    settings: Settings,
    clock: Clock,
    db: async_sessionmaker[AsyncSession],
) -> None:
    """The host forgets to end the call: it must not go on recording after its window."""
    interview_id = await _confirmed(client, schedule)
    async with db() as session:
        interview = await session.get(Interview, interview_id)
        assert interview is not None
        closes_at = join_window(interview.starts_at, interview.ends_at)[1]
    clock.now = closes_at - timedelta(seconds=1)
    host = await _in_session(client, interview_id, _latest_link(settings, "staff@"), "Staff")
    consul = await _in_session(client, interview_id, _latest_link(settings, "consul.in@"), "C")
    await host.send({"type": "open"})
    await consul.expect("admitted")

    clock.advance(seconds=2)
    for person in (host, consul):
        assert (await person.expect("withdrawn"))["reason"] == "window_closed"
        assert await person.closed() == 4412
    assert interview_id not in client.app[ROOMS].rooms
    spanish = client.app[CATALOGS].get("es").gettext
    assert (
        spanish(WINDOW_CLOSED)
        == "Terminó el tiempo reservado para esta entrevista: la sesión se cerró."
    )
