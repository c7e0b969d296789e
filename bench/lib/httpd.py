# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One Apache httpd + mod_wsgi instance: start, probe requests, memory, CPU, stop.

Every instance runs in its own process group and temp ServerRoot; ``LIVE``
holds the running ones so that ``stop_all`` stops them on any exit.
"""

from __future__ import annotations

import functools
import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from lib import procfs
from lib.conf import GROUP, httpd_conf
from lib.env import APACHE, APP, log
from lib.model import Config

LIVE: list["Httpd"] = []  # instances to stop on any exit


def join_cgroups(procs_files: list[str]) -> None:
    """Put this process in cgroups (their cgroup.procs files): in a child before exec, so that all it starts is too."""
    for path in procs_files:
        with open(path, "w", encoding="ascii") as handle:
            handle.write(str(os.getpid()))


def free_port(start: int) -> int:
    """The first port from ``start`` up that is free on 127.0.0.1."""
    port = start
    while True:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                port += 1


class Httpd:
    """One apache2 -DFOREGROUND in its own process group and temp ServerRoot."""

    children = 2
    threads_per_child = 128
    stop_grace = 1.5  # seconds between SIGTERM and SIGKILL of the process group

    def __init__(self, base: Path, name: str, config: Config, port: int):
        self.root = base / name
        self.name = name
        self.config = config
        self.port = port
        # Instances are told apart by their process group, not by the daemon
        # group's name (see conf.GROUP).
        self.group = GROUP
        self.proc: subprocess.Popen | None = None
        # cgroup.procs files the server joins before it starts (bench/colocate.py).
        self.cgroups: list[str] = []

    def write(self) -> Path:
        self.root.mkdir(parents=True)
        os.chmod(self.root, 0o755)  # the children run as www-data
        shutil.copy(APP, self.root / "app.wsgi")
        os.chmod(self.root / "app.wsgi", 0o644)
        conf = self.root / "httpd.conf"
        conf.write_text(
            httpd_conf(self.root, self.port, self.config, self.children, self.threads_per_child),
            encoding="utf-8",
        )
        return conf

    def start(self, timeout: float = 20.0) -> None:
        conf = self.write()
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        with open(self.root / "stdout.log", "wb") as out:
            self.proc = subprocess.Popen(
                [APACHE, "-d", str(self.root), "-f", str(conf), "-DFOREGROUND"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # own process group: killpg reaches the daemons
                preexec_fn=functools.partial(join_cgroups, self.cgroups) if self.cgroups else None,
            )
        LIVE.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"apache2 exited with {self.proc.returncode}:\n{self.logs()}")
            if self.ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"apache2 for {self.name} not ready after {timeout} s:\n{self.logs()}")

    def ready(self) -> bool:
        """All the group's daemons are up and the app answers."""
        return len(self.daemon_pids()) >= self.config.processes and self.get(0, 0, 0)[0] == 200

    def logs(self) -> str:
        text = procfs.read(str(self.root / "error.log")) + procfs.read(str(self.root / "stdout.log"))
        return "\n".join(text.splitlines()[-20:])

    def get(self, cpu_ms: float, wait_ms: float, chunk: int) -> tuple[int, dict]:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request("GET", f"/?cpu_ms={cpu_ms}&wait_ms={wait_ms}&chunk={chunk}")
            resp = conn.getresponse()
            resp.read()
            conn.close()
            return resp.status, dict(resp.getheaders())
        except OSError:
            return 0, {}

    def daemon_pids(self) -> list[int]:
        """The mod_wsgi daemon processes (display-name "(wsgi:<group>)") of this instance."""
        if not self.proc:
            return []
        found = []
        for pid in procfs.group_members(self.proc.pid):
            if procfs.cmdline(pid).startswith(f"(wsgi:{self.group})"):
                found.append(pid)
        return found

    def memory(self) -> dict:
        pids = self.daemon_pids()
        rss = [procfs.status_kb(pid, "VmRSS") for pid in pids]
        return {
            "daemon_processes": len(pids),
            "daemon_rss_mb": sum(rss) / 1024.0,
            "daemon_rss_mb_each": [round(r / 1024.0, 1) for r in rss],
            "daemon_pss_mb": sum(procfs.pss_kb(pid) for pid in pids) / 1024.0,
            "daemon_threads": sum(procfs.status_kb(pid, "Threads") for pid in pids),
        }

    def cpu_ticks(self) -> int:
        return procfs.group_cpu_ticks(self.proc.pid) if self.proc else 0

    def stop(self) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        try:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGTERM)
                try:
                    # Children whose threads still wait on a queued daemon
                    # take seconds to go; the measurement is over, so they
                    # get a short grace and then SIGKILL below.
                    self.proc.wait(timeout=self.stop_grace)
                except subprocess.TimeoutExpired:
                    pass
            # Anything left in the group (daemons that did not exit): kill it.
            for _attempt in range(50):
                self.proc.poll()  # reap the master once it is gone
                if not procfs.group_members(pgid):
                    break
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            if self.proc.poll() is None:
                self.proc.wait(timeout=5)
        finally:
            if self in LIVE:
                LIVE.remove(self)


def stop_all() -> None:
    for httpd in list(LIVE):
        try:
            httpd.stop()
        except Exception as exc:  # keep stopping the others
            log(f"stopping {httpd.name}: {exc}")
