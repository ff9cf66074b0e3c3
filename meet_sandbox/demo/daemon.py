"""The interactive demo's pipeline: the Dagster webserver and daemon it started, driven over
the webserver's GraphQL endpoint (as the UI's "Materialize" button does).

It offers what :func:`meet_sandbox.demo.summary.summarize` needs of a pipeline, as the
headless demo's in-process one does: ``run_job`` (what a schedule would launch) and ``runs``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from meet_core.db.models import ArchiveManifestEntry, ManifestState, Meeting, MeetingStatus

LOCATION = "meet-archive"  # meet_sandbox/workspace.yaml
REPOSITORY = "__repository__"  # the name Dagster gives a code location's Definitions
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
UNSETTLED = (MeetingStatus.PENDING, MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS)


def graphql(ui_url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """One query to the webserver; GraphQL errors raise."""
    answer = httpx.post(f"{ui_url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
    answer.raise_for_status()
    body = answer.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL: {body['errors']}")
    data: dict[str, Any] = body["data"]
    return data


LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on Error { message }
  }
}"""
FAILURE = """
query Failure($id: ID!) {
  logsForRun(runId: $id) { ... on EventConnection { events { __typename ... on MessageEvent { message } } } }
}"""
RETRY = """
query Retry($parent: String!) {
  runsOrError(filter: {tags: [{key: "dagster/parent_run_id", value: $parent}]}) { ... on Runs { results { runId } } }
}"""
RETRIES = 3  # dagster.yaml's run_retries (2), and one more
STATUS = "query Status($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"
LATEST_METADATA = """
query Latest($key: AssetKeyInput!, $partition: String!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      assetMaterializations(partitions: [$partition], limit: 1) {
        metadataEntries { label ... on UrlMetadataEntry { url } }
      }
    }
  }
}"""


class DaemonPipeline:
    """Runs jobs through the webserver (the daemon launches them) and waits for them."""

    def __init__(self, ui_url: str, *, say: Callable[[str], None] = print, poll_seconds: float = 2.0,
                 timeout: float = 900) -> None:
        self.ui_url, self.say, self.poll_seconds, self.timeout = ui_url, say, poll_seconds, timeout
        self.runs = {"succeeded": 0, "failed": 0}

    def run_job(self, name: str, partition: str | None = None) -> bool:
        """One run of ``name``; a run that failed is said why and launched once more (the
        compliance jobs are idempotent; on a loaded machine a run worker can fail to start)."""
        run_id, status = self._run_once(name, partition)
        for _retry in range(RETRIES):
            if status == "SUCCESS":
                break
            self.say(f"  {name} {partition or ''}: run {run_id} ended {status}: {self.failure(run_id)}")
            # The daemon retries a run that failed outside its steps (dagster.yaml run_retries);
            # follow its retry, else launch one.
            retry = self._retry_of(run_id)
            run_id, status = (retry, self._wait_for(retry, name)) if retry else self._run_once(name, partition)
        self.runs["succeeded" if status == "SUCCESS" else "failed"] += 1
        return bool(status == "SUCCESS")

    def failure(self, run_id: str) -> str:
        """The first failure message of a run, in one line."""
        found = graphql(self.ui_url, FAILURE, {"id": run_id})["logsForRun"]
        messages = [e["message"] for e in found.get("events", []) if e.get("message")
                    and e["__typename"] in ("RunFailureEvent", "ExecutionStepFailureEvent", "EngineEvent")]
        return (messages[0] if messages else "no message").splitlines()[0][:300]

    def _run_once(self, name: str, partition: str | None) -> tuple[str, str]:
        tags = [{"key": "dagster/partition", "value": partition}] if partition else []
        params = {
            "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": name},
            "runConfigData": {},
            "executionMetadata": {"tags": tags},
        }
        launched = graphql(self.ui_url, LAUNCH, {"params": params})["launchRun"]
        if launched["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launching {name} {partition or ''}: {launched.get('message', launched)}")
        run_id = str(launched["run"]["runId"])
        return run_id, self._wait_for(run_id, name)

    def _wait_for(self, run_id: str, name: str) -> str:
        status = self._wait(lambda: graphql(self.ui_url, STATUS, {"id": run_id})["runOrError"].get("status"),
                            lambda status: status in DONE, f"run {run_id} of {name}")
        return str(status)

    def _retry_of(self, run_id: str, patience: float = 60) -> str | None:
        """The daemon's retry of a failed run, if it makes one within ``patience`` seconds."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            found = graphql(self.ui_url, RETRY, {"parent": run_id})["runsOrError"].get("results", [])
            if found:
                return str(found[0]["runId"])
            time.sleep(self.poll_seconds)
        return None

    def settle(self, sessions: sessionmaker[Session], meeting_ids: list[str], interval: float) -> bool:
        """Until the sensors have nothing left to do for these meetings: none is still pending
        or under way and every artifact found is archived, for two looks an ``interval``
        apart. Runs still queued then have nothing left to do (the compliance runs do not
        wait for them: their steps are in no pool). False if the timeout came first."""
        deadline, quiet = time.monotonic() + self.timeout, 0
        while time.monotonic() < deadline:
            quiet = quiet + 1 if not _work_left(sessions, meeting_ids) else 0
            if quiet == 2:
                return True
            time.sleep(interval)
        return False

    def report_url(self, day: str) -> str | None:
        """The presigned link of the day's HTML report (valid while the demo's S3 runs)."""
        node = graphql(self.ui_url, LATEST_METADATA, {"key": {"path": ["compliance_report"]}, "partition": day})
        for event in (node.get("assetNodeOrError") or {}).get("assetMaterializations", []):
            for entry in event["metadataEntries"]:
                if entry["label"] == "report" and entry.get("url"):
                    return str(entry["url"])
        return None

    def _wait(self, look: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = look()
            if done(value):
                return value
            time.sleep(self.poll_seconds)
        raise RuntimeError(f"{what} did not end within {self.timeout:.0f} s")


def _work_left(sessions: sessionmaker[Session], meeting_ids: list[str]) -> bool:
    with sessions() as session:
        unsettled = session.scalar(
            select(func.count()).where(Meeting.id.in_(meeting_ids), Meeting.status.in_(UNSETTLED))
        )
        unarchived = session.scalar(
            select(func.count()).where(ArchiveManifestEntry.meeting_id.in_(meeting_ids),
                                       ArchiveManifestEntry.state != ManifestState.ARCHIVED)
        )
    return bool(unsettled or unarchived)
