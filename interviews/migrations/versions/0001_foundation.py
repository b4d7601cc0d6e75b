"""foundation: accounts, facilities, directory, audit

Revision ID: 0001
Revises:
Create Date: 2026-12-03 16:07:01.705661
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("remote", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_user_id"), ["user_id"], unique=False)

    op.create_table(
        "consulates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("located_country", sa.String(length=2), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=False),
        sa.Column("emergency_phone", sa.String(length=64), nullable=False),
        sa.Column("opening_hours", sa.Text(), nullable=False),
        sa.Column("holidays", sa.Text(), nullable=False),
        sa.Column("video_interviews", sa.Boolean(), nullable=False),
        sa.Column("questionnaire_name", sa.String(length=200), nullable=False),
        sa.Column("questionnaire_parameters", sa.Integer(), nullable=True),
        sa.Column("questionnaire_required", sa.Integer(), nullable=True),
        sa.Column("travel_document_days", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consulates")),
        sa.UniqueConstraint("name", name=op.f("uq_consulates_name")),
    )
    with op.batch_alter_table("consulates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consulates_country"), ["country"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_consulates_video_interviews"), ["video_interviews"], unique=False
        )

    op.create_table(
        "facilities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=3), nullable=False),
        sa.Column("deadline_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilities")),
        sa.UniqueConstraint("name", name=op.f("uq_facilities_name")),
    )
    op.create_table(
        "consulate_evidence",
        sa.Column("consulate_id", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consulate_id"],
            ["consulates.id"],
            name=op.f("fk_consulate_evidence_consulate_id_consulates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consulate_id", "evidence", name=op.f("pk_consulate_evidence")),
    )
    op.create_table(
        "consulate_jurisdictions",
        sa.Column("consulate_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["consulate_id"],
            ["consulates.id"],
            name=op.f("fk_consulate_jurisdictions_consulate_id_consulates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consulate_id", "country", name=op.f("pk_consulate_jurisdictions")),
    )
    with op.batch_alter_table("consulate_jurisdictions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consulate_jurisdictions_country"), ["country"], unique=False
        )

    op.create_table(
        "consulate_languages",
        sa.Column("consulate_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=3), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consulate_id"],
            ["consulates.id"],
            name=op.f("fk_consulate_languages_consulate_id_consulates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consulate_id", "language", name=op.f("pk_consulate_languages")),
    )
    with op.batch_alter_table("consulate_languages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consulate_languages_language"), ["language"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("consulate_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consulate_id"], ["consulates.id"], name=op.f("fk_users_consulate_id_consulates")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_users_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_tokens_digest")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "login_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_user_id"))

    op.drop_table("login_sessions")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("consulate_languages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consulate_languages_language"))

    op.drop_table("consulate_languages")
    with op.batch_alter_table("consulate_jurisdictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consulate_jurisdictions_country"))

    op.drop_table("consulate_jurisdictions")
    op.drop_table("consulate_evidence")
    op.drop_table("facilities")
    with op.batch_alter_table("consulates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consulates_video_interviews"))
        batch_op.drop_index(batch_op.f("ix_consulates_country"))

    op.drop_table("consulates")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_user_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
