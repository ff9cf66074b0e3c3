"""Daily partitions (UTC): their number grows with time, never with recordings.

A meeting belongs to the day of its scheduled start (:func:`meet_core.days.day_of`); its
conference records, attendance and archived artifacts are processed in that day's partition.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

FIRST_DAY = "2025-01-01"

# end_offset=1: today's partition exists already, so a meeting that ended an hour ago is
# archived today rather than tomorrow.
DAILY = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC", end_offset=1)


def day_bounds(partition_key: str) -> tuple[datetime, datetime]:
    """[start, end) of a partition's day in UTC."""
    start = datetime.strptime(partition_key, "%Y-%m-%d").replace(tzinfo=UTC)
    return start, start + timedelta(days=1)
