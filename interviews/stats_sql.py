"""Two SQL expressions statistics need that SQLite and PostgreSQL spell differently.

Each is one SQLAlchemy construct compiled per dialect, so the indicator queries stay
single queries that group in the database on both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class month_of(FunctionElement[str]):
    """The UTC calendar month of a timestamp or date, as 'YYYY-MM'."""

    type = String()
    inherit_cache = True
    name = "month_of"


class days_between(FunctionElement[int]):
    """Whole days from the date `earlier` to the (UTC) date of timestamp-or-date `later`."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(month_of)
def _month_default(element: month_of, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = list(element.clauses)
    # SQLite keeps timestamps as 'YYYY-MM-DD HH:MM:SS...' text in UTC (UTCDateTime).
    return f"substr({compiler.process(value, **kw)}, 1, 7)"


@compiles(month_of, "postgresql")
def _month_postgresql(element: month_of, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"to_char(({compiler.process(value, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM')"


@compiles(days_between)
def _days_default(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"CAST(julianday(substr({compiler.process(later, **kw)}, 1, 10)) "
        f"- julianday({compiler.process(earlier, **kw)}) AS INTEGER)"
    )


@compiles(days_between, "postgresql")
def _days_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (
        f"(CAST(({compiler.process(later, **kw)}) AT TIME ZONE 'UTC' AS DATE) "
        f"- CAST({compiler.process(earlier, **kw)} AS DATE))"
    )
