"""scheduling_version: one value that triggers change whenever slot search's static inputs do

Slot search caches, per process, what rarely changes (consulate settings, hours, consuls,
interpreters and their languages, rooms, facility and consulate names and zones) and
checks this value on every search (scheduling/search_cache.py). The triggers live in the
database, so a change made by another server process, the CLI or plain SQL is seen as
surely as one made here.

Users are watched only for the columns search reads (role, disabled, consulate_id, name,
email, language, time_zone), and only when a value really changes: signing in updates
users (failed_logins, locked_until) and must not empty the cache.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A fresh random value rather than version + 1: a counter would hand out the same value
# again after a rolled-back change, or in a database restored from a backup.
BUMP = {
    "sqlite": "UPDATE scheduling_version SET version = random() WHERE id = 1",
    "postgresql": "UPDATE scheduling_version SET version = "
    "floor(random() * 9007199254740991)::bigint WHERE id = 1",
}
# Tables every column of which slot search reads (or that decide which rows it reads).
WHOLE_TABLES = (
    "availability_windows",
    "availability_exceptions",
    "consulate_schedules",
    "interpreter_profiles",
    "interpreter_languages",
    "video_rooms",
    "consulate_languages",
)
# Tables of which it reads only some columns: other updates leave the cache alone.
SOME_COLUMNS = {
    "users": ("role", "disabled", "consulate_id", "name", "email", "language", "time_zone"),
    "facilities": ("name", "time_zone"),
    "consulates": ("name", "time_zone"),
}


def _changed(columns: Sequence[str], sqlite: bool) -> str:
    differs = "IS NOT" if sqlite else "IS DISTINCT FROM"
    return " OR ".join(f"OLD.{column} {differs} NEW.{column}" for column in columns)


def _sqlite_triggers() -> list[str]:
    # SQLite triggers are row-level: one bump per changed row (cheap; edits are rare).
    statements = []
    for table in (*WHOLE_TABLES, *SOME_COLUMNS):
        for event in ("INSERT", "DELETE"):
            statements.append(
                f"CREATE TRIGGER scheduling_version_{table}_{event.lower()} AFTER {event} "
                f"ON {table} BEGIN {BUMP['sqlite']}; END"
            )
    for table in WHOLE_TABLES:
        statements.append(
            f"CREATE TRIGGER scheduling_version_{table}_update AFTER UPDATE ON {table} "
            f"BEGIN {BUMP['sqlite']}; END"
        )
    for table, columns in SOME_COLUMNS.items():
        statements.append(
            f"CREATE TRIGGER scheduling_version_{table}_update AFTER UPDATE OF "
            f"{', '.join(columns)} ON {table} WHEN {_changed(columns, sqlite=True)} "
            f"BEGIN {BUMP['sqlite']}; END"
        )
    return statements


def _postgresql_triggers() -> list[str]:
    statements = [
        "CREATE FUNCTION scheduling_version_bump() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {BUMP['postgresql']}; RETURN NULL; END $$"
    ]
    for table in WHOLE_TABLES:
        statements.append(
            f"CREATE TRIGGER scheduling_version_{table} AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION scheduling_version_bump()"
        )
    for table, columns in SOME_COLUMNS.items():
        statements.append(
            f"CREATE TRIGGER scheduling_version_{table} AFTER INSERT OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION scheduling_version_bump()"
        )
        statements.append(
            f"CREATE TRIGGER scheduling_version_{table}_update AFTER UPDATE OF "
            f"{', '.join(columns)} ON {table} FOR EACH ROW "
            f"WHEN ({_changed(columns, sqlite=False)}) "
            "EXECUTE FUNCTION scheduling_version_bump()"
        )
    return statements


def _trigger_names(dialect: str) -> set[str]:
    names = set()
    for statement in _sqlite_triggers() if dialect == "sqlite" else _postgresql_triggers():
        if statement.startswith("CREATE TRIGGER "):
            names.add(statement.split()[2])
    return names


def upgrade() -> None:
    op.create_table(
        "scheduling_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduling_version")),
    )
    op.execute("INSERT INTO scheduling_version (id, version) VALUES (1, 1)")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _sqlite_triggers() if sqlite else _postgresql_triggers():
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in sorted(_trigger_names(dialect)):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        # The function's triggers go with it.
        op.execute("DROP FUNCTION IF EXISTS scheduling_version_bump() CASCADE")
    op.drop_table("scheduling_version")
