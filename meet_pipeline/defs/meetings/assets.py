"""Attendance of the invited people, per day of meetings (database only, no Google calls)."""

from collections import Counter

import dagster as dg
from dagster import AssetExecutionContext
from sqlalchemy import select

from meet_core.days import day_bounds
from meet_core.db.models import Meeting, MeetingStatus
from meet_core.harvest.attendance import update_attendance
from meet_pipeline.defs.google.assets import conference_records
from meet_pipeline.partitions import DAILY
from meet_pipeline.policy import DATABASE_KIND
from meet_pipeline.resources import ClockResource, DatabaseResource

ATTENDANCE_STATUSES = (MeetingStatus.IN_PROGRESS, MeetingStatus.FINISHED, MeetingStatus.NOT_HELD)


@dg.asset(
    partitions_def=DAILY,
    group_name="meetings",
    kinds={DATABASE_KIND},
    deps=[conference_records],
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "Who of the invited joined, when first, when last left and for how long (columns "
        "attended, first_joined_at, last_left_at, attended_seconds of participants), from "
        "the harvested Meet sessions; attendees by kind: signed in, external, anonymous, phone."
    ),
)
def attendance(
    context: AssetExecutionContext, database: DatabaseResource, clock: ClockResource
) -> dg.MaterializeResult:
    sessions = database.sessions()
    day_start, day_end = day_bounds(context.partition_key)
    with sessions() as session:
        meeting_ids = list(
            session.scalars(
                select(Meeting.id).where(
                    Meeting.start_time >= day_start,
                    Meeting.start_time < day_end,
                    Meeting.status.in_(ATTENDANCE_STATUSES),
                )
            )
        )
    invited = attended = seconds = changed = 0
    kinds: Counter[str] = Counter()
    now = clock.now()
    for meeting_id in meeting_ids:
        with sessions.begin() as session:
            summary = update_attendance(session, meeting_id, now=now)
        invited += summary.invited
        attended += summary.attended
        seconds += summary.attended_seconds
        changed += summary.changed
        kinds.update(summary.by_kind)
    return dg.MaterializeResult(
        metadata={
            "meetings": len(meeting_ids),
            "invited": invited,
            "invited_attended": attended,
            "attended_minutes": round(seconds / 60, 1),
            "participants_changed": changed,
            **{
                f"attendees_{kind}": kinds.get(kind, 0)
                for kind in ("internal", "external", "anonymous", "phone")
            },
        }
    )
