# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The wsgi_healthcheck module's main() end to end, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from ansible_collections.modwsgi.fleet.plugins.modules import wsgi_healthcheck
from ansible_collections.modwsgi.fleet.tests.unit.plugins.modules.harness import ExitJson, FailJson, run_main

VHOST = "api.example.test"


def run(args: dict[str, Any], outcome: type[Exception] = ExitJson) -> dict[str, Any]:
    return run_main(wsgi_healthcheck.main, args, outcome)


class Handler(BaseHTTPRequestHandler):
    hits: Counter[str] = Counter()
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        pass

    def send(self, status: int, body: bytes, content_type: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        with self.lock:
            self.hits[self.path] += 1
            hits = self.hits[self.path]
        if self.path == "/ok":
            self.send(200, json.dumps({"multithread": True}).encode())
        elif self.path == "/boom":
            self.send(500, b"<h1>Internal Server Error</h1>", "text/html")
        elif self.path == "/auth":
            self.send(401, json.dumps({"error": {"code": 401, "title": "Unauthorized"}}).encode())
        elif self.path == "/vhost":
            host = self.headers.get("Host", "")
            if host == VHOST:
                self.send(200, json.dumps({"host": host}).encode())
            else:
                self.send(503, ("no virtual host for %s" % host).encode(), "text/plain")
        elif self.path == "/starting":
            if hits <= 2:
                self.send(503, b"Service Unavailable", "text/plain")
            else:
                self.send(200, b"[1, 2, 3]")
        elif self.path == "/moved":
            self.send(302, b"", "text/plain", Location="/ok")
        elif self.path == "/slow":
            time.sleep(1.0)
            self.send(200, b"{}")
        else:
            self.send(404, b"not here", "text/plain")


class Server(ThreadingHTTPServer):
    request_queue_size = 64  # every project of a round connects at once
    daemon_threads = True


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Base URL of a real threaded HTTP server on 127.0.0.1 (a proxy from the environment would not reach it)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    Handler.hits = Counter()
    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def closed_url() -> str:
    """A URL on a port of 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return "http://127.0.0.1:%d/" % port


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {answer["name"]: answer for answer in result["answers"]}


def test_every_kind_of_answer_in_one_call(server: str) -> None:
    projects = [
        {"name": "nova-api", "url": server + "/ok"},
        {"name": "broken", "url": server + "/boom"},
        {"name": "keystone", "url": server + "/auth"},
        {"name": "vhost", "url": server + "/vhost", "host_header": VHOST},
        {"name": "starting", "url": server + "/starting"},
    ]
    started = time.monotonic()
    result = run({"projects": projects, "timeout": 30, "delay": 0.05})
    assert time.monotonic() - started < 10, "did not stop once every project had settled"
    assert result["changed"] is False
    assert [a["name"] for a in result["answers"]] == [p["name"] for p in projects]
    answers = by_name(result)

    assert answers["nova-api"] == {"name": "nova-api", "url": server + "/ok", "status": 200,
                                   "json": {"multithread": True}, "content": '{"multithread": true}', "tries": 1}
    assert answers["broken"]["status"] == 500
    assert answers["broken"]["content"] == "<h1>Internal Server Error</h1>"
    assert answers["broken"]["tries"] == 1
    assert "json" not in answers["broken"] and "error" not in answers["broken"]
    assert answers["keystone"]["status"] == 401
    assert answers["keystone"]["json"] == {"error": {"code": 401, "title": "Unauthorized"}}
    assert answers["keystone"]["tries"] == 1
    assert answers["vhost"]["status"] == 200
    assert answers["vhost"]["json"] == {"host": VHOST}
    assert answers["starting"]["status"] == 200
    assert answers["starting"]["tries"] == 3
    assert answers["starting"]["content"] == "[1, 2, 3]" and "json" not in answers["starting"]

    assert result["failing"] == ["broken"]
    assert result["unanswered"] == []
    assert Handler.hits["/ok"] == 1 and Handler.hits["/boom"] == 1 and Handler.hits["/starting"] == 3


def test_refused_connections_until_the_deadline_are_unanswered(server: str, closed_url: str) -> None:
    projects = [{"name": "nova-api", "url": server + "/ok"}, {"name": "down", "url": closed_url}]
    result = run({"projects": projects, "timeout": 1, "delay": 0.2})
    down = by_name(result)["down"]
    assert down["status"] is None
    assert "refused" in down["error"].lower()
    assert down["content"] == "" and "json" not in down
    assert 2 <= down["tries"] <= 7
    assert by_name(result)["nova-api"]["tries"] == 1
    assert result["failing"] == []
    assert result["unanswered"] == ["down"]


def test_without_its_host_header_a_virtual_host_is_failing(server: str) -> None:
    result = run({"projects": [{"name": "vhost", "url": server + "/vhost"}], "timeout": 0})
    answer = by_name(result)["vhost"]
    assert answer["status"] == 503
    assert answer["content"] == "no virtual host for %s" % server[len("http://"):]
    assert result["failing"] == ["vhost"]
    assert result["unanswered"] == []


def test_503_until_the_deadline_is_failing_after_several_tries(server: str) -> None:
    result = run({"projects": [{"name": "vhost", "url": server + "/vhost", "host_header": "other.example.test"}],
                  "timeout": 1, "delay": 0.2})
    answer = by_name(result)["vhost"]
    assert answer["status"] == 503
    assert 2 <= answer["tries"] <= 7
    assert result["failing"] == ["vhost"]


def test_redirects_are_answers_and_not_followed(server: str) -> None:
    result = run({"projects": [{"name": "moved", "url": server + "/moved"}], "timeout": 0})
    assert by_name(result)["moved"]["status"] == 302
    assert result["failing"] == [] and result["unanswered"] == []
    assert Handler.hits["/ok"] == 0


def test_projects_are_asked_at_the_same_time(server: str) -> None:
    projects = [{"name": "slow%d" % i, "url": server + "/slow"} for i in range(6)]
    started = time.monotonic()
    result = run({"projects": projects, "timeout": 0})
    elapsed = time.monotonic() - started
    assert [a["status"] for a in result["answers"]] == [200] * 6
    assert elapsed < 4, "six requests of 1 s each took %.1f s: not asked concurrently" % elapsed


def test_check_mode_asks_and_answers_the_same(server: str, closed_url: str) -> None:
    projects = [{"name": "nova-api", "url": server + "/ok"}, {"name": "broken", "url": server + "/boom"},
                {"name": "down", "url": closed_url}]
    normal = run({"projects": projects, "timeout": 0})
    checked = run({"projects": projects, "timeout": 0, "_ansible_check_mode": True})
    assert checked == normal
    assert checked["failing"] == ["broken"] and checked["unanswered"] == ["down"]
    assert Handler.hits["/ok"] == 2


def test_no_projects_is_an_empty_result() -> None:
    assert run({"projects": []}) == {"changed": False, "answers": [], "failing": [], "unanswered": []}


@pytest.mark.parametrize("args, message", [
    ({"projects": [{"name": "nova-api", "url": "ftp://127.0.0.1/"}]},
     "project 'nova-api': field 'url': must start with http:// or https:// and name a host, got 'ftp://127.0.0.1/'"),
    ({"projects": [{"name": "", "url": "http://127.0.0.1/"}]},
     "project #1: field 'name': must be given and not empty"),
    ({"projects": [{"name": "a", "url": "http://127.0.0.1/"}, {"name": "a", "url": "http://127.0.0.1/"}]},
     "project 'a': field 'name': given twice (entries #1 and #2)"),
    ({"projects": [{"name": "a", "url": "http://127.0.0.1/", "host_header": "x\r\nEvil: 1"}]},
     "project 'a': field 'host_header': must be ASCII without spaces or control characters, got 'x\\r\\nEvil: 1'"),
    ({"projects": [{"name": "a", "url": "http://127.0.0.1/"}], "timeout": -1},
     "option 'timeout': must be a number of seconds, 0 or more, got -1"),
    ({"projects": [{"name": "a", "url": "http://127.0.0.1/"}], "delay": -2},
     "option 'delay': must be a number of seconds, 0 or more, got -2.0"),
])
def test_bad_arguments_fail_naming_the_project(args: dict[str, Any], message: str) -> None:
    assert run(args, FailJson)["msg"] == message


@pytest.mark.parametrize("args, fragment", [
    ({}, "missing required arguments: projects"),
    ({"projects": [{"name": "a"}]}, "missing required arguments: url"),
    ({"projects": [{"name": "a", "url": "http://127.0.0.1/", "port": 80}]}, "port"),
    ({"projects": [{"name": "a", "url": "http://127.0.0.1/"}], "timeout": "soon"}, "timeout"),
])
def test_the_argument_spec_checks_the_suboptions(args: dict[str, Any], fragment: str) -> None:
    assert fragment in run(args, FailJson)["msg"]
