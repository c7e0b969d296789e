# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The price of a change for the other projects of a host: shared against instance isolation.

One fresh container host per isolation (wsgi_isolation shared, instance),
started and prepared as bench/cost.py does (its functions are imported), with
5 projects, each its own daemon group, at paths of one virtual host. Under
steady load on every project from tests/load/wsgi_load.py, run inside the
container, each repetition measures per host:

- a baseline window: load only, no change;
- a change window: the load starts, 2 s later site.yml runs with p01's threads
  changed (2 -> 3, then back), and the load stops 2 s after the run ends;
- a no-change window (unless --no-control), before the change: the same with
  a site.yml run that changes nothing, which shows what the run itself costs
  the projects (the playbook's own CPU on the same machine), reported beside
  the verdict, never in it.

For each project: failed requests (non-2xx + errors) and the p99 latency of
the change window against the same project's baseline p99 of the repetition.
The targets: no request fails, for any project, and the p99 of the projects
not changed (p02..p05) stays within 1.2x of their baseline p99, in every
repetition. The verdict is printed for both isolations alike.

Run it through bench/change, which sets up the tool chain.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import cost  # noqa: E402  pylint: disable=wrong-import-position

LOAD_SCRIPT = ROOT / "tests" / "load" / "wsgi_load.py"
LOAD_IN_HOST = "/usr/local/bin/wsgi_load.py"
PREFIX = "bench-change-"
ISOLATIONS = ("shared", "instance")
PORT = 8080
CHANGED = "p01"
MAX_FAILED = 0
MAX_P99_RATIO = 1.2
SETTLE_S = 2.0  # load before a playbook run starts, and after it ends


def log(message: str) -> None:
    print("[change %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


# --- pure logic: the projects, the ratios, the verdicts (tests/unit/bench/test_bench_change.py) ---

def project_names(count: int) -> list[str]:
    return ["p%02d" % i for i in range(1, count + 1)]


def projects(count: int, processes: int, threads: int, changed_threads: int) -> list[dict[str, Any]]:
    """``count`` projects, each its own daemon group, at paths /p01.. of one vhost; p01 has ``changed_threads``."""
    return [{"name": name, "source": "examples/hello.wsgi", "port": PORT, "path": "/" + name,
             "processes": processes, "threads": changed_threads if name == CHANGED else threads}
            for name in project_names(count)]


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base``; None when either is missing or the base is not positive."""
    if value is None or base is None or base <= 0:
        return None
    return value / base


def order(repeat: int, isolations: list[str]) -> list[str]:
    """The isolations of repetition ``repeat`` (1-based): as given, then reversed, and so on (ABBA...)."""
    return list(isolations) if repeat % 2 else list(reversed(isolations))


def run_rows(run: dict[str, Any], changed: str = CHANGED) -> list[dict[str, Any]]:
    """Per project of one measured repetition: baseline and change figures, the ratio, the failures."""
    rows = []
    for name in sorted(run["change"]):
        base = run["baseline"].get(name, {})
        during = run["change"][name]
        row = {"project": name, "changed": name == changed,
               "baseline_p99_ms": base.get("p99_ms"), "baseline_p50_ms": base.get("p50_ms"),
               "baseline_requests": base.get("requests", 0), "baseline_failed": base.get("failed", 0),
               "change_p99_ms": during.get("p99_ms"), "change_p50_ms": during.get("p50_ms"),
               "change_max_ms": during.get("max_ms"), "change_requests": during.get("requests", 0),
               "failed": during.get("failed", 0), "non_2xx": during.get("non_2xx", {}),
               "errors": during.get("errors", {}),
               "p99_ratio": ratio(during.get("p99_ms"), base.get("p99_ms")),
               "restarted": name in run.get("restarted", [])}
        if "control" in run:
            control = run["control"].get(name, {})
            row.update(control_p99_ms=control.get("p99_ms"), control_failed=control.get("failed", 0),
                       control_p99_ratio=ratio(control.get("p99_ms"), base.get("p99_ms")),
                       # What the change costs beyond a run that changes nothing.
                       change_vs_control=ratio(during.get("p99_ms"), control.get("p99_ms")))
        rows.append(row)
    return rows


def verdicts(runs: list[dict[str, Any]], max_failed: int = MAX_FAILED, max_ratio: float = MAX_P99_RATIO,
             changed: str = CHANGED) -> dict[str, Any]:
    """Per isolation and per project: the failures and p99 ratios of every repetition, and PASS or FAIL.

    Every project must have at most ``max_failed`` failed requests in each change
    window; every project but ``changed`` must have a change p99 of at most
    ``max_ratio`` times its baseline p99 in each repetition (the worst
    repetition decides; a missing p99 fails). ``changed``'s ratio is reported,
    not judged.
    """
    out: dict[str, Any] = {}
    for isolation in sorted({r["isolation"] for r in runs}, key=lambda i: (ISOLATIONS + (i,)).index(i)):
        per: dict[str, dict[str, Any]] = {}
        for run in (r for r in runs if r["isolation"] == isolation):
            for row in run_rows(run, changed):
                entry = per.setdefault(row["project"], {"changed": row["changed"], "failed": [], "ratios": [],
                                                        "vs_control": []})
                entry["failed"].append(row["failed"])
                entry["ratios"].append(row["p99_ratio"])
                if row.get("change_vs_control") is not None:
                    entry["vs_control"].append(row["change_vs_control"])
        for name, entry in per.items():
            reasons = []
            if any(f > max_failed for f in entry["failed"]):
                reasons.append("%d failed" % sum(entry["failed"]))
            known = [r for r in entry["ratios"] if r is not None]
            entry["worst_ratio"] = max(known) if len(known) == len(entry["ratios"]) and known else None
            entry["median_ratio"] = statistics.median(known) if known else None
            # Reported, not judged: the change window's p99 against the no-change window's.
            entry["worst_vs_control"] = max(entry["vs_control"]) if entry["vs_control"] else None
            if not entry["changed"]:
                if entry["worst_ratio"] is None:
                    reasons.append("no p99")
                elif entry["worst_ratio"] > max_ratio:
                    reasons.append("p99 %.2fx > %.2fx" % (entry["worst_ratio"], max_ratio))
            entry["reasons"] = reasons
            entry["verdict"] = "FAIL" if reasons else "PASS"
        out[isolation] = {"projects": dict(sorted(per.items())),
                          "verdict": "FAIL" if any(e["reasons"] for e in per.values()) else "PASS"}
    return out


def fmt(value: float | None, spec: str = "%.1f") -> str:
    return "-" if value is None else spec % value


def report(result: dict[str, Any]) -> str:
    """change.md: date, machine, inputs, verdicts, one table row per repetition, isolation and project."""
    inp, mach = result["inputs"], result["machine"]
    lines = [
        "# The price of a change for the other projects: shared against instance isolation",
        "",
        "Measured %s by `%s`, run time %.0f s."
        % (result["date"], " ".join(["bench/change"] + result["argv"]), result["duration_s"]),
        "",
        "Machine: `%s`; CPU %s, nproc %s, memory %s MB; load average at start %s."
        % (mach["uname_a"], mach["cpu_model"], mach["nproc"], mach["memory_mb"], mach["loadavg_start"]),
        "",
        "## Inputs",
        "",
        "- hosts: one fresh podman container per isolation from `%s` (systemd; Apache's packages installed,"
        " then `playbooks/site.yml`), ansible-core %s" % (inp["image"], inp["ansible_core"]),
        "- projects: %s, `examples/hello.wsgi`, each its own daemon group with processes=%d threads=%d, at paths"
        " /p01.. of one vhost on port %d; the change: %s's threads %d <-> %d, one site.yml run"
        % (", ".join(inp["projects"]), inp["processes"], inp["threads"], PORT, CHANGED, inp["threads"],
           inp["threads"] + 1),
        "- load per project (`tests/load/wsgi_load.py` inside the container, on loopback): %d keep-alive"
        " connection(s) and %d new-connection thread(s), one request per %.3f s each (about %.0f req/s)"
        % (inp["connections"], inp["new_connections"], inp["interval"],
           (inp["connections"] + inp["new_connections"]) / inp["interval"]),
        "- baseline window: %.0f s of load, no change; change window: load from %.0f s before the site.yml run"
        " to %.0f s after it%s" % (inp["baseline_seconds"], SETTLE_S, SETTLE_S,
                                   "; no-change window, before it: the same with a site.yml run that changes"
                                   " nothing (the run's own cost, outside the verdict)" if inp["control"] else ""),
        "- the controller: ansible-playbook on the same CPUs as the host, %s; what a change makes the host's"
        " systemd start (instances, their daemons, Apache's reload) runs at normal priority"
        % ("under SCHED_IDLE, and so the modules it runs in the container (podman exec): it takes a CPU only"
           " when no other task wants it, as a controller on another machine would" if inp.get("controller_idle")
           else "at normal priority (--no-controller-idle)"),
        "- repetitions: %d, isolations alternating (%s)" % (
            inp["repeats"], ", ".join("/".join(order(i, inp["isolations"])) for i in range(1, inp["repeats"] + 1))),
        "- targets: 0 failed requests (non-2xx + errors) for every project in each change window; p99 of the"
        " projects not changed within %.1fx of their own baseline p99 in every repetition (the worst decides);"
        " %s's p99 ratio is reported, not judged" % (MAX_P99_RATIO, CHANGED),
        "",
        "## Verdicts",
        "",
    ]
    for isolation, verdict in result["verdicts"].items():
        lines.append("- **%s: %s**" % (isolation, verdict["verdict"]))
        for name, entry in verdict["projects"].items():
            lines.append("  - %s%s: %s (failed, per repetition: %s; p99 ratio worst %s, median %s%s)%s" % (
                name, " (changed)" if entry["changed"] else "", entry["verdict"],
                "/".join(str(f) for f in entry["failed"]), fmt(entry["worst_ratio"], "%.2fx"),
                fmt(entry["median_ratio"], "%.2fx"),
                "; against the no-change run, worst %s" % fmt(entry["worst_vs_control"], "%.2fx")
                if entry.get("worst_vs_control") is not None else "",
                ": " + ", ".join(entry["reasons"]) if entry["reasons"] else ""))
    lines += ["", "## Per repetition", ""]
    control = result["inputs"]["control"]
    head = ["rep", "isolation", "project", "baseline p50 / p99 ms", "change p50 / p99 ms", "p99 ratio", "change max ms",
            "failed (change)", "requests (change)", "daemons restarted"]
    if control:
        head[6:6] = ["no-change p99 ms (ratio), failed", "change p99 / no-change p99"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in result["runs"]:
        for row in run_rows(run):
            failed = str(row["failed"])
            if row["failed"]:
                failed += " (%s)" % ", ".join("%s x%d" % kv for kv in sorted({**row["non_2xx"], **row["errors"]}.items()))
            cells = [str(run["repeat"]), run["isolation"], row["project"] + (" (changed)" if row["changed"] else ""),
                     "%s / %s" % (fmt(row["baseline_p50_ms"]), fmt(row["baseline_p99_ms"])),
                     "%s / %s" % (fmt(row["change_p50_ms"]), fmt(row["change_p99_ms"])),
                     fmt(row["p99_ratio"], "%.2fx"), fmt(row["change_max_ms"], "%.0f"), failed,
                     str(row["change_requests"]), "yes" if row["restarted"] else "no"]
            if control:
                cells[6:6] = ["%s (%s), %d" % (fmt(row["control_p99_ms"]), fmt(row["control_p99_ratio"], "%.2fx"),
                                               row["control_failed"]), fmt(row["change_vs_control"], "%.2fx")]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Playbook runs (wall time, changed):", ""]
    for run in result["runs"]:
        lines.append("- rep %d %s: change (threads %d -> %d) %.0f s, changed=%d%s" % (
            run["repeat"], run["isolation"], run["threads_before"], run["threads_after"], run["playbook"]["wall_s"],
            run["playbook"]["changed"], "; no-change %.0f s, changed=%d" % (
                run["control_playbook"]["wall_s"], run["control_playbook"]["changed"]) if "control_playbook" in run
            else ""))
    return "\n".join(lines) + "\n"


# --- the machine and the hosts ---

def machine() -> dict[str, Any]:
    def text(path: str) -> str:
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError:
            return ""

    model = re.search(r"^model name\s*:\s*(.*)$", text("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", text("/proc/meminfo"), re.M)
    return {"uname_a": subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip(),
            "cpu_model": model.group(1) if model else "unknown", "nproc": os.cpu_count(),
            "memory_mb": int(mem.group(1)) // 1024 if mem else None, "loadavg_start": text("/proc/loadavg").strip()}


def ansible_core() -> str:
    proc = subprocess.run(["ansible-playbook", "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"core ([\d.]+)", proc.stdout)
    return found.group(1) if found else "unknown"


class Host:
    """One container host in one isolation, its inventory, and the load run inside it."""

    def __init__(self, isolation: str, work: Path, args: argparse.Namespace) -> None:
        self.isolation = isolation
        self.name = PREFIX + isolation
        self.args = args
        self.threads = args.threads  # p01's, now
        self.folder = work / isolation
        self.inv = self.folder / "hosts.yml"
        self.serial = 0

    def write_inventory(self) -> None:
        (self.folder / "group_vars").mkdir(parents=True, exist_ok=True)
        inv = {"wsgi_hosts": {"hosts": {self.name: {"ansible_connection": "containers.podman.podman",
                                                    "ansible_python_interpreter": "/usr/bin/python3"}}}}
        self.inv.write_text(json.dumps(inv, indent=1))
        (self.folder / "group_vars" / "wsgi_hosts.yml").write_text(json.dumps(
            {"wsgi_isolation": self.isolation,
             "wsgi_projects": projects(self.args.projects, self.args.processes, self.args.threads, self.threads)},
            indent=1))

    def setup(self) -> dict[str, Any]:
        """A fresh container, Apache's packages, the first converge, as bench/cost.py does."""
        t0 = time.monotonic()
        cost.start([self.name])
        self.write_inventory()
        cost.sh("ansible", "-i", str(self.inv), "all", "-m", "ansible.builtin.apt",
                "-a", "name=%s update_cache=true" % cost.PACKAGES, stdout=subprocess.DEVNULL, cwd=cost.ROOT)
        first = cost.run_playbook(self.inv)
        cost.sh("podman", "cp", str(LOAD_SCRIPT), "%s:%s" % (self.name, LOAD_IN_HOST))
        log("%s: host ready in %.0f s (first converge %.0f s)" % (self.isolation, time.monotonic() - t0,
                                                                  first["wall_s"]))
        return {"first_converge": first, "setup_s": round(time.monotonic() - t0, 1)}

    def exec(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["podman", "exec", self.name, *argv], capture_output=True, text=True, check=check)

    def daemon_pids(self) -> dict[str, list[int]]:
        """The pids of each daemon group's processes, ``(wsgi:GROUP)`` in ps."""
        pids: dict[str, list[int]] = {}
        for line in self.exec("ps", "-eo", "pid=,args=").stdout.splitlines():
            found = re.match(r"\s*(\d+)\s+\(wsgi:([^)]+)\)", line)
            if found:
                pids.setdefault(found.group(2), []).append(int(found.group(1)))
        return {group: sorted(p) for group, p in sorted(pids.items())}

    def load_start(self) -> str:
        self.serial += 1
        out = "/tmp/bench-change-load-%d.json" % self.serial
        argv = ["python3", LOAD_IN_HOST, "--out", out, "--stop-file", out + ".stop",
                "--connections", str(self.args.connections), "--new-connections", str(self.args.new_connections),
                "--interval", str(self.args.interval), "--duration", "1200"]
        for name in project_names(self.args.projects):
            argv += ["--target", "%s=http://127.0.0.1:%d/%s" % (name, PORT, name)]
        subprocess.run(["podman", "exec", "-d", self.name, *argv], check=True, stdout=subprocess.DEVNULL)
        return out

    def load_stop(self, out: str) -> dict[str, Any]:
        self.exec("touch", out + ".stop")
        for _attempt in range(180):
            proc = self.exec("cat", out, check=False)
            if proc.returncode == 0:
                return json.loads(proc.stdout)
            time.sleep(0.5)
        self.exec("pkill", "-f", out, check=False)
        raise RuntimeError("%s: the load script wrote no results to %s" % (self.name, out))

    def window(self, seconds: float | None = None, playbook: bool = False) -> tuple[dict[str, Any], Any]:
        """Load for ``seconds``, or from SETTLE_S before a site.yml run to SETTLE_S after it; the load's result."""
        out = self.load_start()
        ran = None
        try:
            if playbook:
                time.sleep(SETTLE_S)
                self.write_inventory()
                ran = cost.run_playbook(self.inv, idle=self.args.controller_idle)
                time.sleep(SETTLE_S)
            else:
                time.sleep(seconds or 0)
        finally:
            load = self.load_stop(out)
        return load, ran

    def measure(self, repeat: int) -> dict[str, Any]:
        base, _none = self.window(self.args.baseline_seconds)
        run: dict[str, Any] = {"repeat": repeat, "isolation": self.isolation, "baseline": base["targets"],
                               "baseline_s": base["seconds"]}
        if self.args.control:
            control, ran = self.window(playbook=True)
            if ran["changed"]:
                sys.exit("%s: the no-change run reported %d changes" % (self.name, ran["changed"]))
            run.update(control=control["targets"], control_s=control["seconds"], control_playbook=ran)
        before = self.daemon_pids()
        run["threads_before"] = self.threads
        self.threads = self.args.threads + 1 if self.threads == self.args.threads else self.args.threads
        run["threads_after"] = self.threads
        change, ran = self.window(playbook=True)
        if not ran["changed"]:
            sys.exit("%s: the change of %s's threads to %d reported no change" % (self.name, CHANGED, self.threads))
        after = self.daemon_pids()
        run.update(change=change["targets"], change_s=change["seconds"], playbook=ran, pids_before=before,
                   pids_after=after, restarted=sorted(g for g in set(before) | set(after)
                                                      if before.get(g) != after.get(g)))
        return run


def summary_lines(result: dict[str, Any]) -> list[str]:
    lines = []
    for run in result["runs"]:
        for row in run_rows(run):
            lines.append("rep %d %-8s %s%s baseline p99 %s ms, change p99 %s ms (%s), failed %d of %d%s" % (
                run["repeat"], run["isolation"], row["project"], "*" if row["changed"] else " ",
                fmt(row["baseline_p99_ms"]), fmt(row["change_p99_ms"]), fmt(row["p99_ratio"], "%.2fx"),
                row["failed"], row["change_requests"] + sum(row["errors"].values()),
                ", restarted" if row["restarted"] else ""))
    for isolation, verdict in result["verdicts"].items():
        lines.append("%s: %s" % (isolation, verdict["verdict"]))
        for name, entry in verdict["projects"].items():
            lines.append("  %s%s %s%s" % (name, " (changed)" if entry["changed"] else "", entry["verdict"],
                                          ": " + ", ".join(entry["reasons"]) if entry["reasons"] else ""))
    return lines


def output_paths(out: Path) -> tuple[Path, Path]:
    """--out: a .json file (the .md beside it) or a folder (change.json and change.md in it)."""
    if out.suffix == ".json":
        return out, out.with_suffix(".md")
    return out / "change.json", out / "change.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeats", type=int, default=2, help="repetitions, the isolations alternating (2)")
    parser.add_argument("--baseline-seconds", type=float, default=20, help="length of a baseline window (20)")
    parser.add_argument("--isolation", nargs="+", choices=ISOLATIONS, default=list(ISOLATIONS),
                        help="wsgi_isolation values, one host each (shared instance)")
    parser.add_argument("--control", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure a no-change site.yml run under load in each repetition (on)")
    parser.add_argument("--projects", type=int, default=5, help="projects on the host, p01.. (5)")
    parser.add_argument("--processes", type=int, default=2, help="processes of each daemon group (2)")
    parser.add_argument("--threads", type=int, default=2, help="threads of each group; p01 alternates N, N+1 (2)")
    parser.add_argument("--connections", type=int, default=2, help="keep-alive connections per project (2)")
    parser.add_argument("--new-connections", type=int, default=1,
                        help="threads per project that open a new connection per request (1)")
    parser.add_argument("--interval", type=float, default=0.06,
                        help="seconds between the starts of two requests of a connection (0.06: ~50 req/s each)")
    parser.add_argument("--controller-idle", action=argparse.BooleanOptionalAction, default=True,
                        help="run the measured site.yml runs, and the modules they run on the host through podman "
                             "exec, under SCHED_IDLE (on): the controller, another machine in a real fleet, takes "
                             "a CPU only when no other task wants it; --no-controller-idle: normal priority")
    parser.add_argument("--out", type=Path, default=HERE / "results",
                        help="folder for change.json and change.md, or a .json file (bench/results)")
    args = parser.parse_args()
    if args.projects < 2 or args.repeats < 1:
        parser.error("at least 2 projects and 1 repetition")
    isolations = list(dict.fromkeys(args.isolation))
    json_path, md_path = output_paths(args.out)
    signal.signal(signal.SIGTERM, lambda *_sig: sys.exit(143))

    started = time.monotonic()
    result: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "argv": sys.argv[1:],
        "machine": machine(),
        "inputs": {"image": cost.IMAGE, "ansible_core": ansible_core(), "isolations": isolations,
                   "repeats": args.repeats, "baseline_seconds": args.baseline_seconds, "control": args.control,
                   "projects": project_names(args.projects), "processes": args.processes, "threads": args.threads,
                   "connections": args.connections, "new_connections": args.new_connections,
                   "interval": args.interval, "controller_idle": args.controller_idle,
                   "changed": CHANGED,
                   "max_failed": MAX_FAILED,
                   "max_p99_ratio": MAX_P99_RATIO},
        "hosts": {}, "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-change-") as tmp:
        hosts = {isolation: Host(isolation, Path(tmp), args) for isolation in isolations}
        try:
            log("starting %s and converging them (in parallel)" % ", ".join(h.name for h in hosts.values()))
            pool = concurrent.futures.ThreadPoolExecutor(len(hosts))
            try:
                futures = {i: pool.submit(h.setup) for i, h in hosts.items()}
                for isolation, future in futures.items():
                    result["hosts"][isolation] = future.result()
            finally:
                # On an error or a signal, do not wait for the other host's setup: its
                # container is removed below, which ends its playbook run.
                pool.shutdown(wait=False, cancel_futures=True)
            for repeat in range(1, args.repeats + 1):
                for isolation in order(repeat, isolations):
                    log("rep %d/%d %s: baseline %.0f s, then the change"
                        % (repeat, args.repeats, isolation, args.baseline_seconds))
                    run = hosts[isolation].measure(repeat)
                    result["runs"].append(run)
                    log("rep %d %s: change run %.0f s, daemons restarted: %s"
                        % (repeat, isolation, run["playbook"]["wall_s"], ", ".join(run["restarted"]) or "none"))
        finally:
            log("removing %s" % ", ".join(h.name for h in hosts.values()))
            cost.remove([h.name for h in hosts.values()])
    result["duration_s"] = round(time.monotonic() - started, 1)
    result["verdicts"] = verdicts(result["runs"])
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    md_path.write_text(report(result))
    print("\n".join(summary_lines(result)))
    log("done in %.0f s: %s and %s" % (result["duration_s"], json_path, md_path))


if __name__ == "__main__":
    main()
