"""Long matter exports as a Dagster run: launched from the UI (Launchpad) with the matter and
the output folder; every object streamed appears in the run's log as it is written."""


from pathlib import Path

import dagster as dg
from pydantic import Field

from meet_core.matters.export import export_matter, signing_key
from meet_core.settings import get_settings
from meet_pipeline.policy import RETRY_POLICY
from meet_pipeline.resources import ArchiveResource, DatabaseResource

MATTER_EXPORT_JOB = "matter_export_job"


class MatterExportConfig(dg.Config):
    matter: str = Field(description="the matter's name or number")
    out: str = Field(description="a new or empty folder on the code server's host")
    requested_by: str = Field(default="dagster", description="who asked for it (audited)")


@dg.op(description="Write the matter's signed export bundle (meet_core.matters.export).")
def export_matter_bundle(
    context: dg.OpExecutionContext,
    config: MatterExportConfig,
    database: DatabaseResource,
    s3: ArchiveResource,
) -> dg.Output[str]:
    result = export_matter(
        database.sessions(),
        s3.get_client(),
        config.matter,
        Path(config.out),
        key=signing_key(get_settings()),
        actor=f"dagster:{config.requested_by}",
        progress=context.log.info,
    )
    return dg.Output(
        str(result.path),
        metadata={
            "bundle": dg.MetadataValue.path(str(result.path)),
            "meetings": result.meetings,
            "objects": result.objects,
            "files": result.files,
            "bytes": result.bytes,
            "manifest_sha256": result.manifest_sha256,
            "public_key_ed25519": result.public_key_hex,
            "verify": dg.MetadataValue.text(f"meet-archive export verify {result.path}"),
        },
    )


@dg.job(
    name=MATTER_EXPORT_JOB,
    description="Export one legal matter as a signed bundle (docs/compliance.md).",
    op_retry_policy=RETRY_POLICY,  # a failed try leaves no bundle behind; the retry starts clean
)
def matter_export_job() -> None:
    export_matter_bundle()
