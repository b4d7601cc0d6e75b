"""`consulink stats export|import`: the statistics exchange format on the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interviews import accounts, codes
from interviews.access import Action, Actor, Forbidden, authorize
from interviews.accounts import AccountError
from interviews.db import utcnow
from interviews.indicators import StatsQuery
from interviews.stats_exchange import ExchangeError, parse_csv, parse_json
from interviews.stats_export import Export, export_statistics, parse_month
from interviews.stats_imports import import_document
from web.cli import _settings, _with_session


def _stats_export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        query = StatsQuery(
            parse_month(args.from_month, "--from"),
            parse_month(args.to_month, "--to"),
            facility_id=args.facility,
            country=codes.country(args.country) if args.country else None,
            nationality=codes.country(args.nationality) if args.nationality else None,
        )
    except (ValueError, codes.CodeError) as error:
        print(f"consulink: {error}", file=sys.stderr)
        return 2
    if query.first_month > query.last_month:
        print("consulink: --to must not be before --from", file=sys.stderr)
        return 2
    done: list[Export] = []

    async def work(session: AsyncSession) -> int:
        actor = await _stats_actor(session, args.by, Action.STATS_EXPORT)
        done.append(
            await export_statistics(
                session,
                async_sessionmaker(session.bind, expire_on_commit=False),
                query,
                fmt=args.format,
                source=settings.resolved_stats_source,
                actor=actor,
                now=utcnow(),
                remote="cli",
            )
        )
        return 0

    asyncio.run(_with_session(settings, work))
    if args.output in (None, "-"):
        sys.stdout.write(done[0].text)
    else:
        Path(args.output).write_text(done[0].text, encoding="utf-8", newline="")
        print(f"Exported {len(done[0].doc['rows'])} figures to {args.output}.", file=sys.stderr)
    return 0


async def _stats_actor(session: AsyncSession, email: str | None, action: Action) -> Actor | None:
    """The admin the export or import is recorded under (--by), or None for the operator."""
    if email is None:
        return None
    user = await accounts.find_user(session, email)
    if user is None or user.disabled:
        raise AccountError(f"no active user with e-mail {email}")
    return authorize(Actor.of(user), action)


def _stats_import(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
        doc = parse_csv(text) if args.file.lower().endswith(".csv") else parse_json(text)
    except (OSError, UnicodeDecodeError) as error:
        print(f"consulink: cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    except ExchangeError as error:
        print(f"consulink: {args.file}: {error}", file=sys.stderr)
        return 2

    async def work(session: AsyncSession) -> int:
        actor = await _stats_actor(session, args.by, Action.STATS_IMPORT)
        summary = await import_document(
            session,
            doc,
            own_source=settings.resolved_stats_source,
            actor=actor,
            now=utcnow(),
            remote="cli",
        )
        print(
            f"Imported {summary.added} figures from {summary.source} for "
            f"{summary.period_from}..{summary.period_to} ({summary.replaced} replaced)."
        )
        return 0

    try:
        return asyncio.run(_with_session(settings, work))
    except (ExchangeError, Forbidden) as error:
        print(f"consulink: {error}", file=sys.stderr)
        return 2


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `stats export` and `stats import` to the `consulink` parser."""
    stats = sub.add_parser("stats", help="statistics in the exchange format").add_subparsers(
        dest="stats", required=True
    )
    sexp = stats.add_parser(
        "export", parents=[common], help="write suppressed statistics as CSV or JSON (audited)"
    )
    sexp.add_argument("--from", dest="from_month", required=True, metavar="YYYY-MM")
    sexp.add_argument("--to", dest="to_month", required=True, metavar="YYYY-MM")
    sexp.add_argument("--format", required=True, choices=["csv", "json"])
    sexp.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    sexp.add_argument("--facility", type=int, help="one facility id only")
    sexp.add_argument("--country", help="one country of detention only (ISO alpha-2)")
    sexp.add_argument("--nationality", help="one nationality only (ISO alpha-2)")
    sexp.add_argument("--by", metavar="EMAIL", help="admin the export is recorded under")
    sexp.set_defaults(run=_stats_export)
    simp = stats.add_parser(
        "import",
        parents=[common],
        help="import another installation's export (replaces that source's months)",
    )
    simp.add_argument("file", help="the .csv or .json export")
    simp.add_argument("--by", metavar="EMAIL", help="admin the import is recorded under")
    simp.set_defaults(run=_stats_import)
