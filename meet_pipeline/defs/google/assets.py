"""Conference records, Meet participants and their sessions, harvested into the app
database for one day of meetings."""

import time

import dagster as dg
from dagster import AssetExecutionContext
from sqlalchemy import select

from meet_core.days import day_bounds
from meet_core.db.models import Meeting, MeetingStatus
from meet_core.events.backstop import record_unannounced, settled_record_names, unannounced
from meet_core.harvest.apply import apply_snapshot, complete_record_names
from meet_core.harvest.identity import IdentityResolver
from meet_core.harvest.snapshot import MeetingTarget, fetch_snapshot
from meet_pipeline.defs.events.resources import EventsResource
from meet_pipeline.partitions import DAILY
from meet_pipeline.policy import DATABASE_KIND, GOOGLE_POOL
from meet_pipeline.resources import ClockResource, DatabaseResource, GoogleResource, PolicyResource

HARVESTED_STATUSES = (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS, MeetingStatus.FINISHED)


@dg.asset(
    partitions_def=DAILY,
    group_name="meetings",
    kinds={"google", DATABASE_KIND},
    pool=GOOGLE_POOL,
    description=(
        "Meet conference records of the day's meetings with every participant and session "
        "(tables conference_records, conference_participants, participant_sessions); registers "
        "recordings and transcripts in archive_manifest and moves meeting states. Google "
        "deletes conference records 30 days after a meeting: this partition must run before."
    ),
)
def conference_records(
    context: AssetExecutionContext,
    database: DatabaseResource,
    google: GoogleResource,
    clock: ClockResource,
    policy: PolicyResource,
    events: EventsResource,
) -> dg.MaterializeResult:
    started = time.monotonic()
    sessions, gateway = database.sessions(), google.gateway()
    calls_before = gateway.calls.total
    window = policy.window()
    identities = IdentityResolver(sessions, gateway, now=clock.now)
    day_start, day_end = day_bounds(context.partition_key)
    with sessions() as session:
        targets = [
            MeetingTarget.of(m)
            for m in session.scalars(
                select(Meeting)
                .where(
                    Meeting.start_time >= day_start,
                    Meeting.start_time < day_end,
                    Meeting.status.in_(HARVESTED_STATUSES),
                    Meeting.space_name.is_not(None),
                )
                .order_by(Meeting.start_time, Meeting.id)
            )
        ]
    totals = {"records": 0, "participants": 0, "sessions": 0, "artifacts_changed": 0}
    transitions: list[str] = []
    unannounced_found = 0
    for target in targets:
        # Google errors fail the step: retried. Identities are cached per person.
        complete = settled = frozenset[str]()
        if events.enabled:
            # Events mode: what the conference.ended read and the backstop's look made final
            # is not read again (settled_record_names says why the proof holds); polling
            # mode's sweep re-reads everything, as it always did.
            with sessions() as session:
                complete = complete_record_names(session, target.id)
                settled = settled_record_names(session, target.id)
        snapshot = fetch_snapshot(
            gateway, target, complete_records=complete, settled_records=settled,
            identities=identities,
        )
        with sessions.begin() as session:
            # Events mode: this sweep is a backstop; what no event announced is counted.
            found = unannounced(session, snapshot) if events.enabled else []
            outcome = apply_snapshot(
                session, snapshot, now=clock.now(), policy=window, actor="asset:conference_records"
            )
            unannounced_found += record_unannounced(session, target.id, found, now=clock.now())
        for name in totals:
            totals[name] += getattr(outcome, name)
        if outcome.transition:
            transitions.append(f"{target.id}: {outcome.transition[0]} → {outcome.transition[1]}")
    context.log.info("harvested %d meetings, %d transitions", len(targets), len(transitions))
    return dg.MaterializeResult(
        metadata={
            "meetings": len(targets),
            "conference_records": totals["records"],
            "participants": totals["participants"],
            "participant_sessions": totals["sessions"],
            "manifest_rows_changed": totals["artifacts_changed"],
            "transitions": dg.MetadataValue.md("\n".join(f"- {t}" for t in transitions) or "none"),
            "google_calls": gateway.calls.total - calls_before,
            "unannounced_by_events": unannounced_found,
            "duration_seconds": round(time.monotonic() - started, 3),
        }
    )
