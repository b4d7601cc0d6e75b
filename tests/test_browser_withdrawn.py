"""A person waiting in a session's lobby when staff cancel the interview: the page says
so and does not try to reconnect (headless Chromium on fake media)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from tests.browser import new_context
from tests.conftest import sign_in
from tests.test_browser_call import media_browser  # noqa: F401 - fixture
from tests.test_session_support import (  # noqa: F401 - fixtures
    Interviews,
    session_settings,
    two_interviews,
)


@pytest.mark.browser
async def test_the_page_says_the_interview_was_cancelled(
    media_browser: Browser,  # noqa: F811
    live_server: str,
    interviews: Interviews,
    client: TestClient[Any, Any],
) -> None:
    a = interviews.a
    context = await new_context(media_browser, live_server)
    try:
        page = await context.new_page()
        await page.goto(f"/join/{a.tokens['consul']}")
        await page.get_by_label("I understand the session is recorded").check()
        await page.get_by_role("button", name="Join", exact=True).click()
        await page.get_by_text("Waiting for the host to open the session.").wait_for()

        client.session.headers["X-CSRF-Token"] = await sign_in(client, "staff@example.org")
        cancelled = await client.post(
            f"/api/interviews/{a.interview_id}/cancel", json={"reason": "Released"}
        )
        assert cancelled.status == 200, await cancelled.text()

        reason = page.locator("#finished-reason")
        await reason.wait_for()
        assert await reason.text_content() == "The interview was cancelled."
        assert await page.locator("#finished").is_visible()
        assert await page.locator("#lobby").is_hidden()
    finally:
        with contextlib.suppress(Exception):
            await context.close()
