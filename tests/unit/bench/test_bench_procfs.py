# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/lib/procfs.py on fake /proc trees (the files as Linux writes them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lib import procfs

# /proc/stat: cpu  user nice system idle iowait irq softirq steal guest guest_nice
PROC_STAT = (
    "cpu  4705 150 1120 162041 311 0 87 30 0 0\n"
    "cpu0 2352 75 560 81020 155 0 43 15 0 0\n"
    "cpu1 2353 75 560 81021 156 0 44 15 0 0\n"
    "intr 1048576 0 9 0\n"
    "ctxt 2097152\n"
    "btime 1733100000\n"
)

STATUS = """\
Name:\tapache2
Umask:\t0022
State:\tS (sleeping)
Tgid:\t4242
Pid:\t4242
PPid:\t4200
VmPeak:\t  301234 kB
VmSize:\t  299876 kB
VmHWM:\t   14012 kB
VmRSS:\t   13456 kB
RssAnon:\t    7200 kB
RssFile:\t    6256 kB
VmData:\t   40960 kB
Threads:\t17
"""

SMAPS_ROLLUP = """\
560fc88ee000-7ffe3a058000 ---p 00000000 00:00 0                          [rollup]
Rss:               13456 kB
Pss:                9876 kB
Pss_Dirty:          7000 kB
Pss_Anon:           6800 kB
Pss_File:           3076 kB
Pss_Shmem:             0 kB
Shared_Clean:       4400 kB
Private_Dirty:      7000 kB
Swap:                  0 kB
SwapPss:               0 kB
"""


def stat_line(pid: int, comm: str, state: str, ppid: int, pgrp: int, utime: int, stime: int) -> str:
    """A /proc/<pid>/stat line (52 fields, as Linux 6 writes it; the tail from a real one)."""
    return (
        f"{pid} ({comm}) {state} {ppid} {pgrp} {pgrp} 0 -1 4194304 2100 0 3 0 {utime} {stime} 0 0 20 0 17 0"
        " 127477 301234176 3364 18446744073709551615 1 1 0 0 0 0 0 4096 16386 0 0 0 17 1 0 0 0 0 0"
        " 0 0 0 0 0 0 0 0\n"
    )


def fake_proc(root: Path, processes: dict[int, dict[str, str]]) -> str:
    """Write ``{pid: {file name: text}}`` and /proc/stat below ``root``; return its path."""
    (root / "stat").write_text(PROC_STAT)
    (root / "self").mkdir()  # not a pid: ignored
    (root / "sys").mkdir()
    for pid, files in processes.items():
        (root / str(pid)).mkdir()
        for name, text in files.items():
            (root / str(pid) / name).write_text(text)
    return str(root)


@pytest.fixture(name="proc")
def fixture_proc(tmp_path: Path) -> str:
    """An Apache instance (process group 4200) and a process of another group."""
    return fake_proc(
        tmp_path,
        {
            4200: {"stat": stat_line(4200, "apache2", "S", 1, 4200, 30, 12), "cmdline": "/usr/sbin/apache2\0-d\0/tmp\0"},
            # mod_wsgi's display name, with spaces and parentheses (and a ") " inside).
            4242: {
                "stat": stat_line(4242, "(wsgi:bench) x) y", "S", 4200, 4200, 700, 300),
                "cmdline": "(wsgi:bench)     ",
                "status": STATUS,
                "smaps_rollup": SMAPS_ROLLUP,
            },
            # A zombie of the group: its ticks count, it is no member.
            4250: {"stat": stat_line(4250, "a (Z) b", "Z", 4200, 4200, 2, 1)},
            # Another process group (a ")" that looks like a state letter follows).
            5000: {"stat": stat_line(5000, "wrk) R 1 4200", "R", 1, 5000, 999, 1)},
            # A process that went away between listdir and read: no files.
            5001: {},
        },
    )


def test_parse_stat_takes_the_fields_after_the_last_parenthesis() -> None:
    line = stat_line(4242, "(wsgi:bench) x) y", "S", 4200, 4200, 700, 300)
    assert procfs.parse_stat(line) == procfs.Stat(state="S", pgrp=4200, cpu_ticks=1000)
    # A real line of `cat` (Linux 6.x), name without parentheses.
    real = (
        "13277 (cat) R 13209 13209 9361 0 -1 4194304 100 0 0 0 7 5 0 0 20 0 1 0 127477 3133440 356"
        " 18446744073709551615 93946091741184 93946091761065 140732315549200 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
        " 93946091777072 93946091778688 93947103440896 140732315552473 140732315552493 140732315552493"
        " 140732315553771 0\n"
    )
    assert procfs.parse_stat(real) == procfs.Stat(state="R", pgrp=13209, cpu_ticks=12)


@pytest.mark.parametrize("text", ["", "4242 (apache2", "4242 (apache2) S 4200 4200\n"])
def test_parse_stat_of_a_cut_line_is_none(text: str) -> None:
    assert procfs.parse_stat(text) is None


def test_proc_stat(proc: str) -> None:
    assert procfs.proc_stat(4242, proc) == (4200, 1000)
    assert procfs.proc_stat(5000, proc) == (5000, 1000)
    assert procfs.proc_stat(5001, proc) is None  # gone
    assert procfs.proc_stat(6000, proc) is None  # never there


def test_all_pids_are_the_numeric_entries(proc: str) -> None:
    assert sorted(procfs.all_pids(proc)) == [4200, 4242, 4250, 5000, 5001]


def test_group_members_leave_out_zombies_and_other_groups(proc: str) -> None:
    assert sorted(procfs.group_members(4200, proc)) == [4200, 4242]
    assert procfs.group_members(5000, proc) == [5000]
    assert procfs.group_members(1, proc) == []


def test_group_cpu_ticks_sum_the_group_zombies_included(proc: str) -> None:
    assert procfs.group_cpu_ticks(4200, proc) == (30 + 12) + (700 + 300) + (2 + 1)
    assert procfs.group_cpu_ticks(5000, proc) == 1000
    assert procfs.group_cpu_ticks(7, proc) == 0


def test_system_busy_ticks(proc: str) -> None:
    # user + nice + system + irq + softirq + steal; idle and iowait are not busy.
    assert procfs.system_busy_ticks(proc) == (4705 + 150 + 1120 + 0 + 87 + 30, 30)


def test_system_busy_ticks_of_an_old_kernel_without_steal(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu  10 1 5 1000 3 2 4\n")
    assert procfs.system_busy_ticks(str(tmp_path)) == (10 + 1 + 5 + 2 + 4, 0)


def test_status_kb(proc: str) -> None:
    assert procfs.status_kb(4242, "VmRSS", proc) == 13456
    assert procfs.status_kb(4242, "VmHWM", proc) == 14012
    assert procfs.status_kb(4242, "Threads", proc) == 17
    assert procfs.status_kb(4242, "VmSwap", proc) == 0  # not in the file
    assert procfs.status_kb(4200, "VmRSS", proc) == 0  # no status file
    assert procfs.status_kb(6000, "VmRSS", proc) == 0  # no process


def test_pss_kb_is_the_pss_line_not_its_parts(proc: str) -> None:
    assert procfs.pss_kb(4242, proc) == 9876
    assert procfs.pss_kb(4200, proc) == 0
    assert procfs.pss_kb(6000, proc) == 0


def test_cmdline(proc: str) -> None:
    assert procfs.cmdline(4242, proc).startswith("(wsgi:bench)")
    assert procfs.cmdline(4200, proc).split("\0")[0] == "/usr/sbin/apache2"
    assert procfs.cmdline(6000, proc) == ""


def test_the_real_proc_of_this_process() -> None:
    if not os.path.exists("/proc/self/stat"):
        pytest.skip("no /proc here")
    found = procfs.stat(os.getpid())
    assert found is not None and found.pgrp == os.getpgrp() and found.state in "RS"
    assert os.getpid() in procfs.group_members(os.getpgrp())
    assert procfs.status_kb(os.getpid(), "VmRSS") > 0
