"""The daily compliance report: the day's ledger as CSV and Parquet, and a self-contained
HTML page (totals, compliance rate over time as an inline SVG chart, open violations),
written to S3 under Object Lock.

Keys carry a short content hash (``reports/<day>/compliance-<day>-<sha12>.<ext>``): a
re-run with the same content finds its object, a day whose verdicts changed gets a new
object beside the old one, and nothing is ever overwritten.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from meet_core.archive import ArchivedObject, ArchiveWriter, ChecksumMismatch, object_key
from meet_core.archive.client import S3Client, require_bucket
from meet_core.compliance.chart import rate_chart
from meet_core.compliance.lookup import attendees
from meet_core.days import day_bounds
from meet_core.db.models import (
    ComplianceDailySummary,
    ComplianceViolation,
    LedgerEntry,
    Meeting,
    ViolationReason,
    ViolationState,
)
from meet_core.matters.service import matters_holding

HISTORY_DAYS = 30
LISTED_VIOLATIONS = 200
LEDGER_COLUMNS = [c.name for c in LedgerEntry.__table__.columns]
TIME_COLUMNS = [c.name for c in LedgerEntry.__table__.columns if c.type.python_type is datetime]
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "html": "text/html; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class OpenViolation:
    violation_id: int
    external_id: str
    title: str
    partition_date: str
    reason: str
    detail: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class ReportData:
    day: str
    generated_at: datetime
    summary: ComplianceDailySummary | None
    history: list[tuple[str, float | None]]
    open_violations: list[OpenViolation]
    open_violation_count: int
    ledger: pd.DataFrame
    # The day's held meetings in violation: (XOMA id, title, attendees as in lookup.attendees).
    violation_attendance: list[tuple[str, str, list[dict[str, Any]]]] = field(default_factory=list)
    # The day's meetings with uninvited attendees: (XOMA id, title, those attendees).
    uninvited: list[tuple[str, str, list[dict[str, Any]]]] = field(default_factory=list)
    # The day's meetings under legal hold: (XOMA id, title, names of the matters holding it).
    legal_holds: list[tuple[str, str, list[str]]] = field(default_factory=list)


def gather(session: Session, day: str, now: datetime) -> ReportData:
    day_bounds(day)  # validates
    first = (date.fromisoformat(day) - timedelta(days=HISTORY_DAYS - 1)).isoformat()
    summaries = {
        s.partition_date: s
        for s in session.scalars(
            select(ComplianceDailySummary).where(
                ComplianceDailySummary.partition_date >= first,
                ComplianceDailySummary.partition_date <= day,
            )
        )
    }
    days = [
        (date.fromisoformat(first) + timedelta(days=i)).isoformat() for i in range(HISTORY_DAYS)
    ]
    history = [(d, summaries[d].compliance_rate if d in summaries else None) for d in days]
    v = ComplianceViolation
    open_query = (
        select(
            v.id,
            Meeting.external_id,
            Meeting.title,
            v.partition_date,
            v.reason,
            v.detail,
            v.opened_at,
        )
        .join(Meeting, Meeting.id == v.meeting_id)
        .where(v.state == ViolationState.OPEN)
    )
    listed = [
        OpenViolation(*row)
        for row in session.execute(
            open_query.order_by(v.partition_date.desc(), v.id).limit(LISTED_VIOLATIONS)
        )
    ]
    count = len(session.scalars(select(v.id).where(v.state == ViolationState.OPEN)).all())
    rows = session.execute(
        select(*[LedgerEntry.__table__.c[name] for name in LEDGER_COLUMNS])
        .where(LedgerEntry.partition_date == day)
        .order_by(LedgerEntry.scheduled_start, LedgerEntry.meeting_id)
    ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=LEDGER_COLUMNS)
    for name in TIME_COLUMNS:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    if "unrecorded_intervals" in frame:  # flat for CSV and Parquet: ISO 8601 intervals
        frame["unrecorded_intervals"] = frame["unrecorded_intervals"].map(intervals_text)
    in_violation = frame[(frame["compliance_status"] == "violation") & frame["held"].astype(bool)]
    people = attendees(session, list(in_violation["meeting_id"]))
    attendance = [
        (str(row.external_id), str(row.title), people.get(str(row.meeting_id), []))
        for row in in_violation.itertuples()
    ]
    with_guests = frame[frame["uninvited_count"] > 0]
    guests = attendees(session, list(with_guests["meeting_id"]))
    uninvited = [
        (
            str(row.external_id),
            str(row.title),
            [
                p
                for p in guests.get(str(row.meeting_id), [])
                if not p["invited"] and not p["organizer"]
            ],
        )
        for row in with_guests.itertuples()
    ]
    holders = matters_holding(session, [str(m) for m in frame["meeting_id"]])
    held = [
        (str(row.external_id), str(row.title), holders[str(row.meeting_id)])
        for row in frame.itertuples()
        if str(row.meeting_id) in holders
    ]
    return ReportData(
        day, now, summaries.get(day), history, listed, count, frame, attendance, uninvited, held
    )


def intervals_text(stored: Any) -> str:
    """The ledger's unrecorded intervals as ``start/end`` (ISO 8601), ``; `` between them."""
    if not isinstance(stored, list):
        return ""
    return "; ".join(
        f"{i.get('start')}/{i.get('end')}" for i in stored if isinstance(i, dict)
    )


def day_coverage(frame: pd.DataFrame) -> tuple[int, int, float | None]:
    """Held meetings' seconds present and unrecorded over the day, and the coverage
    (1 - unrecorded / present), as the ``compliance_coverage_daily`` view computes it."""
    if "present_seconds" not in frame or frame.empty:
        return 0, 0, None
    held = frame[frame["held"].astype(bool)]
    present = int(pd.to_numeric(held["present_seconds"]).fillna(0).sum())
    unrecorded = int(pd.to_numeric(held["unrecorded_seconds"]).fillna(0).sum())
    return present, unrecorded, (round(1 - unrecorded / present, 4) if present else None)


def _coverage_rows(frame: pd.DataFrame) -> str:
    if "unrecorded_seconds" not in frame or frame.empty:
        gaps = frame
    else:
        gaps = frame[pd.to_numeric(frame["unrecorded_seconds"]).fillna(0) > 0]
    rows = [
        f"<tr><td>{escape(str(r.external_id))}</td><td>{escape(str(r.title))}</td>"
        f"<td class=num>{int(r.present_seconds)}</td><td class=num>{int(r.recorded_seconds)}</td>"
        f"<td class=num>{int(r.unrecorded_seconds)}</td><td class=num>{r.coverage:.1%}</td>"
        f"<td>{escape(str(r.unrecorded_intervals))}</td></tr>"
        for r in gaps.itertuples()
    ]
    return "".join(rows) or '<tr><td colspan="7">Every held meeting was recorded throughout.</td></tr>'


def _hold_rows(held: list[tuple[str, str, list[str]]]) -> str:
    if not held:
        return '<tr><td colspan="3">none</td></tr>'
    return "\n".join(
        f"<tr><td>{escape(xid)}</td><td>{escape(title)}</td><td>{escape(', '.join(names))}</td></tr>"
        for xid, title, names in held
    )


def render_csv(data: ReportData) -> bytes:
    frame = data.ledger.copy()
    for name in TIME_COLUMNS:
        frame[name] = frame[name].map(lambda t: t.isoformat() if pd.notna(t) else "")
    return frame.to_csv(index=False, lineterminator="\n").encode()


def render_parquet(data: ReportData) -> bytes:
    table = pa.Table.from_pandas(data.ledger, preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


_STYLE = """
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:32px;
color:#1f2328;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.meta{color:#57606a;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:26px}
.card span{color:#57606a;font-size:12px;text-transform:uppercase}
.bad b{color:#cf222e}.good b{color:#1a7f37}.wait b{color:#9a6700}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border-bottom:1px solid #d8dee4;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right}
"""


def _card(label: str, value: object, tone: str = "") -> str:
    return f'<div class="card {tone}"><b>{escape(str(value))}</b><span>{escape(label)}</span></div>'


def _attendance_rows(meetings: list[tuple[str, str, list[dict[str, Any]]]]) -> str:
    rows = []
    for external_id, title, people in meetings:
        for person in people:
            if not person["attended"]:
                continue
            who = person["email"] or person["display_name"] or "(unknown)"
            rows.append(
                f"<tr><td>{escape(external_id)}</td><td>{escape(title)}</td><td>{escape(who)}</td>"
                f"<td>{'yes' if person['invited'] else 'NO'}</td><td>{escape(person['kind'] or '')}</td>"
                f"<td>{escape(person['first_joined_at'] or '')}</td><td>{escape(person['last_left_at'] or '')}</td>"
                f"<td class=num>{person['seconds'] or 0}</td></tr>"
            )
    return "".join(rows) or '<tr><td colspan="8">No held meeting of the day is in violation.</td></tr>'


def _uninvited_rows(meetings: list[tuple[str, str, list[dict[str, Any]]]]) -> str:
    rows = [
        f"<tr><td>{escape(external_id)}</td><td>{escape(title)}</td>"
        f"<td>{escape(person['email'] or '')}</td><td>{escape(person['display_name'] or '')}</td>"
        f"<td>{escape(person['kind'] or '')}</td><td>{escape(person['first_joined_at'] or '')}</td>"
        f"<td class=num>{person['seconds'] or 0}</td></tr>"
        for external_id, title, people in meetings
        for person in people
    ]
    return "".join(rows) or '<tr><td colspan="7">Nobody uninvited attended.</td></tr>'


def _artifact_rows(ledger: pd.DataFrame) -> str:
    kinds = (("recordings", "recordings"), ("transcripts", "transcripts"), ("smart notes", "smart_notes"))
    return "".join(
        f"<tr><td>{label}</td><td class=num>{int(ledger[f'{name}_found'].sum())}</td>"
        f"<td class=num>{int(ledger[f'{name}_archived'].sum())}</td></tr>"
        for label, name in kinds
    )


def render_html(data: ReportData) -> bytes:
    s = data.summary
    rate = f"{s.compliance_rate * 100:.1f}%" if s and s.compliance_rate is not None else "n/a"
    _, unrecorded, coverage = day_coverage(data.ledger)
    covered = f"{coverage * 100:.1f}%" if coverage is not None else "n/a"
    cards = "".join(
        [
            _card("meetings", s.meetings if s else 0),
            _card("held", s.held if s else 0),
            _card("not held", s.not_held if s else 0),
            _card("cancelled", s.cancelled if s else 0),
            _card("compliant", s.compliant if s else 0, "good"),
            _card("pending", s.pending if s else 0, "wait"),
            _card("violations", s.violation if s else 0, "bad" if s and s.violation else "good"),
            _card("compliance rate", rate, "bad" if s and s.violation else "good"),
            _card("uninvited attendees", int(data.ledger["uninvited_count"].sum())),
            _card("recording coverage", covered, "bad" if unrecorded else "good"),
            _card("unrecorded seconds", unrecorded, "bad" if unrecorded else "good"),
            _card(
                "open violations (all days)",
                data.open_violation_count,
                "bad" if data.open_violation_count else "good",
            ),
        ]
    )
    reasons = "".join(
        f"<tr><td>{escape(r.value)}</td><td class=num>{getattr(s, r.value) if s else 0}</td></tr>"
        for r in ViolationReason
    )
    violations = (
        "".join(
            f"<tr><td>{v.violation_id}</td><td>{escape(v.partition_date)}</td><td>{escape(v.external_id)}</td>"
            f"<td>{escape(v.title)}</td><td>{escape(v.reason)}</td><td>{escape(v.detail)}</td>"
            f"<td>{v.opened_at:%Y-%m-%d %H:%M}</td></tr>"
            for v in data.open_violations
        )
        or '<tr><td colspan="7">No open violations.</td></tr>'
    )
    more = (
        (
            f'<p class="meta">Showing {len(data.open_violations)} of {data.open_violation_count}; '
            "query compliance_open_violations for all.</p>"
        )
        if data.open_violation_count > len(data.open_violations)
        else ""
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Compliance report {escape(data.day)}</title>
<style>{_STYLE}</style></head><body>
<h1>Meeting compliance report &mdash; {escape(data.day)} (UTC)</h1>
<p class="meta">Generated {data.generated_at:%Y-%m-%d %H:%M:%S} UTC by meet-archive.
The ledger of the day is
attached as CSV and Parquet beside this page.</p>
<div class="cards">{cards}</div>
<h2>Compliance rate, last {HISTORY_DAYS} days</h2>
{rate_chart(data.history)}
<h2>Violations of the day by reason</h2>
<table><tr><th>reason</th><th>meetings</th></tr>{reasons}</table>
<h2>Recording coverage: held meetings with unrecorded time</h2>
<p class="meta">Seconds with at least one participant present; unrecorded gaps shorter than
the tolerance (MEET_COMPLIANCE_COVERAGE_TOLERANCE_SECONDS) are not counted. Intervals in UTC.</p>
<table><tr><th>meeting (XOMA id)</th><th>title</th><th>present s</th><th>recorded s</th>
<th>unrecorded s</th><th>coverage</th><th>unrecorded intervals</th></tr>
{_coverage_rows(data.ledger)}</table>
<h2>Who attended the day's meetings in violation</h2>
<table><tr><th>meeting (XOMA id)</th><th>title</th><th>attendee</th><th>invited</th><th>kind</th>
<th>joined (UTC)</th><th>left (UTC)</th><th>seconds</th></tr>
{_attendance_rows(data.violation_attendance)}</table>
<h2>Artifacts of the day</h2>
<table><tr><th>kind</th><th>found</th><th>archived</th></tr>{_artifact_rows(data.ledger)}</table>
<h2>Uninvited attendees of the day</h2>
<p class="meta">Recognised by identity (Google account email); the organizer is not listed.</p>
<table><tr><th>meeting (XOMA id)</th><th>title</th><th>email</th><th>display name</th><th>kind</th>
<th>joined (UTC)</th><th>seconds</th></tr>
{_uninvited_rows(data.uninvited)}</table>
<h2>Meetings under legal hold</h2>
<table><tr><th>meeting (XOMA id)</th><th>title</th><th>held by matters</th></tr>
{_hold_rows(data.legal_holds)}</table>
<h2>Open violations</h2>{more}
<table><tr><th>id</th><th>day</th><th>meeting (XOMA id)</th><th>title</th><th>reason</th>
<th>detail</th><th>opened (UTC)</th></tr>
{violations}</table>
</body></html>
"""
    return page.encode()


@dataclass(frozen=True, slots=True)
class PublishedReport:
    objects: dict[str, ArchivedObject]  # by extension
    html_url: str | None  # a presigned link (7 days) to the HTML page


def publish(writer: ArchiveWriter, data: ReportData, *, prefix: str) -> PublishedReport:
    rendered = {"csv": render_csv(data), "parquet": render_parquet(data), "html": render_html(data)}
    objects = {}
    for ext, body in rendered.items():
        sha = hashlib.sha256(body).hexdigest()
        key = object_key(prefix, "reports", data.day, f"compliance-{data.day}-{sha[:12]}.{ext}")
        objects[ext] = writer.archive_stream(
            key,
            [body],
            expected_size=len(body),
            expected_sha256=sha,
            content_type=CONTENT_TYPES[ext],
            metadata={"report-day": data.day},
        )
    html = objects["html"]
    url = writer.client.generate_presigned_url(
        "get_object",
        Params={"Bucket": html.bucket, "Key": html.key, "VersionId": html.version_id},
        ExpiresIn=7 * 24 * 3600,
    )
    return PublishedReport(objects, url)


@dataclass(frozen=True, slots=True)
class StoredReport:
    bucket: str
    key: str
    version_id: str
    sha256: str
    body: bytes

    @property
    def filename(self) -> str:
        return self.key.rsplit("/", 1)[-1]


def fetch_report(client: S3Client, bucket: str, prefix: str, day: str, *, kind: str = "html") -> StoredReport | None:
    """The newest stored report of ``day`` in format ``kind``, its bytes checked against the
    SHA-256 recorded with it (object metadata, and the start of its name); None if there is
    none. A mismatch raises ChecksumMismatch. Reports are small (kilobytes), so the body is
    read whole."""
    require_bucket(client, bucket)
    folder = object_key(prefix, "reports", day) + "/"
    newest: dict[str, Any] | None = None
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=folder):
        for version in page.get("Versions", []):
            later = newest is None or version["LastModified"] > newest["LastModified"]
            if version["Key"].endswith(f".{kind}") and later:
                newest = version
    if newest is None:
        return None
    answer = client.get_object(Bucket=bucket, Key=newest["Key"], VersionId=newest["VersionId"])
    body = answer["Body"].read()
    actual = hashlib.sha256(body).hexdigest()
    recorded = answer.get("Metadata", {}).get("sha256", "")
    named = newest["Key"].rsplit("-", 1)[-1].split(".", 1)[0]
    if actual != recorded or not actual.startswith(named):
        raise ChecksumMismatch(
            f"s3://{bucket}/{newest['Key']} (version {newest['VersionId']}): SHA-256 {actual}, "
            f"recorded {recorded or 'nothing'}"
        )
    return StoredReport(bucket, newest["Key"], newest["VersionId"], actual, body)
