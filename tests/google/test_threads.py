"""One gateway shared by many threads, under faults: right answers, every attempt counted."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

from meet_core.google import EventChanges, GoogleGateway
from meet_core.settings import Settings
from meet_sandbox.emulator import SandboxClient
from tests.google.conftest import FAST_RETRY, api_requests, draft, held_meeting


def test_shared_gateway_from_many_threads(settings: Settings, sandbox: SandboxClient) -> None:
    gateway = GoogleGateway(settings, retry_policy=FAST_RETRY)
    space = gateway.create_space()
    record = held_meeting(sandbox, space.name, guests=2, size=300_000)
    [recording] = gateway.list_recordings(record)
    expected_sha = gateway.get_file(recording.drive_file_id or "").sha256
    sandbox.faults(
        apis=["calendar", "meet", "drive"],
        rate=0.3,
        seed=5,
        retry_after=0,
        slow_seconds=0.02,
        kinds=["429", "500", "503", "403_rate", "reset", "slow", "truncate"],
    )
    sandbox.call("DELETE", "requests")
    gateway.calls.reset()

    def worker(number: int) -> tuple[str, str, int, str]:
        # Each thread also acts for its own organizer: its own subject, token and connection.
        subject = "organizer@example.com" if number % 2 else f"organizer{number}@example.com"
        event = gateway.insert_event(draft(summary=f"Meeting {number}"), subject=subject)
        ready = gateway.wait_for_conference(event.id, subject=subject)
        patched = gateway.patch_event(
            event.id, EventChanges(description=f"d{number}"), subject=subject
        )
        digest = hashlib.sha256(
            b"".join(gateway.iter_file(recording.drive_file_id or "", chunk_size=32 * 1024))
        )
        participants = gateway.list_participants(record)
        return (
            gateway.get_event(ready.id, subject=subject).summary or "",
            patched.description or "",
            len(participants),
            digest.hexdigest(),
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(24)))

    assert results == [(f"Meeting {n}", f"d{n}", 3, expected_sha) for n in range(24)]
    seen = api_requests(sandbox)
    assert sum(1 for r in seen if r["fault"]) >= 50
    assert gateway.calls.total == len(seen)
