# Synthetic WSGI application of known cost, for bench/bench.py.
#
# GET /?cpu_ms=C&wait_ms=W&chunk=N
#   burns C ms of pure-Python CPU (holding the GIL) in two halves around a
#   W ms time.sleep() (which releases the GIL, standing for a DB/RPC wait).
#   The CPU is burnt in chunks of N loop iterations (the harness calibrates
#   loops per ms and sends about 0.1 ms worth) until the thread's own CPU time
#   has grown by C/2 ms: the cost stays C ms of CPU even when the speed of this
#   shared virtual machine drifts. The response headers report the CPU time
#   the request really used (X-Cpu-Us) and the loop iterations it took
#   (X-Loops), and the interpreter and mod_wsgi versions.
#
# GET /?...&leak_kb=K (bench/colocate.py's leak test) also keeps K KiB more
#   of memory for good at each request, as a leaking app does.
#
# Standard library only; the harness imports burn() from this file to
# calibrate, so both run the same bytecode.
import os
import sys
import time

_PARAMS = {}
_KEPT = []  # what leak_kb keeps: never freed


def burn(loops):
    """Pure-Python busy loop: holds the GIL for the whole time."""
    x = 0
    for i in range(loops):
        x += i * i
    return x


def burn_cpu(seconds, chunk):
    """Burn `seconds` of this thread's CPU time; return (CPU seconds, loops)."""
    start = time.thread_time()
    end = start + seconds
    loops = 0
    while time.thread_time() < end:
        burn(chunk)
        loops += chunk
    return time.thread_time() - start, loops


def _params(query):
    cached = _PARAMS.get(query)
    if cached is None:
        fields = dict(p.partition("=")[::2] for p in query.split("&") if p)
        cpu_s = float(fields.get("cpu_ms", "0")) / 1000.0
        wait_s = float(fields.get("wait_ms", "0")) / 1000.0
        chunk = max(1, int(fields.get("chunk", "1000")))
        leak = max(0, int(fields.get("leak_kb", "0"))) * 1024
        cached = (cpu_s / 2, wait_s, chunk, leak)
        _PARAMS[query] = cached
    return cached


def application(environ, start_response):
    half, wait_s, chunk, leak = _params(environ.get("QUERY_STRING", ""))
    if leak:
        _KEPT.append(b"x" * leak)  # written, so resident
    cpu, loops = burn_cpu(half, chunk)
    if wait_s > 0:
        time.sleep(wait_s)
    cpu2, loops2 = burn_cpu(half, chunk)
    body = b"ok\n"
    version = environ.get("mod_wsgi.version", ())
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain"),
            ("Content-Length", str(len(body))),
            ("X-Cpu-Us", str(int((cpu + cpu2) * 1e6))),
            ("X-Loops", str(loops + loops2)),
            ("X-Pid", str(os.getpid())),
            ("X-Python", sys.version.split()[0]),
            ("X-Mod-Wsgi", ".".join(str(v) for v in version)),
        ],
    )
    return [body]
