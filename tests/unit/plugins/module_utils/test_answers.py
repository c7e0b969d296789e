# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Asking many projects in rounds until they settle (plugins/module_utils/_answers.py), with a fake fetch and clock."""

from __future__ import annotations

import json
import threading
from typing import Any, Union

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._answers import (
    MAX_CONTENT,
    AnswersError,
    Project,
    Reply,
    check_timing,
    describe_error,
    is_settled,
    parse_projects,
    poll,
    summary,
)

Step = Union[int, str, Reply, Exception]


class Fake:
    """A clock that only ``sleep`` moves, and a fetch that plays a script of answers per URL.

    Each script item is a status (int), a connection error (str), a Reply or an
    exception to raise; the last item repeats once the script is used up.
    """

    def __init__(self, scripts: dict[str, list[Step]], cost: float = 0.0) -> None:
        self.scripts = scripts
        self.cost = cost
        self.now = 1000.0
        self.calls: dict[str, int] = {url: 0 for url in scripts}
        self.rounds: list[list[str]] = []
        self.sleeps: list[float] = []
        self.timeouts: list[float] = []
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        # A loop that never reaches its deadline fails here instead of hanging the test run.
        assert len(self.sleeps) < 1000, "endless rounds"
        self.sleeps.append(seconds)
        self.now += seconds

    def fetch(self, project: Project, timeout: float) -> Reply:
        with self.lock:
            count = self.calls[project.url]
            self.calls[project.url] = count + 1
            self.timeouts.append(timeout)
        script = self.scripts[project.url]
        step = script[min(count, len(script) - 1)]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, Reply):
            return step
        if isinstance(step, str):
            return Reply(error=step)
        return Reply(status=step, body=b"status %d" % step)

    def poll(self, *names: str, **kwargs: Any) -> dict[str, Any]:
        projects = [Project(name=name, url="http://127.0.0.1/%s" % name) for name in names]
        result = summary(poll(projects, self.fetch, self.sleep, self.clock, **kwargs))
        return result


def urls(**scripts: list[Step]) -> dict[str, list[Step]]:
    return {"http://127.0.0.1/%s" % name: script for name, script in scripts.items()}


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {answer["name"]: answer for answer in result["answers"]}


# The settled rule


@pytest.mark.parametrize("status", [200, 204, 301, 302, 401, 403, 404, 500])
def test_statuses_from_200_to_500_settle(status: int) -> None:
    assert is_settled(status)


@pytest.mark.parametrize("status", [None, 100, 199, 501, 502, 503, 504, 599])
def test_other_statuses_and_no_answer_do_not_settle(status: Any) -> None:
    assert not is_settled(status)


# Rounds and deadline


def test_a_project_settles_after_two_503s() -> None:
    fake = Fake(urls(app=[503, 503, 200]))
    result = fake.poll("app", timeout=60, delay=2)
    assert result == {"answers": [{"name": "app", "url": "http://127.0.0.1/app", "status": 200,
                                   "content": "status 200", "tries": 3}],
                      "failing": [], "unanswered": []}
    assert fake.sleeps == [2, 2]


def test_500_is_final_after_one_try() -> None:
    fake = Fake(urls(broken=[500, 200]))
    result = fake.poll("broken", timeout=60, delay=1)
    assert by_name(result)["broken"]["status"] == 500
    assert by_name(result)["broken"]["tries"] == 1
    assert result["failing"] == ["broken"]
    assert result["unanswered"] == []
    assert fake.sleeps == []


def test_401_settles_and_does_not_fail() -> None:
    fake = Fake(urls(keystone=[401, 503]))
    result = fake.poll("keystone", timeout=60, delay=1)
    assert by_name(result)["keystone"]["status"] == 401
    assert by_name(result)["keystone"]["tries"] == 1
    assert result["failing"] == [] and result["unanswered"] == []


def test_connection_errors_until_the_deadline_leave_a_project_unanswered() -> None:
    fake = Fake(urls(down=["[Errno 104] Connection reset by peer", "[Errno 111] Connection refused"]))
    result = fake.poll("down", timeout=10, delay=3)
    answer = by_name(result)["down"]
    assert answer["status"] is None
    assert answer["error"] == "[Errno 111] Connection refused"
    assert answer["content"] == ""
    assert "json" not in answer
    # Rounds at 0, 3, 6 and 9, and a last one at the deadline (10).
    assert answer["tries"] == 5
    assert fake.sleeps == [3, 3, 3, 1]
    assert result["unanswered"] == ["down"]
    assert result["failing"] == []


def test_503_at_the_deadline_is_failing() -> None:
    fake = Fake(urls(starting=[503]))
    result = fake.poll("starting", timeout=5, delay=1)
    answer = by_name(result)["starting"]
    assert answer["status"] == 503
    assert answer["tries"] == 6
    assert "error" not in answer
    assert result["failing"] == ["starting"]
    assert result["unanswered"] == []


def test_a_connection_error_after_an_http_answer_keeps_the_http_answer() -> None:
    fake = Fake(urls(flaky=[502, "[Errno 111] Connection refused"]))
    result = fake.poll("flaky", timeout=2, delay=1)
    answer = by_name(result)["flaky"]
    assert (answer["status"], answer["content"], answer["tries"]) == (502, "status 502", 3)
    assert "error" not in answer
    assert result["failing"] == ["flaky"] and result["unanswered"] == []


def test_timeout_0_asks_each_project_once() -> None:
    fake = Fake(urls(a=[503], b=["refused"], c=[200]))
    result = fake.poll("a", "b", "c", timeout=0, delay=1)
    assert [a["tries"] for a in result["answers"]] == [1, 1, 1]
    assert fake.sleeps == []
    assert result["failing"] == ["a"] and result["unanswered"] == ["b"]


def test_slow_rounds_end_at_the_deadline_without_sleeping_past_it() -> None:
    fake = Fake(urls(a=[503]))

    def slow_fetch(project: Project, timeout: float) -> Reply:
        fake.now += 4  # each request takes 4 s
        return Reply(status=503)

    projects = [Project(name="a", url="http://127.0.0.1/a")]
    answers = poll(projects, slow_fetch, fake.sleep, fake.clock, timeout=10, delay=1)
    # Rounds start at 0, 5 and 10: the one that ends at 14 is the last.
    assert answers[0].tries == 3
    assert fake.sleeps == [1, 1]


def test_only_unsettled_projects_are_asked_again() -> None:
    fake = Fake(urls(ok=[200], auth=[401], late=[503, 503, 503, 200], down=["refused"], boom=[500]))
    result = fake.poll("ok", "auth", "late", "down", "boom", timeout=30, delay=1)
    assert fake.calls == {"http://127.0.0.1/ok": 1, "http://127.0.0.1/auth": 1, "http://127.0.0.1/late": 4,
                          "http://127.0.0.1/down": 31, "http://127.0.0.1/boom": 1}
    assert [a["tries"] for a in result["answers"]] == [1, 1, 4, 31, 1]


def test_answers_keep_the_input_order() -> None:
    names = ["zeta", "alpha", "mu", "beta", "omega", "delta"]
    fake = Fake(urls(zeta=[503, 200], alpha=["refused"], mu=[500], beta=[200], omega=[503], delta=[401]))
    result = fake.poll(*names, timeout=3, delay=1)
    assert [a["name"] for a in result["answers"]] == names
    assert [a["status"] for a in result["answers"]] == [200, None, 500, 200, 503, 401]
    assert result["failing"] == ["mu", "omega"]
    assert result["unanswered"] == ["alpha"]


def test_many_projects_with_few_workers_all_get_asked() -> None:
    names = ["p%02d" % i for i in range(40)]
    fake = Fake(urls(**{name: [503, 200] for name in names}))
    result = fake.poll(*names, timeout=10, delay=1, workers=3)
    assert all(a["status"] == 200 and a["tries"] == 2 for a in result["answers"])
    assert sum(fake.calls.values()) == 80


def test_no_projects_ask_nothing() -> None:
    fake = Fake({})
    assert fake.poll(timeout=10, delay=1) == {"answers": [], "failing": [], "unanswered": []}
    assert fake.sleeps == []


def test_every_request_gets_the_request_timeout_even_at_the_deadline() -> None:
    fake = Fake(urls(a=[503]))
    fake.poll("a", timeout=25, delay=7)
    # Rounds at 0, 7, 14, 21 and 25.
    assert fake.timeouts == [10, 10, 10, 10, 10]
    fake = Fake(urls(a=[503]))
    fake.poll("a", timeout=0, request_timeout=2.5)
    assert fake.timeouts == [2.5]


def test_a_fetch_that_raises_is_a_connection_error_not_a_traceback() -> None:
    fake = Fake(urls(a=[RuntimeError("socket exploded")], b=[OSError()]))
    result = fake.poll("a", "b", timeout=0)
    assert by_name(result)["a"]["error"] == "socket exploded"
    assert by_name(result)["b"]["error"] == "OSError"
    assert result["unanswered"] == ["a", "b"]


def test_a_fetch_that_returns_no_int_status_is_a_connection_error() -> None:
    fake = Fake(urls(a=[Reply(status="200")]))  # type: ignore[arg-type]
    result = fake.poll("a", timeout=0)
    assert by_name(result)["a"]["error"] == "not an HTTP status: '200'"


# Bodies


def test_a_json_object_body_is_parsed_and_kept_as_text() -> None:
    body = json.dumps({"multithread": True, "multiprocess": False}).encode()
    fake = Fake(urls(a=[Reply(status=200, body=body)]))
    answer = by_name(fake.poll("a", timeout=0))["a"]
    assert answer["json"] == {"multithread": True, "multiprocess": False}
    assert answer["content"] == body.decode()


@pytest.mark.parametrize("body", [b"[1, 2]", b"42", b'"text"', b"null", b"{not json", b"", b"[" * 100000])
def test_a_body_that_is_no_json_object_has_no_json_key(body: bytes) -> None:
    fake = Fake(urls(a=[Reply(status=200, body=body)]))
    answer = by_name(fake.poll("a", timeout=0))["a"]
    assert "json" not in answer
    assert answer["content"] == body.decode()[:MAX_CONTENT]


def test_an_error_answer_keeps_its_body() -> None:
    fake = Fake(urls(a=[Reply(status=500, body=b'{"error": "ImportError"}')]))
    answer = by_name(fake.poll("a", timeout=0))["a"]
    assert answer["json"] == {"error": "ImportError"}
    assert answer["content"] == '{"error": "ImportError"}'


def test_content_is_cut_to_4096_characters_but_json_is_parsed_whole() -> None:
    long = {"padding": "x" * 10000}
    fake = Fake(urls(a=[Reply(status=200, body=json.dumps(long).encode())], b=[Reply(status=200, body=b"y" * 5000)]))
    result = by_name(fake.poll("a", "b", timeout=0))
    assert len(result["a"]["content"]) == 4096
    assert result["a"]["json"] == long
    assert result["b"]["content"] == "y" * 4096


def test_bodies_are_decoded_in_their_charset_else_utf8_with_replacement() -> None:
    fake = Fake(urls(
        latin=[Reply(status=200, body="café".encode("latin-1"), charset="iso-8859-1")],
        utf8=[Reply(status=200, body="café".encode())],
        broken=[Reply(status=200, body=b"caf\xe9")],
        unknown=[Reply(status=200, body="café".encode(), charset="no-such-charset")],
    ))
    result = by_name(fake.poll("latin", "utf8", "broken", "unknown", timeout=0))
    assert [result[name]["content"] for name in ("latin", "utf8", "broken", "unknown")] == \
        ["café", "café", "caf\ufffd", "café"]


# Errors described


def test_describe_error_prefers_a_reason() -> None:
    class URLErrorLike(OSError):
        def __init__(self, reason: Any) -> None:
            super().__init__("<urlopen error %s>" % reason)
            self.reason = reason

    assert describe_error(URLErrorLike(ConnectionRefusedError(111, "Connection refused"))) == \
        "[Errno 111] Connection refused"
    assert describe_error(URLErrorLike("timed out")) == "timed out"
    assert describe_error(ValueError("Invalid header value")) == "Invalid header value"
    assert describe_error(TimeoutError()) == "TimeoutError"


# Arguments


def failure(raw: Any) -> str:
    with pytest.raises(AnswersError) as info:
        parse_projects(raw)
    return str(info.value)


def test_valid_projects_are_parsed_in_order() -> None:
    raw = [{"name": "nova-api", "url": "http://127.0.0.1:8774/", "host_header": None},
           {"name": "keystone", "url": "HTTPS://127.0.0.1:5000/v3", "host_header": "identity.example.com"},
           {"name": "bare", "url": "http://[::1]:8080", "host_header": ""}]
    assert parse_projects(raw) == [Project("nova-api", "http://127.0.0.1:8774/"),
                                   Project("keystone", "HTTPS://127.0.0.1:5000/v3", "identity.example.com"),
                                   Project("bare", "http://[::1]:8080")]


@pytest.mark.parametrize("raw, message", [
    ([{"name": "", "url": "http://x/"}], "project #1: field 'name': must be given and not empty"),
    ([{"name": "a", "url": "http://x/"}, {"name": "  ", "url": "http://x/"}],
     "project #2: field 'name': must be given and not empty"),
    ([{"url": "http://x/"}], "project #1: field 'name': must be given and not empty"),
    ([{"name": 5, "url": "http://x/"}], "project #1: field 'name': must be a string, got int"),
    ([{"name": "nova-api"}], "project 'nova-api': field 'url': must be given and not empty"),
    ([{"name": "nova-api", "url": "ftp://x/"}],
     "project 'nova-api': field 'url': must start with http:// or https:// and name a host, got 'ftp://x/'"),
    ([{"name": "nova-api", "url": "127.0.0.1:8774"}],
     "project 'nova-api': field 'url': must start with http:// or https:// and name a host, got '127.0.0.1:8774'"),
    ([{"name": "nova-api", "url": "http://"}],
     "project 'nova-api': field 'url': must start with http:// or https:// and name a host, got 'http://'"),
    ([{"name": "nova-api", "url": "http:///path"}],
     "project 'nova-api': field 'url': must start with http:// or https:// and name a host, got 'http:///path'"),
    ([{"name": "nova-api", "url": "http://x/a b"}],
     "project 'nova-api': field 'url': must be ASCII without spaces or control characters, got 'http://x/a b'"),
    ([{"name": "nova-api", "url": "http://x/", "host_header": "a\r\nX-Evil: 1"}],
     "project 'nova-api': field 'host_header': must be ASCII without spaces or control characters, "
     "got 'a\\r\\nX-Evil: 1'"),
    ([{"name": "nova-api", "url": "http://caf\u00e9.example/"}],
     "project 'nova-api': field 'url': must be ASCII without spaces or control characters, got 'http://caf\u00e9.example/'"),
    ([{"name": "nova-api", "url": "http://x/", "host_header": "a\x85b"}],
     "project 'nova-api': field 'host_header': must be ASCII without spaces or control characters, got 'a\\x85b'"),
    ([{"name": "nova-api", "url": "http://x/", "port": 80}], "project 'nova-api': unknown field(s) 'port'"),
    (["nova-api"], "project #1: must be a dict with name and url, got str"),
    ([{"name": "nova-api", "url": "http://a/"}, {"name": "glance", "url": "http://b/"},
      {"name": "nova-api", "url": "http://c/"}],
     "project 'nova-api': field 'name': given twice (entries #1 and #3)"),
])
def test_bad_projects_are_refused_naming_the_project_and_field(raw: Any, message: str) -> None:
    assert failure(raw) == message


@pytest.mark.parametrize("timeout, delay, message", [
    (-1, 1, "option 'timeout': must be a number of seconds, 0 or more, got -1"),
    (60, -0.5, "option 'delay': must be a number of seconds, 0 or more, got -0.5"),
    (60, float("nan"), "option 'delay': must be a number of seconds, 0 or more, got nan"),
    (60, float("inf"), "option 'delay': must be a number of seconds, 0 or more, got inf"),
])
def test_bad_timing_is_refused(timeout: float, delay: float, message: str) -> None:
    with pytest.raises(AnswersError) as info:
        check_timing(timeout, delay)
    assert str(info.value) == message


def test_zero_timing_is_fine() -> None:
    check_timing(0, 0)


def test_answers_error_is_a_value_error() -> None:
    assert issubclass(AnswersError, ValueError)
