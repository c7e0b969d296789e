# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Steady HTTP load on some WSGI projects, counting every request that fails.

Runs on the host under test (standard library only), so that the load is on
loopback. Each target gets CONNECTIONS threads, each with one keep-alive
connection sending a GET every INTERVAL seconds (or back to back), and
NEW_CONNECTIONS threads that open a new connection for each GET and close it
after the answer, until the stop file appears or the duration ends. Then it
writes, per target:

- requests: requests answered (any status)
- ok: answered 2xx
- non_2xx: {status: count}
- errors: {kind: count}, requests that got no complete answer, even after the
  one retry below
- reused_closed: requests sent on a kept-alive connection that the server had
  closed before it read them, and sent again on a fresh connection; RFC 9110
  (9.2.2) lets a client do that for an idempotent request, and every common
  HTTP client does. Counted so that it is visible, not hidden.
- on_new_connections: of the requests answered, those the new-connection
  threads sent.
- max_ms: the slowest answer.
- p50_ms, p99_ms: latency percentiles of the requests answered (any status;
  nearest rank, null when none was answered).
- backends: {host: requests answered}.

  wsgi_load.py --out /tmp/load.json --stop-file /tmp/load.stop \\
      --target keystone=http://127.0.0.1:5000/ --target portal=http://127.0.0.1:80/project1

With --pool-file, it is also a client-side load balancer: each request goes to
the next host listed in that file (one per line; the URL's own host is not
used), which is read again every 0.1 s. A host taken out of the file gets no
new request; the requests it has finish. That is how the fleet scenario
drains a host before it reloads.
"""

from __future__ import annotations

import argparse
import array
import http.client
import json
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Sequence
from urllib.parse import urlsplit


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile ``pct`` (0 < pct <= 100) of ``values``; None when there are none."""
    if not 0 < pct <= 100:
        raise ValueError("percentile %r is not in (0, 100]" % (pct,))
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct * len(ordered) / 100)) - 1]


class Target:
    def __init__(self, spec: str) -> None:
        name, _sep, url = spec.partition("=")
        parts = urlsplit(url)
        self.name = name
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.host_header = None
        if "@" in name:
            self.name, self.host_header = name.split("@", 1)
        self.lock = threading.Lock()
        self.requests = 0
        self.ok = 0
        self.non_2xx: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.reused_closed = 0
        self.on_new_connections = 0
        self.max_ms = 0.0
        self.latencies_ms = array.array("d")  # answered requests; 8 bytes each
        self.first_failures: list[str] = []
        self.backends: Counter[str] = Counter()

    def record(self, status: int | None, error: str | None, elapsed_ms: float, retried: bool,
               backend: str = "", keep_alive: bool = True) -> None:
        with self.lock:
            if error is None:
                self.backends[backend or self.host] += 1
                self.on_new_connections += not keep_alive
            if retried:
                self.reused_closed += 1
            if error is not None:
                self.errors[error] += 1
            else:
                self.requests += 1
                self.latencies_ms.append(elapsed_ms)
                if 200 <= status < 300:  # type: ignore[operator]
                    self.ok += 1
                else:
                    self.non_2xx[str(status)] += 1
            if (error is not None or not 200 <= (status or 0) < 300) and len(self.first_failures) < 20:
                self.first_failures.append("%.3f %s" % (time.time(), error or status))
            self.max_ms = max(self.max_ms, elapsed_ms)

    def summary(self) -> dict:
        with self.lock:
            latencies = self.latencies_ms.tolist()
        p50, p99 = (percentile(latencies, pct) for pct in (50, 99))
        return {
            "requests": self.requests, "ok": self.ok, "non_2xx": dict(self.non_2xx), "errors": dict(self.errors),
            "failed": sum(self.non_2xx.values()) + sum(self.errors.values()),
            "reused_closed": self.reused_closed, "on_new_connections": self.on_new_connections,
            "max_ms": round(self.max_ms, 1),
            "p50_ms": None if p50 is None else round(p50, 2), "p99_ms": None if p99 is None else round(p99, 2),
            "first_failures": self.first_failures, "backends": dict(self.backends),
        }


def one_request(conn: http.client.HTTPConnection, target: Target) -> int:
    headers = {"Host": target.host_header} if target.host_header else {}
    conn.request("GET", target.path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


class Pool:
    """The hosts requests go to: the target's own, or those listed in a file, read again and again."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.hosts: list[str] = []
        self.read()

    def read(self) -> None:
        if self.path:
            try:
                with open(self.path, encoding="utf-8") as handle:
                    self.hosts = [line.strip() for line in handle if line.strip()]
            except OSError:
                self.hosts = []

    def follow(self, stop: threading.Event) -> None:
        while not stop.wait(0.1):
            self.read()


def worker(target: Target, stop: threading.Event, interval: float, pool: Pool, keep_alive: bool = True) -> None:
    conns: dict[str, http.client.HTTPConnection] = {}
    turn = 0
    while not stop.is_set():
        started = time.monotonic()
        hosts = pool.hosts if pool.path else [target.host]
        if not hosts:
            stop.wait(0.05)
            continue
        backend = hosts[turn % len(hosts)]
        turn += 1
        conn = conns.get(backend)
        fresh = conn is None
        if conn is None:
            conn = conns[backend] = http.client.HTTPConnection(backend, target.port, timeout=60)
        retried = False
        try:
            try:
                status = one_request(conn, target)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection closed by the server before it read the
                # request: send it again on a new connection, once.
                if fresh:
                    raise
                retried = True
                conn.close()
                conn = conns[backend] = http.client.HTTPConnection(backend, target.port, timeout=60)
                status = one_request(conn, target)
            target.record(status, None, (time.monotonic() - started) * 1000, retried, backend, keep_alive)
            if not keep_alive:
                conns.pop(backend).close()
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
        except (OSError, http.client.HTTPException) as exc:
            target.record(None, type(exc).__name__, (time.monotonic() - started) * 1000, retried, backend)
            conn.close()
            del conns[backend]
            time.sleep(0.01)
    for conn in conns.values():
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", action="append", required=True,
                        help="NAME=URL or NAME@HOSTHEADER=URL (repeatable)")
    parser.add_argument("--connections", type=int, default=2, help="keep-alive connections per target (2)")
    parser.add_argument("--new-connections", type=int, default=0,
                        help="threads per target that open a new connection for each request (0)")
    parser.add_argument("--interval", type=float, default=0.01,
                        help="seconds from the start of one request to the next on a connection (0.01); "
                             "0 sends back to back")
    parser.add_argument("--duration", type=float, default=600, help="seconds at most (600)")
    parser.add_argument("--stop-file", help="stop as soon as this file exists")
    parser.add_argument("--out", required=True, help="JSON results file")
    parser.add_argument("--pool-file", help="send each request to the next host listed in this file")
    args = parser.parse_args()

    targets = [Target(spec) for spec in args.target]
    stop = threading.Event()
    pool = Pool(args.pool_file)
    threads = [threading.Thread(target=worker, args=(t, stop, args.interval, pool, keep_alive), daemon=True)
               for t in targets
               for keep_alive, count in ((True, args.connections), (False, args.new_connections))
               for _thread in range(count)]
    threads.append(threading.Thread(target=pool.follow, args=(stop,), daemon=True))
    started = time.time()
    for thread in threads:
        thread.start()
    while time.time() - started < args.duration:
        if args.stop_file and os.path.exists(args.stop_file):
            break
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(timeout=70)
    result = {"started": started, "seconds": round(time.time() - started, 1), "connections": args.connections,
              "new_connections": args.new_connections, "interval": args.interval,
              "targets": {t.name: t.summary() for t in targets}}
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
