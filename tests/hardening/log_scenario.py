"""The process whose every output line the secrets test searches: the demo's story through
the API (served in this process) and the pipeline (every sensor ticked, every run executed
in this process on a Dagster instance kept on disk), then the error paths: Google faults of
every kind on every API (the token endpoint too), an outage, bad and revoked keys, webhook
deliveries that fail before they succeed.

    python -m tests.hardening.log_scenario OUT_DIR

The MEET_* environment names the emulator, S3, database and webhook receiver (the test
runs them, so that it can read the OAuth tokens the emulator issued). Logging is at DEBUG
for every logger, with no redaction installed: whatever any code logs reaches stderr. The
keys made here are written to OUT_DIR/secrets.json for the test to search for.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx


def quiet_get(url: str, key: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def main(out: Path) -> int:
    started = time.monotonic()

    def phase(name: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {name}", flush=True)

    logging.basicConfig(
        level=logging.DEBUG, stream=sys.stderr, force=True,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    import dagster as dg

    from meet_core.apikeys import create_key, revoke_key
    from meet_core.db import make_engine, make_session_factory
    from meet_core.db.migrate import upgrade
    from meet_core.settings import get_settings
    from meet_sandbox.demo.headless import InProcessPipeline, serve_api
    from meet_sandbox.demo.scenario import Scenario
    from meet_sandbox.demo.summary import summarize
    from meet_sandbox.emulator import SandboxClient

    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        service = create_key(session, name="log-xoma", role="service", client="xoma-log")
        admin = create_key(session, name="log-admin", role="admin", client="ops-log")
        auditor = create_key(session, name="log-auditor", role="auditor", client="audit-log")
        revoked = create_key(session, name="log-revoked", role="service", client="xoma-log")
    with sessions.begin() as session:
        revoke_key(session, revoked.key_id)
    wrong = service.plaintext[:-6] + "ZZZZZZ"
    (out / "secrets.json").write_text(json.dumps({
        "api_keys": [service.plaintext, admin.plaintext, auditor.plaintext, revoked.plaintext],
        "presented": [wrong],
    }))

    people = SandboxClient(settings.google_endpoint or "")
    people.settings(recording_ready_delay_seconds=60, transcript_ready_delay_seconds=90)
    pipeline = InProcessPipeline()
    (out / "dagster").mkdir(exist_ok=True)
    pipeline.instance = dg.DagsterInstance.local_temp(tempdir=str(out / "dagster"))
    with serve_api() as url, httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {service.plaintext}"}, timeout=120
    ) as api:
        scenario = Scenario(api=api, people=people, settle=pipeline.settle, say=print)
        phase("story")
        scenario.play()
        phase("settle")
        pipeline.settle()
        phase("compliance")
        print(json.dumps(summarize(sessions, scenario, pipeline, settings)), flush=True)
        phase("faults")

        # Error paths, with every Google fault kind on every API.
        people.faults(kinds=["429", "500", "503", "403_rate", "reset", "slow", "truncate"],
                      mode="random", rate=0.3, seed=11, retry_after=0, slow_seconds=0.2,
                      apis=["calendar", "meet", "drive", "token"])
        people.faults(kinds=["truncate", "500"], apis=["token"], count=2)
        start = scenario.now()
        for label in ("normal", "standup", "review"):
            scenario.run_id = scenario.run_id + "x"
            scenario.create(label, start.replace(microsecond=0))
        people.clear_faults()
        people.faults(kinds=["503"], apis=["calendar", "meet"])  # an outage
        meeting = scenario.meetings["normal"]
        api.patch(f"/api/v1/meetings/{meeting['id']}", json={"title": "moved"},
                  headers={"If-Match": f'"{scenario.refresh("normal")["version"]}"'})
        api.delete(f"/api/v1/meetings/{scenario.meetings['standup']['id']}")
        people.clear_faults()
        phase("settle after faults")
        pipeline.settle()
        phase("bad keys")
        # A careless client (its own requests are not logged here: urllib logs nothing).
        for key in (wrong, revoked.plaintext, "garbage", service.plaintext + "x"):
            quiet_get(f"{url}/api/v1/meetings", key)
        quiet_get(f"{url}/api/v1/meetings?api_key={service.plaintext}")
        quiet_get(f"{url}/metrics", admin.plaintext)
        quiet_get(f"{url}/api/v1/meetings/{meeting['id']}/audit", auditor.plaintext)
        quiet_get(f"{url}/api/v1/meetings/{meeting['id']}/recordings?presign=true", auditor.plaintext)
    engine.dispose()
    print("log scenario done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
