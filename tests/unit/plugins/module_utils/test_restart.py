# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Finding a daemon group's processes and restarting them one at a time (plugins/module_utils/_restart.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._restart import (
    Process,
    RestartError,
    daemon_pids,
    is_daemon_of,
    parse_stat,
    parse_uid,
    read_processes,
    restart_group,
)

APACHE = 100


def fake_proc(root: Path, pid: int, ppid: int, uid: int, argv: list[str], comm: str = "apache2", state: str = "S") -> None:
    base = root / str(pid)
    base.mkdir(parents=True)
    (base / "stat").write_text("%d (%s) %s %d 1 1 0 -1\n" % (pid, comm, state, ppid))
    (base / "status").write_text("Name:\t%s\nUid:\t%d\t%d\t%d\t%d\nGid:\t0\t0\t0\t0\n" % (comm, uid, uid, uid, uid))
    (base / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")


def test_parse_stat_copes_with_spaces_and_parentheses_in_the_name() -> None:
    assert parse_stat("42 (apache2) S 100 42 42 0 -1") == ("S", 100)
    assert parse_stat("42 (a (b) c) Z 7 42 42 0 -1") == ("Z", 7)


def test_parse_uid_takes_the_real_uid() -> None:
    assert parse_uid("Name:\tx\nUid:\t33\t0\t0\t0\n") == 33
    with pytest.raises(ValueError):
        parse_uid("Name:\tx\n")


def test_read_processes_reads_a_proc_tree_and_skips_what_vanished(tmp_path: Path) -> None:
    fake_proc(tmp_path, APACHE, 1, 0, ["/usr/sbin/apache2", "-k", "start"])
    fake_proc(tmp_path, 201, APACHE, 1001, ["(wsgi:portal)    ", "-k", "start"])
    (tmp_path / "202").mkdir()  # ended while we looked: no files
    (tmp_path / "self").mkdir()
    found = {p.pid: p for p in read_processes(str(tmp_path))}
    assert sorted(found) == [APACHE, 201]
    assert found[201] == Process(pid=201, ppid=APACHE, uid=1001, state="S", argv0="(wsgi:portal)    ")


@pytest.mark.parametrize(
    ("process", "group", "uid", "expected"),
    [
        (Process(1, APACHE, 1001, "S", "(wsgi:portal)"), "portal", None, True),
        (Process(1, APACHE, 1001, "S", "(wsgi:portal)   "), "portal", 1001, True),
        (Process(1, APACHE, 1001, "S", "(wsgi:portal)"), "portal", 1002, False),
        (Process(1, APACHE, 1001, "S", "(wsgi:portal)"), "port", None, False),
        (Process(1, APACHE, 1001, "S", "(wsgi:portal2)"), "portal", None, False),
        (Process(1, 999, 1001, "S", "(wsgi:portal)"), "portal", None, False),
        (Process(1, APACHE, 1001, "Z", "(wsgi:portal)"), "portal", None, False),
        (Process(1, APACHE, 33, "S", "/usr/sbin/apache2"), "portal", None, False),
        # cut to the length of /usr/sbin/apache2: only trusted with the account
        (Process(1, APACHE, 1001, "S", "(wsgi:inventory-"), "inventory-service", 1001, True),
        (Process(1, APACHE, 1001, "S", "(wsgi:inventory-"), "inventory-service", None, False),
        (Process(1, APACHE, 1001, "S", "(wsgi:inventory-"), "inventory-service", 1002, False),
        (Process(1, APACHE, 1001, "S", "(wsgi:inventory-"), "billing-service", 1001, False),
        (Process(1, APACHE, 1001, "S", "(wsgi:"), "x", 1001, False),
    ],
)
def test_is_daemon_of(process: Process, group: str, uid: int | None, expected: bool) -> None:
    assert is_daemon_of(process, APACHE, group, uid) is expected


def test_daemon_pids_only_lists_the_group(tmp_path: Path) -> None:
    fake_proc(tmp_path, APACHE, 1, 0, ["/usr/sbin/apache2", "-k", "start"])
    fake_proc(tmp_path, 110, APACHE, 33, ["/usr/sbin/apache2", "-k", "start"])
    fake_proc(tmp_path, 203, APACHE, 1001, ["(wsgi:portal)"])
    fake_proc(tmp_path, 201, APACHE, 1001, ["(wsgi:portal)"])
    fake_proc(tmp_path, 301, APACHE, 1002, ["(wsgi:nova-api)"])
    assert daemon_pids(read_processes(str(tmp_path)), APACHE, "portal", None) == [201, 203]


class FakeApache:
    """A daemon group whose processes exit when signalled and are replaced a few polls later."""

    def __init__(self, pids: list[int], respawn_after: int = 3, respawn: bool = True) -> None:
        self.running = list(pids)
        self.pending: list[int] = []  # polls left until each replacement starts
        self.respawn_after = respawn_after
        self.respawn = respawn
        self.next_pid = 1000
        self.signalled: list[int] = []
        self.fewest_running = len(pids)
        self.now = 0.0

    def find(self) -> list[int]:
        self.pending = [n - 1 for n in self.pending]
        while self.pending and self.pending[0] <= 0:
            self.pending.pop(0)
            self.next_pid += 1
            self.running.append(self.next_pid)
        return sorted(self.running)

    def signal(self, pid: int) -> None:
        self.signalled.append(pid)
        self.running.remove(pid)
        self.fewest_running = min(self.fewest_running, len(self.running))
        if self.respawn:
            self.pending.append(self.respawn_after)

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_restart_signals_one_process_at_a_time_and_reports_old_and_new_pids() -> None:
    apache = FakeApache([11, 12, 13])
    result = restart_group(apache.find, apache.signal, apache.sleep, apache.clock, "beta")
    assert apache.signalled == [11, 12, 13]
    assert apache.fewest_running == 2  # never more than one process away at a time
    assert result.old_pids == [11, 12, 13]
    assert result.new_pids == [1001, 1002, 1003]
    assert result.group == "beta"


def test_restart_of_a_group_that_does_not_run_fails() -> None:
    apache = FakeApache([])
    with pytest.raises(RestartError, match="has no running process"):
        restart_group(apache.find, apache.signal, apache.sleep, apache.clock, "beta")


def test_restart_fails_when_no_successor_comes_in_time() -> None:
    apache = FakeApache([11, 12], respawn=False)
    with pytest.raises(RestartError, match=r"process 11 did not make way for a new one within 5 s"):
        restart_group(apache.find, apache.signal, apache.sleep, apache.clock, "beta", timeout=5)
    assert apache.signalled == [11]  # the second process was left serving


def test_restart_reports_when_each_process_was_signalled_and_how_long_it_drained() -> None:
    # Each successor runs 21 polls (of 0.1 s) after its signal: the old process drained for 2 s.
    apache = FakeApache([11, 12], respawn_after=21)
    result = restart_group(apache.find, apache.signal, apache.sleep, apache.clock, "beta")
    assert result.signalled_at == pytest.approx([0.0, 2.0])
    assert result.drained_s == pytest.approx([2.0, 2.0])
