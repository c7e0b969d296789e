# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a run of playbooks/site.yml costs per project and per host.

For each project count (1, 10 and 50 by default) a fresh container host is
started from the project's base image; Apache's packages are installed first
and timed on their own, so that the first converge measures the role's work;
then site.yml runs twice: the first converge and a no-change rerun (which
must report changed=0). With --isolation shared instance, each project count
is measured in both isolations (wsgi_isolation), one after the other in the
same run. A last measurement runs the no-change rerun over several hosts at
once. Wall time, the tasks that ran and the remote module
calls (loop items count one each) are taken from Ansible's JSON callback.

Run it through bench/cost, which sets up the tool chain.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
IMAGE = os.environ.get("MODWSGI_IMAGE", "localhost/modwsgi-fleet-debian:bookworm-2")
PACKAGES = "apache2,libapache2-mod-wsgi-py3"
LOCAL_ACTIONS = {"ansible.builtin.set_fact", "ansible.builtin.debug", "ansible.builtin.assert",
                 "ansible.builtin.fail", "ansible.builtin.include_vars", "ansible.builtin.meta",
                 "ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "ansible.builtin.include_role",
                 "set_fact", "debug", "assert", "fail", "include_vars", "meta"}


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


def start(names: list[str]) -> None:
    for name in names:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
        sh("podman", "run", "-d", "--name", name, "--hostname", name, "--systemd=always", IMAGE, "/sbin/init",
           stdout=subprocess.DEVNULL)


def remove(names: list[str]) -> None:
    for name in names:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)


def inventory(folder: Path, hosts: list[str], count: int, isolation: str = "shared") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "group_vars").mkdir(exist_ok=True)
    inv = {"wsgi_hosts": {"hosts": {h: {"ansible_connection": "containers.podman.podman",
                                        "ansible_python_interpreter": "/usr/bin/python3"} for h in hosts}}}
    (folder / "hosts.yml").write_text(json.dumps(inv, indent=1))
    (folder / "group_vars" / "wsgi_hosts.yml").write_text(
        json.dumps({"wsgi_projects": projects(count), "wsgi_isolation": isolation}, indent=1))
    return folder / "hosts.yml"


def run_playbook(inv: Path, playbook: str = "playbooks/site.yml", idle: bool = False) -> dict[str, Any]:
    """Run a playbook with the JSON callback; wall time, tasks run, remote calls, changed.

    idle: run ansible-playbook, and so everything it starts (the modules it runs
    in the container through podman exec included), under SCHED_IDLE: it gets a
    CPU only when no other task wants one. What the playbook makes the host's
    systemd start runs at normal priority.
    """
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    t0 = time.monotonic()
    argv = ["ansible-playbook", "-i", str(inv), playbook]
    proc = subprocess.run(["chrt", "--idle", "0", *argv] if idle else argv, cwd=ROOT, env=env, text=True,
                          capture_output=True, check=False)
    wall = time.monotonic() - t0
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        sys.exit("ansible-playbook printed no JSON (rc %d):\n%s\n%s"
                 % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    if proc.returncode != 0:
        failed = [(t["task"]["name"], h, r.get("msg")) for p in report["plays"] for t in p["tasks"]
                  for h, r in t["hosts"].items() if r.get("failed")]
        sys.exit("ansible-playbook failed (rc %d): %s" % (proc.returncode, failed))
    tasks = calls = 0
    for play in report["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                if result.get("skipped") and "results" not in result:
                    continue
                tasks += 1
                if result.get("action") in LOCAL_ACTIONS or result.get("_ansible_delegated_vars"):
                    continue
                items = result.get("results")
                calls += len([i for i in items if not i.get("skipped")]) if items is not None else 1
    stats = report["stats"]
    return {"wall_s": round(wall, 1), "tasks": tasks, "remote_calls": calls,
            "changed": sum(s.get("changed", 0) for s in stats.values()), "hosts": len(stats)}


def measure(names: list[str], projects_per_host: int, work: Path, isolation: str = "shared") -> dict[str, Any]:
    """Fresh hosts with Apache's packages (timed apart), then a first converge and a no-change rerun."""
    start(names)
    try:
        inv = inventory(work / ("%dx%d-%s" % (len(names), projects_per_host, isolation)), names, projects_per_host,
                        isolation)
        t0 = time.monotonic()
        sh("ansible", "-i", str(inv), "all", "-m", "ansible.builtin.apt",
           "-a", "name=%s update_cache=true" % PACKAGES, stdout=subprocess.DEVNULL, cwd=ROOT)
        packages = round(time.monotonic() - t0, 1)
        first = run_playbook(inv)
        rerun = run_playbook(inv)
        if rerun["changed"]:
            sys.exit("the rerun with %d projects on %d hosts reported %d changes"
                     % (projects_per_host, len(names), rerun["changed"]))
        print("hosts=%d projects/host=%d isolation=%s packages=%ss first=%s rerun=%s"
              % (len(names), projects_per_host, isolation, packages, first, rerun), flush=True)
        return {"hosts": len(names), "projects_per_host": projects_per_host, "isolation": isolation,
                "packages_s": packages, "first": first, "rerun": rerun}
    finally:
        remove(names)


def table(result: dict[str, Any]) -> str:
    base = result["projects"][0]
    lines = [
        "Measured %s on %s (%s CPUs), one podman container host per run, forks %s."
        % (result["date"], result["machine"], result["cpus"], result["forks"]),
        "",
        "| run | packages | first converge | tasks / remote calls | no-change rerun | tasks / remote calls |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["projects"]:
        lines.append("| %d project%s, 1 host%s | %.0f s | %.0f s (%.2fx) | %d / %d | %.0f s (%.2fx) | %d / %d |" % (
            row["projects_per_host"], "" if row["projects_per_host"] == 1 else "s",
            ", isolation %s" % row["isolation"] if row.get("isolation", "shared") != "shared" else "", row["packages_s"],
            row["first"]["wall_s"], row["first"]["wall_s"] / base["first"]["wall_s"],
            row["first"]["tasks"], row["first"]["remote_calls"],
            row["rerun"]["wall_s"], row["rerun"]["wall_s"] / base["rerun"]["wall_s"],
            row["rerun"]["tasks"], row["rerun"]["remote_calls"]))
    for row in result["hosts"]:
        lines.append("| %d projects, %d hosts | - | %.0f s | %d / %d | %.0f s (%.2fx) | %d / %d |" % (
            row["projects_per_host"], row["hosts"], row["first"]["wall_s"], row["first"]["tasks"],
            row["first"]["remote_calls"], row["rerun"]["wall_s"], row["rerun"]["wall_s"] / base["rerun"]["wall_s"],
            row["rerun"]["tasks"], row["rerun"]["remote_calls"]))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--projects", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--hosts", type=int, default=3, help="hosts of the fleet measurement (0: skip it)")
    parser.add_argument("--projects-per-host", type=int, default=10)
    parser.add_argument("--isolation", nargs="+", choices=["shared", "instance"], default=["shared"],
                        help="wsgi_isolation of the single-host runs (shared); each project count runs in each")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "cost.json")
    args = parser.parse_args()
    forks = os.environ.get("ANSIBLE_FORKS", "5")
    result: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "machine": "%s, %s" % (platform.machine(), platform.platform(terse=True)),
        "cpus": os.cpu_count(), "forks": forks, "image": IMAGE, "projects": [], "hosts": [],
    }
    with tempfile.TemporaryDirectory(prefix="modwsgi-cost-") as tmp:
        for count in args.projects:
            for isolation in args.isolation:
                result["projects"].append(measure(["modwsgi-fleet-cost-1"], count, Path(tmp), isolation))
        if args.hosts:
            names = ["modwsgi-fleet-cost-%d" % i for i in range(1, args.hosts + 1)]
            result["hosts"].append(measure(names, args.projects_per_host, Path(tmp)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    text = table(result)
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
