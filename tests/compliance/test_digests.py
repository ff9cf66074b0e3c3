"""The hourly digest asset: segments chained digest to digest, written under Object Lock
and read back, adoption of a digest an interrupted run left behind, refusal to enshrine a
tampered chain, and every S3 call path of writing and verifying under injected faults."""

from __future__ import annotations

import random

import dagster as dg
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive import ArchiveWriter, s3_client
from meet_core.archive.errors import S3Unavailable
from meet_core.audit import append_event
from meet_core.compliance.digests import DigestError, digest_key, next_digest, write_digests
from meet_core.compliance.verify import VerificationReport, verify_everything
from meet_core.db.models import AuditDigest
from meet_core.db.types import utcnow
from meet_pipeline.defs.compliance.assets import audit_digest
from meet_pipeline.defs.compliance.checks import audit_chain_verifies
from meet_sandbox.s3 import EmbeddedS3
from meet_sandbox.s3.faultproxy import FaultProxy
from tests.compliance.conftest import pipeline_resources
from tests.compliance.tamper import as_owner
from tests.compliance.world import POLICY, World


def append(sessions: sessionmaker[Session], count: int) -> None:
    with sessions.begin() as session:
        for i in range(count):
            append_event(
                session,
                actor="test",
                action="thing.happened",
                entity_type="thing",
                entity_id=str(i),
                payload={"i": i},
            )


def rows(sessions: sessionmaker[Session]) -> list[AuditDigest]:
    with sessions() as session:
        return list(session.scalars(select(AuditDigest).order_by(AuditDigest.number)))


def test_asset_writes_chained_digests_and_nothing_when_idle(
    world: World,
    fresh_database_url: str,
    s3_server: EmbeddedS3,
    bucket: str,
) -> None:
    resources = pipeline_resources(fresh_database_url, s3_server.endpoint_url, bucket, utcnow())
    append(world.sessions, 4)
    first = dg.materialize([audit_digest, audit_chain_verifies], resources=resources)
    [event] = first.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert (
        metadata["digest_number"].value,
        metadata["first_seq"].value,
        metadata["last_seq"].value,
        metadata["event_count"].value,
    ) == (1, 1, 4, 4)
    assert [e.passed for e in first.get_asset_check_evaluations()] == [True]

    idle = dg.materialize([audit_digest], resources=resources)
    assert (
        idle.get_asset_materialization_events()[0].materialization.metadata["digests_written"].value
        == 0
    )

    append(world.sessions, 3)
    dg.materialize([audit_digest], resources=resources)
    one, two = rows(world.sessions)
    assert (two.number, two.first_seq, two.last_seq, two.event_count) == (2, 5, 7, 3)
    assert two.previous_digest_hash == one.digest_hash and two.first_prev_hash == one.last_hash
    head = world.s3.head_object(Bucket=bucket, Key=two.object_key, VersionId=two.version_id)
    assert (
        head["ObjectLockMode"] == "GOVERNANCE"
        and head["ObjectLockRetainUntilDate"] == two.retain_until
    )
    assert two.object_key == digest_key("meet", 2) == "meet/audit-digests/000000000002.json"


def test_digest_rows_are_append_only(world: World) -> None:
    from sqlalchemy.exc import DBAPIError

    append(world.sessions, 2)
    write_digests(world.sessions, world.writer, prefix="meet", now=utcnow())
    engine = world.sessions.kw["bind"]
    for statement in (
        "UPDATE compliance_digests SET event_count = 9",
        "DELETE FROM compliance_digests",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            from sqlalchemy import text

            conn.execute(text(statement))


def test_a_digest_left_by_an_interrupted_run_is_adopted(world: World) -> None:
    append(world.sessions, 3)
    with world.sessions() as session:
        content = next_digest(session, utcnow())
    assert content is not None
    document = content.document()
    import hashlib

    # The earlier run put the object and died before recording its row.
    world.writer.archive_stream(
        digest_key("meet", 1),
        [document],
        expected_size=len(document),
        expected_sha256=hashlib.sha256(document).hexdigest(),
        content_type="application/json",
        metadata={},
    )
    append(world.sessions, 2)
    written = write_digests(world.sessions, world.writer, prefix="meet", now=utcnow())
    assert [(w.content.number, w.adopted) for w in written] == [(1, True), (2, False)]
    assert [(r.first_seq, r.last_seq) for r in rows(world.sessions)] == [(1, 3), (4, 5)]
    with world.sessions() as session:
        assert verify_everything(
            session,
            lambda: world.s3,
            POLICY,
            bucket=world.bucket,
            prefix="meet",
            sample=None,
            progress=False,
        ).ok


def test_a_foreign_object_at_the_digest_key_is_refused(world: World) -> None:
    append(world.sessions, 2)
    world.writer.archive_stream(
        digest_key("meet", 1),
        [b'{"not": "a digest"}'],
        expected_size=19,
        expected_sha256=None,
        content_type="application/json",
        metadata={},
    )
    with pytest.raises(DigestError, match="cannot be adopted"):
        write_digests(world.sessions, world.writer, prefix="meet", now=utcnow())
    assert rows(world.sessions) == []


def test_a_tampered_chain_is_never_digested(world: World) -> None:
    append(world.sessions, 3)
    as_owner(
        world.sessions.kw["bind"],
        "audit_events",
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
    )
    with pytest.raises(DigestError, match="does not verify at seq 2"):
        write_digests(world.sessions, world.writer, prefix="meet", now=utcnow())
    assert rows(world.sessions) == []


@pytest.mark.parametrize(
    "operation", ["PutObject", "HeadObject", "GetObjectLegalHold", "GetObjectLockConfiguration"]
)
def test_writing_survives_transient_s3_faults(
    world: World, s3_server: EmbeddedS3, operation: str
) -> None:
    append(world.sessions, 3)
    with FaultProxy(
        s3_server.endpoint_url,
        rate=1.0,
        kinds=("500", "503", "reset"),
        seed=3,
        operations={operation},
        max_faults=2,
    ) as proxy:
        client = s3_client(proxy.endpoint_url)
        writer = ArchiveWriter(client, world.bucket, POLICY)
        written = write_digests(world.sessions, writer, prefix="meet", now=utcnow())
        assert proxy.injected == 2
    assert [w.content.number for w in written] == [1]
    [row] = rows(world.sessions)
    assert world.s3.head_object(Bucket=world.bucket, Key=row.object_key, VersionId=row.version_id)[
        "ObjectLockMode"
    ]


def test_s3_down_writes_no_row(world: World, s3_server: EmbeddedS3) -> None:
    append(world.sessions, 3)
    writer = world.writer  # built while S3 answers (it reads the bucket's lock configuration)
    with FaultProxy(
        s3_server.endpoint_url, rate=1.0, kinds=("503",), operations={"PutObject"}
    ) as proxy:
        writer.client = s3_client(proxy.endpoint_url, max_attempts=2)
        with pytest.raises(DigestError, match="writing digest 1 to S3 failed"):
            write_digests(world.sessions, writer, prefix="meet", now=utcnow())
    assert rows(world.sessions) == []


@pytest.mark.parametrize(
    "operation",
    [
        "GetObject",
        "HeadObject",
        "ListObjectVersions",
        "GetObjectLegalHold",
        "GetObjectLockConfiguration",
    ],
)
def test_verifying_survives_transient_s3_faults(
    world: World, s3_server: EmbeddedS3, operation: str
) -> None:
    from tests.compliance.test_audit_verify import populate

    populate(world)
    with FaultProxy(
        s3_server.endpoint_url,
        rate=1.0,
        kinds=("500", "503", "reset"),
        seed=5,
        operations={operation},
        max_faults=3,
    ) as proxy:
        client = s3_client(proxy.endpoint_url)
        with world.sessions() as session:
            report = verify_everything(
                session,
                lambda: client,
                POLICY,
                bucket=world.bucket,
                prefix="meet",
                sample=None,
                progress=False,
                rng=random.Random(1),
            )
        assert proxy.injected == 3
    assert report.ok, report.lines()


def _verify_through(world: World, proxy: FaultProxy) -> VerificationReport:
    client = s3_client(proxy.endpoint_url, max_attempts=2)
    with world.sessions() as session:
        return verify_everything(
            session, lambda: client, POLICY, bucket=world.bucket, prefix="meet", sample=None, progress=False
        )


def test_verifying_with_s3_down_says_nothing_was_verified(world: World, s3_server: EmbeddedS3) -> None:
    """An S3 that answers only 503 is not a finding about the archive: verification stops
    with S3Unavailable (exit 2 in the CLI) instead of listing every object as a problem."""
    from tests.compliance.test_audit_verify import populate

    populate(world)
    with FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("503",)) as proxy, \
            pytest.raises(S3Unavailable, match="503.*nothing was verified"):
        _verify_through(world, proxy)


def test_verifying_with_reads_failing_names_what_could_not_be_read(world: World, s3_server: EmbeddedS3) -> None:
    """S3 answers, but reading the digests and objects fails: each is named as unreadable."""
    from tests.compliance.test_audit_verify import populate

    populate(world)
    with FaultProxy(s3_server.endpoint_url, rate=1.0, kinds=("503",), operations={"GetObject", "HeadObject"}) as proxy:
        report = _verify_through(world, proxy)
    assert not report.ok
    described = "\n".join(report.lines())
    assert "DIGEST 1" in described and "cannot be read" in described and "OBJECT s3://" in described


def test_adoption_survives_a_transient_read_fault(world: World, s3_server: EmbeddedS3) -> None:
    import hashlib

    append(world.sessions, 2)
    with world.sessions() as session:
        content = next_digest(session, utcnow())
    assert content is not None
    document = content.document()
    world.writer.archive_stream(
        digest_key("meet", 1),
        [document],
        expected_size=len(document),
        expected_sha256=hashlib.sha256(document).hexdigest(),
        content_type="application/json",
        metadata={},
    )
    writer = world.writer
    with FaultProxy(
        s3_server.endpoint_url,
        rate=1.0,
        kinds=("500", "reset"),
        seed=4,
        operations={"GetObject"},
        max_faults=2,
    ) as proxy:
        writer.client = s3_client(proxy.endpoint_url)
        written = write_digests(world.sessions, writer, prefix="meet", now=utcnow())
        assert proxy.injected == 2
    assert [(w.content.number, w.adopted) for w in written] == [(1, True)]
