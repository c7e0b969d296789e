#!/usr/bin/env python
"""The price of the front end: wsgi_isolation instance against shared, on real Apache httpd + mod_wsgi.

For each load profile of bench/run (cpu-bound, io-bound, mixed), the
wsgi_sizing module's choice of processes x threads is run in alternating pairs
of fresh runs: shared (one Apache runs the daemon group) and instance (the
group's own Apache instance on loopback, behind a front Apache that proxies to
it), both rendered from the wsgi role's templates. Writes front-end.json and
front-end.md with the throughput and p99 ratios, the failed requests and the
memory of the extra instance, and a PASS/FAIL per target.

Start it with bench/front (which installs the Debian packages it needs through
bench/run --deps-only); it runs under Debian's /usr/bin/python3, which mod_wsgi
is built for. See bench/README.md, "The price of the front end".
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
from lib.front import PROXY_MODULES, TARGET_P99, TARGET_THROUGHPUT, ports_from, run_profile, verdict_line, write_markdown  # noqa: E402  pylint: disable=wrong-import-position
from lib.httpd import stop_all  # noqa: E402  pylint: disable=wrong-import-position
from lib.measure import calibrate, chunk_loops, probe, wait_quiet  # noqa: E402  pylint: disable=wrong-import-position
from lib.model import PROFILES  # noqa: E402  pylint: disable=wrong-import-position
from lib.procfs import read  # noqa: E402  pylint: disable=wrong-import-position
from lib.report import machine  # noqa: E402  pylint: disable=wrong-import-position
from lib.sweep import sized_config  # noqa: E402  pylint: disable=wrong-import-position

FIRST_PORT = 19100  # bench/run's servers start at 18100


def parse_args(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--quick", action="store_true", help="2 pairs of 3 s runs per profile (about 1.5 minutes)")
    parser.add_argument("--profiles", nargs="+", choices=[p.name for p in PROFILES], help="only these profiles")
    parser.add_argument("--pairs", type=int, help="quiet shared/instance pairs wanted per profile (default 5, quick 2)")
    parser.add_argument("--extra-pairs", type=int, default=0,
                        help="extra pair attempts per profile when pairs are busy (default 0)")
    parser.add_argument("--duration", type=float, help="measured seconds per run (default 15, quick 3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per run (default 1)")
    parser.add_argument("--busy-cpu", type=float, default=0.3,
                        help="a run is 'busy' when other jobs used more cores than this (default 0.3)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="first wait up to this long until other jobs leave the CPUs idle (below 0.3 cores for 15 s)")
    parser.add_argument("--out", type=Path, help="output directory (default bench/results, quick bench/results-quick)")
    parser.add_argument("--keep-temp", action="store_true", help="keep each run's temp ServerRoots")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 3.0 if args.quick else 15.0
    if args.pairs is None:
        args.pairs = 2 if args.quick else 5
    if args.out is None:
        args.out = BENCH / ("results-quick" if args.quick else "results")
    if args.pairs < 1 or args.extra_pairs < 0 or args.duration <= 0:
        parser.error("--pairs must be >= 1, --extra-pairs >= 0, --duration > 0")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    needed = [APACHE, f"{MODULES}/mod_wsgi.so", WRK] + [f"{MODULES}/mod_{name}.so" for name in PROXY_MODULES]
    for path in needed:
        if not os.path.exists(path):
            print(f"front.py: {path} is missing; start the benchmark with bench/front", file=sys.stderr)
            return 2

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    quiet = wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else None
    started = time.monotonic()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    profiles = [p for p in PROFILES if not args.profiles or p.name in args.profiles]
    base = Path(tempfile.mkdtemp(prefix="wsgifront."))
    os.chmod(base, 0o755)
    ports = ports_from(FIRST_PORT)
    try:
        info = machine()
        log(f"machine: {info['cpu_model']}, {info['nproc']} CPUs, load {info['loadavg_start']}")
        # The app, its calibration and the module's inputs exactly as bench/run has them.
        cal = calibrate()
        chunk = chunk_loops(cal)
        log(f"calibration: {cal['loops_per_ms']:.0f} loops per CPU ms in {sys.executable}; chunk {chunk} loops")
        probed = probe(base, chunk, next(ports))
        probed["calibration"] = cal
        probed["chunk_loops"] = chunk
        rss_mb = math.ceil(probed["daemon_rss_mb"])
        log(f"one daemon RSS {probed['daemon_rss_mb']:.1f} MB -> rss_mb {rss_mb}")
        host = _sizing.gather_host()
        log(f"host: {host.cpus} CPUs, {host.memory_mb} MB")
        results = {}
        for profile in profiles:
            choice, config = sized_config(profile, rss_mb, host)
            log(f"{profile.name}: module chooses {config.key} ({config.directive}); wrk -c{profile.connections}")
            results[profile.name] = run_profile(profile, config, choice, args, base, chunk, host.cpus, ports)
            log(f"{profile.name}: " + verdict_line(profile.name, results[profile.name]["summary"]))
        args.out.mkdir(parents=True, exist_ok=True)
        report = {
            "date": date,
            "mode": "quick" if args.quick else "full",
            "command": "bench/front " + " ".join(argv) if argv else "bench/front",
            "elapsed_s": time.monotonic() - started,
            "machine": info,
            "loadavg_end": read("/proc/loadavg").strip(),
            "args": {
                "profiles": [p.name for p in profiles],
                "duration": args.duration,
                "warmup": args.warmup,
                "pairs": args.pairs,
                "extra_pairs": args.extra_pairs,
                "busy_cpu": args.busy_cpu,
            },
            "targets": {"throughput_ratio_min": TARGET_THROUGHPUT, "p99_ratio_max": TARGET_P99},
            "probe": probed,
            "wait_quiet": quiet,
            "other_cpu_median": statistics.median(
                run["cpu_cores"]["other"] for r in results.values() for pair in r["pairs"] for run in pair["runs"].values()
            ),
            "rss_mb": rss_mb,
            "host": host.to_dict(),
            "profiles": results,
        }
        # The servers' configurations name their temp folder: written as $RUN, not this machine's path.
        text = json.dumps(report, indent=1, sort_keys=True).replace(str(base), "$RUN")
        (args.out / "front-end.json").write_text(text + "\n", encoding="utf-8")
        write_markdown(report, args.out / "front-end.md")
        log(f"wrote {args.out}/front-end.md and front-end.json in {(time.monotonic() - started) / 60:.1f} min")
        return 0
    finally:
        stop_all()
        if not args.keep_temp:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
