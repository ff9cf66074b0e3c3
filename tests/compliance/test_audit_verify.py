"""Tampering is caught by ``meet-archive audit verify``, each case naming what broke: an
edited, deleted or rewritten audit row, an edited or deleted digest (row or S3 object),
an archived object overwritten or deleted (GOVERNANCE bucket, bypass)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from meet_core.audit import event_hash
from meet_core.compliance.digests import write_digests
from meet_core.compliance.verify import VerificationReport, verify_everything
from meet_core.db.models import AuditDigest, AuditEvent, MeetingStatus
from meet_core.db.types import utcnow
from meet_sandbox.s3 import EmbeddedS3
from tests.compliance.tamper import as_owner
from tests.compliance.world import POLICY, World, at

DAY = "2025-06-02"


def populate(world: World) -> dict[str, int]:
    """Three meetings, three archived recordings, two digests (the second one after more
    events), a few events after the last digest."""
    ids = {}
    for n, hour in enumerate(("09", "11", "13")):
        name = f"m{n}"
        world.meeting(name, at(DAY, f"{hour}:00"), at(DAY, f"{hour}:45"), MeetingStatus.FINISHED)
        record = world.conference(name, at(DAY, f"{hour}:00"), at(DAY, f"{hour}:40"))
        from meet_core.db.models import ArtifactKind

        ids[name] = world.artifact(
            name, record, ArtifactKind.RECORDING, archived_at=at(DAY, f"{hour}:50")
        )
        if n == 1:
            write_digests(world.sessions, world.writer, prefix=world.prefix, now=utcnow())
    write_digests(world.sessions, world.writer, prefix=world.prefix, now=utcnow())
    world.meeting("after", at(DAY, "15:00"), at(DAY, "16:00"), MeetingStatus.SCHEDULED)
    return ids


def verify(world: World, sample: int | None = None) -> VerificationReport:
    with world.sessions() as session:
        return verify_everything(
            session,
            lambda: world.s3,
            POLICY,
            bucket=world.bucket,
            prefix=world.prefix,
            sample=sample,
            progress=False,
            rng=random.Random(7),
        )


def digests(sessions: sessionmaker[Session]) -> list[AuditDigest]:
    with sessions() as session:
        return list(session.scalars(select(AuditDigest).order_by(AuditDigest.number)))


def test_untouched_archive_verifies(world: World) -> None:
    populate(world)
    report = verify(world)
    assert report.ok, report.lines()
    assert report.chain is not None and report.chain.ok
    assert (report.digests, report.objects_checked, report.objects_archived) == (2, 3, 3)
    assert report.undigested_events == 1  # the meeting created after the last digest
    [first, second] = digests(world.sessions)
    assert (
        second.previous_digest_hash == first.digest_hash and second.first_seq == first.last_seq + 1
    )
    body = world.s3.get_object(
        Bucket=first.bucket, Key=first.object_key, VersionId=first.version_id
    )["Body"].read()
    document = json.loads(body)
    assert document["digest_hash"] == first.digest_hash and document["last_hash"] == first.last_hash
    head = world.s3.head_object(
        Bucket=first.bucket, Key=first.object_key, VersionId=first.version_id
    )
    assert (
        head["ObjectLockMode"] == "GOVERNANCE"
        and head["ObjectLockRetainUntilDate"] == first.retain_until
    )


def _edit_audit_row(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    as_owner(engine, "audit_events", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")


def _delete_audit_row(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    as_owner(engine, "audit_events", "DELETE FROM audit_events WHERE seq = 3")


def _rewrite_chain(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    """Edit seq 2 and recompute every later hash and the head, so the chain alone verifies."""
    with world.sessions() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    previous, statements, params = None, [], {}
    for event in events:
        if event.seq == 2:
            event.actor = "mallory"
        if previous is not None:
            event.prev_hash = previous
        event.hash = event_hash(event)
        previous = event.hash
        statements.append(
            f"UPDATE audit_events SET actor = :a{event.seq}, prev_hash = :p{event.seq}, "
            f"hash = :h{event.seq} WHERE seq = {event.seq}"
        )
        params.update(
            {
                f"a{event.seq}": event.actor,
                f"p{event.seq}": event.prev_hash,
                f"h{event.seq}": event.hash,
            }
        )
    as_owner(engine, "audit_events", *statements, params=params)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_chain_head SET hash = :h"), {"h": previous})


def _edit_digest_row(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    as_owner(
        engine,
        "compliance_digests",
        "UPDATE compliance_digests SET event_count = event_count + 1, "
        "last_seq = last_seq + 1 WHERE number = 1",
    )


def _delete_digest_row(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    as_owner(engine, "compliance_digests", "DELETE FROM compliance_digests WHERE number = 2")


def _edit_digest_object(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    """Replace digest 1 in S3 with an edited copy and delete the original (bypass)."""
    [first, _] = digests(world.sessions)
    body = json.loads(world.s3.get_object(Bucket=first.bucket, Key=first.object_key)["Body"].read())
    body["event_count"] += 0
    body["created_at"] = "2020-01-01T00:00:00.000000Z"
    world.s3.put_object(Bucket=first.bucket, Key=first.object_key, Body=json.dumps(body).encode())
    world.s3.delete_object(
        Bucket=first.bucket,
        Key=first.object_key,
        VersionId=first.version_id,
        BypassGovernanceRetention=True,
    )


def _overwrite_digest_object(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    [first, _] = digests(world.sessions)
    world.s3.put_object(Bucket=first.bucket, Key=first.object_key, Body=b'{"forged": true}')


def _overwrite_object(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    row = world.manifest_row(world.ids["m1"])  # type: ignore[attr-defined]
    world.s3.put_object(
        Bucket=row.bucket,
        Key=row.object_key,
        Body=b"forged recording",
        Metadata={"sha256": row.sha256 or ""},
    )


def _delete_object_version(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    row = world.manifest_row(world.ids["m1"])  # type: ignore[attr-defined]
    world.s3.delete_object(
        Bucket=row.bucket,
        Key=row.object_key,
        VersionId=row.version_id,
        BypassGovernanceRetention=True,
    )


def _hide_object(world: World, engine) -> None:  # type: ignore[no-untyped-def]
    row = world.manifest_row(world.ids["m1"])  # type: ignore[attr-defined]
    world.s3.delete_object(Bucket=row.bucket, Key=row.object_key)  # a delete marker on top


TAMPERING: dict[str, tuple[Callable, list[str]]] = {
    "edited audit row": (
        _edit_audit_row,
        ["CHAIN seq 2: content does not match its hash (row modified)"],
    ),
    "deleted audit row": (
        _delete_audit_row,
        [
            "CHAIN seq 3: missing event(s): expected seq 3, found 4",
            "DIGEST 1",
            "(events deleted or added)",
        ],
    ),
    "rewritten chain": (_rewrite_chain, ["DIGEST 1", "(chain rewritten, or this digest altered)"]),
    "edited digest row": (
        _edit_digest_row,
        ["DIGEST 1", "row content does not match its digest_hash (row edited)"],
    ),
    "deleted digest row": (
        _delete_digest_row,
        ["digest object has no row in compliance_digests (row deleted?)"],
    ),
    "edited digest object": (_edit_digest_object, ["DIGEST 1", "cannot be read"]),
    "overwritten digest object": (
        _overwrite_digest_object,
        ["DIGEST 1", "overwritten: the key serves version"],
    ),
    "overwritten object": (
        _overwrite_object,
        ["OBJECT s3://", "overwritten: the key serves version"],
    ),
    "deleted object version": (_delete_object_version, ["OBJECT s3://", "object version missing"]),
    "object hidden by a delete marker": (
        _hide_object,
        ["OBJECT s3://", "deleted: the key serves nothing"],
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_caught_and_named(
    case: str, world: World, fresh_sessions: sessionmaker[Session]
) -> None:
    world.ids = populate(world)  # type: ignore[attr-defined]
    assert verify(world).ok
    tamper, expected = TAMPERING[case]
    engine = fresh_sessions.kw["bind"]
    tamper(world, engine)
    report = verify(world)
    assert not report.ok
    text_out = "\n".join(report.lines())
    for fragment in expected:
        assert fragment in text_out, f"{case}: {fragment!r} not in\n{text_out}"
    assert text_out.splitlines()[-1].startswith("FAILED:")
    if "object" in case and "digest" not in case:
        assert "(conferenceRecords/m1-" in text_out, "the failing object is named with its artifact"


def test_sample_rehashes_only_that_many(world: World) -> None:
    populate(world)
    report = verify(world, sample=2)
    assert report.ok and (report.objects_checked, report.objects_archived) == (2, 3)


# -- the console script, as an auditor runs it -------------------------------------------


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meet_cli.main", "audit", "verify", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def cli_env(fresh_database_url: str, endpoint: str, bucket: str, home: Path) -> dict[str, str]:
    return {
        "MEET_DATABASE_URL": fresh_database_url,
        "MEET_S3_ENDPOINT_URL": endpoint,
        "MEET_S3_BUCKET": bucket,
        "MEET_S3_PREFIX": "meet",
        "MEET_OBJECT_LOCK_MODE": "GOVERNANCE",
        "MEET_RETENTION_DAYS": "30",
        "MEET_HOME": str(home),
    }


def test_cli_verifies_then_fails_naming_the_object(
    world: World, fresh_database_url: str, s3_server: EmbeddedS3, bucket: str, tmp_path: Path
) -> None:
    world.ids = populate(world)  # type: ignore[attr-defined]
    env = cli_env(fresh_database_url, s3_server.endpoint_url, bucket, tmp_path)
    clean = run_cli(["--all"], env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert (
        "audit chain OK" in clean.stdout
        and "3 of 3 re-hashed" in clean.stdout
        and "VERIFIED" in clean.stdout
    )
    assert "re-hashing archived objects [" in clean.stderr and "3/3" in clean.stderr
    sampled = run_cli(["--sample", "1"], env)
    assert sampled.returncode == 0 and "1 of 3 re-hashed" in sampled.stdout

    _delete_object_version(world, None)
    broken = run_cli(["--all"], env)
    assert broken.returncode == 1
    row = world.manifest_row(world.ids["m1"])  # type: ignore[attr-defined]
    assert f"OBJECT s3://{bucket}/{row.object_key}?versionId={row.version_id}" in broken.stdout
    assert "Traceback" not in broken.stderr


def _closed_port_url() -> str:
    from meet_sandbox.children import free_port

    return f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no endpoint, no credentials", "MEET_S3_ENDPOINT_URL"),
        ("endpoint not listening", "MEET_S3_ENDPOINT_URL"),
        ("wrong bucket", "MEET_S3_BUCKET"),
    ],
)
def test_cli_says_a_missing_s3_is_configuration_not_tampering(
    case: str, expected: str, world: World, fresh_database_url: str, s3_server: EmbeddedS3, bucket: str, tmp_path: Path
) -> None:
    """The archive is intact; only the way to S3 is wrong: exit 2, one line naming the
    setting, no "problem" that reads like tampering."""
    populate(world)
    env = cli_env(fresh_database_url, s3_server.endpoint_url, bucket, tmp_path)
    if case == "no endpoint, no credentials":
        env.pop("MEET_S3_ENDPOINT_URL")
        # Never let boto3 reach off-machine addresses (the instance metadata) or a real profile.
        env |= {"AWS_EC2_METADATA_DISABLED": "true", "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "c"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "k")}
    elif case == "endpoint not listening":
        env["MEET_S3_ENDPOINT_URL"] = _closed_port_url()
    else:
        env["MEET_S3_BUCKET"] = "no-such-bucket-here"
    # Only what this case sets reaches S3: nothing of the outer environment's.
    outer = {k: v for k, v in os.environ.items() if k != "MEET_S3_ENDPOINT_URL" and not k.startswith("AWS_ACCESS")}
    result = subprocess.run([sys.executable, "-m", "meet_cli.main", "audit", "verify", "--all"],
                            env={**outer, **env}, capture_output=True, text=True, timeout=180)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("meet-archive: configuration error:"), result.stderr
    assert expected in lines[0]
    assert "FAILED" not in result.stdout and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--sample", "0"], "expected a number >= 1"),
        (["--sample", "-3"], "expected a number >= 1"),
        (["--sample", "many"], "expected a whole number"),
        (["--sample", "2", "--all"], "not allowed with"),
        (["--sample"], "expected one argument"),
        (["--everything"], "unrecognized arguments"),
    ],
)
def test_cli_refuses_garbage(args: list[str], expected: str, tmp_path: Path) -> None:
    result = run_cli(args, {"MEET_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_digest_document_refuses_garbage() -> None:
    from meet_core.compliance.digests import DigestContent, parse_document

    good = DigestContent(
        number=1,
        first_seq=1,
        last_seq=3,
        event_count=3,
        first_prev_hash="0" * 64,
        last_hash="a" * 64,
        previous_digest_hash="0" * 64,
        created_at="2025-06-02T10:00:00.000000Z",
    )
    content, claimed = parse_document(good.document())
    assert (
        content == good
        and claimed == good.digest_hash == hashlib.sha256(good.canonical_bytes()).hexdigest()
    )
    document = json.loads(good.document())
    for broken in (
        b"",
        b"[]",
        b"not json",
        b"\xff\xfe",
        json.dumps({**document, "extra": 1}).encode(),
        json.dumps({k: v for k, v in document.items() if k != "last_hash"}).encode(),
        json.dumps({**document, "digest_hash": "xyz"}).encode(),
        json.dumps({**document, "event_count": 2}).encode(),
        json.dumps({**document, "number": 0}).encode(),
        json.dumps({**document, "number": True}).encode(),
        json.dumps({**document, "last_hash": "A" * 64}).encode(),
        json.dumps({**document, "created_at": "yesterday"}).encode(),
        json.dumps({**document, "format": "other/1"}).encode(),
    ):
        with pytest.raises(ValueError):
            parse_document(broken)
