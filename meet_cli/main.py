"""The `meet-archive` console script.

Subcommands import what they need lazily: `meet-archive db upgrade` must not pay for
loading Dagster or the API. The sandbox (`demo`, `emulator`, `api --sandbox`) is an
optional extra: without it those commands say how to install it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from meet_core.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Handler = Callable[[argparse.Namespace, Settings], int]


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.db.migrate import upgrade

    upgrade(settings.database_url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def _db_downgrade(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.db.migrate import downgrade

    downgrade(settings.database_url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def _db_current(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.db import make_engine
    from meet_core.db.migrate import current_revision, head_revision

    engine = make_engine(settings.database_url)
    current = current_revision(engine)
    print(f"current: {current or 'none'}  head: {head_revision()}")
    return 0 if current == head_revision() else 1


def _session(settings: Settings) -> Session:
    from meet_core.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))()


def _key_create(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.apikeys import create_key

    with _session(settings) as session, session.begin():
        issued = create_key(session, name=args.name, role=args.role, client=args.client or args.name)
    print(f"key id {issued.key_id}, role {issued.role}; store it now, it is not shown again:")
    print(issued.plaintext)
    return 0


def _key_list(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.apikeys import list_keys

    with _session(settings) as session:
        print(f"{'key id':<17} {'role':<8} {'client':<20} {'name':<20} {'state':<8} last used")
        for key in list_keys(session):
            state = "revoked" if key.revoked_at else "active"
            last = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "-"
            print(f"{key.id:<17} {key.role:<8} {key.client.name:<20} {key.name:<20} {state:<8} {last}")
    return 0


def _key_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.apikeys import revoke_key

    with _session(settings) as session, session.begin():
        found = revoke_key(session, args.key_id)
    if not found:
        print(f"no key with id {args.key_id}", file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0


def _audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Chain, digests and archived objects (docs/compliance.md); progress on stderr."""
    from meet_core.archive import ArchivePolicy, s3_client
    from meet_core.compliance.verify import verify_everything

    with _session(settings) as session:
        report = verify_everything(
            session, lambda: s3_client(settings), ArchivePolicy.from_settings(settings),
            bucket=settings.s3_bucket, prefix=settings.s3_prefix,
            sample=None if args.all else args.sample,
            s3_configured=settings.s3_endpoint_url is not None,
        )
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def _violation_list(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from meet_core.db.models import ComplianceViolation, ViolationState

    query = select(ComplianceViolation).order_by(ComplianceViolation.id)
    if not args.all:
        query = query.where(ComplianceViolation.state == ViolationState.OPEN)
    if args.meeting:
        query = query.where(ComplianceViolation.meeting_id == args.meeting)
    with _session(settings) as session:
        print(f"{'id':>8} {'day':<10} {'meeting':<36} {'reason':<32} {'state':<8} detail")
        for row in session.scalars(query.limit(args.limit)):
            print(f"{row.id:>8} {row.partition_date:<10} {row.meeting_id:<36} {row.reason:<32} {row.state:<8} "
                  f"{row.detail}")
    return 0


def _violation_resolve(args: argparse.Namespace, settings: Settings) -> int:
    """A person closes an open violation; the ledger will not reopen it for the same reason."""
    from datetime import UTC, datetime

    from meet_core.compliance.violations import resolve_violation

    with _session(settings) as session, session.begin():
        resolved = resolve_violation(session, args.violation_id, by=args.by, resolution=args.note,
                                     now=datetime.now(UTC))
    if not resolved:
        print(f"no open violation with id {args.violation_id}", file=sys.stderr)
        return 1
    print(f"resolved violation {args.violation_id} (by {args.by.strip()})")
    return 0


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _workers(raw: str) -> int:
    value = _positive(raw)
    if value > 64:
        raise argparse.ArgumentTypeError(f"expected at most 64 workers, got {value}")
    return value


SANDBOX_MISSING = "the sandbox is not installed: pip install 'meet-archive[sandbox]'"


def _emulator(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from meet_core.settings import EMULATOR_SERVICE_ACCOUNT
    from meet_sandbox.emulator import serve, write_service_account

    settings.home.mkdir(parents=True, exist_ok=True)
    account = settings.home / EMULATOR_SERVICE_ACCOUNT
    if not account.exists():
        write_service_account(account, token_uri=f"http://{args.host}:{args.port}/token")
    print(f"service account for the emulator: {account}", file=sys.stderr)
    state = Path(args.state_file) if args.state_file else settings.home / "emulator-state.json"
    serve(args.host, args.port, state_file=state, service_accounts=[account],
          organizer_domain=settings.organizer_domain)
    return 0


def _api(args: argparse.Namespace, settings: Settings) -> int:
    from meet_api.server import GoogleNotConfigured
    from meet_api.server import main as serve_api

    if not args.sandbox:
        try:
            serve_api(settings, args.host, args.port, args.workers)
        except GoogleNotConfigured as exc:
            print(f"meet-archive: configuration error: {exc}", file=sys.stderr)
            return 2
        return 0
    from meet_api.lib.logging import configure_logging
    from meet_sandbox.google import embedded_google

    configure_logging(also=("meet_sandbox",))  # the emulator's start is logged like the rest
    with embedded_google(settings) as ready:
        serve_api(ready, args.host, args.port, args.workers)
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    if args.headless:
        from meet_sandbox.demo.headless import main as headless

        return headless()
    from meet_sandbox.demo.interactive import main as interactive

    return interactive(api_port=args.api_port, ui_port=args.ui_port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meet-archive", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database migrations").add_subparsers(dest="db_command", required=True)
    up = db.add_parser("upgrade", help="apply migrations")
    up.add_argument("--revision", default="head")
    up.set_defaults(handler=_db_upgrade)
    down = db.add_parser("downgrade", help="revert migrations")
    down.add_argument("--revision", default="base")
    down.set_defaults(handler=_db_downgrade)
    db.add_parser("current", help="show the current and head revisions").set_defaults(handler=_db_current)

    keys = commands.add_parser("api-key", help="API keys").add_subparsers(dest="key_command", required=True)
    create = keys.add_parser("create", help="create a key and print it (last line)")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=["admin", "service", "auditor"])
    create.add_argument("--client", help="client the key acts for (default: the name)")
    create.set_defaults(handler=_key_create)
    keys.add_parser("list", help="list keys (never their secrets)").set_defaults(handler=_key_list)
    revoke = keys.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_key_revoke)

    audit = commands.add_parser("audit", help="audit trail").add_subparsers(dest="audit_command", required=True)
    verify = audit.add_parser("verify", help="verify the audit chain, digests and archived objects")
    which = verify.add_mutually_exclusive_group()
    which.add_argument("--sample", type=_positive, default=20, metavar="N",
                       help="re-hash N archived objects chosen at random (default 20)")
    which.add_argument("--all", action="store_true", help="re-hash every archived object")
    verify.set_defaults(handler=_audit_verify)

    violations = commands.add_parser("violation", help="compliance violations").add_subparsers(
        dest="violation_command", required=True)
    listing = violations.add_parser("list", help="open violations, oldest first")
    listing.add_argument("--all", action="store_true", help="resolved ones too")
    listing.add_argument("--meeting", help="only this meeting's (its id)")
    listing.add_argument("--limit", type=_positive, default=1000, metavar="N")
    listing.set_defaults(handler=_violation_list)
    resolve = violations.add_parser("resolve", help="close an open violation with a note (audited)")
    resolve.add_argument("violation_id", type=_positive, metavar="ID")
    resolve.add_argument("--by", required=True, help="the person resolving it (recorded in the audit log)")
    resolve.add_argument("--note", required=True, help="why it is resolved")
    resolve.set_defaults(handler=_violation_resolve)

    emulator = commands.add_parser("emulator", help="serve the Google Workspace emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8085)
    emulator.add_argument("--state-file", default=None, help="default: $MEET_HOME/emulator-state.json")
    emulator.set_defaults(handler=_emulator)
    api = commands.add_parser("api", help="serve the REST API (uvicorn)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=_workers, default=1,
                     help="server processes on the one port (default 1); they share the rate limit")
    api.add_argument("--sandbox", action="store_true",
                     help="with no Google configured, start the emulator in this process (development only)")
    api.set_defaults(handler=_api)
    demo = commands.add_parser("demo", help="run the whole product on embedded defaults with a scenario")
    demo.add_argument("--headless", action="store_true", help="no UI: play the scenario, print a JSON summary, exit")
    demo.add_argument("--api-port", type=int, default=8000)
    demo.add_argument("--ui-port", type=int, default=3000)
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        return int(args.handler(args, settings))
    except SettingsError as exc:
        print(f"meet-archive: configuration error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("meet_sandbox", "moto"):
            raise
        print(f"meet-archive: {SANDBOX_MISSING}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"meet-archive: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
