"""In a real browser, staff upload a passport scan and see its thumbnail on the case page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser import browser_sign_in, save_screenshot
from tests.conftest import World
from tests.test_cases_support import Client, Sessions, bearer, jpeg_with_gps, new_case


@pytest.mark.browser
async def test_staff_upload_a_passport_scan_and_see_its_thumbnail(
    page: Page, client: Client, db: Sessions, world: World, tmp_path: Path, screenshots: Path
) -> None:
    case = await new_case(client, await bearer(db, "staff@example.org"), family_name="Singh")
    scan = tmp_path / "pasaporte.jpg"
    scan.write_bytes(jpeg_with_gps((1200, 850)))
    await browser_sign_in(page, "staff@example.org")
    await page.goto(f"/cases/{case['id']}")
    await page.get_by_role("link", name="Add a document").click()
    await page.get_by_label("Kind of document").select_option("passport_copy")
    await page.get_by_label("File").set_input_files(str(scan))
    async with page.expect_navigation():
        await page.get_by_role("button", name="Upload").click()
    await expect(page.get_by_text("The document was added.")).to_be_visible()
    thumbnail = page.get_by_role("img", name="Passport copy: pasaporte.jpg")
    await expect(thumbnail).to_be_visible()
    # The thumbnail really loaded (a broken image has no natural width).
    width = await thumbnail.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width == 320
    await save_screenshot(page, screenshots, "case-with-passport")

    # A file that is not what its name says is refused with the reason, on the same page.
    await page.get_by_role("link", name="Add a document").click()
    fake = tmp_path / "foto.jpg"
    fake.write_bytes(b"<html><body>not a photo</body></html>")
    await page.get_by_label("File").set_input_files(str(fake))
    await page.get_by_role("button", name="Upload").click()
    await expect(page.get_by_role("alert")).to_contain_text("only PDF, JPEG and PNG")
