"""The catalog's WSGI entry point: it imports its own package from the release it runs in.

The release folder is on the daemon group's python-path as <project>/current,
a link that the wsgi role switches from one release to the next.
"""

import json
import os
import pwd

import catalog


def application(environ, start_response):
    release = os.path.basename(os.path.dirname(os.path.dirname(os.path.realpath(catalog.__file__))))
    body = json.dumps({
        "project": "catalog",
        "version": catalog.VERSION,
        "release": release,
        "pid": os.getpid(),
        "user": pwd.getpwuid(os.geteuid()).pw_name,
        "process_group": environ.get("mod_wsgi.process_group", ""),
        "multithread": environ["wsgi.multithread"],
        "multiprocess": environ["wsgi.multiprocess"],
    }, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
