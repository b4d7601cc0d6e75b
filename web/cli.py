"""The `consulink` command: parses arguments and calls the app factory or domain functions."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from interviews import accounts, directory, directory_csv, sharing
from interviews.access import Action, Actor, Forbidden, authorize
from interviews.accounts import AccountError, Role
from interviews.audit import read_anchor, record, verify_chain, write_anchor
from interviews.db import make_engine, make_sessionmaker, upgrade, utcnow
from interviews.document_store import DocumentStore, load_or_create_key
from interviews.retention import RetentionReport, Storage, run_retention
from interviews.seal import load_public_key, read_signing_key
from interviews.verify import verify_export
from scheduling.writes import WriteGate
from signaling.captions.catalog import install_translation_model, models_report
from web.app import create_app
from web.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("host", "port", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


async def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[int]]) -> int:
    """Run `work` in one transaction on a migrated database."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.demo:
        from interviews.demo import DEMO_LOGINS, load_demo

        asyncio.run(_with_session(settings, load_demo))
        print(f"Demo data loaded. Demo sign-ins (password for all: {DEMO_LOGINS.password}):")
        width = max(len(email) for email, _ in DEMO_LOGINS.accounts)
        for email, what in DEMO_LOGINS.accounts:
            print(f"  {email:<{width}}  {what}")
    print(f"consulink on http://{settings.host}:{settings.port}  (data in {settings.data_dir})")
    # Operators need the access log and warnings on stderr; aiohttp adds no handler itself.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # APScheduler logs every heartbeat (twice a minute) at INFO; its warnings still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Join links carry their token in the path: the access log must never write it.
    from web.routes.session_common import RedactingAccessLogger

    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log_class=RedactingAccessLogger,
    )
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def nothing(_session: AsyncSession) -> int:
        return 0

    asyncio.run(_with_session(settings, nothing))
    print("Database is up to date.")
    return 0


def _users_add(args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> int:
        user = await accounts.create_user(
            session,
            email=args.email,
            name=args.name,
            role=Role(args.role),
            password=args.password,
            facility_id=args.facility,
            consulate_id=args.consulate,
            language=args.language,
        )
        print(f"Added user {user.email} ({user.role}).")
        return 0

    return asyncio.run(_with_session(_settings(args), work))


def _users_list(args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> int:
        for user in await accounts.list_users(session):
            org = user.facility_id or user.consulate_id or ""
            state = "disabled" if user.disabled else "active"
            print(f"{user.email:<40} {user.role:<12} {org!s:<6} {state:<9} {user.name}")
        return 0

    return asyncio.run(_with_session(_settings(args), work))


def _users_disable(args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> int:
        user = await accounts.disable_user(session, args.email)
        print(f"Disabled {user.email}; its sessions and tokens no longer work.")
        return 0

    return asyncio.run(_with_session(_settings(args), work))


def _users_token(args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> int:
        user = await accounts.find_user(session, args.email)
        if user is None or user.disabled:
            raise AccountError(f"no active user with e-mail {args.email}")
        print(await accounts.issue_api_token(session, user, args.label))
        return 0

    return asyncio.run(_with_session(_settings(args), work))


def _users_supervisor(args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> int:
        user = await accounts.find_user(session, args.email)
        if user is None or user.disabled:
            raise AccountError(f"no active user with e-mail {args.email}")
        await sharing.name_supervisor(session, user, remove=args.remove)
        await record(
            session,
            "users.supervisor",
            actor=None,
            target_type="user",
            target_id=user.id,
            details={"facility_id": user.facility_id, "supervisor": not args.remove},
        )
        state = "no longer supervises" if args.remove else "now supervises"
        print(f"{user.email} {state} facility {user.facility_id}.")
        return 0

    return asyncio.run(_with_session(_settings(args), work))


async def _directory_actor(session: AsyncSession, email: str | None) -> Actor | None:
    """The admin an import is recorded under (--by), or None for the system itself."""
    if email is None:
        return None
    user = await accounts.find_user(session, email)
    if user is None or user.disabled:
        raise AccountError(f"no active user with e-mail {email}")
    return authorize(Actor.of(user), Action.DIRECTORY_IMPORT)


def _directory_import(args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"consulink: cannot read {args.file}: {error}", file=sys.stderr)
        return 2

    async def work(session: AsyncSession) -> int:
        actor = await _directory_actor(session, args.by)
        report = await directory_csv.import_csv(session, text, actor=actor, remote="cli")
        counts = report.as_dict()
        print(
            f"Imported {args.file}: {counts['created']} added, {counts['updated']} changed, "
            f"{counts['unchanged']} already up to date."
        )
        return 0

    try:
        return asyncio.run(_with_session(_settings(args), work))
    except directory_csv.CsvImportError as error:
        print(f"consulink: {args.file}: {error}", file=sys.stderr)
        for problem in error.errors:
            where = f"row {problem.row}" + (f", column {problem.field}" if problem.field else "")
            print(f"  {where}: {problem.message}", file=sys.stderr)
        return 2
    except Forbidden as error:
        print(f"consulink: {error}", file=sys.stderr)
        return 2


def _directory_export(args: argparse.Namespace) -> int:
    exported: list[str] = []

    async def work(session: AsyncSession) -> int:
        entries = await directory.all_entries(session)
        exported.append(directory_csv.export_text(entries))
        await record(session, "directory.export", actor=None, target_type="directory", remote="cli")
        return len(entries)

    count = asyncio.run(_with_session(_settings(args), work))
    if args.file == "-":
        sys.stdout.write(exported[0])
    else:
        Path(args.file).write_text(exported[0], encoding="utf-8", newline="")
        print(f"Exported {count} entries to {args.file}.")
    return 0


def _models_list(args: argparse.Namespace) -> int:
    for line in models_report(_settings(args).caption_config()):
        print(line)
    return 0


def _models_install(args: argparse.Namespace) -> int:
    config = _settings(args).caption_config()
    package = install_translation_model(args.file, config)
    print(
        f"Installed {package.source}→{package.target} ({package.description}) "
        f"in {config.argos_packages_dir}."
    )
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    anchor_path: Path | None = args.anchor

    async def work(session: AsyncSession) -> int:
        anchor = read_anchor(anchor_path) if anchor_path else None
        report = await verify_chain(session, anchor=anchor)
        if not report.ok:
            print(f"chain broken at row {report.first_broken_id}: {report.problem}")
            print(f"{report.rows} rows before it are intact.")
            return 1
        print(f"{report.rows} rows, chain intact")
        print(f"head: row {report.head_id} sha256 {report.head_hash}")
        if anchor_path:
            write_anchor(anchor_path, report, utcnow())
            checked = f"row {anchor.head_id} matched; " if anchor else ""
            print(f"anchor: {checked}head saved to {anchor_path} (keep a copy off this host)")
        return 0

    return asyncio.run(_with_session(_settings(args), work))


def _records_verify(args: argparse.Namespace) -> int:
    settings = _settings(args)
    trusted = []
    own = settings.resolved_signing_key_file
    if own.is_file():  # never create one here: verifying must not mint a new key
        trusted.append(read_signing_key(own).public_key())
    for path in args.key or []:
        trusted.append(load_public_key(path.read_bytes()))
    if args.recordings is not None and not args.recordings.is_dir():
        print(f"consulink: --recordings {args.recordings} is not a folder", file=sys.stderr)
        return 2
    try:
        data = args.file.read_bytes()
    except OSError as error:
        print(f"consulink: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    report = verify_export(data, trusted, args.recordings)
    for note in report.notes:
        print(f"  {note}")
    if not report.ok:
        for problem in report.problems:
            print(f"FAILED {problem}")
        return 1
    print(f"OK: {args.file} ({report.format}) is sealed and unchanged")
    return 0


def _retention_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    policy = settings.retention_policy()

    async def run() -> RetentionReport:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        try:
            await upgrade(engine)
            storage = Storage(
                settings.data_dir / "recordings",
                DocumentStore(
                    settings.data_dir / "documents",
                    load_or_create_key(settings.document_key, settings.data_dir),
                ),
            )
            gate = WriteGate(make_sessionmaker(engine))
            return await run_retention(
                gate.transaction, policy, storage, utcnow(), dry_run=args.dry_run
            )
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    done = report.expired if report.dry_run else report.deleted
    verb = "would delete" if report.dry_run else "deleted"
    for item in done:
        print(f"{verb}: {item.describe()}")
    for item in report.held:
        print(f"kept (legal hold): {item.describe()}")
    print(f"{len(done)} item(s) {verb}; {len(report.held)} kept by a legal hold")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="data folder (CONSULINK_DATA_DIR)")

    parser = argparse.ArgumentParser(prog="consulink", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the web server")
    serve.add_argument("--host", help="listen address (CONSULINK_HOST)")
    serve.add_argument("--port", type=int, help="listen port (CONSULINK_PORT)")
    serve.add_argument("--demo", action="store_true", help="load demo data and print sign-ins")
    serve.set_defaults(run=_serve)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db", required=True)
    db_up = db.add_parser("upgrade", parents=[common], help="apply migrations")
    db_up.set_defaults(run=_db_upgrade)

    users = sub.add_parser("users", help="manage accounts").add_subparsers(
        dest="users", required=True
    )
    add = users.add_parser("add", parents=[common], help="add a user")
    add.add_argument("email")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--password", required=True)
    add.add_argument("--facility", type=int, help="facility id (staff)")
    add.add_argument("--consulate", type=int, help="consulate id (consuls)")
    add.add_argument("--language", default="en", choices=["en", "es"])
    add.set_defaults(run=_users_add)
    lst = users.add_parser("list", parents=[common], help="list users")
    lst.set_defaults(run=_users_list)
    dis = users.add_parser("disable", parents=[common], help="disable a user")
    dis.add_argument("email")
    dis.set_defaults(run=_users_disable)
    tok = users.add_parser("token", parents=[common], help="print a new bearer API token")
    tok.add_argument("email")
    tok.add_argument("--label", default="cli")
    tok.set_defaults(run=_users_token)
    sup = users.add_parser(
        "supervisor",
        parents=[common],
        help="name a staff member supervisor of their facility (may justify sharing an "
        "asylum case with the country of claimed nationality)",
    )
    sup.add_argument("email")
    sup.add_argument("--remove", action="store_true", help="stop being supervisor")
    sup.set_defaults(run=_users_supervisor)

    dir_parser = sub.add_parser("directory", help="the consular directory as CSV")
    dir_sub = dir_parser.add_subparsers(dest="directory", required=True)
    imp = dir_sub.add_parser(
        "import",
        parents=[common],
        help="add and update entries from a CSV file (all rows or none; exit 2 on bad rows)",
    )
    imp.add_argument("file", help="CSV file in the export's format")
    imp.add_argument("--by", metavar="EMAIL", help="admin the changes are recorded under")
    imp.set_defaults(run=_directory_import)
    exp = dir_sub.add_parser("export", parents=[common], help="write the directory as CSV")
    exp.add_argument("file", help="where to write it ('-' for standard output)")
    exp.set_defaults(run=_directory_export)

    models = sub.add_parser("models", help="speech and translation models for live captions")
    models_sub = models.add_subparsers(dest="models", required=True)
    mlist = models_sub.add_parser(
        "list", parents=[common], help="speech models, translation models and Apertium pairs"
    )
    mlist.set_defaults(run=_models_list)
    minstall = models_sub.add_parser(
        "install", parents=[common], help="install an Argos translation model (.argosmodel file)"
    )
    minstall.add_argument("file", type=Path, help="the .argosmodel file")
    minstall.set_defaults(run=_models_install)
    audit = sub.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit", required=True
    )
    verify = audit.add_parser(
        "verify",
        parents=[common],
        help="check the audit log's hash chain (exit 1 naming the first broken row)",
    )
    verify.add_argument(
        "--anchor",
        type=Path,
        metavar="FILE",
        help="check the head saved in FILE by the last run (catches truncation and rewrites), "
        "then save the new head there",
    )
    verify.set_defaults(run=_audit_verify)

    records = sub.add_parser("records", help="exported interview records").add_subparsers(
        dest="records", required=True
    )
    rverify = records.add_parser(
        "verify",
        parents=[common],
        help="check an exported summary (PDF, HTML, WebVTT or JSON): its summary, recording "
        "files and signature (exit 1 naming what differs)",
    )
    rverify.add_argument("file", type=Path, help="the exported file")
    rverify.add_argument(
        "--recordings",
        type=Path,
        metavar="DIR",
        help="folder holding the recording files (the data folder or its recordings/)",
    )
    rverify.add_argument(
        "--key",
        type=Path,
        action="append",
        metavar="FILE",
        help="a trusted public key (PEM or base64, as /api/records/public-key gives it); "
        "the data folder's own signing key is always trusted",
    )
    rverify.set_defaults(run=_records_verify)
    from web import cli_stats  # here: it uses this module's helpers

    cli_stats.add_commands(sub, common)
    retention = sub.add_parser("retention", help="delete what outlived its retention period")
    retention_sub = retention.add_subparsers(dest="retention", required=True)
    rrun = retention_sub.add_parser(
        "run",
        parents=[common],
        help="delete expired recordings, transcripts, documents (and summaries) now, with an "
        "audit row each; cases on legal hold are kept",
    )
    rrun.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    rrun.set_defaults(run=_retention_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `consulink` console script."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except (AccountError, ValueError, ValidationError) as error:
        print(f"consulink: {error}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
