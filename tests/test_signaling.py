"""Signalling stories: the lobby, the host's admission and refusal, relaying between the
peers of one session, chat and the session record — over a real WebSocket to the real app.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews import accounts
from interviews.accounts import Role
from scheduling.appointments import Participant
from scheduling.tokens import make_join_token
from signaling.records import chat_messages, session_events
from signaling.room import MAX_PARTIES, MAX_WAITING_GUESTS
from tests.conftest import PASSWORD, sign_in
from tests.test_session_support import (  # noqa: F401 - fixtures
    SECRET,
    Interviews,
    connect,
    joined,
    session_settings,
    two_interviews,
)


async def _guests(db: async_sessionmaker[AsyncSession], count: int) -> list[str]:
    """Emails of `count` new admins: signed-in people who may knock but are not invited."""
    async with db() as session, session.begin():
        users = [
            await accounts.create_user(
                session,
                email=f"guest{n}.{id(session)}@example.org",
                name=f"Guest {n}",
                role=Role.ADMIN,
                password=PASSWORD,
            )
            for n in range(count)
        ]
    return [user.email for user in users]


async def _sign_in_anew(client: TestClient[Any, Any], email: str) -> None:
    """Sign in as someone else (open sockets keep who they were)."""
    client.session.cookie_jar.clear()
    await sign_in(client, email)


async def test_invited_people_wait_in_the_lobby_until_the_host_opens(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    a = interviews.a
    consul = await joined(client, a, "consul")
    assert (await consul.expect("roster"))["state"] == "lobby"
    host = await joined(client, a, "staff")
    roster = await host.expect("roster")
    shown = {p["role"]: p for p in roster["participants"]}
    assert shown["consul"]["admitted"] is False and shown["staff"]["host"] is True

    await host.send({"type": "open"})
    await consul.expect("admitted")
    roster = await consul.expect("roster", state="open")
    assert all(p["admitted"] for p in roster["participants"])
    assert roster["recording"] is True

    # A latecomer on the interview goes straight in once the session is open.
    interpreter = await joined(client, a, "interpreter")
    await interpreter.expect("admitted")


async def test_offers_answers_and_candidates_reach_only_the_named_peer(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    interpreter = await joined(client, a, "interpreter")
    await host.send({"type": "open"})
    await consul.expect("admitted")

    await consul.send({"type": "offer", "to": interpreter.peer, "sdp": "v=0 offer"})
    offer = await interpreter.expect("offer")
    assert offer == {"type": "offer", "from": consul.peer, "sdp": "v=0 offer"}
    await interpreter.send({"type": "answer", "to": consul.peer, "sdp": "v=0 answer"})
    assert (await consul.expect("answer"))["from"] == interpreter.peer
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}
    await consul.send({"type": "candidate", "to": interpreter.peer, "candidate": candidate})
    relayed = await interpreter.expect("candidate")
    assert relayed["candidate"]["candidate"] == candidate["candidate"]
    # The host saw none of it.
    await host.send({"type": "ping"})
    await host.expect("pong")
    assert not [m for m in host.received if m["type"] in ("offer", "answer", "candidate")]


async def test_host_admits_or_refuses_people_not_on_the_interview(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    await host.send({"type": "open"})
    await host.expect("admitted")
    await sign_in(client, "admin@example.org")  # a signed-in guest, not on the interview
    guest = await connect(client, a.interview_id, None, "Visiting admin")
    welcome = await guest.expect("welcome")
    assert welcome["admitted"] is False and welcome["role"] == "guest"

    # The guest cannot reach anyone from the lobby.
    await guest.send({"type": "offer", "to": host.peer, "sdp": "v=0"})
    assert (await guest.expect("error"))["code"] == "not_admitted"
    await guest.send({"type": "chat", "text": "hello?"})
    assert (await guest.expect("error"))["code"] == "not_admitted"
    # Only the host may admit.
    await guest.send({"type": "admit", "peer": welcome["peer"]})
    assert (await guest.expect("error"))["code"] == "not_host"

    await host.send({"type": "refuse", "peer": welcome["peer"]})
    await guest.expect("refused")
    assert await guest.closed() == 4403
    # A refusal holds: coming back does not put them in the lobby again.
    again = await connect(client, a.interview_id, None, "Visiting admin", rejoin=True)
    assert (await again.expect("error"))["code"] == "refused"
    assert await again.closed() == 4403

    await _sign_in_anew(client, (await _guests(db, 1))[0])  # someone else knocks: let in
    second = await connect(client, a.interview_id, None, "Visiting guest")
    peer = (await second.expect("welcome"))["peer"]
    await host.send({"type": "admit", "peer": peer})
    await second.expect("admitted")
    async with db() as session:
        kinds = [e.kind for e in await session_events(session, a.interview_id)]
    assert kinds.count("refuse") == 1 and kinds.count("admit") == 1
    assert not [m for m in host.received if m["type"] == "offer"]


async def test_chat_is_kept_with_the_session_and_shown_escaped_nowhere_else(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    a, b = interviews.a, interviews.b
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    other = await joined(client, b, "staff")
    await host.send({"type": "open"})
    await consul.expect("admitted")
    text = "<script>alert(1)</script> ¿me oye?"
    await consul.send({"type": "chat", "text": text})
    shown = await host.expect("chat")
    assert shown["text"] == text and shown["from"] == consul.peer
    await other.send({"type": "ping"})
    await other.expect("pong")
    assert not [m for m in other.received if m["type"] == "chat"]
    async with db() as session:
        kept = await chat_messages(session, a.interview_id)
        assert [m.text for m in kept] == [text]
        assert await chat_messages(session, b.interview_id) == []


async def test_mute_and_camera_state_reach_everyone(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    # In the lobby the state is kept, not told to the call: it shows once they are in.
    await consul.send({"type": "media", "audio": False, "video": False})
    await host.send({"type": "open"})
    await consul.expect("admitted")
    roster = await host.expect("roster", state="open")
    assert {"peer": consul.peer, "audio": False, "video": False}.items() <= next(
        p for p in roster["participants"] if p["peer"] == consul.peer
    ).items()
    assert not [m for m in host.received if m["type"] == "media"]
    await consul.send({"type": "media", "audio": False, "video": True})
    change = await host.expect("media")
    assert change == {"type": "media", "peer": consul.peer, "audio": False, "video": True}


async def test_reload_rejoins_the_same_open_session_and_is_recorded(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    await host.send({"type": "open"})
    await consul.expect("admitted")
    # The page is reloaded: a second connection for the same person replaces the first.
    again = await connect(client, a.interview_id, a.tokens["consul"], "Consul", rejoin=True)
    welcome = await again.expect("welcome")
    assert welcome["admitted"] is True and welcome["state"] == "open"
    assert await consul.closed() == 4409
    roster = await host.latest("roster")
    assert [p["role"] for p in roster["participants"]].count("consul") == 1
    async with db() as session:
        kinds = [e.kind for e in await session_events(session, a.interview_id)]
    assert "reconnect" in kinds


async def test_the_host_ends_the_session_for_everyone_and_links_stop_working(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    await host.send({"type": "open"})
    await consul.expect("admitted")
    await consul.send({"type": "end"})
    assert (await consul.expect("error"))["code"] == "not_host"

    await host.send({"type": "end"})
    await consul.expect("ended")
    assert await consul.closed() == 4410
    late = await connect(client, a.interview_id, a.tokens["interpreter"], "Interpreter")
    refused = await late.expect("error")
    assert refused["code"] == "ended"
    response = await client.post(
        f"/api/sessions/{a.interview_id}/passes", json={"token": a.tokens["consul"]}
    )
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "ended"


async def test_leaving_is_told_to_the_others(
    client: TestClient[Any, Any], interviews: Interviews
) -> None:
    a = interviews.a
    host = await joined(client, a, "staff")
    consul = await joined(client, a, "consul")
    await consul.send({"type": "leave"})
    assert (await host.expect("left"))["peer"] == consul.peer


async def test_a_session_holds_five_people_and_tells_a_sixth_it_is_full(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    a = interviews.a
    async with db() as session, session.begin():
        extra = [
            Participant(
                interview_id=a.interview_id, role="interpreter", name=f"Extra {n}", email="x@x"
            )
            for n in range(3)
        ]
        session.add_all(extra)
        await session.flush()
        tokens = [make_join_token(SECRET, a.interview_id, p.id, p.token_nonce) for p in extra]
    host = await joined(client, a, "staff")
    await host.send({"type": "open"})
    people = [host, await joined(client, a, "consul"), await joined(client, a, "interpreter")]
    for n in range(2):
        people.append(await connect(client, a.interview_id, tokens[n], f"Extra {n}"))
        await people[-1].expect("welcome")
    assert MAX_PARTIES == len(people) == 5

    sixth = await connect(client, a.interview_id, tokens[2], "Extra 2")
    refused = await sixth.expect("error")
    assert refused["code"] == "full" and "five people" in refused["message"]
    assert await sixth.closed() == 4413
    roster = await host.latest("roster")
    assert len(roster["participants"]) == 5

    # A full session still takes back someone already in it (a reload replaces the old tab),
    again = await connect(client, a.interview_id, tokens[1], "Extra 1", rejoin=True)
    await again.expect("welcome")
    assert await people[-1].closed() == 4409
    # and has room again once someone leaves.
    await again.send({"type": "leave"})
    await host.expect("left")
    sixth = await connect(client, a.interview_id, tokens[2], "Extra 2")
    await sixth.expect("welcome")


async def test_guests_waiting_in_the_lobby_keep_no_invited_person_out(
    client: TestClient[Any, Any], interviews: Interviews, db: async_sessionmaker[AsyncSession]
) -> None:
    """Five seats: the people on the interview and the guests let in. Guests waiting take
    none (at most five wait); the host can let guests in only while a seat is free."""
    a = interviews.a
    host = await joined(client, a, "staff")
    await host.send({"type": "open"})
    emails = await _guests(db, MAX_WAITING_GUESTS + 1)
    waiting = []
    for n, email in enumerate(emails[:MAX_WAITING_GUESTS]):
        await _sign_in_anew(client, email)
        guest = await connect(client, a.interview_id, None, f"Guest {n}")
        assert (await guest.expect("welcome"))["admitted"] is False
        waiting.append(guest)
    await _sign_in_anew(client, emails[-1])
    one_too_many = await connect(client, a.interview_id, None, "Guest 5")
    assert (await one_too_many.expect("error"))["code"] == "full"
    assert await one_too_many.closed() == 4413

    for role in ("consul", "interpreter"):  # invited people still get in
        await (await joined(client, a, role)).expect("admitted")
    roster = await host.latest("roster")
    guests = [p["peer"] for p in roster["participants"] if p["role"] == "guest"]
    for peer in guests[:2]:  # five seats taken: host, consul, interpreter and two guests
        await host.send({"type": "admit", "peer": peer})
        await host.expect("roster")
    await host.send({"type": "admit", "peer": guests[2]})
    assert (await host.expect("error"))["code"] == "full"
    roster = await host.latest("roster")
    assert sum(p["admitted"] for p in roster["participants"]) == MAX_PARTIES
