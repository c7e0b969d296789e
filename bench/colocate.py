#!/usr/bin/env python
"""Projects that compete on one host: does each get its weight's share of the CPUs?

Three projects of different profiles (bench/run's cpu-bound, io-bound and
mixed) on one host, each saturated by its own wrk at the same time, served as
the wsgi role renders them (bench/lib/colocate.py). Side by side in one run:

- the module's joint sizing (``wsgi_sizing`` of the three together, as the role
  sizes a host) in isolation shared and in isolation instance, where each
  instance's cgroup has the plan's CPUWeight, CPUQuota, MemoryMax and TasksMax;
  and in isolation instance with the weights alone (no CPUQuota);
- each project sized alone, and the rules of thumb (OpenStack 2x1,
  mod_wsgi-express 1x5, the source document's 2x64), in isolation shared;
- the joint sizing with unequal weights (2:1:1);
- a leak: a fourth project that keeps memory at every request, in isolation
  instance, held by its unit's MemoryMax while the others serve;
- what Apache and mod_wsgi cost per request: a near-empty app saturated, in
  both isolations (the module's ``overhead_ms`` defaults).

Writes colocate.json and colocate.md with req/s, CPU share against weight
share and p99 per project, the host's CPU use and memory, and a PASS/FAIL per
target. Start it with bench/colocate, as root (cgroups). See bench/README.md,
"Projects that compete".
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import colocate as co  # noqa: E402  pylint: disable=wrong-import-position
from lib.env import BENCH, _sizing, log  # noqa: E402  pylint: disable=wrong-import-position
from lib.httpd import stop_all  # noqa: E402  pylint: disable=wrong-import-position
from lib.measure import calibrate, chunk_loops, wait_quiet  # noqa: E402  pylint: disable=wrong-import-position
from lib.procfs import CLK_TCK, system_busy_ticks  # noqa: E402  pylint: disable=wrong-import-position
from lib.wrk import finish as finish_wrk  # noqa: E402  pylint: disable=wrong-import-position
from lib.report import machine  # noqa: E402  pylint: disable=wrong-import-position

PORT = 18400
BACKEND_BASE = 18500
EQUAL = {"cpu": 1.0, "io": 1.0, "mixed": 1.0, "leaky": 1.0, "empty": 1.0}
UNEQUAL = dict(EQUAL, cpu=2.0)
TOLERANCE = {"instance": 0.20, "shared": 0.50}
HOST_BUSY = 0.95
WEIGHTS_ONLY = "module, joint, CPUWeight alone"


def runs() -> list[dict]:
    """Every run of one round, in the order they run."""
    three = list(co.PROJECTS)
    out = [{"label": "module, joint", "isolation": isolation, "sizing": "joint", "weights": "1:1:1",
            "projects": three} for isolation in ("shared", "instance")]
    out.append({"label": WEIGHTS_ONLY, "isolation": "instance", "sizing": "joint", "weights": "1:1:1",
                "projects": three, "quota_percent": 0})
    out.append({"label": "module, each alone", "isolation": "shared", "sizing": "alone", "weights": "1:1:1",
                "projects": three})
    out.append({"label": "module, each alone", "isolation": "instance", "sizing": "alone", "weights": "1:1:1",
                "projects": three})
    for rule in co.RULES:
        out.append({"label": rule, "isolation": "shared", "sizing": rule, "weights": "1:1:1", "projects": three})
    out += [{"label": "module, joint", "isolation": isolation, "sizing": "joint", "weights": "2:1:1",
             "projects": three} for isolation in ("shared", "instance")]
    out.append({"label": WEIGHTS_ONLY, "isolation": "instance", "sizing": "joint", "weights": "2:1:1",
                "projects": three, "quota_percent": 0})
    return out


def sizes_for(run: dict, host: dict) -> dict | None:
    if run["sizing"] == "joint":
        return None
    if run["sizing"] == "alone":
        return co.alone_sizes(run["projects"], host, run["isolation"])
    return {p.name: co.RULES[run["sizing"]] for p in run["projects"]}


def snapshot(run_servers, units: dict, cgroups: co.Cgroups, names: list[str]) -> dict:
    busy, _steal = system_busy_ticks()
    return {
        "t": time.monotonic(),
        "busy": busy / CLK_TCK,
        "daemons": {n: co.daemons_cpu(co.daemon_pids(n)) for n in names},
        "units": {n: cgroups.cpu_seconds(u) for n, u in units.items()},
        "system": cgroups.cpu_seconds("system"),
        "user": cgroups.cpu_seconds("user"),
    }


def start_servers(model: dict, run_dir: Path, cgroups: co.Cgroups, started: list) -> tuple[list, dict]:
    """Start a run's servers in order, each added to ``started`` (for the caller to stop); their cgroups."""
    run_servers, units = co.servers(model, run_dir, PORT, cgroups)
    for server in run_servers:
        server.start(timeout=60)
        started.append(server)
    return run_servers, units


def one_run(run: dict, round_no: int, base: Path, host: dict, chunk: int, cgroups: co.Cgroups, args) -> dict:
    projects = run["projects"]
    names = [p.name for p in projects]
    weights = UNEQUAL if run["weights"] == "2:1:1" else EQUAL
    run_dir = base / f"run-{round_no}-{len(list(base.iterdir()))}"
    run_dir.mkdir()
    model = co.plan(run_dir, projects, weights, sizes_for(run, host), run["isolation"], PORT, BACKEND_BASE, host,
                    run.get("quota_percent", args.quota_percent))
    groups = {g["name"]: g for g in model["groups"]}
    started: list = []
    try:
        run_servers, units = start_servers(model, run_dir, cgroups, started)
        user = cgroups.make("user")
        capacity = {n: (groups[n]["processes"] or 1) * groups[n]["threads"] for n in names}
        warm = [co.start_wrk(PORT, p, chunk, min(p.connections, capacity[p.name]), args.warmup, user)
                for p in projects]
        for proc in warm:
            finish_wrk(proc, args.warmup)
        time.sleep(1.0)
        before = snapshot(run_servers, units, cgroups, names)
        connections = {p.name: p.connections if args.load == "profile" else max(8, 2 * capacity[p.name])
                       for p in projects}
        loads = {p.name: co.start_wrk(PORT, p, chunk, connections[p.name], args.duration, user) for p in projects}
        seen: dict[str, set] = {n: set() for n in names}
        memory = []
        while any(proc.poll() is None for proc in loads.values()):
            for name in names:
                seen[name].update(co.daemon_pids(name))
            memory.append(co.memory_used_mb())
            time.sleep(0.5)
        after = snapshot(run_servers, units, cgroups, names)
        results = {name: finish_wrk(proc, args.duration) for name, proc in loads.items()}
        elapsed = after["t"] - before["t"]
        measured = {}
        for name in names:
            numbers, raw = results[name]
            group = groups[name]
            entry = {
                "config": f"{group['processes'] or 1}x{group['threads']}",
                "rps": numbers["rps"],
                "p99_ms": numbers["latency_ms"].get("p99"),
                "errors": co.errors(numbers),
                "daemon_cpu": (after["daemons"][name] - before["daemons"][name]) / elapsed,
                "daemon_processes_seen": len(seen[name]),
                "wrk": raw,
            }
            if name in units:
                entry["unit_cpu"] = (after["units"][name] - before["units"][name]) / elapsed
                entry["resources"] = {k: v for k, v in group["instance"]["resources"].items() if k != "explanation"}
                entry["memory"] = {key: cgroups.read("memory", units[name], key) for key in (
                    "memory.max_usage_in_bytes", "memory.limit_in_bytes", "memory.failcnt")}
                oom = cgroups.read("memory", units[name], "memory.oom_control")
                found = re.search(r"oom_kill (\d+)", oom)
                entry["memory"]["oom_kills"] = int(found.group(1)) if found else None
            measured[name] = entry
        key = "unit_cpu" if run["isolation"] == "instance" else "daemon_cpu"
        counted = [n for n in names if n != co.LEAKY.name]
        shares = co.share_table([p for p in projects if p.name in counted],
                                {n: measured[n][key] for n in counted}, weights)
        for name, share in shares.items():
            measured[name].update(share)
        return {
            "label": run["label"], "isolation": run["isolation"], "sizing": run["sizing"], "weights": run["weights"],
            "round": round_no, "elapsed_s": elapsed,
            "host_busy": (after["busy"] - before["busy"]) / elapsed / host["cpus"],
            "front_cpu": (after["system"] - before["system"]) / elapsed,
            "wrk_cpu": (after["user"] - before["user"]) / elapsed,
            "memory_used_mb_max": max(memory) if memory else None,
            "projects": measured,
            "explanation": model["explanation"],
        }
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def overhead_run(isolation: str, round_no: int, base: Path, host: dict, chunk: int, cgroups: co.Cgroups,
                 args) -> dict:
    """A near-empty app saturated alone: the CPU Apache and mod_wsgi use per request, wrk's excluded."""
    run_dir = base / f"overhead-{round_no}-{isolation}"
    run_dir.mkdir()
    model = co.plan(run_dir, [co.EMPTY], EQUAL, {"empty": (2, 8)}, isolation, PORT, BACKEND_BASE, host,
                    quota_percent=0)
    started: list = []
    try:
        run_servers, units = start_servers(model, run_dir, cgroups, started)
        user = cgroups.make("user")
        finish_wrk(co.start_wrk(PORT, co.EMPTY, chunk, 16, args.warmup, user), args.warmup)
        before = snapshot(run_servers, units, cgroups, ["empty"])
        load = co.start_wrk(PORT, co.EMPTY, chunk, co.EMPTY.connections, args.duration, user)
        numbers, raw = finish_wrk(load, args.duration)
        after = snapshot(run_servers, units, cgroups, ["empty"])
        elapsed = after["t"] - before["t"]
        server_cpu = (after["busy"] - before["busy"]) - (after["user"] - before["user"])
        requests = numbers["rps"] * numbers["duration_s"]
        return {"isolation": isolation, "round": round_no, "rps": numbers["rps"], "errors": co.errors(numbers),
                "host_busy": (after["busy"] - before["busy"]) / elapsed / host["cpus"],
                "server_cpu_s": server_cpu, "requests": requests,
                "overhead_ms": server_cpu / requests * 1000.0 if requests else None, "wrk": raw}
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def leak_run(round_no: int, base: Path, host: dict, chunk: int, cgroups: co.Cgroups, args) -> dict:
    run = {"label": "module, joint, with a leaking project", "isolation": "instance", "sizing": "joint",
           "weights": "1:1:1", "projects": list(co.PROJECTS) + [co.LEAKY]}
    return one_run(run, round_no, base, host, chunk, cgroups, args)


def median_of(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(results: list[dict]) -> list[dict]:
    """One row per run (its rounds' medians), in the order of ``runs()``."""
    rows: dict[tuple, dict] = {}
    for result in results:
        key = (result["label"], result["isolation"], result["weights"])
        rows.setdefault(key, {"label": result["label"], "isolation": result["isolation"],
                              "weights": result["weights"], "rounds": []})["rounds"].append(result)
    out = []
    for row in rows.values():
        rounds = row["rounds"]
        row["host_busy"] = median_of([r["host_busy"] for r in rounds])
        row["memory_used_mb_max"] = median_of([r["memory_used_mb_max"] for r in rounds])
        row["front_cpu"] = median_of([r["front_cpu"] for r in rounds])
        row["projects"] = {}
        for name in rounds[0]["projects"]:
            each = [r["projects"][name] for r in rounds]
            row["projects"][name] = {
                "config": each[0]["config"],
                **{k: median_of([e.get(k) for e in each]) for k in (
                    "rps", "p99_ms", "daemon_cpu", "unit_cpu", "cpu_share", "weight_share", "ratio")},
                "errors": sum(e["errors"] for e in each),
            }
        tolerance = TOLERANCE[row["isolation"]]
        ratios = [p["ratio"] for p in row["projects"].values() if p["ratio"] is not None]
        row["worst"] = max(ratios, key=lambda r: abs(r - 1.0)) if ratios else None
        row["within"] = bool(ratios) and all(co.within(r, tolerance) for r in ratios)
        out.append(row)
    return out


def quota_sentence(quota_percent: int | None) -> str:
    """What the report says of the units' CPUQuota."""
    if quota_percent == 0:
        return " In isolation instance no unit has a CPUQuota (`--quota-percent 0`): CPUWeight alone."
    given = (f"at `--quota-percent {quota_percent}`" if quota_percent is not None
             else "(the role's default, 95 % of its weight's share of the CPUs)")
    return (f" In isolation instance each unit has the plan's CPUQuota {given}, except the runs"
            f" \"{WEIGHTS_ONLY}\", which have CPUWeight and no CPUQuota; the near-empty app has none.")


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def write_markdown(report: dict, path: Path) -> None:
    m = report["machine"]
    lines = [
        "# Projects that compete on one host: CPU shares against weights",
        "",
        f"Measured {report['date']} ({report['minutes']:.1f} minutes) with `bench/colocate {' '.join(report['argv'])}`."
        " Method and how to read it: `bench/README.md`, \"Projects that compete\".",
        "",
        "## Machine",
        "",
        f"- `uname -a`: `{m['uname_a']}`",
        f"- CPU: {m['cpu_model']}, nproc {m['nproc']}; memory {m['memory_mb']} MB",
        f"- Apache: {m['apache']} (Debian apache2 {m['apache_package']}), event MPM; mod_wsgi"
        f" {m['mod_wsgi_package']}, daemon mode; wrk: {m['wrk']}",
        f"- load average at start: {m['loadavg_start']}; quiet wait: {report['quiet']}",
        "",
        "## Inputs",
        "",
        "Three projects at paths of one virtual host, each loaded by its own wrk (1 thread) at the same time:",
        "",
        "| project | cpu_ms | wait_ms | wrk connections |",
        "| --- | --- | --- | --- |",
    ]
    for p in co.PROJECTS:
        load = "twice its capacity, at least 8" if report["args"].get("load") == "capacity" else p.connections
        lines.append(f"| {p.name} | {p.cpu_ms:g} | {p.wait_ms:g} | {load} |")
    lines += [
        "",
        f"The module is told each project's `cpu_ms`, `wait_ms`, `rss_mb: {co.RSS_MB}` and `weight`, no `peak_rps`;"
        f" the host as `gather_host()` reads it ({report['host']['cpus']} CPUs, {report['host']['memory_mb']} MB)."
        f" Each run: {report['args']['warmup']:g} s warm-up, then {report['args']['duration']:g} s measured with"
        f" every project saturated; {report['args']['rounds']} round(s), each figure the median over the rounds."
        + quota_sentence(report["args"].get("quota_percent")),
        "",
        "CPU share: a project's CPU over the three projects' together. In isolation instance, its unit's cgroup"
        " (cpuacct.usage: its instance's Apache and its daemons, what the kernel shares by CPUWeight); in isolation"
        " shared, its daemon processes (the one Apache's own work belongs to no project). Weight share: its weight"
        " over the sum. Ratio: CPU share / weight share (1 = exactly its share). Host: the machine's CPU use (wrk"
        " and the front end included) and its memory in use at the peak (MemTotal - MemAvailable).",
        "",
        "## What Apache and mod_wsgi cost per request",
        "",
        "| isolation | req/s | host CPU | server CPU per request (ms) | errors |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in report["overhead"]:
        lines.append(f"| {row['isolation']} | {num(row['rps'], 0)} | {pct(row['host_busy'])} |"
                     f" **{num(row['overhead_ms'], 2)}** | {row['errors']} |")
    lines += [
        "",
        f"The module's defaults (`_sizing.OVERHEAD_MS`): {_sizing.OVERHEAD_MS}.",
        "",
        "## Results",
        "",
        "| run | isolation | weights | project | processes x threads | req/s | CPU cores | CPU ms per request beyond"
        " the app | CPU share | weight share | ratio | p99 ms | errors | host CPU | host memory MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    cost = {p.name: p.cpu_ms for p in co.PROJECTS}
    for row in report["rows"]:
        for name, p in row["projects"].items():
            cores = p["unit_cpu"] if row["isolation"] == "instance" else p["daemon_cpu"]
            lines.append(
                f"| {row['label']} | {row['isolation']} | {row['weights']} | {name} | {p['config']} |"
                f" {num(p['rps'])} | {num(cores, 2)} |"
                f" {num(cores * 1000 / p['rps'] - cost[name], 2) if cores is not None and p['rps'] else '-'} |"
                f" {pct(p['cpu_share'])} | {pct(p['weight_share'])} |"
                f" **{num(p['ratio'], 2)}** | {num(p['p99_ms'], 0)} | {p['errors']} | {pct(row['host_busy'])} |"
                f" {num(row['memory_used_mb_max'], 0)} |")
    lines += ["", "## Verdicts", ""] + [f"- {line}" for line in report["verdicts"]]
    if report.get("leak"):
        leak = report["leak"]
        lines += ["", "## The leak", "",
                  f"A fourth project, `leaky` (cpu_ms {co.LEAKY.cpu_ms:g}, wait_ms {co.LEAKY.wait_ms:g}), keeps"
                  f" {co.LEAKY.leak_kb} KiB more at every request, under {co.LEAKY.connections} connections, beside"
                  " the three others in isolation instance with the module's joint sizing.", "",
                  "| project | processes x threads | req/s | errors | MemoryMax MB | peak memory MB |"
                  " times at the limit (failcnt) | OOM kills | daemon processes seen |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for name, p in leak["projects"].items():
            mem = p.get("memory", {})
            limit = p["resources"]["memory_max_mb"]
            peak = int(mem.get("memory.max_usage_in_bytes") or 0) / 1048576
            lines.append(f"| {name} | {p['config']} | {num(p['rps'])} | {p['errors']} | {limit} | {num(peak, 0)} |"
                         f" {mem.get('memory.failcnt')} | {mem.get('oom_kills')} | {p['daemon_processes_seen']} |")
        lines += ["", "OOM kills: the kernel's count in the unit's memory.oom_control. Daemon processes seen: the"
                  " distinct pids of its display-name, sampled every 0.5 s (a daemon started again has a new pid)."]
    lines += ["", "## The plan's explanation (joint sizing, isolation instance, 1:1:1)", "", "```"]
    lines += report["explanation"] + ["```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def verdicts(rows: list[dict], leak: dict | None) -> list[str]:
    out = []
    for row in rows:
        tolerance = TOLERANCE[row["isolation"]]
        errors = sum(p["errors"] for p in row["projects"].values())
        ok = row["within"] and errors == 0 and (row["isolation"] != "instance" or row["host_busy"] >= HOST_BUSY)
        busy = f", host CPU >= {HOST_BUSY:.0%}" if row["isolation"] == "instance" else ""
        target = f"every ratio within 1 +/- {tolerance:.2f}{busy}, 0 errors"
        out.append(f"{row['label']}, {row['isolation']}, {row['weights']}: worst ratio {num(row['worst'], 2)},"
                   f" host CPU {pct(row['host_busy'])}, errors {errors} (target: {target}): "
                   f"**{'PASS' if ok else 'FAIL'}**")
    if leak:
        others = sum(p["errors"] for n, p in leak["projects"].items() if n != co.LEAKY.name)
        leaky = leak["projects"][co.LEAKY.name]
        memory = leaky["memory"]
        peak = int(memory.get("memory.max_usage_in_bytes") or 0) / 1048576
        limit = leaky["resources"]["memory_max_mb"]
        asked = leaky["rps"] * leak["elapsed_s"] * co.LEAKY.leak_kb / 1024
        hits, kills = int(memory.get("memory.failcnt") or 0), memory.get("oom_kills") or 0
        processes = int(leaky["config"].split("x")[0])
        # cgroup v1 never lets the usage above the limit: "held" is the limit reached, and the memory
        # given back by killing the daemon, which Apache starts again (a new pid).
        held = hits > 0 and peak <= limit and (kills > 0 or leaky["daemon_processes_seen"] > processes)
        out.append(f"leak: leaky kept {asked:.0f} MB over the run, its unit reached its MemoryMax of {limit} MB"
                   f" ({hits} times, peak {peak:.0f} MB), the kernel killed its daemon {kills} times and Apache"
                   f" started it again ({leaky['daemon_processes_seen']} daemon processes seen for {processes});"
                   f" failed requests of the other projects: {others} (target: held at its limit, restarted inside"
                   f" its unit, 0 failed): **{'PASS' if held and others == 0 else 'FAIL'}**")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0], allow_abbrev=False)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per run (default 20)")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up seconds per run (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every run; figures are medians (default 2)")
    parser.add_argument("--quick", action="store_true", help="1 round of 6 s runs, to bench/results-quick/")
    parser.add_argument("--wait-quiet", type=float, default=0.0,
                        help="first wait this long at most for a quiet machine")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default bench/results)")
    parser.add_argument("--only", default="", help="only the runs whose 'label, isolation, weights' holds this")
    parser.add_argument("--load", choices=("capacity", "profile"), default="capacity",
                        help="wrk connections per project: twice its capacity, at least 8 (default), or"
                             " bench/run's count per profile")
    parser.add_argument("--no-extras", action="store_true", help="skip the overhead and leak runs")
    parser.add_argument("--quota-percent", type=int, default=None,
                        help="wsgi_resource_cpu_quota_percent of the module's runs (default: the role's, 95;"
                             " the runs of CPUWeight alone have none)")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.rounds = 6.0, 2.0, 1
    out = args.out or BENCH / ("results-quick" if args.quick else "results")
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_unused: sys.exit(143))
    started = time.monotonic()
    quiet = wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else {"waited_s": 0, "quiet": None}
    report = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "argv": sys.argv[1:], "machine": machine(), "quiet": quiet,
              "args": {"duration": args.duration, "warmup": args.warmup, "rounds": args.rounds, "load": args.load,
                       "quota_percent": args.quota_percent}}
    found = _sizing.gather_host()
    host = {"cpus": found.cpus, "memory_mb": found.memory_mb}
    report["host"] = host
    chunk = chunk_loops(calibrate())
    cgroups = co.Cgroups()
    base = Path(tempfile.mkdtemp(prefix="modwsgi-colocate."))
    base.chmod(0o755)  # the daemons run as www-data
    results, overhead, leaks = [], [], []
    try:
        for round_no in range(args.rounds):
            for isolation in () if args.no_extras else ("shared", "instance"):
                log(f"round {round_no + 1}: overhead, {isolation}")
                overhead.append(overhead_run(isolation, round_no, base, host, chunk, cgroups, args))
            for run in runs():
                if args.only and args.only not in f"{run['label']}, {run['isolation']}, {run['weights']}":
                    continue
                log(f"round {round_no + 1}: {run['label']}, {run['isolation']}, {run['weights']}")
                results.append(one_run(run, round_no, base, host, chunk, cgroups, args))
            if not args.no_extras:
                log(f"round {round_no + 1}: leak")
                leaks.append(leak_run(round_no, base, host, chunk, cgroups, args))
    finally:
        stop_all()
        cgroups.remove()
        shutil.rmtree(base, ignore_errors=True)
    report["overhead"] = [{"isolation": iso, "rps": median_of([o["rps"] for o in overhead if o["isolation"] == iso]),
                           "host_busy": median_of([o["host_busy"] for o in overhead if o["isolation"] == iso]),
                           "overhead_ms": median_of([o["overhead_ms"] for o in overhead if o["isolation"] == iso]),
                           "errors": sum(o["errors"] for o in overhead if o["isolation"] == iso)}
                          for iso in ("shared", "instance")]
    report["rows"] = summarize(results)
    report["leak"] = max(leaks, key=lambda r: r["round"]) if leaks else None
    report["verdicts"] = verdicts(report["rows"], report["leak"])
    joint = [r for r in results if r["isolation"] == "instance" and r["sizing"] == "joint"] or results
    report["explanation"] = joint[0]["explanation"] if joint else []
    report["minutes"] = (time.monotonic() - started) / 60.0
    for result in results + overhead + leaks:
        for entry in result.get("projects", {}).values():
            entry.pop("wrk", None)
        result.pop("wrk", None)
    report["raw"] = {"runs": results, "overhead": overhead, "leaks": leaks}
    (out / "colocate.json").write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    write_markdown(report, out / "colocate.md")
    log(f"wrote {out / 'colocate.md'}")
    for line in report["verdicts"]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
