"""What a sensor tick changed in a day's harvested data, as Dagster materializations.

The sensors harvest without runs, so the lineage would show ``conference_records`` and
``attendance`` as never filled; each tick instead reports a runless materialization per day
(partition) it changed, with its counts as metadata (docs/pipeline.md, "Sensors and the
lineage"). Used by ``conference_sensor`` (polling) and ``events_sensor`` (events mode).
"""

from collections import Counter, defaultdict
from collections.abc import Iterable

import dagster as dg

from meet_core.harvest.apply import HarvestOutcome
from meet_core.harvest.attendance import AttendanceSummary


class DayChanges:
    """What one tick changed in one day's data: the metadata of its materializations."""

    def __init__(self) -> None:
        self.harvest: Counter[str] = Counter()
        self.attendance: Counter[str] = Counter()

    def add(self, outcome: HarvestOutcome, attendance: AttendanceSummary) -> None:
        changed = bool(outcome.transition or outcome.artifacts_changed or attendance.changed)
        self.harvest.update(
            meetings_looked_at=1,
            meetings_changed=int(changed),
            conference_records=outcome.records,
            participants=outcome.participants,
            participant_sessions=outcome.sessions,
            manifest_rows_changed=outcome.artifacts_changed,
            transitions=int(outcome.transition is not None),
        )
        self.attendance.update(
            meetings=1,
            invited=attendance.invited,
            invited_attended=attendance.attended,
            attended_seconds=attendance.attended_seconds,
            participants_changed=attendance.changed,
        )

    def events(self, day: str, source: str) -> list[dg.AssetMaterialization]:
        """Nothing when the tick changed nothing of the day (a look that found no news)."""
        if not self.harvest["meetings_changed"]:
            return []
        tag = {"source": source}
        return [
            dg.AssetMaterialization(
                "conference_records", partition=day, metadata={**self.harvest}, tags=tag
            ),
            dg.AssetMaterialization(
                "attendance", partition=day, metadata={**self.attendance}, tags=tag
            ),
        ]


def materializations(
    changes: Iterable[tuple[str, HarvestOutcome, AttendanceSummary]], source: str
) -> list[dg.AssetMaterialization]:
    """One pair per day among ``(day, harvest, attendance)`` that changed something."""
    days: defaultdict[str, DayChanges] = defaultdict(DayChanges)
    for day, outcome, attendance in changes:
        days[day].add(outcome, attendance)
    return [event for day, found in sorted(days.items()) for event in found.events(day, source)]
