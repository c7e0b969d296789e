"""A plain WSGI app that reports how mod_wsgi runs it, as JSON.

The project name is the script's file name: the wsgi role copies a project's
`source` to <base>/<project>/<project>.wsgi.

To show mod_wsgi's timeouts, a request may ask the app to take its time
(`?sleep=SECONDS`, at most 600) and name itself (`?id=NAME`); each answer
lists the names of the last requests this process started. To show where its
errors go, it writes `?log=WORD` to wsgi.errors, and `?fail=1` raises.
"""

import collections
import json
import os
import pwd
import re
import sys
import time
from urllib.parse import parse_qs

PROJECT = os.path.splitext(os.path.basename(__file__))[0]
MAX_SLEEP = 600.0
STARTED = collections.deque(maxlen=100)
WORD = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    name = query.get("id", [""])[0]
    if WORD.fullmatch(name):
        STARTED.append(name)
    word = query.get("log", [""])[0]
    if WORD.fullmatch(word):
        environ["wsgi.errors"].write("%s logs %s\n" % (PROJECT, word))
        environ["wsgi.errors"].flush()
    if query.get("fail") == ["1"]:
        raise RuntimeError("%s fails, as asked" % PROJECT)
    try:
        seconds = float(query.get("sleep", ["0"])[0])
    except ValueError:
        seconds = 0.0
    if 0 < seconds:  # false for nan
        time.sleep(min(seconds, MAX_SLEEP))
    body = json.dumps(
        {
            "project": PROJECT,
            "framework": "wsgi",
            "multithread": environ["wsgi.multithread"],
            "multiprocess": environ["wsgi.multiprocess"],
            "process_group": environ.get("mod_wsgi.process_group", ""),
            "application_group": environ.get("mod_wsgi.application_group", ""),
            "pid": os.getpid(),
            "user": pwd.getpwuid(os.geteuid()).pw_name,
            "python": "%d.%d" % sys.version_info[:2],
            "prefix": sys.prefix,
            "script_name": environ.get("SCRIPT_NAME", ""),
            "path_info": environ.get("PATH_INFO", ""),
            # What a proxy in front must not change (isolation instance).
            "query_string": environ.get("QUERY_STRING", ""),
            "remote_addr": environ.get("REMOTE_ADDR", ""),
            "url_scheme": environ["wsgi.url_scheme"],
            "http_host": environ.get("HTTP_HOST", ""),
            "server_port": environ.get("SERVER_PORT", ""),
            "authorization": environ.get("HTTP_AUTHORIZATION", "").split(" ")[0],  # the scheme only
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR", ""),
            "started": list(STARTED),
        },
        sort_keys=True,
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
