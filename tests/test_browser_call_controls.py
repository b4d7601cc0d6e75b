"""The call's own controls in two Chromium pages (facility host and consul, fake camera and
microphone): the device check shows the microphone's level and the devices to choose from;
in the call the consul mutes and turns the camera off and the host's participant list says
so, a chat line reaches the host, the consul's voice lights their tile on the host's page,
and when the consul leaves the host's list no longer has them.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page

from tests.browser import new_context
from tests.test_browser_call import media_browser  # noqa: F401 - fixture
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    session_settings,
    two_interviews,
)

PARTICIPANTS = "() => [...document.querySelectorAll('#participants li')].map((l) => l.textContent)"
# Notes every tile that gets the speaking highlight, however briefly (it is re-judged
# every second from the received audio level).
WATCH_SPEAKERS = """() => {
  window.spoke = [];
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.target.classList.contains('speaking')) window.spoke.push(change.target.id);
    }
  }).observe(document.getElementById('videos'), {attributes: true, subtree: true,
    attributeFilter: ['class']});
}"""


async def _device_check(browser: Browser, live_server: str, token: str) -> Page:
    """Open a link and check the devices; the page is left on the device check."""
    context = await new_context(browser, live_server)
    page = await context.new_page()
    await page.goto(f"/join/{token}")
    # The fake microphone beeps: the level meter moves.
    await page.wait_for_function(
        "() => document.getElementById('mic-level').value > 0", polling=100, timeout=15_000
    )
    for device in ("camera", "microphone"):
        assert await page.locator(f"#{device} option").count() >= 1, device
    return page


async def _join(page: Page, name: str) -> None:
    await page.locator("#display-name").fill(name)
    await page.get_by_label("I understand the session is recorded").check()
    await page.get_by_role("button", name="Join", exact=True).click()


async def _participants_say(page: Page, *parts: str) -> None:
    await page.wait_for_function(
        f"""() => ({PARTICIPANTS})().some((line) =>
          {" && ".join(f"line.includes({part!r})" for part in parts)})""",
        polling=100,
        timeout=15_000,
    )


@pytest.mark.browser
@pytest.mark.slow
async def test_mute_camera_chat_speaker_and_leave_reach_the_other_page(
    media_browser: Browser,  # noqa: F811 - fixture
    live_server: str,
    interviews: Interviews,
) -> None:
    a = interviews.a
    consul_name = "Consul Ram"
    host = await _device_check(media_browser, live_server, a.tokens["staff"])
    consul = await _device_check(media_browser, live_server, a.tokens["consul"])
    try:
        await _join(host, "Rosa Staff")
        await _join(consul, consul_name)
        await consul.get_by_text("Waiting for the host to open the session.").wait_for()
        await host.evaluate(WATCH_SPEAKERS)
        await host.get_by_role("button", name="Open the session").click()
        await consul.locator("#call").wait_for(state="visible")
        await _participants_say(host, consul_name, "consul")

        # The consul's beeping microphone lights their tile on the host's page.
        consul_tile = await host.wait_for_function(
            "() => window.spoke.find((id) => id !== 'tile-local')", polling=200, timeout=30_000
        )
        assert str(await consul_tile.json_value()).startswith("tile-")

        await consul.get_by_role("button", name="Mute").click()
        assert await consul.locator("#toggle-mic").get_attribute("aria-pressed") == "true"
        await _participants_say(host, consul_name, "muted")
        await consul.get_by_role("button", name="Camera off").click()
        await _participants_say(host, consul_name, "muted", "camera off")

        await consul.locator("#chat-text").fill("¿Nombre de su padre? <b>no markup</b>")
        await consul.locator("#chat-text").press("Enter")
        line = host.locator("#chat-log li").last
        await line.wait_for()
        assert await line.text_content() == f"{consul_name}: ¿Nombre de su padre? <b>no markup</b>"
        assert await host.locator("#chat-log b").count() == 0

        await consul.get_by_role("button", name="Leave").click()
        await consul.locator("#finished").wait_for(state="visible")
        await host.wait_for_function(
            f"() => !({PARTICIPANTS})().some((line) => line.includes({consul_name!r}))",
            polling=100,
            timeout=15_000,
        )
        assert any("You" in line for line in await host.evaluate(PARTICIPANTS))
    finally:
        for page in (host, consul):
            await page.context.close()
