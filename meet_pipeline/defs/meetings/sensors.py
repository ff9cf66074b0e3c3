"""Sensors that keep meetings in step with Google.

* ``provisioning_sensor``: retries ``pending`` meetings through the API's provisioning.
* ``conference_sensor``: in events mode (``MEET_INGESTION=events``) only the backstop's
  one look per meeting after its end plus the artifact wait (see ``backstop_tick``); in
  polling mode, for meetings around their window only, reads conference records,
  participants, recordings and transcripts, moves meeting states and records attendance.
  A tick looks at no more than ``meetings_per_tick`` meetings and stops early when its
  time budget is spent; a small JSON cursor remembers where the round robin is, and when
  the finished meetings polled less often were last looked at.

Why these two call Google inside the tick instead of launching runs (as ``archive_sensor``
does for the long Drive → S3 transfers): their work is a few short calls per meeting, and
its result must be seen within a minute (XOMA reads ``scheduled``/``in_progress``/
``finished`` from the API; provisioning retries back a 202). A run costs a process start
and the code location's imports (seconds to tens of seconds), queues behind archive runs
under the instance's run limit, and would add a run per minute to the run history. So the
tick does the work, bounded: at most ``meetings_per_tick`` meetings and
``TICK_BUDGET_SECONDS`` of wall time, leaving a margin under Dagster's 60 s tick timeout;
what is left waits for the next tick (the cursor's round robin). The daily ``harvest_day``
run is the sweep for anything a tick missed.

What a tick changed is still shown as Dagster's: ``conference_sensor`` returns an
``AssetMaterialization`` of ``conference_records`` and of ``attendance`` for each day
(partition) whose data the tick changed, with the tick's counts as metadata. The daemon
records them as runless materializations, so the lineage shows the day materialized
without a run per tick (docs/pipeline.md, "Sensors and the lineage").
"""

import json
import time
from datetime import UTC, datetime, timedelta

import dagster as dg

from meet_core.days import day_of
from meet_core.db.models import Meeting
from meet_core.events.backstop import due_meetings, look, settle_statuses
from meet_core.events.health import without_active_subscription
from meet_core.google import GoogleError
from meet_core.harvest.apply import HarvestOutcome, apply_snapshot, complete_record_names
from meet_core.harvest.attendance import AttendanceSummary, update_attendance
from meet_core.harvest.identity import IdentityResolver
from meet_core.harvest.snapshot import MeetingTarget, fetch_snapshot
from meet_core.harvest.watchlist import next_batch, resting, watch_list
from meet_core.provisioning import ProvisionResult, retry_pending
from meet_pipeline.defs.events.resources import EventsResource
from meet_pipeline.defs.meetings.lineage import materializations
from meet_pipeline.policy import SENSOR_INTERVAL_SECONDS
from meet_pipeline.resources import ClockResource, DatabaseResource, GoogleResource, PolicyResource

PROVISIONING_BATCH = 50
TICK_BUDGET_SECONDS = 40.0  # Dagster gives a sensor tick 60 s; the rest is the margin


def read_cursor(raw: str | None) -> dict[str, object]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def read_looks(raw: object) -> dict[str, datetime]:
    """``{meeting id: epoch seconds}`` from the cursor; anything else reads as no look."""
    if not isinstance(raw, dict):
        return {}
    return {
        str(key): datetime.fromtimestamp(value, UTC)
        for key, value in raw.items()
        if isinstance(value, int | float)
    }


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Retries pending meetings (Google was unavailable when XOMA asked).",
)
def provisioning_sensor(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    google: GoogleResource,
    clock: ClockResource,
) -> dg.SensorResult:
    outcomes = retry_pending(
        database.sessions(), google.gateway(), now=clock.now(), limit=PROVISIONING_BATCH
    )
    counts = {result.value: sum(o.result == result for o in outcomes) for result in ProvisionResult}
    for outcome in outcomes:
        if outcome.error:
            context.log.warning(
                "meeting %s: %s (%s)", outcome.meeting_id, outcome.result, outcome.error
            )
    cursor = json.dumps({"last_tick": clock.now().isoformat(), **counts}, sort_keys=True)
    if not outcomes:
        return dg.SensorResult(skip_reason="no pending meeting is due", cursor=cursor)
    return dg.SensorResult(
        skip_reason=f"provisioning: {', '.join(f'{k} {v}' for k, v in counts.items() if v)}",
        cursor=cursor,
    )


@dg.sensor(
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Reconciles meetings around their window with Meet: scheduled → in_progress → "
        "finished, or not_held; attendance; recordings and transcripts into the manifest."
    ),
)
def conference_sensor(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    google: GoogleResource,
    clock: ClockResource,
    policy: PolicyResource,
    events: EventsResource,
) -> dg.SensorResult:
    cursor = read_cursor(context.cursor)
    if not events.enabled:
        state, summary, changes = poll(context, database, google, clock, policy, cursor)
        return dg.SensorResult(
            skip_reason=summary, cursor=json.dumps(state, sort_keys=True), asset_events=changes
        )
    state, summary = backstop_tick(context, database, google, clock, policy)
    # Organizers whose subscription is not ACTIVE (suspended, failing) send no events: their
    # meetings are polled as before until it is back, so a suspension delays nothing.
    previous = cursor.get("fallback")
    fallback, fallback_summary, changes = poll(
        context, database, google, clock, policy,
        previous if isinstance(previous, dict) else {}, uncovered_only=True,
    )
    state["fallback"] = fallback
    if fallback["watched"]:
        summary += f"; polling for organizers without an active subscription: {fallback_summary}"
    return dg.SensorResult(
        skip_reason=summary, cursor=json.dumps(state, sort_keys=True), asset_events=changes
    )


def poll(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    google: GoogleResource,
    clock: ClockResource,
    policy: PolicyResource,
    cursor: dict[str, object],
    *,
    uncovered_only: bool = False,
) -> tuple[dict[str, object], str, list[dg.AssetMaterialization]]:
    """Polling mode's tick (and events mode's fallback for uncovered organizers)."""
    started = time.monotonic()
    sessions, gateway, window = database.sessions(), google.gateway(), policy.window()
    identities = IdentityResolver(sessions, gateway, now=clock.now)
    calls_before = gateway.calls.total
    now = tick_time = clock.now()
    with sessions() as session:
        watched = watch_list(
            session,
            now=now,
            policy=window,
            sensor_interval=timedelta(seconds=SENSOR_INTERVAL_SECONDS),
        )
        if uncovered_only:
            watched = without_active_subscription(session, watched)
    rest = resting(watched, read_looks(cursor.get("resting")), now=now)
    last_seen = cursor.get("after")
    after = last_seen if isinstance(last_seen, str) else None
    batch = next_batch(set(watched.ids - rest.keys()), after=after, limit=policy.meetings_per_tick)
    looked, transitions, errors = 0, [], 0
    changed: list[tuple[str, HarvestOutcome, AttendanceSummary]] = []
    last = after
    for meeting_id in batch:
        if time.monotonic() - started > TICK_BUDGET_SECONDS:
            break
        last = meeting_id
        with sessions() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None or not meeting.space_name:
                continue
            target = MeetingTarget.of(meeting)
            day = day_of(meeting.start_time)
            complete = complete_record_names(session, meeting_id)
        try:
            snapshot = fetch_snapshot(
                gateway, target, complete_records=complete, identities=identities
            )
        except GoogleError as exc:  # retried inside the gateway already; next tick tries again
            errors += 1
            context.log.warning("meeting %s: Google: %s", meeting_id, exc)
            continue
        now = clock.now()
        with sessions.begin() as session:
            outcome = apply_snapshot(
                session, snapshot, now=now, policy=window, actor="sensor:conference_sensor"
            )
        with sessions.begin() as session:
            attendance = update_attendance(session, meeting_id, now=now)
        changed.append((day, outcome, attendance))
        looked += 1
        if meeting_id in watched.backed_off:
            rest[meeting_id] = tick_time
        if outcome.transition:
            transitions.append(f"{meeting_id} {outcome.transition[0]}→{outcome.transition[1]}")
    new_cursor: dict[str, object] = {
        "after": last,
        "watched": len(watched.ids),
        "resting": {i: int(at.timestamp()) for i, at in sorted(rest.items())},
        "looked": looked,
        "errors": errors,
        "google_calls": gateway.calls.total - calls_before,
    }
    summary = (
        f"{looked}/{len(watched.ids)} watched meetings looked at ({len(rest)} resting), "
        f"{len(transitions)} transitions, {errors} errors"
    )
    if transitions:
        context.log.info("%s: %s", summary, "; ".join(transitions))
    events = materializations(changed, "conference_sensor")
    return new_cursor, summary, events


def backstop_tick(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    google: GoogleResource,
    clock: ClockResource,
    policy: PolicyResource,
) -> tuple[dict[str, object], str]:
    """Events mode: only the one look per meeting after its end plus the artifact wait
    (meet_core.events.backstop); what it finds that no event announced is counted."""
    started = time.monotonic()
    sessions, gateway, window = database.sessions(), google.gateway(), policy.window()
    calls_before = gateway.calls.total
    settled = settle_statuses(sessions, now=clock.now(), policy=window)
    with sessions() as session:
        due = due_meetings(session, now=clock.now(), policy=window, limit=policy.meetings_per_tick)
    looked = found = errors = 0
    for meeting_id in due:
        if time.monotonic() - started > TICK_BUDGET_SECONDS:
            break
        try:
            added = look(gateway, sessions, meeting_id, now=clock.now, policy=window)
        except GoogleError as exc:
            errors += 1
            context.log.warning("meeting %s: Google: %s", meeting_id, exc)
            continue
        looked += 1
        found += added or 0
        if added:
            context.log.warning("meeting %s: backstop found %d unannounced", meeting_id, added)
    state: dict[str, object] = {
        "mode": "events",
        "settled": settled,
        "due": len(due),
        "looked": looked,
        "unannounced": found,
        "errors": errors,
        "google_calls": gateway.calls.total - calls_before,
    }
    summary = (
        f"events mode backstop: {settled} meetings finished, "
        f"{looked}/{len(due)} due meetings looked at, "
        f"{found} finds no event announced, {errors} errors"
    )
    return state, summary
