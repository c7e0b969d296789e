#!/usr/bin/env python
"""Benchmark the wsgi_sizing model against a grid of mod_wsgi processes x threads.

Runs real Apache httpd (event MPM) + mod_wsgi daemon mode on 127.0.0.1 with a
synthetic application of known cost (bench/app.wsgi), loads it with wrk, and
compares, per profile (CPU-bound, I/O-bound, mixed), the choice of
``plugins/module_utils/_sizing.py`` with every cell of a grid and with three
rules of thumb. Writes RESULTS.md, results.json and one heatmap PNG per profile.

Start it with bench/run (which installs the Debian packages it needs); it must
run under Debian's /usr/bin/python3 (only its burn loop calibration needs that,
but mod_wsgi is built for it, so the two agree). See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import random
import re
import resource
import runpy
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.dont_write_bytecode = True  # leave no __pycache__ in the collection's tree
sys.path.insert(0, str(REPO / "plugins" / "module_utils"))
import _sizing  # noqa: E402  (stdlib-only pure logic of the wsgi_sizing module)

APP = BENCH / "app.wsgi"
APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

# Targets from the issue.
TARGET_THROUGHPUT = 0.90  # module's req/s >= 90 % of the grid's best cell
TARGET_P99 = 1.5  # module's p99 <= 1.5 x the best cell's p99


@dataclass(frozen=True)
class Profile:
    name: str
    cpu_ms: float
    wait_ms: float
    connections: int
    note: str


# Connections: at least twice the requests in flight when the host's 2 CPUs
# are saturated by the application alone (rate 2000/cpu_ms x latency), and a
# power of two; the same for every row of a profile.
PROFILES = (
    Profile("cpu-bound", 20.0, 2.0, 32, "100 req/s x 22 ms = 2.2 in flight at 2 CPUs"),
    Profile("io-bound", 2.0, 60.0, 128, "1000 req/s x 62 ms = 62 in flight at 2 CPUs"),
    Profile("mixed", 10.0, 30.0, 64, "200 req/s x 40 ms = 8 in flight at 2 CPUs"),
)

FULL_GRID = ((1, 2, 3, 4, 6, 8), (1, 2, 4, 8, 16))
QUICK_GRID = ((1, 2, 4), (1, 4, 16))


@dataclass(frozen=True)
class Config:
    processes: int
    threads: int
    write_processes: bool = True  # False: `processes=` omitted (a single process)

    @property
    def key(self) -> str:
        return f"{self.processes}x{self.threads}"

    @property
    def directive(self) -> str:
        procs = f"processes={self.processes} " if self.write_processes else ""
        return f"{procs}threads={self.threads}"


@dataclass
class Row:
    kind: str  # "grid", "module" or "rule"
    labels: list[str]
    config: Config
    runs: list[dict] = field(default_factory=list)

    @property
    def result(self) -> dict:
        """The run with the least CPU taken by other jobs (normally the only one)."""
        return min(self.runs, key=lambda run: run["cpu_cores"]["other"])

    @property
    def label(self) -> str:
        return ", ".join(self.labels)


# --------------------------------------------------------------------------
# Small helpers: /proc, processes, wrk output
# --------------------------------------------------------------------------


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S ") + message, file=sys.stderr, flush=True)


def read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def proc_stat(pid: int) -> tuple[int, int] | None:
    """(pgrp, utime + stime in ticks) of a process, or None when it is gone."""
    text = read(f"/proc/{pid}/stat")
    if not text:
        return None
    rest = text[text.rfind(")") + 2 :].split()
    return int(rest[2]), int(rest[11]) + int(rest[12])


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    members = []
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat and stat[0] == pgid and not read(f"/proc/{pid}/stat").split(") ")[-1].startswith("Z"):
            members.append(pid)
    return members


def group_cpu_ticks(pgid: int) -> int:
    total = 0
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat and stat[0] == pgid:
            total += stat[1]
    return total


def system_busy_ticks() -> tuple[int, int]:
    """(busy ticks of all CPUs, steal ticks) from /proc/stat."""
    fields = [int(v) for v in read("/proc/stat").splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, steal


def status_kb(pid: int, key: str) -> int:
    for line in read(f"/proc/{pid}/status").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def pss_kb(pid: int) -> int:
    for line in read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"cannot read a duration from {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse_wrk(output: str) -> dict:
    """The numbers of one `wrk --latency` run."""
    out: dict = {"latency_ms": {}}
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.M):
        out["latency_ms"][f"p{pct}"] = to_ms(value)
    match = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", output, re.M)
    if match:
        out["latency_ms"]["mean"] = to_ms(match.group(1))
        out["latency_ms"]["max"] = to_ms(match.group(3))
    match = re.search(r"(\d+) requests in ([\d.]+\w+),", output)
    if not match:
        raise ValueError("no request count in wrk output:\n" + output)
    out["requests"] = int(match.group(1))
    out["duration_s"] = to_ms(match.group(2)) / 1000.0
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    out["non_2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    out["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, match.groups()))) if match else {}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    out["wrk_rps"] = float(match.group(1)) if match else None
    good = out["requests"] - out["non_2xx"]
    out["rps"] = good / out["duration_s"] if out["duration_s"] else 0.0
    return out


def free_port(start: int) -> int:
    port = start
    while True:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                port += 1


# --------------------------------------------------------------------------
# Apache httpd + mod_wsgi instance
# --------------------------------------------------------------------------

CONF = """\
# Generated by bench/bench.py: one daemon group, loopback only.
ServerRoot "{root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{root}/httpd.pid"
ErrorLog "{root}/error.log"
LogLevel warn
DefaultRuntimeDir "{root}"
Mutex file:{root} default
{user}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule wsgi_module {modules}/mod_wsgi.so

# Front end sized far above any daemon capacity in the grid (8 x 16 = 128)
# and the wrk connections (at most 128): all 256 worker threads start at once
# and are never reaped, so Apache itself is not what limits a cell. Each child
# alone has a thread for every wrk connection: the event MPM closes keep-alive
# connections of a child that holds more connections than
# ThreadsPerChild + AsyncRequestWorkerFactor x idle threads, and wrk counts a
# request caught in that close as a read error.
Timeout 60
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 15
ServerLimit {children}
StartServers {children}
ThreadLimit {tpc}
ThreadsPerChild {tpc}
MaxRequestWorkers {workers}
MinSpareThreads {tpc}
MaxSpareThreads {workers}
MaxConnectionsPerChild 0

WSGISocketPrefix {root}/wsgi
WSGIRestrictEmbedded On
# Same options for every row except processes/threads; listen-backlog holds all
# wrk connections, so a small group queues requests instead of refusing them.
WSGIDaemonProcess {group} {directive} display-name=%{{GROUP}} listen-backlog=1024 home={root}
WSGIScriptAlias / {root}/app.wsgi process-group={group} application-group=%{{GLOBAL}}
<Directory "{root}">
    Require all granted
</Directory>
"""

LIVE: list["Httpd"] = []  # instances to stop on any exit


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
        # mod_wsgi writes "(wsgi:<group>)" over argv[0] ("/usr/sbin/apache2",
        # 17 characters) and cuts it there: keep the name short. Instances are
        # told apart by their process group.
        self.group = "bench"
        self.proc: subprocess.Popen | None = None

    def write(self) -> Path:
        self.root.mkdir(parents=True)
        os.chmod(self.root, 0o755)  # the children run as www-data
        shutil.copy(APP, self.root / "app.wsgi")
        os.chmod(self.root / "app.wsgi", 0o644)
        conf = self.root / "httpd.conf"
        conf.write_text(
            CONF.format(
                root=self.root,
                port=self.port,
                user="User www-data\nGroup www-data" if os.geteuid() == 0 else "",
                modules=MODULES,
                children=self.children,
                tpc=self.threads_per_child,
                workers=self.children * self.threads_per_child,
                group=self.group,
                directive=self.config.directive,
            ),
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
            )
        LIVE.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"apache2 exited with {self.proc.returncode}:\n{self.logs()}")
            if len(self.daemon_pids()) >= self.config.processes and self.get(0, 0, 0)[0] == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"apache2 for {self.name} not ready after {timeout} s:\n{self.logs()}")

    def logs(self) -> str:
        text = read(str(self.root / "error.log")) + read(str(self.root / "stdout.log"))
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
        for pid in group_members(self.proc.pid):
            if read(f"/proc/{pid}/cmdline").startswith(f"(wsgi:{self.group})"):
                found.append(pid)
        return found

    def memory(self) -> dict:
        pids = self.daemon_pids()
        rss = [status_kb(pid, "VmRSS") for pid in pids]
        return {
            "daemon_processes": len(pids),
            "daemon_rss_mb": sum(rss) / 1024.0,
            "daemon_rss_mb_each": [round(r / 1024.0, 1) for r in rss],
            "daemon_pss_mb": sum(pss_kb(pid) for pid in pids) / 1024.0,
            "daemon_threads": sum(status_kb(pid, "Threads") for pid in pids),
        }

    def cpu_ticks(self) -> int:
        return group_cpu_ticks(self.proc.pid) if self.proc else 0

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
                if not group_members(pgid):
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


# --------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------


def wrk(port: int, profile: Profile, chunk: int, connections: int, seconds: float) -> tuple[dict, str, float]:
    """Run wrk; return its numbers, its raw output and the CPU seconds wrk used."""
    url = f"http://127.0.0.1:{port}/?cpu_ms={profile.cpu_ms}&wait_ms={profile.wait_ms}&chunk={chunk}"
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s", "--latency", url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _unused = proc.communicate(timeout=seconds + 40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"wrk did not finish within {seconds + 40} s")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{output}")
    return parse_wrk(output), output, cpu


def measure(base: Path, name: str, config: Config, profile: Profile, chunk: int, args, port: int) -> dict:
    """Start a server with `config`, warm it up, load it, read memory, stop it."""
    httpd = Httpd(base, name, config, port)
    started = time.monotonic()
    try:
        httpd.start()
        capacity = config.processes * config.threads
        # Warm-up with no more connections than the group can serve at once, so
        # nothing is left queued in the daemons when the measured run starts.
        warm = min(profile.connections, capacity)
        wrk(port, profile, chunk, warm, args.warmup)
        drain = warm * profile.cpu_ms / 1000.0 / max(1, os.cpu_count() or 1) + profile.wait_ms / 1000.0
        time.sleep(drain + 0.2)
        busy0, steal0 = system_busy_ticks()
        ours0 = httpd.cpu_ticks()
        t0 = time.monotonic()
        numbers, raw, wrk_cpu = wrk(port, profile, chunk, profile.connections, args.duration)
        elapsed = time.monotonic() - t0
        busy1, steal1 = system_busy_ticks()
        ours1 = httpd.cpu_ticks()
        numbers.update(httpd.memory())
        apache_cpu = (ours1 - ours0) / CLK_TCK
        total_cpu = (busy1 - busy0) / CLK_TCK
        numbers["cpu_cores"] = {
            "apache_and_daemons": apache_cpu / elapsed,
            "wrk": wrk_cpu / elapsed,
            "steal": (steal1 - steal0) / CLK_TCK / elapsed,
            # Everything else the machine ran meanwhile (other jobs, and kernel
            # softirq time of our own loopback traffic not charged to a process).
            "other": max(0.0, total_cpu - apache_cpu - wrk_cpu) / elapsed,
        }
        numbers["wrk_output"] = raw
        errors = read(str(httpd.root / "error.log"))
        numbers["error_log_lines"] = len([line for line in errors.splitlines() if "[wsgi:" in line or "error" in line])
        if numbers["daemon_processes"] != config.processes:
            raise RuntimeError(f"{name}: {numbers['daemon_processes']} daemon processes, expected {config.processes}")
        return numbers
    finally:
        httpd.stop()
        numbers_time = time.monotonic() - started
        log(f"  {name}: done in {numbers_time:.1f} s")
        if not args.keep_temp:
            shutil.rmtree(httpd.root, ignore_errors=True)


# --------------------------------------------------------------------------
# Calibration and the module's choice
# --------------------------------------------------------------------------


def calibrate() -> dict:
    """Loop iterations of app.burn() per CPU millisecond, in this interpreter."""
    burn = runpy.run_path(str(APP))["burn"]
    loops = 50_000
    while True:
        t = time.thread_time()
        burn(loops)
        if time.thread_time() - t >= 0.05:
            break
        loops *= 2
    samples = []
    for _attempt in range(11):
        t = time.thread_time()
        burn(loops)
        samples.append(loops / ((time.thread_time() - t) * 1000.0))
    return {"loops_per_ms": statistics.median(samples), "samples": samples, "python": sys.version.split()[0]}


def probe(base: Path, chunk: int, port: int) -> dict:
    """Check the cost of the app inside a mod_wsgi daemon, and measure one daemon's RSS.

    A 1 process x 1 thread group serves sequential requests: first 20 ms of
    pure CPU, to see the loop speed in the daemon's interpreter; then each
    profile, to record its CPU and wall time per request without any load.
    """
    httpd = Httpd(base, "probe", Config(1, 1, write_processes=False), port)
    out: dict = {}
    try:
        httpd.start()
        speeds = []
        for _attempt in range(25):
            status, headers = httpd.get(20, 0, chunk)
            if status != 200:
                raise RuntimeError(f"probe request failed ({status}):\n{httpd.logs()}")
            speeds.append(int(headers["X-Loops"]) / (int(headers["X-Cpu-Us"]) / 1000.0))
        out["daemon_loops_per_ms"] = statistics.median(speeds[5:])
        out["daemon_python"] = headers.get("X-Python")
        out["mod_wsgi"] = headers.get("X-Mod-Wsgi")
        out["profiles"] = {}
        for profile in PROFILES:
            cpus, walls = [], []
            for _attempt in range(12):
                t = time.monotonic()
                status, headers = httpd.get(profile.cpu_ms, profile.wait_ms, chunk)
                walls.append((time.monotonic() - t) * 1000.0)
                cpus.append(int(headers.get("X-Cpu-Us", 0)) / 1000.0)
            out["profiles"][profile.name] = {
                "app_cpu_ms": statistics.median(cpus[2:]),
                "sequential_latency_ms": statistics.median(walls[2:]),
            }
        memory = httpd.memory()
        out["daemon_rss_mb"] = memory["daemon_rss_mb"]
        out["daemon_pss_mb"] = memory["daemon_pss_mb"]
        return out
    finally:
        httpd.stop()
        shutil.rmtree(httpd.root, ignore_errors=True)


def wait_quiet(limit_s: float, busy_cores: float = 0.3, window_s: float = 5.0, windows: int = 3) -> dict:
    """Wait (at most limit_s) until the machine has been nearly idle for a few windows in a row."""
    started = time.monotonic()
    quiet = 0
    samples = []
    while time.monotonic() - started < limit_s:
        busy0, _unused = system_busy_ticks()
        time.sleep(window_s)
        busy1, _unused = system_busy_ticks()
        cores = (busy1 - busy0) / CLK_TCK / window_s
        samples.append(round(cores, 2))
        quiet = quiet + 1 if cores < busy_cores else 0
        if quiet >= windows:
            break
    waited = time.monotonic() - started
    result = {"waited_s": round(waited), "quiet": quiet >= windows, "busy_cores_samples": samples}
    log(f"waited {waited:.0f} s for a quiet machine: {'quiet' if result['quiet'] else 'still busy'}")
    return result


def module_choice(profile: Profile, rss_mb: int, host: _sizing.Host) -> dict:
    project = {"name": profile.name, "cpu_ms": profile.cpu_ms, "wait_ms": profile.wait_ms, "rss_mb": rss_mb}
    result = _sizing.size_projects([project], host).to_dict()
    return {"input": project, "result": result}


def rules_of_thumb(cpus: int) -> list[tuple[str, Config]]:
    return [
        ("OpenStack", Config(min(max(cpus // 2, 2), 12), 1)),
        ("kolla", Config(min(cpus, 5), 1)),
        ("mod_wsgi-express", Config(1, 5)),
    ]


# --------------------------------------------------------------------------
# One profile
# --------------------------------------------------------------------------


def run_profile(profile: Profile, args, base: Path, chunk: int, rss_mb: int, host, ports) -> dict:
    choice = module_choice(profile, rss_mb, host)
    sized = choice["result"]["projects"][profile.name]
    module_config = Config(sized["processes"], sized["threads"], sized["processes_explicit"])
    log(f"{profile.name}: module chooses {module_config.key} ({module_config.directive})")

    rows: list[Row] = [Row("grid", [f"grid {p}x{t}"], Config(p, t)) for p in args.grid[0] for t in args.grid[1]]
    rows.append(Row("module", ["module"], module_config))
    by_key: dict[str, Row] = {}
    for label, config in rules_of_thumb(host.cpus):
        if config.key in by_key:
            by_key[config.key].labels.append(label)
        else:
            by_key[config.key] = Row("rule", [label], config)
            rows.append(by_key[config.key])

    order = list(range(len(rows)))
    random.Random(f"{args.seed}-{profile.name}").shuffle(order)  # no drift pattern over the grid

    def run(row: Row, tag: str) -> None:
        name = f"{profile.name}-{row.kind}-{row.config.key}-{tag}"
        row.runs.append(measure(base, name, row.config, profile, chunk, args, next(ports)))
        r = row.runs[-1]
        log(
            f"  {row.label:28} {r['rps']:8.1f} req/s  p99 {r['latency_ms'].get('p99', 0):8.1f} ms"
            f"  rss {r['daemon_rss_mb']:6.1f} MB  other cpu {r['cpu_cores']['other']:.2f}"
        )

    for i in order:
        run(rows[i], "sweep")

    # Rows measured while other jobs were busy on the machine are measured once
    # more (a bounded number, busiest first) and the quieter run is kept: the
    # choice is made on the background load, never on the result.
    busy_rows = sorted(
        (r for r in rows if r.result["cpu_cores"]["other"] > args.busy_cpu),
        key=lambda r: -r.result["cpu_cores"]["other"],
    )[: args.max_reruns]
    for row in busy_rows:
        log(f"  {row.label}: other jobs used {row.result['cpu_cores']['other']:.2f} cores, measuring again")
        run(row, "again")

    grid = [r for r in rows if r.kind == "grid"]
    best = max(grid, key=lambda r: r.result["rps"])
    module_row = next(r for r in rows if r.kind == "module")

    # The best of many noisy single runs is biased upwards (it is partly the
    # luckiest run), and on a shared machine the background load drifts. So
    # the verdict compares the module's choice with the best cell in
    # alternating pairs of fresh runs (module first, then best first, ...),
    # and takes the median of the per-pair ratios.
    pairs: list[dict] = []
    if best.config.key != module_config.key:
        # Up to `pairs` quiet pairs (both runs with other jobs below busy_cpu);
        # a few extra attempts when the machine is busy.
        k = 0
        while sum(p["quiet"] for p in pairs) < args.pairs and k < args.pairs + args.extra_pairs:
            runs = {}
            for who in (("module", "best") if k % 2 == 0 else ("best", "module")):
                config = module_config if who == "module" else best.config
                runs[who] = measure(base, f"{profile.name}-pair{k}-{who}", config, profile, chunk, args, next(ports))
            pair = {
                "first": "module" if k % 2 == 0 else "best",
                "module_rps": runs["module"]["rps"],
                "best_rps": runs["best"]["rps"],
                "module_p99_ms": runs["module"]["latency_ms"]["p99"],
                "best_p99_ms": runs["best"]["latency_ms"]["p99"],
                "module_errors": runs["module"]["non_2xx"] + sum(runs["module"]["socket_errors"].values()),
                "other_cpu": max(runs["module"]["cpu_cores"]["other"], runs["best"]["cpu_cores"]["other"]),
                "runs": runs,
            }
            pair["quiet"] = pair["other_cpu"] <= args.busy_cpu
            pair["rps_ratio"] = pair["module_rps"] / pair["best_rps"] if pair["best_rps"] else 0.0
            pair["p99_ratio"] = pair["module_p99_ms"] / pair["best_p99_ms"] if pair["best_p99_ms"] else math.inf
            pairs.append(pair)
            k += 1
            log(
                f"  pair {k}: module {module_config.key} {pair['module_rps']:.1f} req/s,"
                f" best {best.config.key} {pair['best_rps']:.1f} req/s -> {pair['rps_ratio']:.2f};"
                f" p99 {pair['p99_ratio']:.2f}x; other jobs {pair['other_cpu']:.2f} cores"
            )

    base_rps = best.result["rps"]
    base_p99 = best.result["latency_ms"]["p99"]
    base_rss = best.result["daemon_rss_mb"]
    table = []
    for row in rows:
        r = row.result
        table.append(
            {
                "kind": row.kind,
                "label": row.label,
                "config": row.config.key,
                "directive": row.config.directive,
                "processes": row.config.processes,
                "threads": row.config.threads,
                "rps": r["rps"],
                "rps_ratio": r["rps"] / base_rps if base_rps else None,
                "p99_ms": r["latency_ms"]["p99"],
                "p99_ratio": r["latency_ms"]["p99"] / base_p99 if base_p99 else None,
                "rss_mb": r["daemon_rss_mb"],
                "rss_ratio": r["daemon_rss_mb"] / base_rss if base_rss else None,
                "errors": r["non_2xx"] + sum(r["socket_errors"].values()),
                "other_cpu": r["cpu_cores"]["other"],
                "our_cpu": r["cpu_cores"]["apache_and_daemons"] + r["cpu_cores"]["wrk"],
                "busy": r["cpu_cores"]["other"] > args.busy_cpu,
                "runs": len(row.runs),
                "best": row is best,
            }
        )
    module_line = next(t for t in table if t["kind"] == "module")
    budget = choice["result"]["budget_mb"]
    if pairs:
        quiet = [p for p in pairs if p["quiet"]]
        used = quiet if len(quiet) >= 3 else pairs
        source = f"median of {len(used)} alternating pairs"
        if used is quiet and len(quiet) < len(pairs):
            source += f", the quiet ones of {len(pairs)}"
        elif used is pairs and len(quiet) < len(pairs):
            source += f", only {len(quiet)} of them quiet: MACHINE BUSY"
        paired = {
            "rps_ratio": statistics.median(p["rps_ratio"] for p in used),
            "p99_ratio": statistics.median(p["p99_ratio"] for p in used),
            "rps_ratio_all_pairs": statistics.median(p["rps_ratio"] for p in pairs),
            "quiet_pairs": len(quiet),
            "errors": sum(p["module_errors"] for p in pairs),
            "source": source,
        }
    else:  # the module's choice is the best cell
        paired = {"rps_ratio": 1.0, "p99_ratio": 1.0, "errors": 0, "source": "the module's choice is the best cell"}
    checks = {
        "throughput": paired["rps_ratio"] >= TARGET_THROUGHPUT,
        "p99": paired["p99_ratio"] <= TARGET_P99,
        "memory": module_line["rss_mb"] <= budget,
        "errors": module_line["errors"] + paired["errors"] == 0,
    }
    return {
        "profile": asdict(profile),
        "module": choice,
        "module_config": module_config.key,
        "best": best.config.key,
        "table": table,
        "pairs": pairs,
        "paired": paired,
        "checks": checks,
        "passed": all(checks.values()),
        "budget_mb": budget,
        "runs": [{"kind": r.kind, "labels": r.labels, "config": r.config.key, "runs": r.runs} for r in rows],
    }


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def machine() -> dict:
    def cmd(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        except OSError:
            return ""

    cpuinfo = read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", read("/proc/meminfo"), re.M)
    return {
        "uname": " ".join(platform.uname()),
        "uname_a": cmd("uname", "-a"),
        "cpu_model": model.group(1) if model else "unknown",
        "nproc": cmd("nproc"),
        "memory_mb": int(mem.group(1)) // 1024 if mem else None,
        "apache": cmd(APACHE, "-v").splitlines()[0] if cmd(APACHE, "-v") else "",
        "mod_wsgi_package": cmd("dpkg-query", "-W", "-f", "${Version}", "libapache2-mod-wsgi-py3"),
        "apache_package": cmd("dpkg-query", "-W", "-f", "${Version}", "apache2"),
        "python": sys.version.split()[0] + " (" + sys.executable + ")",
        "wrk": (cmd(WRK, "-v") or "").splitlines()[0] if cmd(WRK, "-v") else "",
        "loadavg_start": read("/proc/loadavg").strip(),
    }


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def verdict_line(result: dict) -> str:
    table = result["table"]
    mod = next(t for t in table if t["kind"] == "module")
    best = next(t for t in table if t["best"])
    paired = result["paired"]
    failed = [name for name, ok in result["checks"].items() if not ok]
    state = "PASS" if result["passed"] else "MISS (" + ", ".join(failed) + ")"
    rules = "; ".join(
        f"{t['label']} {t['config']} {t['rps_ratio']:.2f} (p99 {t['p99_ratio']:.2f}x)" for t in table if t["kind"] == "rule"
    )
    return (
        f"**{state}**: module {mod['config']} vs best cell {best['config']}: throughput ratio"
        f" {paired['rps_ratio']:.2f} ({paired['source']}; target >= {TARGET_THROUGHPUT:.2f}), p99 ratio"
        f" {paired['p99_ratio']:.2f} (target <= {TARGET_P99}); in the sweep {mod['rps']:.1f} vs {best['rps']:.1f}"
        f" req/s = {mod['rps_ratio']:.2f}, p99 {mod['p99_ms']:.0f} vs {best['p99_ms']:.0f} ms ="
        f" {mod['p99_ratio']:.2f}x; daemon RSS {mod['rss_mb']:.0f} MB of a {result['budget_mb']} MB budget;"
        f" {mod['errors']} errors. Rules of thumb in the sweep (throughput ratio): {rules}."
    )


def write_markdown(report: dict, path: Path) -> None:
    m = report["machine"]
    p = report["probe"]
    a = report["args"]
    lines = [
        "# wsgi_sizing benchmark: the module's choice against a processes x threads grid",
        "",
        f"Measured {report['date']} ({report['mode']} run, {report['elapsed_s'] / 60:.1f} minutes)"
        f" with `bench/run{' --quick' if report['mode'] == 'quick' else ''}`. Method and caveats: `bench/README.md`.",
        "",
        "## Machine",
        "",
        f"- `uname -a`: `{m['uname_a']}`",
        f"- CPU: {m['cpu_model']}, nproc {m['nproc']}; memory {m['memory_mb']} MB",
        f"- Apache: {m['apache'].replace('Server version: ', '')} (Debian apache2 {m['apache_package']}), event MPM;"
        f" mod_wsgi {p.get('mod_wsgi')} (Debian libapache2-mod-wsgi-py3 {m['mod_wsgi_package']}), daemon mode",
        f"- Python: {m['python']}; in the daemons {p.get('daemon_python')}",
        f"- wrk: {m['wrk'].split(' Copyright')[0]}",
        f"- load average at start: {m['loadavg_start']}; at end: {report['loadavg_end']}."
        f" Other jobs used {report['other_cpu_median']:.2f} cores (median over the measured runs) of the 2;"
        " see the caveats in `bench/README.md`."
        + (
            f" Before starting, the harness waited {report['wait_quiet']['waited_s']} s for a quiet machine"
            f" ({'found' if report['wait_quiet']['quiet'] else 'not found'})."
            if report.get("wait_quiet")
            else ""
        ),
        "",
        "## Inputs",
        "",
        f"- CPU burn: a pure-Python loop, calibrated in /usr/bin/python3 at"
        f" {p['calibration']['loops_per_ms']:.0f} loops per CPU ms, run in chunks of {p['chunk_loops']} loops"
        " (about 0.1 ms) until the request's thread has used `cpu_ms` of CPU time (`time.thread_time()`), so"
        " the cost holds when the speed of this shared VM drifts; in a mod_wsgi daemon the loop ran at"
        f" {p['daemon_loops_per_ms']:.0f} loops per CPU ms. I/O wait: `time.sleep(wait_ms)` between the two"
        " halves of the CPU burn.",
        f"- One daemon process (1 x 1, app loaded, after serving requests): RSS {p['daemon_rss_mb']:.1f} MB"
        f" (PSS {p['daemon_pss_mb']:.1f} MB). The module gets `rss_mb: {report['rss_mb']}` (measured, rounded up).",
        f"- Host given to the module: `gather_host()` of this machine: {report['host']['cpus']} CPUs"
        f" ({report['host']['cpus_from']}), {report['host']['memory_mb']} MB ({report['host']['memory_from']});"
        f" default reserve 1024 MB, so the budget is {report['host']['memory_mb'] - 1024} MB.",
        "- `peak_rps` is not given: each profile is sized alone on the host, so it takes the whole host's"
        " share (rate = CPUs x 1000 / cpu_ms), the most the host can compute, which is what a saturating"
        " load test asks of it.",
        f"- wrk: 1 thread, fixed connections per profile, {a['warmup']:g} s warm-up"
        f" (connections = min(profile's, capacity)), then {a['duration']:g} s measured, `--latency`,"
        " `--timeout 30s`, on 127.0.0.1. Throughput counts 2xx responses only. A fresh Apache per run.",
        f"- Sweep: grid processes {a['grid'][0]} x threads {a['grid'][1]}, plus the module's choice and the"
        " rules of thumb as extra rows, each in its own run (also when the same config is a grid cell), in a"
        f" shuffled order; up to {a['max_reruns']} rows measured while other jobs used more than"
        f" {a['busy_cpu']} cores are measured again and the quieter run kept. Then alternating pairs of fresh"
        " runs of the module's choice and the sweep's best cell until"
        f" {a['pairs']} pairs are quiet (both runs with other jobs at most {a['busy_cpu']} cores; at most"
        f" {a['pairs'] + a['extra_pairs']} pairs): the verdict uses the median ratio of the quiet pairs, or of"
        " all pairs when fewer than 3 were quiet (then the verdict says MACHINE BUSY).",
        "",
        "| profile | cpu_ms | wait_ms | wrk connections | app CPU per request in the daemon (measured) |"
        " sequential latency, no load | module's choice |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, result in report["profiles"].items():
        prof = result["profile"]
        pp = p["profiles"][name]
        sized = result["module"]["result"]["projects"][name]
        lines.append(
            f"| {name} | {prof['cpu_ms']:g} | {prof['wait_ms']:g} | {prof['connections']} |"
            f" {pp['app_cpu_ms']:.1f} ms | {pp['sequential_latency_ms']:.1f} ms |"
            f" {sized['processes']} x {sized['threads']}"
            f" (`processes=` {'written' if sized['processes_explicit'] else 'omitted'}) |"
        )
    lines += [
        "",
        f"Targets: throughput >= {TARGET_THROUGHPUT:.0%} of the grid's best cell, p99 <= {TARGET_P99}x the best"
        " cell's p99, daemon RSS within the module's budget, no errors.",
        "",
        "## Verdicts",
        "",
    ]
    for name, result in report["profiles"].items():
        lines.append(f"- **{name}**: " + verdict_line(result))
    for name, result in report["profiles"].items():
        prof = result["profile"]
        lines += [
            "",
            f"## {name}: cpu {prof['cpu_ms']:g} ms + wait {prof['wait_ms']:g} ms, wrk -c{prof['connections']}",
            "",
            verdict_line(result),
            "",
        ]
        if result["pairs"]:
            lines += [
                f"Pairs, module {result['module_config']} against the sweep's best cell {result['best']}:",
                "",
                "| pair | module req/s | best req/s | ratio | module p99 ms | best p99 ms | ratio |"
                " other jobs (cores, max of the two) |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
            for k, pair in enumerate(result["pairs"], 1):
                lines.append(
                    f"| {k} ({pair['first']} first) | {pair['module_rps']:.1f} | {pair['best_rps']:.1f} |"
                    f" {pair['rps_ratio']:.2f} | {pair['module_p99_ms']:.0f} | {pair['best_p99_ms']:.0f} |"
                    f" {pair['p99_ratio']:.2f} | {pair['other_cpu']:.2f}{'' if pair['quiet'] else ' (busy)'} |"
                )
            lines.append("")
        else:
            lines += ["The module's choice is the best grid cell itself (its own row is a second run of it).", ""]
        explanation = result["module"]["result"]["explanation"]
        lines += [
            "Module's arithmetic: `" + next(e for e in explanation if e.startswith(name + ":")) + "`",
            "",
            f"![{name}]({name}.png)",
            "",
            "Sweep (one run per row, ratios to the best grid cell):",
            "",
            "| config | processes | threads | req/s | ratio | p99 ms | ratio | daemon RSS MB | ratio | errors |"
            " our CPU | other CPU |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        order = {"module": 0, "rule": 1, "grid": 2}
        rows = sorted(result["table"], key=lambda t: (order[t["kind"]], -t["rps"]))
        for t in rows:
            label = t["label"]
            if t["kind"] == "module":
                label = f"**module ({t['directive']})**"
            if t["best"]:
                label += " **(best)**"
            cells = [
                label,
                str(t["processes"]),
                str(t["threads"]),
                f"{t['rps']:.1f}",
                fmt_ratio(t["rps_ratio"]),
                f"{t['p99_ms']:.1f}",
                fmt_ratio(t["p99_ratio"]),
                f"{t['rss_mb']:.1f}",
                fmt_ratio(t["rss_ratio"]),
                str(t["errors"]),
                f"{t['our_cpu']:.2f}",
                f"{t['other_cpu']:.2f}" + (" *" if t["busy"] else "") + (f" ({t['runs']} runs)" if t["runs"] > 1 else ""),
            ]
            if t["kind"] == "module":
                cells = [cells[0]] + [f"**{c}**" for c in cells[1:]]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "\"our CPU\" is what Apache, the daemons and wrk used during the measured run, \"other CPU\" what the"
        " rest of the machine used meanwhile (other jobs, and kernel time of the loopback traffic not charged"
        " to a process), in cores of the 2. Other jobs also fill CPU that a row leaves idle, so a high figure"
        " beside a row with little \"our CPU\" is a consequence as much as a cause. On a quiet machine it is"
        f" near 0. `*`: above {a['busy_cpu']} cores, a busy run: such rows were measured again (at most"
        f" {a['max_reruns']} per profile, busiest first) and the quieter run is shown. Raw numbers, every wrk"
        " output and the module's full result: `results.json`.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def heatmap(result: dict, grid: tuple, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    procs, threads = list(grid[0]), list(grid[1])
    cells = {(t["processes"], t["threads"]): t for t in result["table"] if t["kind"] == "grid"}
    data = [[cells[(p, t)]["rps_ratio"] for t in threads] for p in procs]
    fig, ax = plt.subplots(figsize=(1.3 * len(threads) + 2.6, 0.75 * len(procs) + 2.2))
    image = ax.imshow(data, cmap="viridis", vmin=0.0, vmax=1.0, origin="lower", aspect="auto")
    for i, p in enumerate(procs):
        for j, t in enumerate(threads):
            cell = cells[(p, t)]
            ratio = cell["rps_ratio"]
            busy = " *" if cell["busy"] else ""
            ax.text(
                j, i, f"{ratio:.2f}{busy}\n{cell['rps']:.0f}/s", ha="center", va="center", fontsize=8,
                color="black" if ratio > 0.6 else "white",
            )
    ax.set_xticks(range(len(threads)), [str(t) for t in threads])
    ax.set_yticks(range(len(procs)), [str(p) for p in procs])
    ax.set_xlabel("threads per process")
    ax.set_ylabel("processes")
    mod = next(t for t in result["table"] if t["kind"] == "module")
    prof = result["profile"]
    best = next(t for t in result["table"] if t["best"])
    marks = [(mod, "red", "module")] + [(t, "white", t["label"]) for t in result["table"] if t["kind"] == "rule"]
    legend = []
    for row, colour, label in marks:
        key = (row["processes"], row["threads"])
        if key in cells:
            i, j = procs.index(key[0]), threads.index(key[1])
            style = "-" if label == "module" else "--"
            ax.add_patch(Rectangle((j - 0.48, i - 0.48), 0.96, 0.96, fill=False, edgecolor=colour, lw=2.5, ls=style))
            legend.append(f"{'solid red' if label == 'module' else 'dashed white'}: {label} {row['config']}")
        else:
            legend.append(f"{label} {row['config']} (off grid)")
    ax.set_title(
        f"{prof['name']}: cpu {prof['cpu_ms']:g} ms + wait {prof['wait_ms']:g} ms, wrk -c{prof['connections']}\n"
        f"throughput / grid best ({best['rps']:.0f} req/s at {best['config']})\n"
        f"module {mod['config']}: own sweep run {mod['rps_ratio']:.2f}, paired median {result['paired']['rps_ratio']:.2f}",
        fontsize=9,
    )
    fig.colorbar(image, ax=ax, label="throughput ratio to best cell")
    legend.append("*: other jobs busy during the run")
    fig.text(0.01, 0.01, "; ".join(legend), fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--quick", action="store_true", help="small grid, 3 s runs (3-5 minutes)")
    parser.add_argument("--profiles", nargs="+", choices=[p.name for p in PROFILES], help="only these profiles")
    parser.add_argument("--duration", type=float, help="measured seconds per run (default 5, quick 3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per run (default 1)")
    parser.add_argument("--out", type=Path, help="output directory (default bench/results, quick bench/results-quick)")
    parser.add_argument("--seed", default="1", help="seed of the shuffled run order")
    parser.add_argument("--pairs", type=int, help="quiet module/best pairs wanted per profile (default 5, quick 2)")
    parser.add_argument("--extra-pairs", type=int, default=2, help="extra pair attempts when pairs are busy (2)")
    parser.add_argument(
        "--busy-cpu",
        type=float,
        default=0.3,
        help="a run is 'busy' when other jobs used more cores than this (default 0.3)",
    )
    parser.add_argument("--max-reruns", type=int, help="busy sweep rows measured again per profile (default 3, quick 2)")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of the harness, Apache and wrk (e.g. -10 as root; default 0: unchanged)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to this long until other jobs leave the CPUs idle (below 0.3 cores for 15 s)",
    )
    parser.add_argument("--keep-temp", action="store_true", help="keep each server's temp ServerRoot")
    args = parser.parse_args(argv)
    args.grid = QUICK_GRID if args.quick else FULL_GRID
    if args.duration is None:
        args.duration = 3.0 if args.quick else 5.0
    if args.out is None:
        args.out = BENCH / ("results-quick" if args.quick else "results")
    if args.pairs is None:
        args.pairs = 2 if args.quick else 5
    if args.max_reruns is None:
        args.max_reruns = 2 if args.quick else 3
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    for path in (APACHE, f"{MODULES}/mod_wsgi.so", WRK):
        if not os.path.exists(path):
            print(f"bench.py: {path} is missing; start the benchmark with bench/run", file=sys.stderr)
            return 2

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    if args.nice and os.geteuid() == 0:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # inherited by apache2 and wrk
    args.niceness = os.getpriority(os.PRIO_PROCESS, 0)
    quiet = wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else None
    started = time.monotonic()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    profiles = [p for p in PROFILES if not args.profiles or p.name in args.profiles]
    base = Path(tempfile.mkdtemp(prefix="wsgibench."))
    os.chmod(base, 0o755)
    port_counter = iter(range(18100, 18999))
    ports = (free_port(p) for p in port_counter)
    try:
        info = machine()
        log(f"machine: {info['cpu_model']}, {info['nproc']} CPUs, load {info['loadavg_start']}")
        cal = calibrate()
        # The app burns CPU in chunks of about 0.1 ms until its thread has used
        # cpu_ms of CPU time (see app.wsgi); the calibration sizes the chunks.
        chunk = max(100, round(cal["loops_per_ms"] * 0.1))
        log(f"calibration: {cal['loops_per_ms']:.0f} loops per CPU ms in {sys.executable}; chunk {chunk} loops")
        probed = probe(base, chunk, next(ports))
        probed["calibration"] = cal
        probed["chunk_loops"] = chunk
        rss_mb = math.ceil(probed["daemon_rss_mb"])
        log(
            f"in a daemon: {probed['daemon_loops_per_ms']:.0f} loops/ms; one daemon RSS"
            f" {probed['daemon_rss_mb']:.1f} MB -> rss_mb {rss_mb}"
        )
        host = _sizing.gather_host()
        log(f"host: {host.cpus} CPUs, {host.memory_mb} MB")
        results = {}
        for profile in profiles:
            results[profile.name] = run_profile(profile, args, base, chunk, rss_mb, host, ports)
            log(f"{profile.name}: " + verdict_line(results[profile.name]))
        args.out.mkdir(parents=True, exist_ok=True)
        report = {
            "date": date,
            "mode": "quick" if args.quick else "full",
            "elapsed_s": time.monotonic() - started,
            "machine": info,
            "loadavg_end": read("/proc/loadavg").strip(),
            "args": {
                "grid": [list(g) for g in args.grid],
                "duration": args.duration,
                "warmup": args.warmup,
                "seed": args.seed,
                "pairs": args.pairs,
                "extra_pairs": args.extra_pairs,
                "busy_cpu": args.busy_cpu,
                "max_reruns": args.max_reruns,
                "niceness": args.niceness,
            },
            "targets": {"throughput_ratio_min": TARGET_THROUGHPUT, "p99_ratio_max": TARGET_P99},
            "probe": probed,
            "wait_quiet": quiet,
            "other_cpu_median": statistics.median(
                run["cpu_cores"]["other"] for r in results.values() for row in r["runs"] for run in row["runs"]
            ),
            "rss_mb": rss_mb,
            "host": host.to_dict(),
            "profiles": results,
        }
        (args.out / "results.json").write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        write_markdown(report, args.out / "RESULTS.md")
        for name, result in results.items():
            heatmap(result, args.grid, args.out / f"{name}.png")
        log(f"wrote {args.out}/RESULTS.md, results.json and heatmaps in {(time.monotonic() - started) / 60:.1f} min")
        return 0
    finally:
        stop_all()
        if not args.keep_temp:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
