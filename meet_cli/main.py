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
    from meet_core.apikeys import client_names, create_key

    client = args.client or args.name
    with _session(settings) as session, session.begin():
        others = client_names(session)
        issued = create_key(session, name=args.name, role=args.role, client=client)
    if issued.client_created:
        known = ", ".join(others) if others else "none"
        print(f"new client {client!r} created: this key sees only {client!r}'s meetings, none of another "
              f"client's. Existing clients: {known}. To share a client's meetings, use --client NAME.",
              file=sys.stderr)
    print(f"key id {issued.key_id}, role {issued.role}, client {client!r}; store it now, it is not shown again:")
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
    """Chain, digests and archived objects (docs/compliance.md); progress on stderr. Exit 1
    only for what was checked and found wrong; an S3 that cannot be reached is exit 2."""
    from meet_core.archive import ArchivePolicy, s3_client
    from meet_core.archive.errors import S3Unavailable
    from meet_core.compliance.verify import verify_everything

    with _session(settings) as session:
        try:
            report = verify_everything(
                session, lambda: s3_client(settings), ArchivePolicy.from_settings(settings),
                bucket=settings.s3_bucket, prefix=settings.s3_prefix,
                sample=None if args.all else args.sample,
                s3_configured=settings.s3_endpoint_url is not None,
            )
        except S3Unavailable as exc:
            print(f"meet-archive: {exc}", file=sys.stderr)
            return 2
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def _events_setup(args: argparse.Namespace, settings: Settings) -> int:
    """Topic, dead-letter topic and pull subscription where missing; prints the one grant."""
    from meet_core.events.setup import PUBLISHER, grant_command, setup
    from meet_core.google import GoogleError, GoogleGateway

    if not settings.events_topic or not settings.events_subscription:
        print("meet-archive: events setup needs MEET_EVENTS_TOPIC (projects/P/topics/T) and "
              "MEET_EVENTS_SUBSCRIPTION (projects/P/subscriptions/S)", file=sys.stderr)
        return 2
    try:
        outcome = setup(GoogleGateway.from_settings(settings), topic=settings.events_topic,
                        subscription=settings.events_subscription, dead_letter=args.dead_letter_topic)
    except GoogleError as exc:
        print(f"meet-archive: Pub/Sub: {exc}", file=sys.stderr)
        return 1
    print("\n".join(outcome.lines()))
    print(f"one grant a Google Cloud admin must add: roles/pubsub.publisher on {settings.events_topic} "
          f"for {PUBLISHER}:")
    print(f"  {grant_command(settings.events_topic)}")
    return 0


def _print_json(rows: object) -> None:
    import json

    print(json.dumps(rows, indent=2, ensure_ascii=False))


def _cut(text: str | None, width: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _violation_list(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.compliance.lookup import violations

    with _session(settings) as session:
        rows = violations(session, include_resolved=args.all, meeting_id=args.meeting, day=args.day,
                          reason=args.reason, limit=args.limit)
    if args.json:
        _print_json(rows)
        return 0
    print(f"{'id':>6} {'day':<10} {'XOMA id':<20} {'title':<28} {'reason':<30} {'state':<8} detail   meeting")
    for row in rows:
        print(f"{row['id']:>6} {row['day']:<10} {_cut(row['external_id'], 20):<20} {_cut(row['title'], 28):<28} "
              f"{row['reason']:<30} {row['state']:<8} {_cut(row['detail'], 60)}   {row['meeting_id']}")
    return 0


def _ledger_show(args: argparse.Namespace, settings: Settings) -> int:
    """One day's verdicts and who attended: the compliance officer's first question."""
    from meet_core.compliance.lookup import ledger_day

    with _session(settings) as session:
        rows = ledger_day(session, args.day, status=args.status)
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print(f"no ledger rows for {args.day}" + (f" with status {args.status}" if args.status else ""))
        return 0
    for row in rows:
        reasons = ", ".join(row["reasons"]) or "-"
        print(f"{row['scheduled_start']}  {row['external_id']}  {row['title']!r}  {row['verdict'].upper()}"
              f"  ({row['outcome']}; reasons: {reasons}; recordings {row['recordings']}, "
              f"transcripts {row['transcripts']})  meeting {row['meeting_id']}")
        if row["coverage"] is not None:
            gaps = ", ".join(f"{i['start']}–{i['end']}" for i in row["unrecorded_intervals"])
            print(f"    coverage {row['coverage']:.1%}: recorded {row['recorded_seconds']} s, "
                  f"unrecorded {row['unrecorded_seconds']} s" + (f" ({gaps})" if gaps else ""))
        if row.get("held_by_matters"):
            print(f"    LEGAL HOLD: {', '.join(row['held_by_matters'])}")
        for person in row["attendees"]:
            who = person["email"] or person["display_name"] or "(unknown)"
            if not person["attended"]:
                print(f"    invited, did not attend: {who}")
                continue
            label = "invited" if person["invited"] else "UNINVITED"
            print(f"    {label:<9} {who:<32} {person['kind'] or '-':<10} {person['first_joined_at'] or '-'} → "
                  f"{person['last_left_at'] or '-'}  {person['seconds'] or 0} s")
    return 0


def _report(args: argparse.Namespace, settings: Settings) -> int:
    """The stored daily report, fetched from S3 and checked against its recorded SHA-256."""
    import webbrowser
    from pathlib import Path

    from meet_core.archive import s3_client
    from meet_core.archive.errors import ArchiveError, S3Unavailable
    from meet_core.compliance.report import fetch_report

    try:
        report = fetch_report(s3_client(settings), settings.s3_bucket, settings.s3_prefix, args.day,
                              kind=args.format)
    except S3Unavailable as exc:
        print(f"meet-archive: {exc}", file=sys.stderr)
        return 2
    except ArchiveError as exc:
        print(f"meet-archive: {exc}", file=sys.stderr)
        return 1
    if report is None:
        print(f"meet-archive: no {args.format} report stored for {args.day}", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else settings.home / "reports" / report.filename
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(report.body)
    print(f"{out} (s3://{report.bucket}/{report.key}, version {report.version_id}, sha256 {report.sha256} verified)")
    if args.open:
        webbrowser.open(out.resolve().as_uri())
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


def _checked(parse: Callable[[str], str]) -> Callable[[str], str]:
    """An argparse type from a parser that raises ValueError with a readable message."""

    def check(raw: str) -> str:
        try:
            return parse(raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return check


def _day(raw: str) -> str:
    from meet_core.compliance.lookup import parse_day

    return _checked(parse_day)(raw)


def _reason(raw: str) -> str:
    from meet_core.compliance.lookup import parse_reason

    return _checked(parse_reason)(raw)


def _status(raw: str) -> str:
    from meet_core.compliance.lookup import parse_status

    return _checked(parse_status)(raw)


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

        return headless(keep=args.keep)
    from meet_sandbox.demo.interactive import main as interactive

    return interactive(api_port=args.api_port, ui_port=args.ui_port, keep=args.keep)


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
    create.add_argument("--client", help=("client the key acts for: a service key sees only its client's meetings. "
                                          "Default: a NEW client named after the key (--name), which sees none "
                                          "of an existing client's meetings"))
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
    listing = violations.add_parser("list", help="open violations, oldest first, with the meeting's XOMA id and title")
    listing.add_argument("--all", action="store_true", help="resolved ones too")
    listing.add_argument("--meeting", help="only this meeting's (its id)")
    listing.add_argument("--day", type=_day, help="only this ledger day (YYYY-MM-DD)")
    listing.add_argument("--reason", type=_reason, help="only this reason (e.g. held_without_recording)")
    listing.add_argument("--limit", type=_positive, default=1000, metavar="N")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    listing.set_defaults(handler=_violation_list)

    ledger = commands.add_parser("ledger", help="the compliance ledger").add_subparsers(
        dest="ledger_command", required=True)
    show = ledger.add_parser("show", help="a day's meetings: verdict, reasons and who attended")
    show.add_argument("--day", type=_day, required=True, help="ledger day, YYYY-MM-DD (UTC day of the start)")
    show.add_argument("--status", type=_status, help="only compliant, pending or violation")
    show.add_argument("--json", action="store_true", help="JSON instead of text")
    show.set_defaults(handler=_ledger_show)

    report = commands.add_parser("report", help="fetch a day's stored compliance report from S3 (SHA-256 checked)")
    report.add_argument("--day", type=_day, required=True, help="report day, YYYY-MM-DD")
    report.add_argument("--format", choices=["html", "csv", "parquet"], default="html")
    where = report.add_mutually_exclusive_group()
    where.add_argument("--out", help="write it here (default: $MEET_HOME/reports/)")
    where.add_argument("--open", action="store_true", help="also open it in a browser")
    report.set_defaults(handler=_report)
    resolve = violations.add_parser("resolve", help="close an open violation with a note (audited)")
    resolve.add_argument("violation_id", type=_positive, metavar="ID")
    resolve.add_argument("--by", required=True, help="the person resolving it (recorded in the audit log)")
    resolve.add_argument("--note", required=True, help="why it is resolved")
    resolve.set_defaults(handler=_violation_resolve)

    events = commands.add_parser("events", help="event-driven ingestion (Workspace Events through Pub/Sub)")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    events_setup = events_commands.add_parser(
        "setup", help="create the Pub/Sub topic and pull subscription where missing (idempotent)")
    events_setup.add_argument("--dead-letter-topic", help="default: MEET_EVENTS_TOPIC + '-dead-letter'")
    events_setup.set_defaults(handler=_events_setup)

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
    demo.add_argument("--keep", action="store_true",
                      help=("carry on with the earlier demo's state under MEET_HOME (database, emulator, S3, "
                            "Dagster); by default it is moved to MEET_HOME/previous-demo and the demo starts clean"))
    demo.set_defaults(handler=_demo)
    from meet_cli.legal import register as register_legal

    register_legal(commands)  # search, matter …, export verify
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
