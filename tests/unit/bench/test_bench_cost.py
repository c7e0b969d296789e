# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/cost.py: counting remote calls from Ansible's JSON report, the targets, the table.

bench/cost.py is a script: it is imported from its path.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[3] / "bench" / "cost.py"
_SPEC = importlib.util.spec_from_file_location("bench_cost", _PATH)
cost = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(cost)


def task(name: str, hosts: dict) -> dict:
    return {"task": {"name": name}, "hosts": hosts}


def report(*tasks: dict) -> dict:
    return {"plays": [{"tasks": list(tasks)}]}


def test_count_calls_one_per_host_and_per_item():
    out = cost.count_calls(report(
        task("Gathering Facts", {"a": {"action": "gather_facts"}, "b": {"action": "gather_facts"}}),
        task("Accounts", {"a": {"action": "modwsgi.fleet.wsgi_accounts", "results": [{}, {}, {"skipped": True}]}}),
    ))
    assert out == {"tasks": 3, "remote_calls": 4, "calls_by_task": {"Gathering Facts": 2, "Accounts": 2}}


def test_count_calls_skips_skipped_local_and_delegated():
    out = cost.count_calls(report(
        task("Skipped", {"a": {"action": "ansible.builtin.command", "skipped": True}}),
        task("Fact", {"a": {"action": "ansible.builtin.set_fact"}}),
        task("Plan", {"a": {"action": "modwsgi.fleet.wsgi_plan", "_ansible_delegated_vars": {"ansible_host": "x"}}}),
        task("All items skipped", {"a": {"action": "ansible.builtin.file", "results": [{"skipped": True}],
                                         "skipped": True}}),
    ))
    # set_fact, the delegated plan and the loop whose items were all skipped ran as tasks, calling nothing
    assert out == {"tasks": 3, "remote_calls": 0, "calls_by_task": {}}


def row(hosts: int, projects: int, floor: float, rerun: float, isolation: str = "shared") -> dict:
    run = {"wall_s": rerun, "tasks": 40, "remote_calls": 20, "calls_by_task": {"Facts": hosts, "Files": 2 * hosts},
           "controller_cpu_s": 2.5 * hosts, "machine_busy": min(1.0, 0.5 * hosts)}
    return {"hosts": hosts, "projects_per_host": projects, "isolation": isolation, "packages_s": 20.0,
            "first": dict(run, wall_s=rerun * 3), "floor": {"wall_s": floor}, "rerun": run}


def result(forks: int = 10) -> dict:
    return {"date": "2026-12-05", "machine": "x86_64", "cpus": 2, "forks": forks, "transport": "ssh",
            "projects": [row(1, 1, 3.0, 9.0), row(1, 10, 3.0, 12.5)],
            "hosts": [row(3, 10, 4.0, 15.0), row(10, 10, 6.0, 20.0)]}


def test_verdicts_floor_and_fleet_ratios():
    lines = cost.verdicts(result())
    assert lines[0].startswith("- 1 project, 1 host: no-change rerun 9.0 s = 3.00x its floor (3.0 s)")
    assert lines[0].endswith("PASS")
    assert "4.17x its floor" in lines[1] and lines[1].endswith("FAIL")
    # fleets against the single host with as many projects (12.5 s), not the first row
    assert "3 hosts: no-change rerun 1.20x that of 1 host (15.0 s against 12.5 s)" in lines[4]
    assert lines[4].endswith("PASS")
    assert "1.60x" in lines[6] and lines[6].endswith("FAIL")
    # each fleet line is followed by the CPU it took against one host's
    assert lines[5] == "  (controller CPU 7.5 s against 2.5 s; the machine's CPUs 100% busy against 50%)"


def test_verdicts_not_judged_with_fewer_forks_than_hosts():
    lines = [line for line in cost.verdicts(result(forks=5)) if line.startswith("- ")]
    assert lines[-1].endswith("not judged (fewer forks than hosts)")
    assert lines[-2].endswith("PASS")  # 3 hosts, 5 forks


def test_table_lists_calls_by_task_per_host_of_the_ten_project_row():
    text = cost.table(result())
    assert "reached over SSH" in text
    assert "| 10 projects, 10 hosts | 20 s | 60 s (2.22x) | 40 / 20 | 6.0 s | 20.0 s (2.22x) | 3.33x | 40 / 20 " \
        "| 25.0 s, 100% |" in text
    assert "no-change rerun, 10 projects, 1 host, by task" in text
    assert text.index("| Files | 2 |") < text.index("| Facts | 1 |")


def test_connection_by_transport():
    ssh = cost.connection("ssh", "10.88.0.5", Path("/k/id"))
    assert ssh["ansible_connection"] == "ansible.builtin.ssh"
    assert (ssh["ansible_host"], ssh["ansible_user"], ssh["ansible_ssh_private_key_file"]) == \
        ("10.88.0.5", cost.SSH_USER, "/k/id")
    assert cost.connection("podman", "10.88.0.5", Path("/k/id"))["ansible_connection"] == "containers.podman.podman"


def test_busy_fraction_leaves_idle_and_iowait_out():
    before = [100, 0, 50, 800, 50, 0, 0, 0, 0, 0]
    after = [400, 0, 150, 1000, 100, 0, 0, 0, 0, 0]
    # spent: user 300, system 100, idle 200, iowait 50 of 650
    assert cost.busy_fraction(before, after) == round(1 - 250 / 650, 3)
    assert cost.busy_fraction(before, before) == 0.0
