"""A consul fills India's questionnaire in a real browser, on a phone, in Spanish, using
the keyboard; an admin then finds the change in the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page

from interviews.questionnaire_demo import INDIA
from tests.browser import PHONE, browser_sign_in, new_context, save_screenshot
from tests.conftest import World
from tests.test_cases_support import Sessions, bearer, new_case, share_with

pytestmark = pytest.mark.browser


async def _no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"


async def test_a_consul_fills_the_questionnaire_on_a_phone_in_spanish(
    client: TestClient[Any, Any],
    world: World,
    db: Sessions,
    browser: Browser,
    live_server: str,
    screenshots: Path,
) -> None:
    consul = await bearer(db, "consul.in@example.org")
    staff = await bearer(db, "staff@example.org")
    await client.put(f"/api/consulates/{world.india.id}/questionnaire", json=INDIA, headers=consul)
    case = await new_case(client, staff)
    await share_with(client, staff, case["id"], world.india.id)

    context = await new_context(browser, live_server, viewport=PHONE)
    try:
        page = await context.new_page()
        await browser_sign_in(page, "consul.in@example.org")
        # The language switch in the header, as the consul would use it.
        await page.locator("#lang-select").select_option("es")
        async with page.expect_navigation():
            await page.locator(".language-switch button").click()
        await page.goto(f"/cases/{case['id']}/questionnaire")
        await page.get_by_role("heading", name="Cuestionario de identificación").wait_for()
        await _no_sideways_scroll(page)

        # Keyboard only: focus the first choice of a parameter, then arrow to "No confirmado"
        # and back, as radio groups work.
        for key in ("full_name", "fathers_name", "mothers_name", "district", "state"):
            await page.locator(f"#s-{key}-confirmed").focus()
            await page.keyboard.press("Space")
        await page.locator("#s-passport_number-confirmed").focus()
        await page.keyboard.press("ArrowRight")
        await page.locator("#n-district").fill("Jalandhar; conoce la estación de tren")
        await save_screenshot(page, screenshots, "questionnaire-phone-es-filled")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Guardar las respuestas").click()

        await page.get_by_text("Las respuestas se guardaron.").wait_for()
        verdict = page.locator(".q-verdict").first
        assert "Regla cumplida" in await verdict.inner_text()
        assert "5 de 20 parámetros confirmados, 5 requeridos" in await verdict.inner_text()
        assert await page.locator("#s-passport_number-not_confirmed").is_checked()
        await _no_sideways_scroll(page)
        await save_screenshot(page, screenshots, "questionnaire-phone-es-saved")
    finally:
        await context.close()

    admin = await new_context(browser, live_server, viewport=PHONE)
    try:
        page = await admin.new_page()
        await browser_sign_in(page, "admin@example.org")
        await page.goto("/audit")
        await page.get_by_label("Action").select_option("questionnaire.answer")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Search").click()
        rows = page.locator("tbody tr")
        assert await rows.count() == 1
        assert "Jalandhar" in await rows.first.inner_text()
        await _no_sideways_scroll(page)
        await save_screenshot(page, screenshots, "audit-phone")
    finally:
        await admin.close()
