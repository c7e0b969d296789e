# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What is measured: load profiles, grids, targets, a config and a row of results."""

from __future__ import annotations

from dataclasses import dataclass, field

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
