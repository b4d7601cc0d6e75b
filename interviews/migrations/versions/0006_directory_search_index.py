"""directory: an index in listing order (country, name, id) for paged searches

Revision ID: 0006_directory
Revises: 0001
Create Date: 2026-12-03 16:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_directory"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consulates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consulates_country_name_id", ["country", "name", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consulates", schema=None) as batch_op:
        batch_op.drop_index("ix_consulates_country_name_id")
