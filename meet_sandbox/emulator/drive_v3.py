"""Drive API v3 for the files Meet makes: metadata, media (with Range), export, changes."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from . import media
from .clock import rfc3339
from .context import Context
from .errors import ApiError, bad_request
from .simulation import DOC_MIME, TEXT_MIME
from .wire import Request, Response, json_response

DEFAULT_FILE_FIELDS = ("kind", "id", "name", "mimeType")
EXPORT_TYPES = {"text/plain": "text/plain; charset=utf-8", "text/html": "text/html; charset=utf-8"}
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def _file_for(ctx: Context, request: Request) -> dict[str, Any]:
    file_id = request.params["file"]
    with ctx.store.lock:
        record = ctx.store.state["files"].get(file_id)
    if record is None or record["owner"] != request.subject:
        raise ApiError(404, f"File not found: {file_id}.", "notFound", location="fileId")
    return record


def _wants_checksums(request: Request) -> bool:
    fields = request.arg("fields") or ""
    return "*" in fields or "md5Checksum" in fields or "sha256Checksum" in fields


def _text_bytes(ctx: Context, record: dict[str, Any]) -> bytes:
    """The bytes of a plain-text transcript file (a pure function of its entries)."""
    with ctx.store.lock:
        return ctx.world.document_text(record["source"]).encode("utf-8")


def ensure_checksums(ctx: Context, record: dict[str, Any]) -> None:
    """Compute md5/sha256 over exactly the served bytes once, then keep them in the state."""
    if record["size"] is None or record["md5"]:
        return
    if record["mimeType"] == TEXT_MIME:
        data = _text_bytes(ctx, record)
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        sha256 = hashlib.sha256(data).hexdigest()
    else:
        md5, sha256 = media.checksums(
            record["seed"], int(record["size"])
        )  # outside the lock: may take seconds
    with ctx.store.lock:
        record["md5"], record["sha256"] = md5, sha256
        ctx.store.mark_dirty()


def render_file(record: dict[str, Any], subject: str, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "drive#file",
        "id": record["id"],
        "name": record["name"],
        "mimeType": record["mimeType"],
    }
    if not full:
        return out
    created = rfc3339(record["created"], digits=3)
    doc = record["mimeType"] == DOC_MIME
    out.update(
        {
            "createdTime": created,
            "modifiedTime": created,
            "owners": [
                {
                    "kind": "drive#user",
                    "displayName": record["owner"].split("@", 1)[0],
                    "emailAddress": record["owner"],
                    "me": record["owner"] == subject,
                }
            ],
            "ownedByMe": record["owner"] == subject,
            "trashed": False,
            "explicitlyTrashed": False,
            "starred": False,
            "spaces": ["drive"],
            "version": "1",
            "webViewLink": (
                f"https://docs.google.com/document/d/{record['id']}/edit?usp=drivesdk"
                if doc
                else f"https://drive.google.com/file/d/{record['id']}/view?usp=drivesdk"
            ),
        }
    )
    if doc:
        out["exportLinks"] = {
            m: f"https://docs.google.com/feeds/download/documents/export/Export?id={record['id']}&exportFormat=txt"
            for m in ("text/plain",)
        }
    else:
        out.update(
            {
                "size": str(record["size"]),
                "quotaBytesUsed": str(record["size"]),
                "originalFilename": record["name"],
                "fullFileExtension": record["name"].rsplit(".", 1)[-1],
                "fileExtension": record["name"].rsplit(".", 1)[-1],
                "headRevisionId": record["id"][-12:],
            }
        )
        if record["md5"]:
            out["md5Checksum"] = record["md5"]
            out["sha256Checksum"] = record["sha256"]
    return out


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end) of a single `bytes=` range; None serves the whole file; 416 if unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header)
    if not match or not (match.group(1) or match.group(2)):
        return None  # malformed or multi-range: RFC 9110 lets a server ignore it
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last) + 1, size) if last else size
        if last and int(last) < start:
            return None
    else:
        start, end = max(0, size - int(last)), size
        if int(last) == 0:
            start = size
    if start >= size or start >= end:
        raise ApiError(
            416,
            "Request range not satisfiable",
            "requestedRangeNotSatisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


def get_file(ctx: Context, request: Request) -> Response:
    record = _file_for(ctx, request)
    alt = request.arg("alt", "json")
    if alt == "media":
        return _media(ctx, record, request)
    if alt != "json":
        raise bad_request(f"Invalid value '{alt}' for alt.", location="alt")
    if _wants_checksums(request):
        ensure_checksums(ctx, record)
    return json_response(render_file(record, request.subject, full=bool(request.arg("fields"))))


def _media(ctx: Context, record: dict[str, Any], request: Request) -> Response:
    if record["mimeType"] == DOC_MIME:
        raise ApiError(
            403,
            "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
            "fileNotDownloadable",
            location="alt",
        )
    size = int(record["size"])
    span = parse_range(request.headers.get("range"), size)
    start, end = span or (0, size)
    headers = {"Content-Type": record["mimeType"], "Accept-Ranges": "bytes"}
    if span:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    if record["mimeType"] == TEXT_MIME:
        headers["Content-Type"] = "text/plain; charset=utf-8"
        return Response(
            status=206 if span else 200,
            headers=headers,
            body=_text_bytes(ctx, record)[start:end],
            media=True,
        )
    return Response(
        status=206 if span else 200,
        headers=headers,
        stream=media.iter_range(record["seed"], start, end),
        length=end - start,
        media=True,
    )


def export_file(ctx: Context, request: Request) -> Response:
    record = _file_for(ctx, request)
    mime = request.arg("mimeType")
    if not mime:
        raise bad_request("Required parameter: mimeType", location="mimeType", reason="required")
    if record["mimeType"] != DOC_MIME:
        raise ApiError(
            403, "Export only supports Docs Editors files.", "fileNotExportable", location="fileId"
        )
    if mime not in EXPORT_TYPES:
        raise bad_request(
            "The requested conversion is not supported.", location="convertTo", reason="badRequest"
        )
    with ctx.store.lock:
        text = ctx.world.document_text(record["source"])
    if mime == "text/html":
        body = "".join(f"<p>{line}</p>" for line in text.lstrip("\ufeff").splitlines())
        text = f"<html><body>{body}</body></html>"
    data = text.encode("utf-8")
    return Response(headers={"Content-Type": EXPORT_TYPES[mime]}, body=data, media=True)


def start_page_token(ctx: Context, request: Request) -> Response:
    with ctx.store.lock:
        token = str(len(ctx.store.state["changes"]) + 1)
    return json_response({"kind": "drive#startPageToken", "startPageToken": token})


def list_changes(ctx: Context, request: Request) -> Response:
    raw = request.arg("pageToken")
    if not raw:
        raise bad_request("Required parameter: pageToken", location="pageToken", reason="required")
    with ctx.store.lock:
        changes = list(ctx.store.state["changes"])
        files = ctx.store.state["files"]
        if not raw.isdigit() or not 1 <= int(raw) <= len(changes) + 1:
            raise bad_request("Invalid Value", location="pageToken")
        size = ctx.page_size(request)
        start = int(raw) - 1
        window = changes[start : start + size]
        mine = [
            (c, files[c["fileId"]])
            for c in window
            if files[c["fileId"]]["owner"] == request.subject
        ]
    full = bool(request.arg("fields"))
    if _wants_checksums(request):
        for _, record in mine:
            ensure_checksums(ctx, record)
    out: dict[str, Any] = {
        "kind": "drive#changeList",
        "changes": [
            {
                "kind": "drive#change",
                "changeType": "file",
                "time": rfc3339(change["time"], digits=3),
                "removed": False,
                "fileId": record["id"],
                "file": render_file(record, request.subject, full=full),
            }
            for change, record in mine
        ],
    }
    following = start + len(window)
    if following < len(changes):
        out["nextPageToken"] = str(following + 1)
    else:
        out["newStartPageToken"] = str(len(changes) + 1)
    return json_response(out)


ROUTES = [
    ("GET", r"/drive/v3/files/(?P<file>[^/]+)", "drive.files.get", get_file),
    ("GET", r"/drive/v3/files/(?P<file>[^/]+)/export", "drive.files.export", export_file),
    (
        "GET",
        r"/drive/v3/changes/startPageToken",
        "drive.changes.getStartPageToken",
        start_page_token,
    ),
    ("GET", r"/drive/v3/changes", "drive.changes.list", list_changes),
]
