# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The load: one fixed-duration wrk run against the app, and what wrk printed."""

from __future__ import annotations

import re
import resource
import subprocess

from lib.env import WRK
from lib.model import Profile

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(text: str) -> float:
    """A wrk duration ("185.00us", "1.09s", "5.01s") in milliseconds."""
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


def wrk(port: int, profile: Profile, chunk: int, connections: int, seconds: float) -> tuple[dict, str, float]:
    """Run wrk; return its numbers, its raw output and the CPU seconds wrk used."""
    url = f"http://127.0.0.1:{port}/?cpu_ms={profile.cpu_ms}&wait_ms={profile.wait_ms}&chunk={chunk}"
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s", "--latency", url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    numbers, output = finish(proc, seconds)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return numbers, output, cpu


def finish(proc: subprocess.Popen, seconds: float) -> tuple[dict, str]:
    """Wait for a wrk run of ``seconds`` (40 s of grace); its numbers and raw output, or RuntimeError."""
    try:
        output, _unused = proc.communicate(timeout=seconds + 40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"wrk did not finish within {seconds + 40} s")
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{output}")
    return parse_wrk(output), output
