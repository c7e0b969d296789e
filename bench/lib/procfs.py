# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Process accounting from /proc: CPU ticks, process groups, RSS and PSS.

Every function reads below ``proc`` (``/proc`` unless told otherwise, so that
the unit tests can hand them a fake tree). A process that is gone reads as
empty: None, 0 or no members, never an exception.
"""

from __future__ import annotations

import os
from typing import NamedTuple

PROC = "/proc"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Stat(NamedTuple):
    """The fields of /proc/<pid>/stat the benchmark uses."""

    state: str  # R, S, D, Z, ...
    pgrp: int
    cpu_ticks: int  # utime + stime


def read(path: str) -> str:
    """The text of a file, or "" when it cannot be read (a process that is gone)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def parse_stat(text: str) -> Stat | None:
    """Parse one /proc/<pid>/stat line; None for an empty or cut one.

    The process name (field 2) is in parentheses and may itself hold spaces
    and parentheses: the fields after it start after the *last* ")".
    """
    end = text.rfind(")")
    if end < 0:
        return None
    rest = text[end + 2 :].split()
    if len(rest) < 13:
        return None
    # rest[0] is field 3 (state): pgrp is field 5, utime and stime 14 and 15.
    return Stat(rest[0], int(rest[2]), int(rest[11]) + int(rest[12]))


def stat(pid: int, proc: str = PROC) -> Stat | None:
    """State, process group and CPU ticks of a process, or None when it is gone."""
    return parse_stat(read(f"{proc}/{pid}/stat"))


def proc_stat(pid: int, proc: str = PROC) -> tuple[int, int] | None:
    """(pgrp, utime + stime in ticks) of a process, or None when it is gone."""
    found = stat(pid, proc)
    return None if found is None else (found.pgrp, found.cpu_ticks)


def all_pids(proc: str = PROC) -> list[int]:
    return [int(p) for p in os.listdir(proc) if p.isdigit()]


def group_members(pgid: int, proc: str = PROC) -> list[int]:
    """Live (not zombie) processes of a process group."""
    members = []
    for pid in all_pids(proc):
        found = stat(pid, proc)
        if found and found.pgrp == pgid and found.state != "Z":
            members.append(pid)
    return members


def group_cpu_ticks(pgid: int, proc: str = PROC) -> int:
    """CPU ticks used so far by the processes of a process group (zombies included)."""
    total = 0
    for pid in all_pids(proc):
        found = stat(pid, proc)
        if found and found.pgrp == pgid:
            total += found.cpu_ticks
    return total


def system_busy_ticks(proc: str = PROC) -> tuple[int, int]:
    """(busy ticks of all CPUs, steal ticks) from /proc/stat."""
    fields = [int(v) for v in read(f"{proc}/stat").splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, steal


def _kb(text: str, key: str) -> int:
    """The number of a "Key:   1234 kB" line, 0 when there is none."""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def status_kb(pid: int, key: str, proc: str = PROC) -> int:
    """A field of /proc/<pid>/status, such as VmRSS (kB) or Threads (a count); 0 when gone."""
    return _kb(read(f"{proc}/{pid}/status"), key)


def pss_kb(pid: int, proc: str = PROC) -> int:
    """Proportional set size of a process from /proc/<pid>/smaps_rollup (kB); 0 when gone."""
    return _kb(read(f"{proc}/{pid}/smaps_rollup"), "Pss")


def cmdline(pid: int, proc: str = PROC) -> str:
    """/proc/<pid>/cmdline as it is (NUL-separated, or what the process wrote over argv[0])."""
    return read(f"{proc}/{pid}/cmdline")
