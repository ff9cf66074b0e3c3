"""The day (UTC) a meeting belongs to: the day of its scheduled start.

Its conference records, attendance and archive manifest rows carry that day
(``partition_date``); the pipeline processes them in that day's partition.
"""

from __future__ import annotations

from datetime import UTC, datetime


def day_of(moment: datetime) -> str:
    """The partition key (``YYYY-MM-DD``, UTC) of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%d")
