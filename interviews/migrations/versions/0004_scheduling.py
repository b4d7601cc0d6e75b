"""scheduling: availability, video rooms, interpreter profiles, interviews, jobs

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-03 16:30:00.000000

On PostgreSQL the interviews table also gets three exclusion constraints (btree_gist):
no two requested or confirmed interviews may hold the same consul, interpreter or room
over overlapping [starts_at, busy_until) ranges. Booking already prevents that with row
locks and a re-check; the constraints make it impossible for any writer.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXCLUDED = ("consul_id", "interpreter_id", "room_id")


def upgrade() -> None:
    op.create_table(
        "availability_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=True),
        sa.Column("end_minute", sa.Integer(), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "(start_minute IS NULL AND end_minute IS NULL) OR "
            "(start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440)",
            name=op.f("ck_availability_exceptions_span"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_exceptions")),
    )
    with op.batch_alter_table("availability_exceptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_availability_exceptions_owner", ["owner_kind", "owner_id", "day"], unique=False
        )

    op.create_table(
        "availability_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.Column("priority_only", sa.Boolean(), nullable=False),
        sa.CheckConstraint("end_minute <= 1440", name=op.f("ck_availability_windows_end")),
        sa.CheckConstraint(
            "start_minute >= 0 AND start_minute < end_minute",
            name=op.f("ck_availability_windows_order"),
        ),
        sa.CheckConstraint(
            "weekday >= 0 AND weekday <= 6", name=op.f("ck_availability_windows_weekday")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_windows")),
    )
    with op.batch_alter_table("availability_windows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_availability_windows_owner", ["owner_kind", "owner_id"], unique=False
        )

    op.create_table(
        "scheduled_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_scheduled_jobs_key")),
    )
    with op.batch_alter_table("scheduled_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_scheduled_jobs_due", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_scheduled_jobs_subject"), ["subject"], unique=False)

    op.create_table(
        "consulate_schedules",
        sa.Column("consulate_id", sa.Integer(), nullable=False),
        sa.Column("interview_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("step_minutes", sa.Integer(), nullable=False),
        sa.Column("notice_minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consulate_id"],
            ["consulates.id"],
            name=op.f("fk_consulate_schedules_consulate_id_consulates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consulate_id", name=op.f("pk_consulate_schedules")),
    )
    op.create_table(
        "video_rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_video_rooms_facility_id_facilities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_rooms")),
        sa.UniqueConstraint("facility_id", "name", name="uq_video_rooms_name"),
    )
    with op.batch_alter_table("video_rooms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_video_rooms_facility_id"), ["facility_id"], unique=False
        )

    op.create_table(
        "interpreter_profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("max_per_day", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_interpreter_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_interpreter_profiles")),
    )
    op.create_table(
        "interpreter_languages",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=3), nullable=False),
        sa.Column("proficiency", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["interpreter_profiles.user_id"],
            name=op.f("fk_interpreter_languages_user_id_interpreter_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "language", name=op.f("pk_interpreter_languages")),
    )
    with op.batch_alter_table("interpreter_languages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interpreter_languages_language"), ["language"], unique=False
        )

    op.create_table(
        "interviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=80), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("consulate_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("consul_id", sa.Integer(), nullable=False),
        sa.Column("interpreter_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=3), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("busy_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority_hold", sa.Boolean(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_interviews_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["consul_id"], ["users.id"], name=op.f("fk_interviews_consul_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["consulate_id"], ["consulates.id"], name=op.f("fk_interviews_consulate_id_consulates")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_interviews_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_interviews_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["interpreter_id"], ["users.id"], name=op.f("fk_interviews_interpreter_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_interviews_requested_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["video_rooms.id"], name=op.f("fk_interviews_room_id_video_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interviews")),
        sa.UniqueConstraint("uid", name=op.f("uq_interviews_uid")),
    )
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interviews_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_interviews_consul_start", ["consul_id", "status", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_interviews_consulate_start", ["consulate_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_interviews_facility_start", ["facility_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_interviews_interpreter_start",
            ["interpreter_id", "status", "starts_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_interviews_room_start", ["room_id", "status", "starts_at"], unique=False
        )
        batch_op.create_index("ix_interviews_status_start", ["status", "starts_at"], unique=False)

    op.create_table(
        "interview_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("token_nonce", sa.String(length=32), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_interview_participants_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_interview_participants_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interview_participants")),
    )
    with op.batch_alter_table("interview_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interview_participants_interview_id"), ["interview_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_interview_participants_user_id"), ["user_id"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for column in _EXCLUDED:
            op.execute(
                f"ALTER TABLE interviews ADD CONSTRAINT ex_interviews_{column}_overlap "
                f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, busy_until) WITH &&) "
                "WHERE (status IN ('requested', 'confirmed'))"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in _EXCLUDED:
            op.execute(f"ALTER TABLE interviews DROP CONSTRAINT ex_interviews_{column}_overlap")
    with op.batch_alter_table("interview_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interview_participants_user_id"))
        batch_op.drop_index(batch_op.f("ix_interview_participants_interview_id"))

    op.drop_table("interview_participants")
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.drop_index("ix_interviews_status_start")
        batch_op.drop_index("ix_interviews_room_start")
        batch_op.drop_index("ix_interviews_interpreter_start")
        batch_op.drop_index("ix_interviews_facility_start")
        batch_op.drop_index("ix_interviews_consulate_start")
        batch_op.drop_index("ix_interviews_consul_start")
        batch_op.drop_index(batch_op.f("ix_interviews_case_id"))

    op.drop_table("interviews")
    with op.batch_alter_table("interpreter_languages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interpreter_languages_language"))

    op.drop_table("interpreter_languages")
    op.drop_table("interpreter_profiles")
    with op.batch_alter_table("video_rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_rooms_facility_id"))

    op.drop_table("video_rooms")
    op.drop_table("consulate_schedules")
    with op.batch_alter_table("scheduled_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduled_jobs_subject"))
        batch_op.drop_index("ix_scheduled_jobs_due")

    op.drop_table("scheduled_jobs")
    with op.batch_alter_table("availability_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_availability_windows_owner")

    op.drop_table("availability_windows")
    with op.batch_alter_table("availability_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_availability_exceptions_owner")

    op.drop_table("availability_exceptions")
