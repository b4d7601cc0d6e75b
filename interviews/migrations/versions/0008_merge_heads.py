"""Join the branches that issues 2-6 grew in parallel into one head.

Revision ID: 0008
Revises: 0003, 0006_directory, 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | Sequence[str] | None = ("0003", "0006_directory", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: this revision only makes the history linear again."""


def downgrade() -> None:
    """Nothing to change."""
