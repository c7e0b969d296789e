# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the wsgi_restart module's main() that need no running Apache (Molecule restarts real daemons)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._restart import Process
from ansible_collections.modwsgi.fleet.plugins.modules import wsgi_restart
from ansible_collections.modwsgi.fleet.tests.unit.plugins.modules.harness import ExitJson, FailJson, run_main


def run(args: dict[str, Any], outcome: type[Exception] = ExitJson) -> dict[str, Any]:
    return run_main(wsgi_restart.main, args, outcome)


@pytest.fixture
def apache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PID file naming this test's own process as Apache's parent, with two daemons of 'beta' under it."""
    parent = os.getpid()
    pidfile = tmp_path / "apache2.pid"
    pidfile.write_text("%d\n" % parent)
    table = [Process(201, parent, 1001, "S", "(wsgi:beta)"), Process(202, parent, 1001, "S", "(wsgi:beta)"),
             Process(301, parent, 1002, "S", "(wsgi:alpha)")]
    monkeypatch.setattr(wsgi_restart, "read_processes", lambda: table)

    def no_signals(pid: int, sig: int) -> None:
        raise AssertionError("signalled %d" % pid)

    monkeypatch.setattr(wsgi_restart.os, "kill", no_signals)
    return pidfile


def test_check_mode_reports_the_group_and_signals_nothing(apache: Path) -> None:
    result = run({"group": "beta", "pidfile": str(apache), "_ansible_check_mode": True})
    assert result == {"changed": True, "group": "beta", "old_pids": [201, 202], "new_pids": []}


def test_check_mode_fails_for_a_group_that_does_not_run(apache: Path) -> None:
    result = run({"group": "gamma", "pidfile": str(apache), "_ansible_check_mode": True}, FailJson)
    assert result["msg"] == "daemon group 'gamma' has no running process under Apache"


def test_no_running_apache_is_an_error(tmp_path: Path) -> None:
    result = run({"group": "beta", "pidfile": str(tmp_path / "none.pid")}, FailJson)
    assert result["msg"].startswith("Apache is not running: none of ")


def test_pidfile_without_a_live_pid_is_an_error(tmp_path: Path) -> None:
    pidfile = tmp_path / "apache2.pid"
    pidfile.write_text("garbage\n")
    result = run({"group": "beta", "pidfile": str(pidfile)}, FailJson)
    assert "does not hold the pid of a running Apache" in result["msg"]


def test_unknown_user_is_an_error(apache: Path) -> None:
    result = run({"group": "beta", "user": "no-such-user-here", "pidfile": str(apache)}, FailJson)
    assert result["msg"] == "user 'no-such-user-here' does not exist on this host"
