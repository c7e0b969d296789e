"""A plain WSGI app that reports how mod_wsgi runs it, as JSON.

The project name is the script's file name: the wsgi role copies a project's
`source` to <base>/<project>/<project>.wsgi.
"""

import json
import os
import pwd
import sys

PROJECT = os.path.splitext(os.path.basename(__file__))[0]


def application(environ, start_response):
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
        },
        sort_keys=True,
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
