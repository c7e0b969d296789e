"""A stand-in for an OpenStack API service under mod_wsgi, as plain WSGI.

It answers every request with one JSON object: what hello.wsgi reports (how
mod_wsgi runs it), the OpenStack service it stands in for, whether the
Authorization header reached it (it does only with WSGIPassAuthorization On,
which keystonemiddleware needs), and a version document like the one an
OpenStack API returns at its root for version discovery.

The project name is the script's file name: the wsgi role copies a project's
`source` to <base>/<project>/<project>.wsgi. The service is that name without
an "-api" suffix (nova-api -> nova).
"""

import json
import os
import pwd
import sys

PROJECT = os.path.splitext(os.path.basename(__file__))[0]
SERVICE = PROJECT[: -len("-api")] if PROJECT.endswith("-api") else PROJECT

# Close to what each real service reports at its root: version id, media type.
VERSIONS = {
    "keystone": ("v3.14", "application/vnd.openstack.identity-v3+json"),
    "nova": ("v2.1", "application/vnd.openstack.compute+json;version=2.1"),
    "placement": ("v1.0", "application/vnd.openstack.placement+json;version=1.0"),
    "glance": ("v2.16", "application/vnd.openstack.image-v2+json"),
    "cinder": ("v3.0", "application/vnd.openstack.volume+json;version=3"),
}


def _version(environ):
    """The API version document, its self link built from the request."""
    version_id, media_type = VERSIONS.get(SERVICE, ("v1.0", "application/json"))
    host = environ.get("HTTP_HOST") or "%s:%s" % (environ.get("SERVER_NAME", ""), environ.get("SERVER_PORT", ""))
    root = "%s://%s%s/" % (environ.get("wsgi.url_scheme", "http"), host, environ.get("SCRIPT_NAME", "").rstrip("/"))
    return {
        "id": version_id,
        "status": "CURRENT",
        "links": [{"rel": "self", "href": root + version_id.split(".")[0] + "/"}],
        "media-types": [{"base": "application/json", "type": media_type}],
    }


def application(environ, start_response):
    body = json.dumps(
        {
            "project": PROJECT,
            "service": SERVICE,
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
            "authorization_seen": "HTTP_AUTHORIZATION" in environ,
            "version": _version(environ),
        },
        sort_keys=True,
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
