"""A person signs in with real headless Chromium, switches to Spanish and searches the directory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.browser import PHONE, browser_sign_in, save_screenshot
from tests.conftest import World
from tests.test_directory_api import bearer, entry_body

pytestmark = pytest.mark.browser


async def _seed(
    client: TestClient[Any, Any], db: async_sessionmaker[AsyncSession], world: World
) -> None:
    admin = await bearer(db, world.admin)
    for body in (
        entry_body(),
        entry_body(
            name="Embajada de Guatemala en México",
            country="GT",
            city="Ciudad de México",
            located_country="MX",
            time_zone="America/Mexico_City",
            jurisdiction=["MX"],
            languages=["spa", "quc", "mam"],
            video_interviews=False,
        ),
        entry_body(
            name="Consulate General of Nepal in Mexico City",
            country="NP",
            city="Mexico City",
            located_country="MX",
            time_zone="America/Mexico_City",
            jurisdiction=["MX", "GT", "BZ"],
            languages=["nep", "eng"],
            video_interviews=True,
        ),
    ):
        response = await client.post("/api/directory", json=body, headers=admin)
        assert response.status == 201, await response.text()


async def test_staff_search_the_directory_in_spanish(
    page: Page,
    client: TestClient[Any, Any],
    db: async_sessionmaker[AsyncSession],
    world: World,
    screenshots: Path,
) -> None:
    await _seed(client, db, world)
    await browser_sign_in(page, "staff@example.org")
    await expect(page).to_have_url(re.compile(r"/cases$"))  # staff start at their work queue
    async with page.expect_navigation():
        await page.get_by_role("link", name="Consular directory").click()
    await expect(page).to_have_url(re.compile(r"/directory$"))

    # the language switch in the header, by its label
    await page.get_by_label("Language", exact=True).select_option("es")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Change").click()
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Directorio consular")

    # filter by the country represented, chosen by its Spanish name
    await page.get_by_label("País representado").select_option(label="Nepal")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Buscar").click()
    await expect(page.locator("#result-count")).to_contain_text("2 entradas encontradas")
    results = page.locator("table.results tbody tr")
    await expect(results).to_have_count(2)
    await expect(results.first).to_contain_text("Consulate General of Nepal in Mexico City")
    await expect(results.first).to_contain_text("Guatemala")  # jurisdiction, in Spanish names
    await expect(results.first).to_contain_text("Belice")
    await save_screenshot(page, screenshots, "directory-es-desktop")

    # free text, typed and submitted from the keyboard alone
    await page.get_by_role("link", name="Quitar filtros").click()
    search_box = page.get_by_label("Nombre o ciudad")
    await search_box.focus()
    await page.keyboard.type("guatemala")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await expect(page.locator("#result-count")).to_contain_text("2 entradas encontradas")
    await expect(page.get_by_role("link", name="Embajada de Guatemala en México")).to_be_visible()

    # on a phone the results become cards that fit the width, with no sideways scrolling
    await page.set_viewport_size(PHONE)
    await page.get_by_role("link", name="Quitar filtros").click()
    await expect(page.locator("table.results tbody tr")).to_have_count(5)
    scroll_width = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"]
    await save_screenshot(page, screenshots, "directory-es-phone")

    # the detail page, reached from the results
    await page.get_by_role("link", name="Embajada de Guatemala en México").click()
    await expect(page.get_by_role("heading", name="Cómo certifica la identidad")).to_be_visible()
    await expect(page.get_by_text("K'iche'")).to_be_visible()
    await save_screenshot(page, screenshots, "directory-es-detail-phone")


async def test_an_admin_edits_an_entry_in_the_browser_and_bad_input_is_explained(
    page: Page, world: World, screenshots: Path
) -> None:
    await browser_sign_in(page, "admin@example.org")
    await page.goto(f"/directory/{world.nepal.id}")
    await page.get_by_role("link", name="Edit", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Edit the entry")
    await page.get_by_label("E-mail").fill("not an address")
    await page.get_by_label("Languages").fill("nep, eng")
    await page.get_by_label("Interview", exact=True).check()
    async with page.expect_navigation():
        await page.get_by_role("button", name="Save").click()
    summary = page.locator("#error-summary")
    await expect(summary).to_contain_text("Not a valid e-mail address.")
    await expect(page.get_by_label("Languages")).to_have_value("nep, eng")  # input kept
    await expect(page.get_by_label("Interview", exact=True)).to_be_checked()
    await save_screenshot(page, screenshots, "directory-form-errors-desktop")

    # the summary links to the field; fix it and save
    await summary.get_by_role("link", name="E-mail").click()
    await expect(page.get_by_label("E-mail")).to_be_focused()
    await page.keyboard.press("Control+A")
    await page.keyboard.type("consular@example.org")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Your changes were saved.")
    await expect(page.get_by_role("link", name="consular@example.org")).to_be_visible()
    await expect(page.get_by_text("Nepali (macrolanguage)")).to_be_visible()
    await page.set_viewport_size(PHONE)
    await page.goto(f"/directory/{world.nepal.id}/edit")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await save_screenshot(page, screenshots, "directory-form-phone")
