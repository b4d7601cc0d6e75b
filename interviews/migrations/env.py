"""Alembic environment: runs on a connection handed over by interviews.db (sync or async engine)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import create_engine

from interviews.db import UTCDateTime
from interviews.models import Base

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations must not import application code: UTCDateTime is a plain aware DateTime.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    # `alembic revision --autogenerate` from a checkout: point sqlalchemy.url at a sync URL.
    url = config.get_main_option("sqlalchemy.url") or "sqlite:///consulink-data/consulink.db"
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
