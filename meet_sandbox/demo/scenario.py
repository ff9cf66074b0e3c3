"""The demo's story: ten meetings XOMA asks for through the REST API, and what the people
in them do, played on the emulator's clock (compressed time).

  normal       organizer, a colleague and an external guest; recorded, transcribed
  no_show      nobody comes                                        -> not_held
  external     only external guests and an anonymous visitor: nobody may record
                                                                   -> violation
  restarted    the recording is paused (stopped, started again 2 minutes later)
                                    -> two recordings, unrecorded_time (~120 s)
  transcript   organizer, colleague and a phone dial-in            -> transcript
  rescheduled  moved 10 minutes later before it starts, then held
  cancelled    cancelled before it starts                          -> cancelled
  outage       created while Google is failing: 202 pending, provisioned later
  standup      a short internal meeting
  review       two external reviewers wait 10 minutes for the organizer (a late host:
               nobody may record until she joins)       -> unrecorded_time (~600 s)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from meet_sandbox.emulator import SandboxClient

ORGANIZER = ("organizer@example.com", "Olga Organizer")
ANN = ("ann@example.com", "Ann Lee")
BEN = ("ben@example.com", "Ben Ortiz")
CARL = ("carl@partner.org", "Carl Partner")
DORA = ("dora@partner.org", "Dora Guest")
EVE = ("eve@auditfirm.example", "Eve Reviewer")

GUESTS: dict[str, list[tuple[str, str]]] = {
    "normal": [ANN, CARL],
    "no_show": [ANN],
    "external": [CARL, DORA],
    "restarted": [ANN],
    "transcript": [ANN],
    "rescheduled": [BEN, CARL],
    "cancelled": [ANN],
    "outage": [BEN],
    "standup": [ANN, BEN],
    "review": [CARL, EVE],
}
HELD = ["normal", "external", "restarted", "transcript", "rescheduled", "outage", "standup", "review"]


@dataclass
class Scenario:
    """Plays the story; `settle` lets the pipeline catch up (sensors and runs)."""

    api: httpx.Client
    people: SandboxClient
    settle: Callable[[], None]
    say: Callable[[str], None] = print
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def external_id(self, label: str) -> str:
        return f"demo-{self.run_id}-{label}"

    def now(self) -> datetime:
        return datetime.fromisoformat(self.people.call("GET", "clock")["now"].replace("Z", "+00:00"))

    def advance(self, minutes: float) -> None:
        self.people.advance(minutes * 60)

    # -- XOMA ---------------------------------------------------------------------------

    def create(self, label: str, start: datetime, minutes: int = 30) -> dict[str, Any]:
        body = {
            "external_id": self.external_id(label),
            "title": f"Demo: {label.replace('_', ' ')}",
            "description": "Played by meet-archive demo",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=minutes)).isoformat(),
            "timezone": "Europe/Zurich",
            "organizer_email": ORGANIZER[0],
            "participants": [{"email": e, "display_name": n} for e, n in GUESTS[label]],
        }
        answer = self.api.post("/api/v1/meetings", json=body,
                               headers={"Idempotency-Key": self.external_id(label)})
        if answer.status_code not in (201, 202):
            raise RuntimeError(f"creating {label} failed: {answer.status_code} {answer.text}")
        meeting = answer.json()
        self.meetings[label] = meeting
        self.say(f"  {label:<12} {answer.status_code} {meeting['status']:<10} {meeting.get('meet_uri') or ''}")
        return meeting

    def refresh(self, label: str) -> dict[str, Any]:
        answer = self.api.get(f"/api/v1/meetings/{self.meetings[label]['id']}")
        answer.raise_for_status()
        self.meetings[label] = answer.json()
        return self.meetings[label]

    def space(self, label: str) -> str:
        space = self.refresh(label).get("space_name")
        if not space:
            raise RuntimeError(f"{label} has no space yet (status {self.meetings[label]['status']})")
        return str(space)

    # -- the story ----------------------------------------------------------------------

    def play(self) -> None:
        p = self.people
        start = self.now() + timedelta(minutes=2)
        self.say("XOMA asks for ten meetings:")
        for label in GUESTS:
            if label != "outage":
                self.create(label, start)
        p.faults(rate=1.0, kinds=["503"])
        self.create("outage", start)
        p.clear_faults()

        moved = self.refresh("rescheduled")
        answer = self.api.patch(
            f"/api/v1/meetings/{moved['id']}",
            json={"start_time": (start + timedelta(minutes=10)).isoformat(),
                  "end_time": (start + timedelta(minutes=40)).isoformat()},
            headers={"If-Match": str(moved["version"])},
        )
        answer.raise_for_status()
        self.say("  rescheduled  moved 10 minutes later")
        self.api.delete(f"/api/v1/meetings/{self.meetings['cancelled']['id']}").raise_for_status()
        self.say("  cancelled    cancelled")

        self.advance(2)
        self.settle()  # the provisioning sensor retries the meeting made during the outage
        self.say(f"  outage       {self.refresh('outage')['status']} after the provisioning sensor's retry")
        self.say("People join:")
        s = {label: self.space(label) for label in HELD}
        org, ann, ben, carl, dora, eve = ORGANIZER, ANN, BEN, CARL, DORA, EVE
        for label, who in {
            "normal": [org, ann, carl], "external": [carl, dora], "restarted": [org, ann],
            "transcript": [org, ann], "outage": [org, ben], "standup": [org, ann, ben],
        }.items():
            for email, name in who:
                p.join(s[label], email, display_name=name)
            self.say(f"  {label:<12} {', '.join(name for _, name in who)}")
        p.join(s["external"], kind="anonymousUser", display_name="Visitor")
        self.say("  external     and an anonymous visitor: nobody there may record")
        p.join(s["transcript"], kind="phoneUser", display_name="+41 44 *** ** 12")
        self.say("  transcript   and a phone dial-in")
        self.settle()
        for email, name in (carl, eve):  # the review's host is late
            p.join(s["review"], email, display_name=name)
        self.advance(5)
        p.stop_recording(s["restarted"])
        self.advance(2)
        p.start_recording(s["restarted"], by=org[0])
        self.say("  restarted    recording stopped and started again")
        self.advance(3)
        p.join(s["rescheduled"], org[0], display_name=org[1])
        p.join(s["rescheduled"], ben[0], display_name=ben[1])
        p.join(s["rescheduled"], carl[0], display_name=carl[1])
        self.say(f"  rescheduled  {org[1]}, {ben[1]}, {carl[1]} (10 minutes later)")
        p.join(s["review"], org[0], display_name=org[1])  # recording starts only now
        self.say(f"  review       {org[1]} (the host) joins 10 minutes late; recording starts")
        self.settle()
        self.advance(15)
        self.say("People leave; Google generates the files:")
        for label in HELD:
            self._everyone_leaves(s[label])
            self.say(f"  {label:<12} call ended for everyone")
        self.advance(30)
        self.settle()
        self.advance(30)
        self.settle()

    def _everyone_leaves(self, space: str) -> None:
        """The host ends the call for everyone (as in Meet's "End call for all")."""
        self.people.end_conference(space)
