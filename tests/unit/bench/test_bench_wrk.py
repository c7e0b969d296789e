# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/lib/wrk.py: reading what `wrk --latency` printed.

The samples are real wrk 4.1.0 (Debian) output. The first three come from the
benchmark's own runs (bench/results/results.json, and the first version of it
in the history for the socket error). The stored runs have no latencies in
microseconds and no non-2xx responses, so the last three were captured with the
same wrk and the benchmark's options (-t1 --timeout --latency) against a small
local HTTP server: a fast one, one answering 500 or 503, and one slower than
the timeout.
"""

from __future__ import annotations

import pytest

from lib.wrk import parse_wrk, to_ms

# bench/results/results.json, cpu-bound: latencies in ms only.
CPU_BOUND = (
    "Running 5s test @ http://127.0.0.1:18136/?cpu_ms=20.0&wait_ms=2.0&chunk=1300\n"
    "  1 threads and 32 connections\n"
    "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"
    "    Latency   337.13ms   52.80ms 457.62ms   88.04%\n"
    "    Req/Sec    92.04     12.44   111.00     84.00%\n"
    "  Latency Distribution\n"
    "     50%  338.83ms\n"
    "     75%  344.03ms\n"
    "     90%  365.50ms\n"
    "     99%  452.58ms\n"
    "  460 requests in 5.01s, 110.96KB read\n"
    "Requests/sec:     91.77\n"
    "Transfer/sec:     22.14KB\n"
)

# bench/results/results.json: a max and a p99 in seconds (note wrk's trailing space).
SECONDS_TAIL = (
    "Running 5s test @ http://127.0.0.1:18127/?cpu_ms=20.0&wait_ms=2.0&chunk=1300\n"
    "  1 threads and 32 connections\n"
    "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"
    "    Latency   359.87ms  217.87ms   1.31s    74.08%\n"
    "    Req/Sec    87.82     20.73   121.00     70.00%\n"
    "  Latency Distribution\n"
    "     50%  311.68ms\n"
    "     75%  461.62ms\n"
    "     90%  669.74ms\n"
    "     99%    1.09s \n"
    "  443 requests in 5.06s, 106.86KB read\n"
    "Requests/sec:     87.63\n"
    "Transfer/sec:     21.14KB\n"
)

# The first results.json (commit be68542), io-bound: one read error.
READ_ERROR = (
    "Running 5s test @ http://127.0.0.1:18183/?cpu_ms=2.0&wait_ms=60.0&chunk=1301\n"
    "  1 threads and 128 connections\n"
    "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"
    "    Latency   210.48ms   76.08ms 686.67ms   72.84%\n"
    "    Req/Sec   547.34    192.38     0.95k    65.79%\n"
    "  Latency Distribution\n"
    "     50%  201.60ms\n"
    "     75%  253.80ms\n"
    "     90%  307.38ms\n"
    "     99%  467.07ms\n"
    "  2746 requests in 5.10s, 659.68KB read\n"
    "  Socket errors: connect 0, read 1, write 0, timeout 0\n"
    "Requests/sec:    538.51\n"
    "Transfer/sec:    129.37KB\n"
)

# A fast server: percentiles in microseconds and milliseconds.
MICROSECONDS = (
    "Running 1s test @ http://127.0.0.1:18931/?ok\n"
    "  1 threads and 1 connections\n"
    "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"
    "    Latency     0.85ms    1.93ms  16.07ms   91.18%\n"
    "    Req/Sec     3.92k     1.73k    5.82k    70.00%\n"
    "  Latency Distribution\n"
    "     50%  185.00us\n"
    "     75%  260.00us\n"
    "     90%    2.43ms\n"
    "     99%   10.72ms\n"
    "  3899 requests in 1.00s, 434.18KB read\n"
    "Requests/sec:   3887.49\n"
    "Transfer/sec:    432.90KB\n"
)

# Half the answers 503: a duration that is not a whole second.
HALF_NON_2XX = (
    "Running 1s test @ http://127.0.0.1:18932/?half\n"
    "  1 threads and 4 connections\n"
    "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"
    "    Latency     0.93ms  402.85us   5.56ms   80.93%\n"
    "    Req/Sec     4.38k   544.04     5.19k    63.64%\n"
    "  Latency Distribution\n"
    "     50%    0.85ms\n"
    "     75%    1.08ms\n"
    "     90%    1.36ms\n"
    "     99%    2.39ms\n"
    "  4792 requests in 1.10s, 573.29KB read\n"
    "  Non-2xx or 3xx responses: 2390\n"
    "Requests/sec:   4356.00\n"
    "Transfer/sec:    521.13KB\n"
)

# Every answer 500.
ALL_NON_2XX = (
    "Running 1s test @ http://127.0.0.1:18931/?fail\n"
    "  1 threads and 4 connections\n"
    "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"
    "    Latency   663.83us  582.88us  10.66ms   95.49%\n"
    "    Req/Sec     6.39k   734.62     7.63k    70.00%\n"
    "  Latency Distribution\n"
    "     50%  549.00us\n"
    "     75%  715.00us\n"
    "     90%    0.93ms\n"
    "     99%    3.30ms\n"
    "  6359 requests in 1.00s, 826.05KB read\n"
    "  Non-2xx or 3xx responses: 6359\n"
    "Requests/sec:   6350.19\n"
    "Transfer/sec:    824.91KB\n"
)

# Every request slower than --timeout 1s: no latency recorded at all.
ALL_TIMED_OUT = (
    "Running 3s test @ http://127.0.0.1:18932/?slow\n"
    "  1 threads and 4 connections\n"
    "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"
    "    Latency     0.00us    0.00us   0.00us    -nan%\n"
    "    Req/Sec     7.67     10.69    20.00     66.67%\n"
    "  Latency Distribution\n"
    "     50%    0.00us\n"
    "     75%    0.00us\n"
    "     90%    0.00us\n"
    "     99%    0.00us\n"
    "  8 requests in 3.01s, 0.89KB read\n"
    "  Socket errors: connect 0, read 0, write 0, timeout 8\n"
    "Requests/sec:      2.66\n"
    "Transfer/sec:     303.30B\n"
)


@pytest.mark.parametrize(
    "text, ms",
    [
        ("185.00us", 0.185),
        ("0.00us", 0.0),
        ("0.93ms", 0.93),
        ("452.58ms", 452.58),
        ("1.09s", 1090.0),
        (" 1.31s ", 1310.0),
        ("5.01s", 5010.0),
        ("2m", 120000.0),
        ("1h", 3600000.0),
    ],
)
def test_to_ms_reads_every_unit_wrk_prints(text: str, ms: float) -> None:
    assert to_ms(text) == pytest.approx(ms)


@pytest.mark.parametrize("text", ["-nan%", "88.04%", "12", "1.5ks", ""])
def test_to_ms_refuses_what_is_no_duration(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read a duration"):
        to_ms(text)


def test_milliseconds_from_the_benchmark() -> None:
    out = parse_wrk(CPU_BOUND)
    assert out["latency_ms"] == pytest.approx(
        {"p50": 338.83, "p75": 344.03, "p90": 365.50, "p99": 452.58, "mean": 337.13, "max": 457.62}
    )
    assert out["requests"] == 460
    assert out["duration_s"] == pytest.approx(5.01)
    assert out["non_2xx"] == 0
    assert out["socket_errors"] == {}
    assert out["wrk_rps"] == pytest.approx(91.77)
    assert out["rps"] == pytest.approx(460 / 5.01)


def test_seconds_in_the_tail() -> None:
    out = parse_wrk(SECONDS_TAIL)
    assert out["latency_ms"]["p99"] == pytest.approx(1090.0)
    assert out["latency_ms"]["max"] == pytest.approx(1310.0)
    assert out["latency_ms"]["mean"] == pytest.approx(359.87)
    assert out["latency_ms"]["p50"] == pytest.approx(311.68)
    assert out["requests"] == 443
    assert out["rps"] == pytest.approx(443 / 5.06)


def test_socket_errors_are_counted_by_kind() -> None:
    out = parse_wrk(READ_ERROR)
    assert out["socket_errors"] == {"connect": 0, "read": 1, "write": 0, "timeout": 0}
    assert out["non_2xx"] == 0
    # A read error is no 2xx answer, but wrk's request count excludes it already.
    assert out["rps"] == pytest.approx(2746 / 5.10)
    assert out["wrk_rps"] == pytest.approx(538.51)


def test_microseconds_next_to_milliseconds() -> None:
    out = parse_wrk(MICROSECONDS)
    assert out["latency_ms"] == pytest.approx(
        {"p50": 0.185, "p75": 0.26, "p90": 2.43, "p99": 10.72, "mean": 0.85, "max": 16.07}
    )
    assert out["requests"] == 3899
    assert out["duration_s"] == pytest.approx(1.0)


def test_non_2xx_answers_do_not_count_as_throughput() -> None:
    out = parse_wrk(HALF_NON_2XX)
    assert out["non_2xx"] == 2390
    assert out["requests"] == 4792
    assert out["duration_s"] == pytest.approx(1.10)
    assert out["rps"] == pytest.approx((4792 - 2390) / 1.10)
    # wrk's own rate counts every answer.
    assert out["wrk_rps"] == pytest.approx(4356.00)
    assert out["latency_ms"]["mean"] == pytest.approx(0.93)

    failed = parse_wrk(ALL_NON_2XX)
    assert failed["non_2xx"] == failed["requests"] == 6359
    assert failed["rps"] == 0.0
    assert failed["latency_ms"]["p50"] == pytest.approx(0.549)
    assert failed["latency_ms"]["p90"] == pytest.approx(0.93)


def test_timeouts_leave_no_latency() -> None:
    out = parse_wrk(ALL_TIMED_OUT)
    assert out["socket_errors"] == {"connect": 0, "read": 0, "write": 0, "timeout": 8}
    assert out["latency_ms"] == {"p50": 0.0, "p75": 0.0, "p90": 0.0, "p99": 0.0, "mean": 0.0, "max": 0.0}
    assert out["requests"] == 8
    assert out["wrk_rps"] == pytest.approx(2.66)
    # wrk counts an answer that came after --timeout both as a request and as a
    # timeout; the throughput counts it (the benchmark's errors column shows it).
    assert out["rps"] == pytest.approx(8 / 3.01)


def test_output_without_a_request_count_is_an_error() -> None:
    with pytest.raises(ValueError, match="no request count"):
        parse_wrk("unable to connect to 127.0.0.1:18939 Connection refused\n")
