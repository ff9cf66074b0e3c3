"""Attendance by identity, through the conference sensor against the emulator, on both
engines: Meet's ``users/{id}`` resolved through People / Directory (cached per person),
invitees matched by email, the display name only for people nobody could resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from meet_api.domain.auth.principal import Principal
from meet_api.domain.meetings.queries import get_participants
from meet_core.compliance.facts import facts_for_meetings
from meet_core.compliance.ledger import materialize_ledger
from meet_core.compliance.lookup import ledger_day
from meet_core.compliance.report import gather, render_html
from meet_core.compliance.service_levels import ServiceLevels
from meet_core.db.models import ConferenceParticipant, GoogleIdentity, LedgerEntry, Meeting, Role
from meet_core.harvest.identity import IdentityResolver
from meet_sandbox.pipeline_harness import ORGANIZER, PipelineHarness

ANN = ("ann@example.com", "Ann Lee")
ANN_LEE = "ann.lee@example.com"
CARL = ("carl@partner.org", "Carl Partner")  # external, email shown (a contact)
DORA = ("dora@partner.org", "Dora Guest")  # external, email not shown
AUDITOR = Principal(key_id="k", key_name="auditor", role=Role.AUDITOR, client_id="", client_name="")


@dataclass
class _State:
    """What get_participants needs of the API's AppState: sessions."""

    sessions: Any


def _participants(h: PipelineHarness, meeting_id: str) -> dict[str, Any]:
    body = get_participants(_State(h.sessions), AUDITOR, meeting_id)  # type: ignore[arg-type]
    return msgspec.to_builtins(body)


def _hold(
    h: PipelineHarness,
    external_id: str,
    guests: list[tuple[str, str]],
    joiners: list[dict[str, Any]],
    minutes: int = 30,
) -> str:
    t0 = h.now()
    meeting_id = h.add_meeting(
        external_id, start=t0 - timedelta(minutes=1), end=t0 + timedelta(minutes=45), guests=guests
    )
    h.tick("provisioning_sensor")
    space = h.space(meeting_id)
    h.people.join(space, ORGANIZER, display_name="Olga Organizer")
    for joiner in joiners:
        h.people.join(space, **joiner)
    h.advance(minutes)
    for joiner in joiners:
        if joiner.get("email"):
            h.people.leave(space, joiner["email"])
        else:
            h.people.leave(space, display_name=joiner["display_name"])
    h.people.leave(space, ORGANIZER)
    h.advance(int(h.pipeline.window.rejoin_gap.total_seconds() // 60) + 1)
    h.tick("conference_sensor")
    return meeting_id


def test_a_namesake_is_not_the_invitee_and_the_organizer_is_recognised(
    harness: PipelineHarness,
) -> None:
    h = harness
    meeting_id = _hold(
        h, "ID-ANN", [ANN], [{"email": ANN_LEE, "display_name": "Ann Lee"}]
    )
    body = _participants(h, meeting_id)
    by_email = {p["email"]: p for p in body["items"]}
    ann = by_email["ann@example.com"]
    # Ann was invited and did not come: her namesake's 1,800 s are not hers.
    assert ann["attended"] is False and ann["attended_seconds"] == 0
    assert ann["matched_by"] is None
    [uninvited] = body["uninvited_attendees"]
    assert uninvited["email"] == ANN_LEE
    assert uninvited["kind"] == "internal" and uninvited["matched_by"] is None
    assert uninvited["attended_seconds"] >= 1790
    # The organizer: internal, recognised by email, never uninvited.
    organizer = body["organizer"]
    assert organizer["email"] == ORGANIZER and organizer["kind"] == "internal"
    assert organizer["matched_by"] == "email"
    assert by_email[ORGANIZER]["attended"] is True
    assert by_email[ORGANIZER]["kind"] == "internal"
    assert by_email[ORGANIZER]["matched_by"] == "email"
    # The ledger counts one uninvited attendee and the report lists them by email.
    day = h.meeting(meeting_id).start_time.strftime("%Y-%m-%d")
    with h.sessions() as session:
        materialize_ledger(session, day, now=h.now(), levels=ServiceLevels(), actor="test")
    with h.sessions() as session:
        entry = session.get(LedgerEntry, meeting_id)
        assert entry is not None and entry.uninvited_count == 1
        data = gather(session, day, h.now())
        [row] = [r for r in ledger_day(session, day) if r["meeting_id"] == meeting_id]
    assert row["uninvited_attendees"] == 1
    assert [(e, [p["email"] for p in people]) for e, _, people in data.uninvited] == [
        ("ID-ANN", [ANN_LEE])
    ]
    page = render_html(data).decode()
    assert "Uninvited attendees of the day" in page and ANN_LEE in page


def test_the_display_name_is_only_a_fallback_for_people_nobody_could_resolve(
    harness: PipelineHarness,
) -> None:
    h = harness
    h.people.settings(external_visible_emails=[CARL[0]])
    meeting_id = _hold(
        h,
        "ID-KINDS",
        [CARL, DORA, ("phone.guest@partner.org", "Front Desk")],
        [
            {"email": CARL[0], "display_name": CARL[1]},
            {"email": DORA[0], "display_name": DORA[1]},  # Google shows no email for Dora
            {"kind": "phoneUser", "display_name": "Front Desk"},
            {"kind": "anonymousUser", "display_name": "Someone Else"},
        ],
    )
    body = _participants(h, meeting_id)
    by_email = {p["email"]: p for p in body["items"]}
    assert (by_email[CARL[0]]["kind"], by_email[CARL[0]]["matched_by"]) == ("external", "email")
    assert (by_email[DORA[0]]["kind"], by_email[DORA[0]]["matched_by"]) == (
        "external",
        "display_name",
    )
    front_desk = by_email["phone.guest@partner.org"]
    assert (front_desk["kind"], front_desk["matched_by"]) == ("phone", "display_name")
    [anonymous] = body["uninvited_attendees"]
    assert anonymous == {**anonymous, "kind": "anonymous", "email": None, "matched_by": None}


def test_each_person_is_looked_up_once_across_meetings(harness: PipelineHarness) -> None:
    h = harness
    gateway = h.gateway
    before = gateway.calls.snapshot()
    first = _hold(h, "ID-ONE", [ANN], [{"email": ANN_LEE, "display_name": "Ann Lee"}])
    middle = gateway.calls.snapshot()
    second = _hold(h, "ID-TWO", [ANN], [{"email": ANN_LEE, "display_name": "Ann Lee"}])
    after = gateway.calls.snapshot()

    def people_calls(a: dict[str, int], b: dict[str, int]) -> int:
        return sum(b.get(m, 0) - a.get(m, 0) for m in ("people.people.get", "directory.users.get"))

    # Two new people (organizer, ann.lee), one people.get each; none for the second meeting.
    assert people_calls(before, middle) == 2
    assert people_calls(middle, after) == 0
    with h.sessions() as session:
        cached = {r.email: r.source for r in session.scalars(select(GoogleIdentity))}
        rows = session.scalars(
            select(ConferenceParticipant).where(ConferenceParticipant.meeting_id.in_([first, second]))
        ).all()
    assert cached == {ORGANIZER: "people", ANN_LEE: "people"}
    assert {r.email for r in rows} == {ORGANIZER, ANN_LEE}


def test_an_organizer_who_is_no_invitee_is_neither_invited_nor_uninvited(
    harness: PipelineHarness,
) -> None:
    h = harness
    t0 = h.now()
    meeting_id = h.add_meeting(
        "ID-ORG", start=t0 - timedelta(minutes=1), end=t0 + timedelta(minutes=45), guests=[ANN]
    )
    with h.sessions.begin() as session:  # as the API stores it: the organizer is not a guest
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        meeting.participants = [p for p in meeting.participants if p.email != ORGANIZER]
    h.tick("provisioning_sensor")
    space = h.space(meeting_id)
    h.people.join(space, ORGANIZER, display_name="Olga Organizer")
    h.advance(20)
    h.people.leave(space, ORGANIZER)
    h.advance(int(h.pipeline.window.rejoin_gap.total_seconds() // 60) + 1)
    h.tick("conference_sensor")
    body = _participants(h, meeting_id)
    assert body["uninvited_attendees"] == []
    assert body["organizer"]["email"] == ORGANIZER
    assert body["organizer"]["kind"] == "internal"
    assert body["organizer"]["attended_seconds"] >= 1190
    with h.sessions() as session:
        [facts] = facts_for_meetings(session, [meeting_id])
    assert facts.uninvited_count == 0


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_identity_lookups_survive_transient_faults(harness: PipelineHarness, kind: str) -> None:
    h = harness
    h.people.faults(kinds=[kind], count=2, apis=["people", "directory"], retry_after=0)
    meeting_id = _hold(h, "ID-FAULT", [ANN], [{"email": ANN_LEE, "display_name": "Ann Lee"}])
    [uninvited] = _participants(h, meeting_id)["uninvited_attendees"]
    assert uninvited["email"] == ANN_LEE


def test_a_people_api_outage_leaves_the_meeting_for_the_next_tick(
    harness: PipelineHarness,
) -> None:
    h = harness
    h.people.faults(kinds=["500"], apis=["people"], retry_after=0)  # every people.get fails
    meeting_id = _hold(h, "ID-DOWN", [ANN], [{"email": ANN_LEE, "display_name": "Ann Lee"}])
    assert h.cursor("conference_sensor")["errors"] == 1
    with h.sessions() as session:  # nothing half-written: no guess, no cache entry
        assert session.scalars(select(GoogleIdentity)).all() == []
        assert (
            session.scalars(
                select(ConferenceParticipant).where(ConferenceParticipant.meeting_id == meeting_id)
            ).all()
            == []
        )
    h.people.clear_faults()
    h.tick("conference_sensor")
    [uninvited] = _participants(h, meeting_id)["uninvited_attendees"]
    assert uninvited["email"] == ANN_LEE


def test_the_cache_re_resolves_unresolved_people_after_a_day_and_others_after_30_days(
    harness: PipelineHarness,
) -> None:
    h = harness
    space = h.gateway.create_space(subject=ORGANIZER).name
    h.people.join(space, ANN_LEE, display_name="Ann Lee")
    h.people.join(space, DORA[0], display_name=DORA[1])
    users = h.people.call("GET", "users")["users"]
    ann_lee, dora = users[ANN_LEE], users[DORA[0]]
    gateway, moment = h.gateway, h.now()
    resolver = IdentityResolver(h.sessions, gateway, now=lambda: moment)

    def calls() -> int:
        counts = gateway.calls.snapshot()
        return counts.get("people.people.get", 0) + counts.get("directory.users.get", 0)

    start = calls()
    found = resolver.resolve([ann_lee, dora, "users/not-a-number"], subject=ORGANIZER)
    assert {u: (i.email, i.source) for u, i in found.items()} == {
        ann_lee: (ANN_LEE, "people"),
        dora: (None, "none"),  # People shows no email, Directory: no user of the domain
    }
    assert calls() - start == 3  # ann.lee: people.get; Dora: people.get + users.get
    # Dora (unresolved) is asked again once a day at most; ann.lee only after 30 days.
    for hours, asked in ((23, 0), (25, 2), (26, 0), (24 * 29, 2), (24 * 29 + 1, 0), (24 * 31, 3)):
        moment = h.now() + timedelta(hours=hours)
        before = calls()
        resolver.resolve([ann_lee, dora], subject=ORGANIZER)
        assert calls() - before == asked, hours
