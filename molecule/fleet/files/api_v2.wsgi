"""Version 2 of the fleet's api app: it needs fleet_feature, which the second host lacks."""

import json
import os

import fleet_feature


def application(environ, start_response):
    body = json.dumps(
        {
            "version": 2,
            "feature": fleet_feature.NAME,
            "multithread": environ["wsgi.multithread"],
            "multiprocess": environ["wsgi.multiprocess"],
            "pid": os.getpid(),
        },
        sort_keys=True,
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
