"""The README documents what an operator can set, and CI runs what the README says."""

from __future__ import annotations

from pathlib import Path

from web.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_has_a_row_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [
        name for name in Settings.model_fields if f"`CONSULINK_{name.upper()}`" not in readme
    ]
    assert missing == [], f"settings missing from README: {missing}"
