"""questionnaires: versioned definitions, answers per case; audit log head and raw details

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 16:21:34.657289

The audit log's `details` become plain text holding canonical JSON, so the verifier can
hash the stored bytes without parsing them (PostgreSQL's `json` type is decoded by the
driver). Rows already in the log keep their first-encoding hashes: `audit_head` records
where the new encoding starts (`encoding_from`) and the newest row, which every writer now
updates first (that update is what serialises writers).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column(
            "details",
            existing_type=sa.JSON(),
            type_=sa.Text(),
            existing_nullable=False,
            postgresql_using="details::text",
        )
        batch_op.create_index(
            "ix_audit_events_target", ["target_type", "target_id", "id"], unique=False
        )

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("encoding_from", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    events = sa.table("audit_events", sa.column("id", sa.Integer), sa.column("hash", sa.String))
    last = (
        op.get_bind()
        .execute(sa.select(events.c.id, events.c.hash).order_by(events.c.id.desc()).limit(1))
        .first()
    )
    last_id, last_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)
    op.bulk_insert(
        head,
        [{"id": 1, "last_id": last_id, "last_hash": last_hash, "encoding_from": last_id + 1}],
    )

    op.create_table(
        "questionnaires",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consulate_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=3), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["consulate_id"],
            ["consulates.id"],
            name=op.f("fk_questionnaires_consulate_id_consulates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_questionnaires_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaires")),
        sa.UniqueConstraint("consulate_id", "version", name=op.f("uq_questionnaires_consulate_id")),
    )
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionnaires_consulate_id"), ["consulate_id"], unique=False
        )

    op.create_table(
        "questionnaire_parameters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("label_en", sa.String(length=200), nullable=False),
        sa.Column("label_es", sa.String(length=200), nullable=False),
        sa.Column("help", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaires.id"],
            name=op.f("fk_questionnaire_parameters_questionnaire_id_questionnaires"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_parameters")),
        sa.UniqueConstraint(
            "questionnaire_id", "key", name=op.f("uq_questionnaire_parameters_questionnaire_id")
        ),
    )
    with op.batch_alter_table("questionnaire_parameters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionnaire_parameters_questionnaire_id"),
            ["questionnaire_id"],
            unique=False,
        )

    op.create_table(
        "case_questionnaires",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("consulate_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_by_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_questionnaires_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["consulate_id"],
            ["consulates.id"],
            name=op.f("fk_case_questionnaires_consulate_id_consulates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaires.id"],
            name=op.f("fk_case_questionnaires_questionnaire_id_questionnaires"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_case_questionnaires_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_questionnaires")),
        sa.UniqueConstraint("case_id", "consulate_id", name=op.f("uq_case_questionnaires_case_id")),
    )
    with op.batch_alter_table("case_questionnaires", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_questionnaires_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_questionnaires_questionnaire_id"),
            ["questionnaire_id"],
            unique=False,
        )

    op.create_table(
        "questionnaire_answers",
        sa.Column("case_questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("parameter_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_questionnaire_id"],
            ["case_questionnaires.id"],
            name=op.f("fk_questionnaire_answers_case_questionnaire_id_case_questionnaires"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parameter_id"],
            ["questionnaire_parameters.id"],
            name=op.f("fk_questionnaire_answers_parameter_id_questionnaire_parameters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "case_questionnaire_id", "parameter_id", name=op.f("pk_questionnaire_answers")
        ),
    )


def downgrade() -> None:
    op.drop_table("questionnaire_answers")
    with op.batch_alter_table("case_questionnaires", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_questionnaires_questionnaire_id"))
        batch_op.drop_index(batch_op.f("ix_case_questionnaires_case_id"))
    op.drop_table("case_questionnaires")
    with op.batch_alter_table("questionnaire_parameters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaire_parameters_questionnaire_id"))
    op.drop_table("questionnaire_parameters")
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaires_consulate_id"))
    op.drop_table("questionnaires")
    op.drop_table("audit_head")
    # Rows written since the upgrade keep their second-encoding hashes: downgrading loses
    # the head row that says where that encoding starts, so verify before downgrading.
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_target")
        batch_op.alter_column(
            "details",
            existing_type=sa.Text(),
            type_=sa.JSON(),
            existing_nullable=False,
            postgresql_using="details::json",
        )
