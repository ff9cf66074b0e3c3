"""A process's own memory and CPU, as the memory tests and the benches read them.

Peak RSS is VmHWM from ``/proc/self/status``: Linux carries ``ru_maxrss`` over from the
parent across fork/exec (a pytest parent of 130 MiB would show up as the child's peak), so
``ru_maxrss`` is only the fallback where ``/proc`` is absent."""

from __future__ import annotations

import resource
from collections.abc import Iterator

MiB = 2**20


def _status_kib(field: str, pid: int | str = "self") -> int | None:
    """One ``Vm…`` line of ``/proc/<pid>/status`` in KiB, or None without ``/proc``."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_kib() -> int:
    """This process's RSS high-water mark (VmHWM) in KiB; ru_maxrss where /proc is absent."""
    peak = _status_kib("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss_mib() -> float:
    return peak_rss_kib() / 1024


def current_rss_kib() -> int:
    """This process's RSS now (VmRSS) in KiB; the peak where /proc is absent."""
    now = _status_kib("VmRSS")
    return now if now is not None else peak_rss_kib()


def reset_peak_rss() -> int:
    """Start the peak over from the current RSS (Linux: clear_refs 5 resets VmHWM), so that
    the import-time peak does not hide what follows; returns the starting point in KiB."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass  # not Linux: the growth shown is then a lower bound
    return peak_rss_kib()


def process_status(pid: int) -> dict[str, int]:
    """VmHWM/VmRSS (KiB) and CPU seconds x100 (``cpu_cs``) of another live process."""
    out = {field: value for field in ("VmHWM", "VmRSS") if (value := _status_kib(field, pid)) is not None}
    out["cpu_cs"] = round(process_cpu_seconds(pid) * 100)
    return out


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (from /proc/<pid>/stat)."""
    import os

    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def generated(size: int, block: bytes) -> Iterator[bytes]:
    """``size`` bytes as distinct 1 MiB chunks (a counter stamped on one random block), never
    all in memory; a shorter last chunk where ``size`` is not a whole number of MiB."""
    for index in range(size // MiB):
        yield index.to_bytes(8, "big") + block[8:]
    if size % MiB:
        yield block[: size % MiB]
