"""A Flask app (installed with pip in the project's venv) that reports how mod_wsgi runs it."""

import os
import pwd
import sys

import flask

PROJECT = os.path.splitext(os.path.basename(__file__))[0]
application = flask.Flask(PROJECT)


@application.route("/", defaults={"rest": ""})
@application.route("/<path:rest>")
def report(rest):
    environ = flask.request.environ
    return flask.jsonify(
        project=PROJECT,
        framework="flask %s" % getattr(flask, "__version__", "?"),
        multithread=environ["wsgi.multithread"],
        multiprocess=environ["wsgi.multiprocess"],
        process_group=environ.get("mod_wsgi.process_group", ""),
        application_group=environ.get("mod_wsgi.application_group", ""),
        pid=os.getpid(),
        user=pwd.getpwuid(os.geteuid()).pw_name,
        python="%d.%d" % sys.version_info[:2],
        prefix=sys.prefix,
        script_name=environ.get("SCRIPT_NAME", ""),
        path_info=environ.get("PATH_INFO", ""),
    )
