"""The archiving process's memory does not grow with the recording (the 2 GiB figure comes
from bench/archive_pipeline_memory.py; this runs the same code path,
meet_sandbox.archive_memory, on 256 MiB)."""

from __future__ import annotations

from meet_sandbox.archive_memory import measure

SIZE_MIB = 256
# Parts in flight (2 x 8 MiB), the part being cut, one Drive chunk and buffers: well under
# the file; a copy of the whole recording would blow through it.
MAX_GROWTH_MIB = 160


def test_archiving_a_large_recording_keeps_memory_flat() -> None:
    report = measure(SIZE_MIB)
    assert report["archived"] == 1 and report["bytes"] == SIZE_MIB * 2**20
    growth_mib = (report["rss_peak_kib"] - report["rss_before_archive_kib"]) / 1024
    assert growth_mib < MAX_GROWTH_MIB, growth_mib
