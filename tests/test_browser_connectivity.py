"""The device-check page tests the connection before anyone joins: a ping over the
signalling WebSocket, the ICE candidates the browser gathers with the session's ICE
servers, and a test call (a data channel) to a short-lived peer on the server; when a
part fails the page says what to do. Also the probe endpoint's refusals.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiortc import RTCPeerConnection, RTCSessionDescription
from playwright.async_api import Browser, Page, Route

from tests.browser import new_context
from tests.test_browser_call import media_browser  # noqa: F401 - fixture
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    session_settings,
    two_interviews,
)
from web.keys import PROBES

Client = TestClient[Any, Any]


async def _device_check(browser: Browser, live_server: str, token: str) -> Page:
    context = await new_context(browser, live_server)
    page = await context.new_page()
    await page.goto(f"/join/{token}")
    return page


async def _checked(page: Page) -> None:
    await page.locator("#connectivity-check[data-done=true]").wait_for(timeout=30_000)


@pytest.mark.browser
@pytest.mark.slow
async def test_the_check_reaches_the_server_over_signalling_and_media(
    media_browser: Browser,  # noqa: F811
    live_server: str,
    interviews: Interviews,
    client: Client,
) -> None:
    page = await _device_check(media_browser, live_server, interviews.a.tokens["consul"])
    try:
        await _checked(page)
        socket = page.locator("#check-socket")
        assert await socket.get_attribute("data-ok") == "true"
        assert "ms round trip" in await socket.inner_text()
        candidates = page.locator("#check-candidates")
        assert "host" in (await candidates.get_attribute("data-types") or "").split(",")
        media = page.locator("#check-media")
        assert await media.get_attribute("data-ok") == "true"
        assert "Test call to the server: connected." in await media.inner_text()
        assert await page.locator("#connectivity-guidance").is_hidden()
        # The probe peer hangs up by itself once connected, and joining works.
        probes = client.app[PROBES]
        if probes.running:
            await asyncio.wait(set(probes.running), timeout=5)
        assert not probes.running
        await page.get_by_label("I understand the session is recorded").check()
        await page.get_by_role("button", name="Join", exact=True).click()
        await page.get_by_text("Waiting for the host to open the session.").wait_for()
    finally:
        await page.context.close()


@pytest.mark.browser
@pytest.mark.slow
async def test_a_network_that_blocks_media_gets_plain_guidance(
    media_browser: Browser,  # noqa: F811
    live_server: str,
    interviews: Interviews,
) -> None:
    """The network edge is faked: the test call's request never reaches the server."""
    page = await _device_check(media_browser, live_server, interviews.a.tokens["consul"])

    async def blocked(route: Route) -> None:
        await route.abort("connectionfailed")

    try:
        await page.route("**/probe", blocked)
        await page.reload()
        await _checked(page)
        assert await page.locator("#check-socket").get_attribute("data-ok") == "true"
        assert await page.locator("#check-media").get_attribute("data-ok") == "false"
        guidance = page.locator("#connectivity-guidance")
        assert await guidance.is_visible()
        assert "Try another network" in await guidance.inner_text()
    finally:
        await page.context.close()


async def test_the_probe_needs_a_pass_and_a_usable_offer(
    client: Client, interviews: Interviews
) -> None:
    a = interviews.a
    url = f"/api/sessions/{a.interview_id}/probe"
    response = await client.post(url, json={"sdp": "v=0"})
    assert response.status == 401  # nobody: no pass, no sign-in
    await client.post(f"/api/sessions/{a.interview_id}/passes", json={"token": a.tokens["consul"]})
    response = await client.post(url, json={"sdp": "not sdp at all"})
    assert response.status == 400
    assert (await response.json())["error"]["details"][0]["field"] == "sdp"
    response = await client.post(url, json={"offer": "x"})
    assert response.status == 400
    assert len(client.app[PROBES].running) == 0  # nothing was left running


async def _data_channel_offer() -> RTCPeerConnection:
    pc = RTCPeerConnection()
    pc.createDataChannel("probe")
    await pc.setLocalDescription(await pc.createOffer())
    return pc


async def test_concurrent_checks_stay_within_the_limits(
    client: Client, interviews: Interviews
) -> None:
    """Sixty checks at once from one person get two peers; with the per-person share
    lifted (as if from many people) they get exactly the app-wide limit, never more."""
    a = interviews.a
    url = f"/api/sessions/{a.interview_id}/probe"
    await client.post(f"/api/sessions/{a.interview_id}/passes", json={"token": a.tokens["consul"]})
    offer = await _data_channel_offer()
    sdp = offer.localDescription.sdp
    await offer.close()
    probes = client.app[PROBES]
    responses = await asyncio.gather(*(client.post(url, json={"sdp": sdp}) for _ in range(60)))
    statuses = [r.status for r in responses]
    assert statuses.count(200) == probes.each == 2
    assert statuses.count(429) == 58
    assert (await responses[statuses.index(429)].json())["error"]["code"] == "checks_in_progress"
    assert len(probes.running) == 2
    await probes.close()
    probes.each = 100
    responses = await asyncio.gather(*(client.post(url, json={"sdp": sdp}) for _ in range(60)))
    statuses = [r.status for r in responses]
    assert statuses.count(200) == probes.limit == len(probes.running)
    assert statuses.count(503) == 60 - probes.limit


async def test_a_check_hangs_up_once_it_has_connected(
    client: Client, interviews: Interviews
) -> None:
    """A real aiortc peer stands in for the browser: the probe peer closes a moment after
    the connection is up, not 20 s later, so its slot is free again."""
    a = interviews.a
    await client.post(f"/api/sessions/{a.interview_id}/passes", json={"token": a.tokens["consul"]})
    browser = await _data_channel_offer()
    try:
        response = await client.post(
            f"/api/sessions/{a.interview_id}/probe", json={"sdp": browser.localDescription.sdp}
        )
        assert response.status == 200
        await browser.setRemoteDescription(RTCSessionDescription(**await response.json()))
        probes = client.app[PROBES]
        connected = asyncio.Event()
        browser.on("connectionstatechange", lambda: connected.set())
        async with asyncio.timeout(10):
            while browser.connectionState != "connected":
                connected.clear()
                await connected.wait()
            assert len(probes.running) == 1
            await asyncio.wait(set(probes.running))
        assert not probes.running
        assert probes.seconds > 10  # hung up by connecting, not by the 20 s limit
    finally:
        await browser.close()
