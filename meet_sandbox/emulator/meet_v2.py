"""Meet REST API v2: spaces and conference records (served under `/v2/`)."""

from __future__ import annotations

from typing import Any

from .context import Context
from .discovery import document, method_scopes
from .errors import ApiError, bad_request, insufficient_scopes
from .meet_filter import matches, parse_filter
from .meet_resources import (
    render_artifact,
    render_entry,
    render_participant,
    render_record,
    render_session,
    render_space,
)
from .paging import page
from .schema import clean_body
from .simulation import SEGMENTS, default_space_config
from .wire import Request, Response, json_response

CREATED = "https://www.googleapis.com/auth/meetings.space.created"
SETTINGS = "https://www.googleapis.com/auth/meetings.space.settings"


def _not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.", "notFound")


def _space_for(ctx: Context, request: Request, ref: str, granted: frozenset[str]) -> dict[str, Any]:
    """The space if the caller may see it: owner, and a scope that covers this space.

    `meetings.space.created` only covers spaces that this app (service account) created; a
    space that Calendar made needs `meetings.space.settings` or `.readonly`, as in Google.
    """
    assert request.token is not None
    space = ctx.world.find_space(ref)
    if space is None or space["owner"] != request.subject:
        raise ApiError(
            403, "Permission denied on resource Space (or it might not exist)", "forbidden"
        )
    effective = granted if space["creator_app"] == request.token.issuer else granted - {CREATED}
    if not effective:
        raise insufficient_scopes()
    return space


def _record_for(ctx: Context, request: Request, granted: frozenset[str]) -> dict[str, Any]:
    assert request.token is not None
    name = f"conferenceRecords/{request.params['record']}"
    record = ctx.world.live_record(name, ctx.now())
    if record is None:
        raise _not_found()
    space = ctx.store.state["spaces"][record["space"]]
    if space["owner"] != request.subject:
        raise _not_found()
    if space["creator_app"] != request.token.issuer and not granted - {CREATED}:
        raise insufficient_scopes()
    return record


def _granted(request: Request) -> frozenset[str]:
    """The token's scopes that this method accepts."""
    assert request.token is not None
    return request.token.scopes & method_scopes(request.method_id)


# ----- spaces ----------------------------------------------------------------------------


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def create_space(ctx: Context, request: Request) -> Response:
    body = clean_body("meet", "Space", request.json(required=False), strict=True)
    config = default_space_config()
    _merge(config, body.get("config") or {})
    assert request.token is not None
    space = ctx.world.create_space(request.subject, request.token.issuer, config, ctx.now())
    return json_response(render_space(space))


def get_space(ctx: Context, request: Request) -> Response:
    space = _space_for(ctx, request, request.params["space"], _granted(request))
    return json_response(render_space(space))


def _camel(path: str) -> str:
    parts = path.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _config_paths(schemas: dict[str, Any], name: str, prefix: str) -> set[str]:
    paths: set[str] = set()
    for key, prop in schemas[name].get("properties", {}).items():
        path = f"{prefix}.{key}"
        paths.add(path)
        if "$ref" in prop:
            paths |= _config_paths(schemas, prop["$ref"], path)
    return paths


def _get_path(value: dict[str, Any], parts: list[str]) -> tuple[bool, Any]:
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _set_path(target: dict[str, Any], parts: list[str], present: bool, value: Any) -> None:
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    if present:
        target[parts[-1]] = value
    else:
        target.pop(parts[-1], None)


def patch_space(ctx: Context, request: Request) -> Response:
    space = _space_for(ctx, request, request.params["space"], _granted(request))
    body = clean_body("meet", "Space", request.json(), strict=True)
    mask = (request.arg("updateMask") or "").strip()
    allowed = {"config"} | _config_paths(document("meet")["schemas"], "SpaceConfig", "config")
    if mask in ("", '""'):
        _merge(space["config"], body.get("config") or {})
    elif mask == "*":
        space["config"] = body.get("config") or {}
    else:
        paths = [".".join(_camel(p) for p in raw.strip().split(".")) for raw in mask.split(",")]
        for path in paths:
            if path not in allowed:
                raise bad_request(f"Invalid update mask path: {path!r}.")
        for path in paths:
            present, value = _get_path(body, path.split("."))
            _set_path(space, path.split("."), present, value)
    ctx.store.mark_dirty()
    return json_response(render_space(space))


def end_active_conference(ctx: Context, request: Request) -> Response:
    request.json(required=False)  # garbage bodies still answer 400
    space = _space_for(ctx, request, request.params["space"], _granted(request))
    record = ctx.world.active_record(space)
    if record is None:
        raise ApiError(
            400,
            "No active conference in the space.",
            "failedPrecondition",
            status="FAILED_PRECONDITION",
        )
    ctx.world.end_conference(record, ctx.now())
    return json_response({})


# ----- conference records ----------------------------------------------------------------


def _listing(
    ctx: Context, request: Request, items: list[dict[str, Any]], key: str, scope: str
) -> Response:
    chunk, token = page(
        items,
        request.arg("pageToken"),
        ctx.page_size(request),
        scope + (request.arg("filter") or ""),
    )
    out: dict[str, Any] = {}
    if chunk:
        out[key] = chunk
    if token:
        out["nextPageToken"] = token
    return json_response(out)


def list_records(ctx: Context, request: Request) -> Response:
    clauses = parse_filter(
        request.arg("filter"), ("space.name", "space.meeting_code", "start_time", "end_time")
    )
    now, state = ctx.now(), ctx.store.state
    rows = []
    for record in state["conference_records"].values():
        space = state["spaces"][record["space"]]
        if space["owner"] != request.subject or ctx.world.expired(record, now):
            continue
        if space["creator_app"] != request.token.issuer and not _granted(request) - {CREATED}:  # type: ignore[union-attr]
            continue
        row = {
            "space.name": f"spaces/{space['id']}",
            "space.meeting_code": space["meeting_code"],
            "start_time": record["start"],
            "end_time": record["end"],
        }
        if matches(clauses, row):
            rows.append(record)
    rows.sort(key=lambda r: (-r["start"], r["name"]))  # newest first, as Google lists them
    return _listing(
        ctx,
        request,
        [render_record(r, ctx.world.ttl) for r in rows],
        "conferenceRecords",
        "records",
    )


def get_record(ctx: Context, request: Request) -> Response:
    return json_response(render_record(_record_for(ctx, request, _granted(request)), ctx.world.ttl))


def _children(ctx: Context, parent: str, collection: str) -> list[dict[str, Any]]:
    prefix = f"{parent}/{SEGMENTS.get(collection, collection)}/"
    return [
        item
        for name, item in ctx.store.state[collection].items()
        if name.startswith(prefix) and "/" not in name[len(prefix) :]
    ]


def list_participants(ctx: Context, request: Request) -> Response:
    record = _record_for(ctx, request, _granted(request))
    clauses = parse_filter(request.arg("filter"), ("earliest_start_time", "latest_end_time"))
    rows = [
        p
        for p in _children(ctx, record["name"], "participants")
        if matches(
            clauses,
            {"earliest_start_time": p["earliest_start"], "latest_end_time": p["latest_end"]},
        )
    ]
    rows.sort(key=lambda p: (-p["earliest_start"], p["name"]))
    return _listing(
        ctx,
        request,
        [render_participant(p) for p in rows],
        "participants",
        record["name"] + "/p",
    )


def _participant(ctx: Context, request: Request) -> dict[str, Any]:
    record = _record_for(ctx, request, _granted(request))
    name = f"{record['name']}/participants/{request.params['participant']}"
    participant = ctx.store.state["participants"].get(name)
    if participant is None:
        raise _not_found()
    return participant


def get_participant(ctx: Context, request: Request) -> Response:
    return json_response(render_participant(_participant(ctx, request)))


def list_sessions(ctx: Context, request: Request) -> Response:
    participant = _participant(ctx, request)
    clauses = parse_filter(request.arg("filter"), ("start_time", "end_time"))
    prefix = participant["name"] + "/participantSessions/"
    rows = [
        s
        for name, s in ctx.store.state["sessions"].items()
        if name.startswith(prefix)
        and matches(clauses, {"start_time": s["start"], "end_time": s["end"]})
    ]
    rows.sort(key=lambda s: (-s["start"], s["name"]))
    return _listing(
        ctx,
        request,
        [render_session(s) for s in rows],
        "participantSessions",
        participant["name"],
    )


def get_session(ctx: Context, request: Request) -> Response:
    participant = _participant(ctx, request)
    session = ctx.store.state["sessions"].get(
        f"{participant['name']}/participantSessions/{request.params['session']}"
    )
    if session is None:
        raise _not_found()
    return json_response(render_session(session))


def _artifacts(
    ctx: Context, request: Request, collection: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    record = _record_for(ctx, request, _granted(request))
    items = sorted(
        _children(ctx, record["name"], collection), key=lambda i: (i["start"], i["name"])
    )
    return record, items


def list_recordings(ctx: Context, request: Request) -> Response:
    record, items = _artifacts(ctx, request, "recordings")
    rendered = [render_artifact(i, transcript=False) for i in items]
    return _listing(ctx, request, rendered, "recordings", record["name"] + "/r")


def get_recording(ctx: Context, request: Request) -> Response:
    record, _ = _artifacts(ctx, request, "recordings")
    item = ctx.store.state["recordings"].get(
        f"{record['name']}/recordings/{request.params['item']}"
    )
    if item is None:
        raise _not_found()
    return json_response(render_artifact(item, transcript=False))


def list_transcripts(ctx: Context, request: Request) -> Response:
    record, items = _artifacts(ctx, request, "transcripts")
    rendered = [render_artifact(i, transcript=True) for i in items]
    return _listing(ctx, request, rendered, "transcripts", record["name"] + "/t")


def _transcript(ctx: Context, request: Request) -> dict[str, Any]:
    record, _ = _artifacts(ctx, request, "transcripts")
    item = ctx.store.state["transcripts"].get(
        f"{record['name']}/transcripts/{request.params['item']}"
    )
    if item is None:
        raise _not_found()
    return item


def get_transcript(ctx: Context, request: Request) -> Response:
    return json_response(render_artifact(_transcript(ctx, request), transcript=True))


def list_entries(ctx: Context, request: Request) -> Response:
    transcript = _transcript(ctx, request)
    rendered = [render_entry(e) for e in ctx.world.entries_of(transcript["name"])]
    return _listing(ctx, request, rendered, "transcriptEntries", transcript["name"])


def get_entry(ctx: Context, request: Request) -> Response:
    transcript = _transcript(ctx, request)
    entry = ctx.store.state["entries"].get(
        f"{transcript['name']}/entries/{request.params['entry']}"
    )
    if entry is None:
        raise _not_found()
    return json_response(render_entry(entry))


def list_smart_notes(ctx: Context, request: Request) -> Response:
    """Gemini's notes: made when the space's smartNotesConfig.autoSmartNotesGeneration is ON."""
    record, items = _artifacts(ctx, request, "smart_notes")
    rendered = [render_artifact(i, transcript=True) for i in items]
    return _listing(ctx, request, rendered, "smartNotes", record["name"] + "/n")


def get_smart_note(ctx: Context, request: Request) -> Response:
    record, _ = _artifacts(ctx, request, "smart_notes")
    item = ctx.store.state["smart_notes"].get(
        f"{record['name']}/smartNotes/{request.params['item']}"
    )
    if item is None:
        raise _not_found()
    return json_response(render_artifact(item, transcript=True))


_R = r"/v2/conferenceRecords/(?P<record>[^/]+)"
_P = _R + r"/participants/(?P<participant>[^/]+)"
_T = _R + r"/transcripts/(?P<item>[^/]+)"

ROUTES = [
    ("POST", r"/v2/spaces", "meet.spaces.create", create_space),
    ("GET", r"/v2/spaces/(?P<space>[^/:]+)", "meet.spaces.get", get_space),
    ("PATCH", r"/v2/spaces/(?P<space>[^/:]+)", "meet.spaces.patch", patch_space),
    (
        "POST",
        r"/v2/spaces/(?P<space>[^/:]+):endActiveConference",
        "meet.spaces.endActiveConference",
        end_active_conference,
    ),
    ("GET", r"/v2/conferenceRecords", "meet.conferenceRecords.list", list_records),
    ("GET", _R, "meet.conferenceRecords.get", get_record),
    ("GET", _R + "/participants", "meet.conferenceRecords.participants.list", list_participants),
    ("GET", _P, "meet.conferenceRecords.participants.get", get_participant),
    (
        "GET",
        _P + "/participantSessions",
        "meet.conferenceRecords.participants.participantSessions.list",
        list_sessions,
    ),
    (
        "GET",
        _P + r"/participantSessions/(?P<session>[^/]+)",
        "meet.conferenceRecords.participants.participantSessions.get",
        get_session,
    ),
    ("GET", _R + "/recordings", "meet.conferenceRecords.recordings.list", list_recordings),
    (
        "GET",
        _R + r"/recordings/(?P<item>[^/]+)",
        "meet.conferenceRecords.recordings.get",
        get_recording,
    ),
    ("GET", _R + "/transcripts", "meet.conferenceRecords.transcripts.list", list_transcripts),
    ("GET", _T, "meet.conferenceRecords.transcripts.get", get_transcript),
    ("GET", _T + "/entries", "meet.conferenceRecords.transcripts.entries.list", list_entries),
    (
        "GET",
        _T + r"/entries/(?P<entry>[^/]+)",
        "meet.conferenceRecords.transcripts.entries.get",
        get_entry,
    ),
    ("GET", _R + "/smartNotes", "meet.conferenceRecords.smartNotes.list", list_smart_notes),
    (
        "GET",
        _R + r"/smartNotes/(?P<item>[^/]+)",
        "meet.conferenceRecords.smartNotes.get",
        get_smart_note,
    ),
]
