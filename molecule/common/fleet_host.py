# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the Molecule verifiers of every scenario share: looking at a host, running the playbooks on it."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LOAD_SCRIPT = REPO / "tests" / "load" / "wsgi_load.py"


def get(host: Any, port: int, path: str, host_header: str | None = None) -> tuple[int, str]:
    """GET from inside the container; returns (status, body)."""
    target = "http://127.0.0.1:%d%s" % (port, path)
    if host_header:
        cmd = host.run("curl -s -H %s -w '\\n%%{http_code}' %s", "Host: %s" % host_header, target)
    else:
        cmd = host.run("curl -s -w '\\n%%{http_code}' %s", target)
    body, status = cmd.stdout.rsplit("\n", 1) if "\n" in cmd.stdout else ("", cmd.stdout)
    return int(status or 0), body


def daemons(host: Any) -> dict[int, tuple[str, str]]:
    """pid -> (user, display name) of every mod_wsgi daemon process."""
    out = host.check_output("ps -eo pid=,user:32=,args=")
    found = {}
    for line in out.splitlines():
        pid, user, args = line.split(None, 2)
        match = re.match(r"^\(wsgi:([^)\s]+)", args)
        if match:
            found[int(pid)] = (user, match.group(1))
    return found


def main_apache(host: Any) -> tuple[int, list[int]]:
    """The main Apache's pid and its children's: a reload (graceful or not) replaces the children."""
    pid = int(host.check_output("cat /run/apache2/apache2.pid"))
    return pid, sorted(int(child) for child in host.check_output("ps --ppid %s -o pid=", str(pid)).split())


def group_pids(host: Any) -> dict[str, list[int]]:
    """Display name -> sorted pids."""
    pids: dict[str, list[int]] = {}
    for pid, (_user, name) in daemons(host).items():
        pids.setdefault(name, []).append(pid)
    return {name: sorted(found) for name, found in pids.items()}


INSTANCES_STATE = "/var/lib/modwsgi-fleet/instances.json"
# What the main Apache reads at each request: "GROUP ADDRESS:PORT" of each group's live instance.
INSTANCES_BACKENDS = "/var/lib/modwsgi-fleet/backends"
SHARED_CONF = "/etc/apache2/modwsgi-fleet/wsgi.conf"


def live_instances(host: Any) -> dict[str, str]:
    """Daemon group -> its live Apache instance (isolation instance), from the role's state file."""
    if not host.file(INSTANCES_STATE).exists:
        return {}
    groups = json.loads(host.file(INSTANCES_STATE).content_string)["groups"]
    return {group: "wsgi-%s-%s" % (group, entry["live"]) for group, entry in groups.items() if entry["live"]}


def cpu_quotas(host: Any, projects: list[dict[str, Any]], percent: int = 95) -> dict[str, dict[str, int | None]]:
    """Each live instance's CPUQuota in percent of one CPU: wanted, in its drop-in, in the kernel.

    Wanted as docs/sizing.md computes it: ``percent`` x the host's CPUs x the
    group's weight over the weights of all the host's groups, rounded up.
    The kernel's is cgroup v1's cpu.cfs_quota_us over cpu.cfs_period_us, or
    cgroup v2's cpu.max (None: no quota).
    """
    weights = {p["name"]: p.get("sizing", {}).get("weight", 1) for p in projects}
    live = live_instances(host)
    total = sum(weights.get(group, 1) for group in live)
    cpus = int(host.check_output("nproc"))
    out = {}
    for group, name in live.items():
        unit = "apache2@%s.service" % name
        dropin = host.file("/etc/systemd/system/%s.d/modwsgi-fleet-cpu-quota.conf" % unit)
        written = re.search(r"^CPUQuota=(\d+)%$", dropin.content_string, re.M) if dropin.exists else None
        cgroup = host.check_output("systemctl show -p ControlGroup --value %s" % unit)
        v1 = "/sys/fs/cgroup/cpu%s/" % cgroup
        if host.file(v1 + "cpu.cfs_quota_us").exists:
            quota, period = (int(host.file(v1 + key).content_string) for key in ("cpu.cfs_quota_us", "cpu.cfs_period_us"))
        else:
            text = host.file("/sys/fs/cgroup%s/cpu.max" % cgroup).content_string.split()
            quota, period = (-1 if text[0] == "max" else int(text[0])), int(text[1])
        out[group] = {
            "wanted": math.ceil(round(percent * cpus * weights.get(group, 1) / total, 9)) if percent else None,
            "dropin": int(written.group(1)) if written else None,
            "kernel": None if quota < 0 else round(quota * 100 / period),
        }
    return out


def other_instance(name: str) -> str:
    """The other colour of an instance: wsgi-G-blue <-> wsgi-G-green."""
    group, color = name.rsplit("-", 1)
    return "%s-%s" % (group, {"blue": "green", "green": "blue"}[color])


def daemon_config(host: Any) -> str:
    """The configuration that holds the WSGIDaemonProcess lines: wsgi.conf, or each live instance's."""
    live = live_instances(host)
    if not live:
        return host.file(SHARED_CONF).content_string
    return "\n".join(host.file("/etc/apache2-%s/apache2.conf" % name).content_string for name in sorted(live.values()))


def host_state(host: Any) -> tuple[str, ...]:
    """What a refused run must leave as it was: config files, Apache's pid, daemons, accounts, code."""
    return (
        host.check_output("sha256sum /etc/apache2/modwsgi-fleet/*.conf /etc/apache2/ports.conf "
                          "/etc/apache2/conf-enabled/*.conf /etc/apache2-*/* %s 2>/dev/null; true" % INSTANCES_STATE),
        host.check_output("systemctl list-units --no-legend --plain 'apache2@*'"),
        host.check_output("cat /run/apache2/apache2.pid"),
        json.dumps(sorted(daemons(host))),
        host.check_output("getent passwd | sort | sha256sum"),
        host.check_output("getent group | sort | sha256sum"),
        host.check_output("find /srv/wsgi -printf '%p %m %u %g %s %T@\\n' | sort | sha256sum"),
    )


def inventory_vars(host: Any) -> dict[str, Any]:
    """The variables the inventory gives the converged host."""
    listed = subprocess.run(
        ["ansible-inventory", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "--host", host.backend.hostname],
        check=True, capture_output=True, text=True, cwd=REPO)
    return json.loads(listed.stdout)


def inventory_projects(host: Any) -> list[dict[str, Any]]:
    """wsgi_projects of the converged host, as the inventory gives them."""
    return inventory_vars(host)["wsgi_projects"]


def isolation(host: Any) -> str:
    """The host's wsgi_isolation, as the inventory gives it."""
    return inventory_vars(host).get("wsgi_isolation", "shared")


def playbook(tmp_path: Path, name: str, extra_vars: dict[str, Any], *options: str) -> tuple[int, str]:
    """Run playbooks/NAME (or a path relative to the repository) on the host; returns (rc, output)."""
    extra = tmp_path / ("extra-%d.json" % time.monotonic_ns())
    extra.write_text(json.dumps(extra_vars))
    path = name if "/" in name else "playbooks/%s" % name
    run = subprocess.run(  # pylint: disable=subprocess-run-check  # the return code is the result
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], path, "-e", "@%s" % extra, *options],
        capture_output=True, text=True, cwd=REPO,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json"))
    return run.returncode, run.stdout + run.stderr


def site(tmp_path: Path, projects: list[dict[str, Any]], *options: str) -> tuple[int, str]:
    """Run playbooks/site.yml against the host with these projects."""
    return playbook(tmp_path, "site.yml", {"wsgi_projects": projects}, *options)


def restart_report(output: str, group: str) -> dict[str, list[Any]]:
    """What the restart entry point printed for GROUP: old and new pids, when each old one was signalled, its drain."""
    (shown,) = [line for line in output.splitlines() if '"msg": "%s: ' % group in line]
    match = re.search(r'"msg": "%s: ([0-9,]+) -> ([0-9,]+); SIGUSR1 at ([0-9.,]+) \(epoch s\), drained in ([0-9.,]+) s"'
                      % re.escape(group), shown)
    assert match, shown
    old, new, signalled, drained = (part.split(",") for part in match.groups())
    return {"old_pids": [int(p) for p in old], "new_pids": [int(p) for p in new],
            "signalled_at": [float(t) for t in signalled], "drained_s": [float(t) for t in drained]}


def recap_changed(output: str) -> int:
    return int(re.search(r"modwsgi-fleet-\w+\s+: ok=\d+\s+changed=(\d+)", output).group(1))


class Load:
    """tests/load/wsgi_load.py running inside the container while something else happens.

        with Load(host, {"alpha": "http://127.0.0.1/alpha"}) as load:
            ...change something...
        load.results["alpha"]["failed"]

    Per target, ``connections`` keep-alive connections and ``new_connections``
    threads that open a new connection for each request.
    """

    def __init__(self, host: Any, targets: dict[str, str], connections: int = 2, interval: float = 0.02,
                 new_connections: int = 0) -> None:
        self.host = host
        self.name = host.backend.hostname
        self.out = "/tmp/wsgi-load-%d.json" % time.monotonic_ns()
        self.stop_file = self.out + ".stop"
        subprocess.run(["podman", "cp", str(LOAD_SCRIPT), "%s:/usr/local/bin/wsgi_load.py" % self.name], check=True)
        args = ["--out", self.out, "--stop-file", self.stop_file, "--connections", str(connections),
                "--new-connections", str(new_connections), "--interval", str(interval)]
        for name, url in sorted(targets.items()):
            args += ["--target", "%s=%s" % (name, url)]
        subprocess.run(["podman", "exec", "-d", self.name, "python3", "/usr/local/bin/wsgi_load.py", *args],
                       check=True)
        self.results: dict[str, Any] = {}
        time.sleep(2)  # every connection is up and busy before the change starts

    def __enter__(self) -> "Load":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> dict[str, Any]:
        """Stop the load (also when the change failed) and read what it counted."""
        if self.results:
            return self.results
        time.sleep(2)  # the load goes on for a moment after the change ended
        self.host.run("touch %s", self.stop_file)
        for _attempt in range(150):
            if self.host.file(self.out).exists:
                self.results = json.loads(self.host.file(self.out).content_string)["targets"]
                return self.results
            time.sleep(0.5)
        self.host.run("pkill -f %s", self.out)
        raise AssertionError("the load script wrote no results")
