"""The S3 look at archived objects (used by the ledger and the manifest_objects_in_s3
check): each kind of problem found and recorded, and every call path under faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from meet_core.archive import ArchiveError, s3_client
from meet_core.compliance.objects import archived_refs, look_at_all
from meet_core.db.models import (
    ArchiveManifestEntry,
    ArtifactKind,
    LedgerEntry,
    MeetingStatus,
    ObjectCheck,
)
from meet_pipeline.defs.compliance.assets import compliance_ledger
from meet_pipeline.defs.compliance.checks import manifest_objects_in_s3
from meet_sandbox.s3 import EmbeddedS3
from meet_sandbox.s3.faultproxy import FaultProxy
from tests.compliance.conftest import pipeline_resources
from tests.compliance.world import POLICY, World, at

DAY = "2025-06-02"
NOW = at("2025-06-03", "09:00")


def one_archived(world: World, name: str) -> int:
    world.meeting(name, at(DAY, "09:00"), at(DAY, "10:00"), MeetingStatus.FINISHED)
    record = world.conference(name, at(DAY, "09:00"), at(DAY, "09:55"))
    return world.artifact(name, record, ArtifactKind.RECORDING, archived_at=at(DAY, "10:10"))


def test_each_problem_is_found(world: World, fresh_sessions: sessionmaker[Session]) -> None:
    ids = {
        name: one_archived(world, name) for name in ("fine", "size", "sha", "short_lock", "gone")
    }
    with fresh_sessions.begin() as session:
        session.execute(
            update(ArchiveManifestEntry)
            .where(ArchiveManifestEntry.id == ids["size"])
            .values(size=1)
        )
        session.execute(
            update(ArchiveManifestEntry)
            .where(ArchiveManifestEntry.id == ids["sha"])
            .values(sha256="0" * 64)
        )
    short = world.manifest_row(ids["short_lock"])
    world.s3.put_object_retention(
        Bucket=world.bucket,
        Key=short.object_key,
        VersionId=short.version_id,
        BypassGovernanceRetention=True,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": datetime.now(UTC) + timedelta(days=2)},
    )
    gone = world.manifest_row(ids["gone"])
    world.s3.delete_object(
        Bucket=world.bucket,
        Key=gone.object_key,
        VersionId=gone.version_id,
        BypassGovernanceRetention=True,
    )
    with fresh_sessions() as session:
        looks = {
            look.ref.manifest_id: look
            for look in look_at_all(world.s3, archived_refs(session), POLICY)
        }
    outcomes = {name: (looks[i].outcome, looks[i].problem or "") for name, i in ids.items()}
    assert outcomes["fine"] == ("ok", "")
    assert (
        outcomes["size"][0] == "checksum_mismatch"
        and "size 2048 != recorded 1" in outcomes["size"][1]
    )
    assert outcomes["sha"][0] == "checksum_mismatch" and "sha256 metadata" in outcomes["sha"][1]
    assert (
        outcomes["short_lock"][0] == "unlocked"
        and "weaker than GOVERNANCE for 30 days" in outcomes["short_lock"][1]
    )
    assert outcomes["gone"][0] == "missing" and "is missing" in outcomes["gone"][1]


@pytest.mark.parametrize("operation", ["HeadObject"])
def test_the_ledger_survives_transient_faults(
    world: World,
    fresh_database_url: str,
    fresh_sessions: sessionmaker[Session],
    s3_server: EmbeddedS3,
    bucket: str,
    operation: str,
) -> None:
    one_archived(world, "fine")
    with FaultProxy(
        s3_server.endpoint_url,
        rate=1.0,
        kinds=("500", "503", "reset"),
        seed=2,
        operations={operation},
        max_faults=3,
    ) as proxy:
        resources = pipeline_resources(fresh_database_url, proxy.endpoint_url, bucket, NOW)
        result = dg.materialize(
            [compliance_ledger, manifest_objects_in_s3], partition_key=DAY, resources=resources
        )
        assert proxy.injected == 3
    assert result.success
    with fresh_sessions() as session:
        assert session.scalars(select(LedgerEntry.compliance_status)).all() == ["compliant"]
        assert session.scalars(select(ObjectCheck.outcome)).all() == ["ok"]


def test_s3_down_fails_the_ledger_and_the_check_without_judging(
    world: World,
    fresh_database_url: str,
    fresh_sessions: sessionmaker[Session],
    s3_server: EmbeddedS3,
    bucket: str,
) -> None:
    one_archived(world, "fine")
    with FaultProxy(
        s3_server.endpoint_url, rate=1.0, kinds=("503",), operations={"HeadObject"}
    ) as proxy:
        client = s3_client(proxy.endpoint_url, max_attempts=2)
        with fresh_sessions() as session, pytest.raises(ArchiveError, match="cannot read"):
            look_at_all(client, archived_refs(session), POLICY)
        resources = pipeline_resources(fresh_database_url, proxy.endpoint_url, bucket, NOW)
        ledger = dg.materialize(
            [compliance_ledger], partition_key=DAY, resources=resources, raise_on_error=False
        )
        assert not ledger.success
        with fresh_sessions() as session:
            assert session.scalars(select(LedgerEntry)).all() == [], "nothing judged unseen"
        # The check looks at S3 itself, even when the ledger was told not to.
        unseen = pipeline_resources(fresh_database_url, proxy.endpoint_url, bucket, NOW, inspect_objects=False)
        check = dg.materialize(
            [compliance_ledger, manifest_objects_in_s3],
            partition_key=DAY,
            resources=unseen,
            raise_on_error=False,
        )
    assert not ledger.success
    [evaluation] = check.get_asset_check_evaluations()
    assert not evaluation.passed and "cannot read" in evaluation.metadata["error"].value
