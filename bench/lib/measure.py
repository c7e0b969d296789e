# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Measuring: one run of a config under load, the CPU calibration, the probe, waiting for a quiet machine."""

from __future__ import annotations

import os
import runpy
import shutil
import statistics
import sys
import time
from pathlib import Path

from lib.env import APP, log
from lib.httpd import Httpd
from lib.model import PROFILES, Config, Profile
from lib.procfs import CLK_TCK, read, system_busy_ticks
from lib.wrk import wrk


def load(servers: list[Httpd], port: int, config: Config, profile: Profile, chunk: int, args) -> dict:
    """Warm up, let it drain, then the measured wrk run at `port`, and the CPU it took.

    The CPU of ``servers`` (each one's process group: Apache and its daemons)
    counts as ours, with wrk's; the rest of the machine's busy time as other.
    """
    capacity = config.processes * config.threads
    # Warm-up with no more connections than the group can serve at once, so
    # nothing is left queued in the daemons when the measured run starts.
    warm = min(profile.connections, capacity)
    wrk(port, profile, chunk, warm, args.warmup)
    drain = warm * profile.cpu_ms / 1000.0 / max(1, os.cpu_count() or 1) + profile.wait_ms / 1000.0
    time.sleep(drain + 0.2)
    busy0, steal0 = system_busy_ticks()
    ours0 = sum(server.cpu_ticks() for server in servers)
    t0 = time.monotonic()
    numbers, raw, wrk_cpu = wrk(port, profile, chunk, profile.connections, args.duration)
    elapsed = time.monotonic() - t0
    busy1, steal1 = system_busy_ticks()
    ours1 = sum(server.cpu_ticks() for server in servers)
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
    return numbers


def log_lines(path: Path) -> int:
    """Lines of an error log that tell of an error (or come from a daemon)."""
    return len([line for line in read(str(path)).splitlines() if "[wsgi:" in line or "error" in line])


def error_log_lines(httpd: Httpd) -> int:
    """Lines of a server's own error log that tell of an error (or come from a daemon)."""
    return log_lines(httpd.root / "error.log")


def measure(base: Path, name: str, config: Config, profile: Profile, chunk: int, args, port: int) -> dict:
    """Start a server with `config`, warm it up, load it, read memory, stop it."""
    httpd = Httpd(base, name, config, port)
    started = time.monotonic()
    try:
        httpd.start()
        numbers = load([httpd], port, config, profile, chunk, args)
        numbers.update(httpd.memory())
        numbers["error_log_lines"] = error_log_lines(httpd)
        if numbers["daemon_processes"] != config.processes:
            raise RuntimeError(f"{name}: {numbers['daemon_processes']} daemon processes, expected {config.processes}")
        return numbers
    finally:
        httpd.stop()
        numbers_time = time.monotonic() - started
        log(f"  {name}: done in {numbers_time:.1f} s")
        if not args.keep_temp:
            shutil.rmtree(httpd.root, ignore_errors=True)


def chunk_loops(calibration: dict) -> int:
    """The app's CPU burn chunk, about 0.1 ms of the calibrated loop (bench.py's sizing of it)."""
    return max(100, round(calibration["loops_per_ms"] * 0.1))


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
