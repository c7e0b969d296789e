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

This file is the command line; the work is done in bench/lib/ (see its
__init__.py for which module owns what).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # leave no __pycache__ in the collection's tree
if str(Path(__file__).resolve().parent) not in sys.path:  # bench/ itself, for the package lib
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from lib.env import APACHE, BENCH, MODULES, WRK, _sizing, log  # noqa: E402  pylint: disable=wrong-import-position
from lib.httpd import free_port, stop_all  # noqa: E402  pylint: disable=wrong-import-position
from lib.measure import calibrate, probe, wait_quiet  # noqa: E402  pylint: disable=wrong-import-position
from lib.model import FULL_GRID, PROFILES, QUICK_GRID, TARGET_P99, TARGET_THROUGHPUT  # noqa: E402  pylint: disable=wrong-import-position
from lib.procfs import read  # noqa: E402  pylint: disable=wrong-import-position
from lib.report import heatmap, machine, verdict_line, write_markdown  # noqa: E402  pylint: disable=wrong-import-position
from lib.sweep import run_profile  # noqa: E402  pylint: disable=wrong-import-position


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
