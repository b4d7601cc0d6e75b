"""The bootstrap behind ./scripts/serve-demo and ./scripts/test (scripts/lib.sh).

The full scripts run in CI and from a fresh clone; these check the decisions inside them
that a run does not show: when an install may be skipped, and which Python is chosen.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source scripts/lib.sh; {script}"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("stamp", "wanted", "covered"),
    [
        ("abc test,captions", "test,captions", True),
        ("abc test,captions", "", True),  # a test install also serves the demo
        ("abc test,captions", "captions", True),
        ("abc ", "test,captions", False),  # a demo install lacks the test tools
        ("abc test", "test,captions", False),
        ("def test,captions", "test,captions", False),  # pyproject.toml changed
    ],
)
def test_an_install_is_skipped_only_when_the_last_one_covers_it(
    tmp_path: Path, stamp: str, wanted: str, covered: bool
) -> None:
    stamp_file = tmp_path / "stamp"
    stamp_file.write_text(stamp + "\n")
    result = _bash(f'STAMP={stamp_file}; stamp_covers abc "{wanted}"')
    assert (result.returncode == 0) is covered, result.stderr


def test_no_stamp_means_install(tmp_path: Path) -> None:
    assert _bash(f'STAMP={tmp_path / "missing"}; stamp_covers abc ""').returncode == 1


def test_python_given_in_the_environment_is_used_when_new_enough() -> None:
    result = _bash("find_python", PYTHON=sys.executable)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == sys.executable


def test_an_old_python_is_passed_over(tmp_path: Path) -> None:
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\nexit 1\n")  # what the version check sees from Python < 3.11
    old.chmod(0o755)
    result = _bash("find_python", PYTHON=str(old))
    chosen = result.stdout.strip()
    assert chosen != str(old)
    if result.returncode == 0:
        check = "import sys; sys.exit(sys.version_info < (3, 11))"
        assert subprocess.run([chosen, "-c", check], check=False).returncode == 0
