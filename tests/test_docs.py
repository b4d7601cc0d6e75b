"""The README documents what an operator can set, and CI runs what the README says."""

from __future__ import annotations

import argparse
from pathlib import Path

from interviews.demo import DEMO_LOGINS
from web.cli import build_parser
from web.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_has_a_row_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [
        name for name in Settings.model_fields if f"`CONSULINK_{name.upper()}`" not in readme
    ]
    assert missing == [], f"settings missing from README: {missing}"


def _ci_commands() -> list[str]:
    """The lines of .ci/run that do something (not the shebang, comments, set or cd)."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return [
        line.strip()
        for line in lines
        if line.strip()
        and not line.lstrip().startswith("#")
        and not line.strip().startswith(("set ", "cd "))
    ]


def test_ci_runs_exactly_the_test_command_the_readme_gives() -> None:
    readme_lines = {line.strip() for line in (ROOT / "README.md").read_text().splitlines()}
    commands = _ci_commands()
    assert commands == ["./scripts/test"]
    assert set(commands) <= readme_lines, "README must show CI's command on a line of its own"


def test_the_readme_gives_the_demo_command_and_both_scripts_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "./scripts/serve-demo" in readme and "http://127.0.0.1:8080" in readme
    for script in ("serve-demo", "test"):
        path = ROOT / "scripts" / script
        assert path.exists() and path.stat().st_mode & 0o111, f"{path} is not executable"


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "consulink") -> list[str]:
    """Every runnable command line the parser knows, e.g. 'consulink users add'."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.extend(_subcommands(child, f"{prefix} {name}"))
    return found or [prefix]


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = _subcommands(build_parser())
    assert "consulink users token" in commands  # the walk finds nested commands
    missing = [command for command in commands if command not in readme]
    assert missing == [], f"commands missing from README: {missing}"


def test_the_readme_lists_every_demo_sign_in_and_the_password() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"`{DEMO_LOGINS.password}`" in readme
    missing = [email for email, _ in DEMO_LOGINS.accounts if f"`{email}`" not in readme]
    assert missing == [], f"demo sign-ins missing from README: {missing}"
