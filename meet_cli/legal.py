"""`meet-archive search`, `matter …` and `export verify`: the compliance officer's commands
for legal matters (docs/compliance.md). Input errors exit 2 before anything is written."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from meet_core.settings import Settings

FILTER_OPTIONS = {  # CLI option -> search filter
    "client": "client",
    "from": "start_from",
    "to": "start_to",
    "participant": "participant",
    "organizer": "organizer",
    "title": "title",
    "status": "compliance_status",
}


def _sessions(settings: Settings) -> Any:
    from meet_core.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))


def _s3(settings: Settings) -> Any:
    from meet_core.archive import s3_client

    return s3_client(settings)


def _actor(args: argparse.Namespace) -> str:
    return args.by or f"cli:{getpass.getuser()}"


def _filters(args: argparse.Namespace, text: str | None) -> Any:
    from meet_core.search import parse_filters

    raw = {name: getattr(args, option) for option, name in FILTER_OPTIONS.items() if getattr(args, option)}
    if text:
        raw["text"] = text
    return parse_filters(raw)


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _search(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.search import search

    filters = _filters(args, args.text)
    if filters.is_empty():
        raise ValueError("give a text or at least one filter")
    with _sessions(settings)() as session:
        hits = search(session, filters, limit=args.limit)
    if args.json:
        _print([hit.to_json() for hit in hits])
        return 0
    if not hits:
        print("no meetings found")
        return 0
    for hit in hits:
        status = hit.compliance_status or "-"
        held = f"  held by: {', '.join(hit.held_by_matters)}" if hit.held_by_matters else ""
        print(f"{hit.start_time:%Y-%m-%d %H:%M}Z  {hit.external_id}  {hit.title!r}  organizer {hit.organizer_email}"
              f"  client {hit.client}  {status}{held}  meeting {hit.meeting_id}")
        for document in hit.documents:
            obj = document["object"]
            print(f"    {document['kind']}: {obj['uri']} (version {obj['version_id']})")
            for line in document["lines"]:
                if line.get("speaker") is None and line.get("start_time") is None:  # smart notes, a transcript's text
                    print(f"      line {line['line']}: {line['text']}")
                else:
                    print(f"      [{line.get('start_time') or '-'}] {line.get('speaker') or '?'}: {line['text']}")
    return 0


def _matter_create(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.matters.service import create_matter

    with _sessions(settings).begin() as session:
        matter = create_matter(session, name=args.name, description=args.description, actor=_actor(args))
        print(f"matter {matter.id} {matter.name!r} opened by {matter.opened_by}")
    return 0


def _matter_add(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.matters.holds import hold_matter
    from meet_core.matters.service import add_meetings, find_matter

    filters = None if args.meeting else _filters(args, args.text)
    if args.meeting and (args.text or any(getattr(args, o) for o in FILTER_OPTIONS)):
        raise ValueError("give --meeting or search filters, not both")
    with _sessions(settings).begin() as session:
        matter = find_matter(session, args.matter)
        added = add_meetings(session, matter, actor=_actor(args), meeting_ids=args.meeting or (),
                             filters=filters)
        held = matter.state == "held"
        print(f"{len(added)} meeting(s) added to {matter.name!r}" + (" (search saved: meetings archived "
              "later that match join the matter)" if filters is not None else ""))
    if held and added:  # a held matter holds what joins it
        report = hold_matter(_sessions(settings), _s3(settings), args.matter, actor=_actor(args))
        return _hold_outcome(report)
    return 0


def _hold_outcome(report: Any) -> int:
    print(f"matter {report.matter!r}: {report.objects} object version(s), {report.newly_held} newly held "
          "(S3 legal hold ON, read back)")
    for failure in report.failures:
        print(f"  NOT HELD: {failure}", file=sys.stderr)
    return 0 if report.ok else 1


def _matter_hold(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.matters.holds import hold_matter

    return _hold_outcome(hold_matter(_sessions(settings), _s3(settings), args.matter, actor=_actor(args)))


def _matter_release(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.matters.holds import release_matter

    report = release_matter(_sessions(settings), _s3(settings), args.matter, by=args.by, note=args.note)
    print(f"matter {report.matter!r} released by {args.by.strip()}: {report.released} hold(s) lifted, "
          f"{report.kept} kept for other held matters")
    for failure in report.failures:
        print(f"  STILL HELD (retry the release): {failure}", file=sys.stderr)
    return 0 if report.ok else 1


def _matter_show(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.matters.service import find_matter, matter_detail

    with _sessions(settings)() as session:
        detail = matter_detail(session, find_matter(session, args.matter))
    if args.json:
        _print(detail)
        return 0
    print(f"matter {detail['id']} {detail['name']!r}: {detail['state']}, opened by {detail['opened_by']} "
          f"at {detail['opened_at']}; {detail['meeting_count']} meeting(s), {detail['objects_held']} object(s) held")
    if detail["description"]:
        print(f"  {detail['description']}")
    for saved in detail["saved_searches"]:
        print(f"  collects: {json.dumps(saved, ensure_ascii=False)}")
    if detail["released_by"]:
        print(f"  released by {detail['released_by']} at {detail['released_at']}: {detail['release_note']}")
    for meeting in detail["meetings"]:
        print(f"  {meeting['start_time']}  {meeting['external_id']}  {meeting['title']!r}  meeting {meeting['id']}")
        for obj in meeting["objects"]:
            mark = "HELD" if obj["held_by_this_matter"] else ("held" if obj["legal_hold"] else "-")
            print(f"      {mark:<4} {obj['kind']:<19} {obj['uri']} version {obj['version_id']}")
    return 0


def _matter_list(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.matters.service import list_matters

    with _sessions(settings)() as session:
        rows = list_matters(session)
    if args.json:
        _print(rows)
        return 0
    print(f"{'id':>4} {'name':<30} {'state':<9} {'meetings':>8} {'held':>6}  opened")
    for row in rows:
        print(f"{row['id']:>4} {row['name'][:30]:<30} {row['state']:<9} {row['meeting_count']:>8} "
              f"{row['objects_held']:>6}  {row['opened_at']} by {row['opened_by']}")
    return 0


def _matter_export(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from meet_core.matters.export import export_matter, signing_key

    key = signing_key(settings)
    result = export_matter(_sessions(settings), _s3(settings), args.matter, Path(args.out), key=key,
                           actor=_actor(args), progress=lambda text: print(text, file=sys.stderr))
    print(f"bundle {result.path}: {result.files} file(s), {result.bytes} bytes; manifest sha256 "
          f"{result.manifest_sha256}; signed by Ed25519 key {result.public_key_hex}")
    print(f"the receiving party runs: python {result.path / 'verify_bundle.py'} {result.path}")
    return 0


def _export_verify(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from meet_core.matters.bundle_verify import verify_bundle

    problems = verify_bundle(Path(args.dir), public_key_hex=args.public_key)
    if problems:
        for problem in problems:
            print(f"FAILED: {problem}", file=sys.stderr)
        return 1
    print(f"bundle {args.dir}: every file's SHA-256, the manifest signature and the audit chain links verified")
    return 0


def _search_index_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.db.models import Meeting
    from meet_core.search.reindex import rebuild

    sessions = _sessions(settings)
    if args.meeting is not None:
        with sessions() as session:
            if session.get(Meeting, args.meeting) is None:
                raise ValueError(f"--meeting: no meeting with id {args.meeting!r}")
    report = rebuild(sessions, _s3(settings), since=args.since, meeting_id=args.meeting,
                     actor=_actor(args), progress=lambda text: print(text, file=sys.stderr))
    if args.json:
        _print({"objects": report.objects, "changed": report.changed, "unchanged": report.unchanged,
                "failures": report.failures})
    else:
        print(f"search index: {report.objects} archived transcript(s) and smart note(s) read back from S3 "
              f"(SHA-256 checked): {report.changed} changed, {report.unchanged} unchanged, "
              f"{len(report.failures)} failed")
    for failure in report.failures:
        print(f"  NOT INDEXED: {failure}", file=sys.stderr)
    return 0 if report.ok else 1


def _matter_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from meet_core.matters.collect import reconcile

    report = reconcile(_sessions(settings), _s3(settings), actor=_actor(args))
    print(f"matters: {report.collected} archived object(s) collected, {report.holds_recorded} missing hold(s) "
          f"recorded, {report.newly_held} newly held (S3 legal hold ON, read back); still waiting: "
          f"{report.queued} to collect, {report.unconfirmed} hold(s) unconfirmed")
    for failure in report.failures:
        print(f"  NOT DONE: {failure}", file=sys.stderr)
    return 0 if report.ok else 1


def _since(raw: str) -> Any:
    from meet_core.search.filters import parse_moment

    try:
        return parse_moment("--since", raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _meeting_id(raw: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a meeting id (a UUID): {raw!r}") from None


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client", help="the API client (name or id) the meetings belong to")
    parser.add_argument("--from", help="scheduled start on or after (YYYY-MM-DD or RFC 3339)")
    parser.add_argument("--to", help="scheduled start before the end of this day (or before this RFC 3339 time)")
    parser.add_argument("--participant", metavar="EMAIL", help="an invitee or anyone who attended")
    parser.add_argument("--organizer", metavar="EMAIL")
    parser.add_argument("--title", help="text in the title")
    parser.add_argument("--status", help="compliance status: compliant, pending or violation")


def _positive(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to 1000, got {raw!r}")
    return int(raw)


def register(commands: Any) -> None:
    """Add the legal-matter commands to the `meet-archive` parser."""
    search = commands.add_parser("search", help="full-text search of archived transcripts, with filters")
    search.add_argument("text", nargs="?", help='words (all must occur) and "quoted phrases"')
    _add_filters(search)
    search.add_argument("--limit", type=_positive, default=50, metavar="N")
    search.add_argument("--json", action="store_true", help="JSON instead of a table")
    search.set_defaults(handler=_search)

    index = commands.add_parser("search-index", help="the search index of archived transcripts and smart notes")
    index_commands = index.add_subparsers(dest="search_index_command", required=True)
    rebuild = index_commands.add_parser(
        "rebuild", help="(re)index archived transcripts and smart notes from S3 (checksums verified); idempotent")
    rebuild.add_argument("--since", type=_since, metavar="DATE",
                         help="only objects archived at or after (YYYY-MM-DD or RFC 3339 with offset)")
    rebuild.add_argument("--meeting", type=_meeting_id, metavar="ID", help="only this meeting's objects")
    rebuild.add_argument("--json", action="store_true", help="the summary as JSON")
    rebuild.add_argument("--by", help="who runs it (audited; default: cli:<user>)")
    rebuild.set_defaults(handler=_search_index_rebuild)

    matter = commands.add_parser("matter", help="legal matters: collect, hold, release, export").add_subparsers(
        dest="matter_command", required=True)
    create = matter.add_parser("create", help="open a matter (audited)")
    create.add_argument("--name", required=True)
    create.add_argument("--description")
    create.add_argument("--by", help="who opens it (default: cli:<user>)")
    create.set_defaults(handler=_matter_create)
    add = matter.add_parser("add", help="add meetings by id, or by a search that keeps collecting")
    add.add_argument("matter", metavar="N", help="the matter's name or number")
    add.add_argument("--meeting", action="append", metavar="ID", help="a meeting id (repeatable)")
    add.add_argument("--text", help="transcript words or phrases (saved search)")
    _add_filters(add)
    add.add_argument("--by")
    add.set_defaults(handler=_matter_add)
    hold = matter.add_parser("hold", help="S3 legal hold ON for every archived object of the matter")
    hold.add_argument("matter", metavar="N")
    hold.add_argument("--by")
    hold.set_defaults(handler=_matter_hold)
    release = matter.add_parser("release", help="lift the matter's hold (objects other held matters need stay held)")
    release.add_argument("matter", metavar="N")
    release.add_argument("--by", required=True, help="the person releasing it (audited)")
    release.add_argument("--note", required=True, help="why")
    release.set_defaults(handler=_matter_release)
    show = matter.add_parser("show", help="a matter, its meetings and objects")
    show.add_argument("matter", metavar="N")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_matter_show)
    listing = matter.add_parser("list", help="every matter")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_matter_list)
    reconcile = matter.add_parser(
        "reconcile", help="finish what the archive left: saved-search joins and unconfirmed legal holds")
    reconcile.add_argument("--by")
    reconcile.set_defaults(handler=_matter_reconcile)
    export = matter.add_parser("export", help="write a signed bundle anyone can verify offline")
    export.add_argument("matter", metavar="N")
    export.add_argument("--out", required=True, metavar="DIR", help="a new or empty directory")
    export.add_argument("--by")
    export.set_defaults(handler=_matter_export)

    bundles = commands.add_parser("export", help="export bundles").add_subparsers(
        dest="export_command", required=True)
    verify = bundles.add_parser("verify", help="check a bundle's hashes, signature and audit chain links")
    verify.add_argument("dir", metavar="DIR")
    verify.add_argument("--public-key", metavar="HEX", help="the deployment's Ed25519 public key, to pin it")
    verify.set_defaults(handler=_export_verify)
