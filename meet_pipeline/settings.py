"""Pipeline-only settings, read from the environment beside :class:`Settings`.

- ``MEET_MEETING_LEAD_MINUTES`` (15): watch a meeting's space from this long before its start.
- ``MEET_NOT_HELD_GRACE_MINUTES`` (30): after the scheduled end, wait this long for a
  conference before calling the meeting ``not_held``.
- ``MEET_REJOIN_GAP_MINUTES`` (10): a conference that ended early may be followed by another
  within this gap.
- ``MEET_ARTIFACT_WAIT_MINUTES`` (120): keep asking Google for late recordings this long after
  a finished meeting's end.
- ``MEET_ARCHIVE_MAX_TRANSFERS`` (4): Drive → S3 transfers at once within one archive run.
- ``MEET_ARCHIVE_RETRY_MINUTES`` (5): first wait before a failed artifact is tried again
  (doubles per attempt, at most 6 h).
- ``MEET_SENSOR_MEETINGS_PER_TICK`` (25): meetings one conference-sensor tick looks at.
- ``MEET_LEGAL_HOLD`` (false): put every archived object under legal hold.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from meet_core.meetings_state import WindowPolicy
from meet_core.settings import env_bool, env_int


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    window: WindowPolicy
    max_transfers: int
    retry_after: timedelta
    meetings_per_tick: int
    legal_hold: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PipelineSettings:
        env = os.environ if env is None else env
        day = 24 * 60
        return cls(
            window=WindowPolicy(
                lead=timedelta(minutes=env_int(env, "MEET_MEETING_LEAD_MINUTES", 15, 0, day)),
                grace=timedelta(minutes=env_int(env, "MEET_NOT_HELD_GRACE_MINUTES", 30, 0, day)),
                rejoin_gap=timedelta(minutes=env_int(env, "MEET_REJOIN_GAP_MINUTES", 10, 0, day)),
                artifact_wait=timedelta(
                    minutes=env_int(env, "MEET_ARTIFACT_WAIT_MINUTES", 120, 0, 7 * day)
                ),
            ),
            max_transfers=env_int(env, "MEET_ARCHIVE_MAX_TRANSFERS", 4, 1, 64),
            retry_after=timedelta(minutes=env_int(env, "MEET_ARCHIVE_RETRY_MINUTES", 5, 0, day)),
            meetings_per_tick=env_int(env, "MEET_SENSOR_MEETINGS_PER_TICK", 25, 1, 1000),
            legal_hold=env_bool(env, "MEET_LEGAL_HOLD", False),
        )
