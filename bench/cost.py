# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a run of playbooks/site.yml costs per project and per host, over SSH.

For each project count (1, 10 and 50 by default) a fresh container host is
started from the project's base image and reached as a fleet's hosts are
(--transport ssh, the default): over SSH as a non-root user with sudo, by
key, pipelining and ControlPersist on, `become: true` in the playbooks
(molecule/common/ssh.yml sets the host up). --transport podman goes through
podman exec instead, as the demo does. Apache's packages are installed first
and timed on their own, so that the first converge measures the role's work;
then site.yml runs twice: the first converge and a no-change rerun (which must
report changed=0). Just before the rerun the floor is measured on the same
hosts: bench/floor.yml, fact gathering plus one ping, what any play costs.
With --isolation shared instance, each project count is measured in both
isolations (wsgi_isolation), one after the other in the same run. The last
measurements run the same plays over several hosts at once (--hosts 3 10).
Wall time, the tasks that ran and the remote module calls (loop items count
one each), per task too, are taken from Ansible's JSON callback.

Run it through bench/cost, which sets up the tool chain.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
IMAGE = os.environ.get("MODWSGI_IMAGE", "localhost/modwsgi-fleet-debian:bookworm-3")
PACKAGES = "apache2,libapache2-mod-wsgi-py3"
LOCAL_ACTIONS = {"ansible.builtin.set_fact", "ansible.builtin.debug", "ansible.builtin.assert",
                 "ansible.builtin.fail", "ansible.builtin.include_vars", "ansible.builtin.meta",
                 "ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "ansible.builtin.include_role",
                 "ansible.builtin.validate_argument_spec", "set_fact", "debug", "assert", "fail", "include_vars",
                 "meta", "validate_argument_spec", "modwsgi.fleet.wsgi_plan"}
SSH_SETUP = ROOT / "molecule" / "common" / "ssh.yml"
FLOOR = HERE / "floor.yml"
SSH_USER = "fleet"


def projects(count: int) -> list[dict[str, Any]]:
    """``count`` projects, each its own daemon group and user, at paths of one vhost, half sized."""
    out = []
    for i in range(1, count + 1):
        project: dict[str, Any] = {"name": "p%02d" % i, "source": "examples/hello.wsgi", "port": 8080,
                                   "path": "/p%02d" % i}
        if i % 2:
            project["sizing"] = {"cpu_ms": 5, "wait_ms": 20, "rss_mb": 30, "peak_rps": 5}
        else:
            project.update(processes=1, threads=2)
        out.append(project)
    return out


def sh(*argv: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, text=True, **kwargs)


def start(names: list[str]) -> dict[str, str]:
    """Fresh container hosts; returns each one's address on podman's network."""
    addresses = {}
    for name in names:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
        sh("podman", "run", "-d", "--name", name, "--hostname", name, "--systemd=always", IMAGE, "/sbin/init",
           stdout=subprocess.DEVNULL)
        addresses[name] = sh("podman", "inspect", "--format", "{{.NetworkSettings.IPAddress}}", name,
                             capture_output=True).stdout.strip()
    return addresses


def remove(names: list[str]) -> None:
    for name in names:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)


def connection(transport: str, address: str, key: Path) -> dict[str, str]:
    """The inventory variables that reach a host by this transport."""
    if transport == "podman":
        return {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}
    return {"ansible_connection": "ansible.builtin.ssh", "ansible_host": address, "ansible_user": SSH_USER,
            "ansible_ssh_private_key_file": str(key), "ansible_python_interpreter": "/usr/bin/python3"}


def ansible_env(work: Path, forks: int) -> dict[str, str]:
    """Ansible's settings for every run: forks, SSH as fleets use it.

    Pipelining and ControlPersist, host keys learnt on first contact in this
    run's own known_hosts and checked after (they only matter over SSH).
    """
    return dict(os.environ, ANSIBLE_FORKS=str(forks),
                ANSIBLE_PIPELINING="true", ANSIBLE_HOST_KEY_CHECKING="true",
                ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=accept-new"
                                 " -o UserKnownHostsFile=%s" % (work / "known_hosts"))


def inventory(folder: Path, hosts: dict[str, dict[str, str]], count: int, isolation: str = "shared") -> Path:
    """hosts: name -> connection variables."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "group_vars").mkdir(exist_ok=True)
    inv = {"wsgi_hosts": {"hosts": hosts}}
    (folder / "hosts.yml").write_text(json.dumps(inv, indent=1))
    (folder / "group_vars" / "wsgi_hosts.yml").write_text(
        json.dumps({"wsgi_projects": projects(count), "wsgi_isolation": isolation}, indent=1))
    return folder / "hosts.yml"


def count_calls(report: dict[str, Any]) -> dict[str, Any]:
    """Tasks run, remote module calls and calls per task name, from the JSON callback's report.

    Skipped tasks count nothing; loop items count one call each unless
    skipped; tasks that run on the controller (set_fact, assert, the plan
    delegated to localhost, ...) count as tasks, not calls.
    """
    tasks = 0
    by_task: dict[str, int] = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                if result.get("skipped") and "results" not in result:
                    continue
                tasks += 1
                if result.get("action") in LOCAL_ACTIONS or result.get("_ansible_delegated_vars"):
                    continue
                items = result.get("results")
                calls = len([i for i in items if not i.get("skipped")]) if items is not None else 1
                if calls:
                    name = task["task"]["name"]
                    by_task[name] = by_task.get(name, 0) + calls
    return {"tasks": tasks, "remote_calls": sum(by_task.values()), "calls_by_task": by_task}


def cpu_times() -> list[int]:
    """The machine's CPU time counters (the first line of /proc/stat), in clock ticks."""
    with open("/proc/stat", encoding="ascii") as handle:
        return [int(field) for field in handle.readline().split()[1:]]


def busy_fraction(before: list[int], after: list[int]) -> float:
    """Share of the machine's CPU time that was busy between two cpu_times() readings (idle and iowait apart)."""
    spent = [b - a for a, b in zip(before, after)]
    total = sum(spent[:8])  # user nice system idle iowait irq softirq steal (guest time is counted in user)
    return round(1 - (spent[3] + spent[4]) / total, 3) if total else 0.0


def run_playbook(inv: Path, playbook: str = "playbooks/site.yml", idle: bool = False,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a playbook with the JSON callback; wall time, tasks run, remote calls, changed.

    idle: run ansible-playbook, and so everything it starts (the ssh or podman
    clients that run its modules on the host included), under SCHED_IDLE: it gets a
    CPU only when no other task wants one. What the playbook makes the host's
    systemd start runs at normal priority.
    """
    env = dict(env or os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine = cpu_times()
    t0 = time.monotonic()
    argv = ["ansible-playbook", "-i", str(inv), str(playbook)]
    proc = subprocess.run(["chrt", "--idle", "0", *argv] if idle else argv, cwd=ROOT, env=env, text=True,
                          capture_output=True, check=False)
    wall = time.monotonic() - t0
    busy = busy_fraction(machine, cpu_times())
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    controller_cpu = (done.ru_utime + done.ru_stime) - (children.ru_utime + children.ru_stime)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        sys.exit("ansible-playbook printed no JSON (rc %d):\n%s\n%s"
                 % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    if proc.returncode != 0:
        failed = [(t["task"]["name"], h, r.get("msg")) for p in report["plays"] for t in p["tasks"]
                  for h, r in t["hosts"].items() if r.get("failed") or r.get("unreachable")]
        sys.exit("ansible-playbook %s failed (rc %d): %s" % (playbook, proc.returncode, failed))
    stats = report["stats"]
    return {"wall_s": round(wall, 1), "controller_cpu_s": round(controller_cpu, 1), "machine_busy": busy,
            **count_calls(report),
            "changed": sum(s.get("changed", 0) for s in stats.values()), "hosts": len(stats)}


def measure(names: list[str], projects_per_host: int, work: Path, transport: str, forks: int,
            isolation: str = "shared") -> dict[str, Any]:
    """Fresh hosts set up for the transport, Apache's packages (timed apart), a first converge, the floor,
    a no-change rerun."""
    addresses = start(names)
    try:
        env = ansible_env(work, forks)
        key = work / "id_ed25519"
        inv = inventory(work / ("%dx%d-%s" % (len(names), projects_per_host, isolation)),
                        {name: connection(transport, addresses[name], key) for name in names},
                        projects_per_host, isolation)
        if transport == "ssh":
            run_playbook(inv, str(SSH_SETUP), env=env)
        t0 = time.monotonic()
        sh("ansible", "-i", str(inv), "all", "-b", "-m", "ansible.builtin.apt",
           "-a", "name=%s update_cache=true" % PACKAGES, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
        packages = round(time.monotonic() - t0, 1)
        first = run_playbook(inv, env=env)
        floor = run_playbook(inv, str(FLOOR), env=env)
        rerun = run_playbook(inv, env=env)
        if rerun["changed"]:
            sys.exit("the rerun with %d projects on %d hosts reported %d changes"
                     % (projects_per_host, len(names), rerun["changed"]))
        print("hosts=%d projects/host=%d isolation=%s packages=%ss first=%ss floor=%ss rerun=%ss (%d calls)"
              % (len(names), projects_per_host, isolation, packages, first["wall_s"], floor["wall_s"],
                 rerun["wall_s"], rerun["remote_calls"]), flush=True)
        return {"hosts": len(names), "projects_per_host": projects_per_host, "isolation": isolation,
                "packages_s": packages, "first": first, "floor": floor, "rerun": rerun}
    finally:
        remove(names)


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    return result["projects"] + result["hosts"]


def one_host_rerun(result: dict[str, Any], projects_per_host: int) -> dict[str, Any] | None:
    """The shared-isolation single-host row with this many projects (what a fleet row is compared with)."""
    for row in result["projects"]:
        if row["projects_per_host"] == projects_per_host and row["isolation"] == "shared":
            return row
    return None


def verdicts(result: dict[str, Any], floor_ratio: float = 4.0, fleet_ratio: float = 1.5) -> list[str]:
    """The issue's targets, each a line: every no-change rerun within floor_ratio x its floor; every fleet's
    rerun within fleet_ratio x the single host's with as many projects (forks >= the hosts)."""
    lines = []
    for row in _rows(result):
        ratio = row["rerun"]["wall_s"] / row["floor"]["wall_s"]
        lines.append("- %s: no-change rerun %.1f s = %.2fx its floor (%.1f s), target <= %.1fx: %s"
                     % (label(row), row["rerun"]["wall_s"], ratio, row["floor"]["wall_s"], floor_ratio,
                        "PASS" if ratio <= floor_ratio else "FAIL"))
    for row in result["hosts"]:
        base = one_host_rerun(result, row["projects_per_host"])
        if base is None:
            continue
        ratio = row["rerun"]["wall_s"] / base["rerun"]["wall_s"]
        enough = int(result["forks"]) >= row["hosts"]
        lines.append("- %s: no-change rerun %.2fx that of 1 host (%.1f s against %.1f s), forks %s, target <= %.1fx: %s"
                     % (label(row), ratio, row["rerun"]["wall_s"], base["rerun"]["wall_s"], result["forks"],
                        fleet_ratio, ("PASS" if ratio <= fleet_ratio else "FAIL") if enough
                        else "not judged (fewer forks than hosts)"))
        if "controller_cpu_s" in row["rerun"]:
            lines.append("  (controller CPU %.1f s against %.1f s; the machine's CPUs %.0f%% busy against %.0f%%)"
                         % (row["rerun"]["controller_cpu_s"], base["rerun"]["controller_cpu_s"],
                            100 * row["rerun"]["machine_busy"], 100 * base["rerun"]["machine_busy"]))
    return lines


def label(row: dict[str, Any]) -> str:
    return "%d project%s, %d host%s%s" % (
        row["projects_per_host"], "" if row["projects_per_host"] == 1 else "s", row["hosts"],
        "" if row["hosts"] == 1 else "s",
        ", isolation %s" % row["isolation"] if row.get("isolation", "shared") != "shared" else "")


def table(result: dict[str, Any]) -> str:
    base = result["projects"][0]
    how = {"ssh": "over SSH (non-root user, sudo, pipelining, ControlPersist)",
           "podman": "through podman exec"}[result.get("transport", "podman")]
    lines = [
        "Measured %s on %s (%s CPUs), fresh podman container hosts reached %s, forks %s."
        % (result["date"], result["machine"], result["cpus"], how, result["forks"]),
        "",
        "| run | packages | first converge | tasks / remote calls | floor | no-change rerun | x floor "
        "| tasks / remote calls | rerun: controller CPU, CPUs busy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in _rows(result):
        lines.append("| %s | %.0f s | %.0f s (%.2fx) | %d / %d | %.1f s | %.1f s (%.2fx) | %.2fx | %d / %d | %s |" % (
            label(row), row["packages_s"],
            row["first"]["wall_s"], row["first"]["wall_s"] / base["first"]["wall_s"],
            row["first"]["tasks"], row["first"]["remote_calls"], row["floor"]["wall_s"],
            row["rerun"]["wall_s"], row["rerun"]["wall_s"] / base["rerun"]["wall_s"],
            row["rerun"]["wall_s"] / row["floor"]["wall_s"], row["rerun"]["tasks"], row["rerun"]["remote_calls"],
            "%.1f s, %.0f%%" % (row["rerun"]["controller_cpu_s"], 100 * row["rerun"]["machine_busy"])
            if "controller_cpu_s" in row["rerun"] else "-"))
    lines += ["", "(x): against the first row. floor: bench/floor.yml (facts + one ping) on the same hosts, "
              "just before the rerun. Controller CPU: user + system time of ansible-playbook and everything it "
              "started (ssh clients included); CPUs busy: the whole machine's, containers included, from "
              "/proc/stat.", "", "Targets:", *verdicts(result)]
    calls_row = one_host_rerun(result, 10) or base
    lines += ["", "Remote calls of the no-change rerun, %s, by task (per host):" % label(calls_row), "",
              "| task | calls |", "|---|---|"]
    for name, calls in sorted(calls_row["rerun"]["calls_by_task"].items(), key=lambda kv: -kv[1]):
        lines.append("| %s | %g |" % (name, calls / calls_row["hosts"]))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--projects", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--hosts", type=int, nargs="*", default=[3, 10],
                        help="host counts of the fleet measurements (none or 0: skip them)")
    parser.add_argument("--projects-per-host", type=int, default=10)
    parser.add_argument("--isolation", nargs="+", choices=["shared", "instance"], default=["shared"],
                        help="wsgi_isolation of the single-host runs (shared); each project count runs in each")
    parser.add_argument("--transport", choices=["ssh", "podman"], default="ssh")
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "cost.json")
    args = parser.parse_args()
    result: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "machine": "%s, %s" % (platform.machine(), platform.platform(terse=True)),
        "cpus": os.cpu_count(), "forks": args.forks, "transport": args.transport, "image": IMAGE,
        "projects": [], "hosts": [],
    }
    with tempfile.TemporaryDirectory(prefix="modwsgi-cost-") as tmp:
        work = Path(tmp)
        for count in args.projects:
            for isolation in args.isolation:
                result["projects"].append(measure(["modwsgi-fleet-cost-1"], count, work, args.transport,
                                                  args.forks, isolation))
        for hosts in [count for count in args.hosts if count > 0]:
            names = ["modwsgi-fleet-cost-%d" % i for i in range(1, hosts + 1)]
            result["hosts"].append(measure(names, args.projects_per_host, work, args.transport, args.forks))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    text = table(result)
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
