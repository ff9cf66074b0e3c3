"""The day (UTC) a meeting belongs to: the day of its scheduled start.

Its conference records, attendance and archive manifest rows carry that day
(``partition_date``); the pipeline processes them in that day's partition.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def day_of(moment: datetime) -> str:
    """The partition key (``YYYY-MM-DD``, UTC) of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def day_bounds(day: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a ``YYYY-MM-DD`` day; ValueError for anything else."""
    if not isinstance(day, str) or len(day) != 10:
        raise ValueError(f"partition date: expected YYYY-MM-DD, got {day!r}")
    try:
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"partition date: expected YYYY-MM-DD, got {day!r}") from None
    return start, start + timedelta(days=1)
