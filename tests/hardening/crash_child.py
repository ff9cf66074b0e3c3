"""The archiving process of the crash test: materializes ``archived_recordings`` for one day
from the MEET_* environment, the way the sandbox code location builds it.

    python -m tests.hardening.crash_child PARTITION

``MEET_TEST_PART_SIZE_MIB`` and ``MEET_TEST_PART_CONCURRENCY`` pick small parts so that
S3 shows the upload's progress part by part.
"""

from __future__ import annotations

import os
import sys

import dagster as dg

from meet_core.settings import Settings
from meet_pipeline.defs.archive.assets import archived_recordings
from meet_pipeline.resources import ArchiveResource
from meet_pipeline.settings import PipelineSettings
from meet_sandbox.pipeline import build_sandbox_definitions


def main(partition: str) -> int:
    definitions = build_sandbox_definitions(Settings.from_env(), PipelineSettings.from_env())
    resources = dict(definitions.resources or {})
    resources["s3"] = ArchiveResource(
        **{
            **resources["s3"].model_dump(),
            "part_size_mib": int(os.environ.get("MEET_TEST_PART_SIZE_MIB", "5")),
            "part_concurrency": int(os.environ.get("MEET_TEST_PART_CONCURRENCY", "1")),
        }
    )
    print("archiving", partition, flush=True)
    result = dg.materialize(
        [archived_recordings],
        partition_key=partition,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    print("done", result.success, flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
