# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The report: the machine's description, the verdict lines, RESULTS.md and the heatmaps."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from pathlib import Path

from lib.env import APACHE, WRK
from lib.model import TARGET_P99, TARGET_THROUGHPUT
from lib.procfs import read


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


def machine_lines(report: dict, after_other_cpu: str = ".") -> list[str]:
    """The "## Machine" section of a report: the machine, its software and how busy it was.

    ``after_other_cpu`` ends the sentence on other jobs' CPU (bench/run adds its caveats).
    """
    m = report["machine"]
    p = report["probe"]
    return [
        "## Machine",
        "",
        f"- `uname -a`: `{m['uname_a']}`",
        f"- CPU: {m['cpu_model']}, nproc {m['nproc']}; memory {m['memory_mb']} MB",
        f"- Apache: {m['apache'].replace('Server version: ', '')} (Debian apache2 {m['apache_package']}), event MPM;"
        f" mod_wsgi {p.get('mod_wsgi')} (Debian libapache2-mod-wsgi-py3 {m['mod_wsgi_package']}), daemon mode",
        f"- Python: {m['python']}; in the daemons {p.get('daemon_python')}",
        f"- wrk: {m['wrk'].split(' Copyright')[0]}",
        f"- load average at start: {m['loadavg_start']}; at end: {report['loadavg_end']}."
        f" Other jobs used {report['other_cpu_median']:.2f} cores (median over the measured runs){after_other_cpu}"
        + (
            f" Before starting, the harness waited {report['wait_quiet']['waited_s']} s for a quiet machine"
            f" ({'found' if report['wait_quiet']['quiet'] else 'not found'})."
            if report.get("wait_quiet")
            else ""
        ),
    ]


def write_markdown(report: dict, path: Path) -> None:
    p = report["probe"]
    a = report["args"]
    lines = [
        "# wsgi_sizing benchmark: the module's choice against a processes x threads grid",
        "",
        f"Measured {report['date']} ({report['mode']} run, {report['elapsed_s'] / 60:.1f} minutes)"
        f" with `bench/run{' --quick' if report['mode'] == 'quick' else ''}`. Method and caveats: `bench/README.md`.",
        "",
        *machine_lines(report, " of the 2; see the caveats in `bench/README.md`."),
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
