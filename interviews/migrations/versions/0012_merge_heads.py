"""Join the branches that issues 7 and 8 grew in parallel into one head.

Revision ID: 0012
Revises: 0009_summaries, 0010_retention, 0011_statistics
Create Date: 2026-12-03
"""

from collections.abc import Sequence

revision: str = "0012"
down_revision: str | Sequence[str] | None = ("0009_summaries", "0010_retention", "0011_statistics")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: this revision only makes the history linear again."""


def downgrade() -> None:
    """Nothing to change."""
