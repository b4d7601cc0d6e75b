"""An admin opens the statistics in real headless Chromium: charts drawn, tables behind them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests import stats_support
from tests.browser import PHONE, browser_sign_in, save_screenshot
from tests.conftest import Clock, World

pytestmark = pytest.mark.browser


async def test_an_admin_reads_the_charts_and_their_tables_in_both_languages(
    page: Page,
    db: async_sessionmaker[AsyncSession],
    world: World,
    clock: Clock,
    screenshots: Path,
) -> None:
    async with db() as session, session.begin():
        await stats_support.build(session, world)
    clock.now = stats_support.AS_OF
    await browser_sign_in(page, "admin@example.org")
    await page.get_by_role("link", name="Statistics").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Statistics")

    # choose the months with the form, from the keyboard
    await page.get_by_label("From (month)").fill("2026-01")
    await page.get_by_label("To (month)").fill("2026-02")
    async with page.expect_navigation():
        await page.get_by_label("To (month)").press("Enter")
    await expect(page).to_have_url(re.compile(r"from=2026-01&to=2026-02"))

    # every chart is drawn, named, and points at its table
    charts = page.locator("svg.chart")
    await expect(charts).to_have_count(8)
    cases_chart = page.get_by_role("img", name="Cases opened per month")
    await expect(cases_chart).to_be_visible()
    box = await cases_chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    # the lines and markers are there (January and February of three series)
    assert await page.locator("#chart-cases polyline").count() >= 1
    assert await page.locator("#chart-cases circle").count() >= 2
    table_id = await cases_chart.get_attribute("aria-describedby")
    table = page.locator(f"#{table_id}")
    await expect(table.get_by_role("row", name=re.compile("2026-01"))).to_contain_text("8")

    # small counts read "<5" in the bar chart and in its table
    nationality = page.get_by_role("img", name="Cases by nationality")
    await expect(nationality.locator("text.suppressed").first).to_have_text("<5")
    await expect(page.locator("#chart-nationality-table")).to_contain_text("<5")
    await save_screenshot(page, screenshots, "statistics-en-desktop")

    # in Spanish
    await page.get_by_label("Language", exact=True).select_option("es")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Change").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Estadísticas")
    await expect(page.get_by_role("img", name="Casos abiertos por mes")).to_be_visible()

    # on a phone the charts shrink to the width; wide tables scroll inside their frame
    await page.set_viewport_size(PHONE)
    width = await page.evaluate("document.querySelector('svg.chart').getBoundingClientRect().width")
    assert width <= PHONE["width"]
    await save_screenshot(page, screenshots, "statistics-es-phone")
