# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ask many projects' URLs in rounds until each has settled or the deadline passed.

Pure logic, no Ansible imports: the ``wsgi_healthcheck`` module is a thin
wrapper that supplies the fetch function (built on ``open_url``), the sleep and
the clock.

A project has SETTLED when it answers an HTTP status from 200 to 500: a 4xx
means the application runs (keystone answers 401), and a 500 means the
application itself fails, for example at import, which waiting does not
cure. A 501-599 (502/503/504 while Apache or the daemons start) or no HTTP
answer at all (refused, reset, timed out) means NOT YET: the project is asked
again in the next round, until the deadline. Each round asks every project
that has not settled, at the same time, in a pool of threads.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

__metaclass__ = type  # pylint: disable=invalid-name

MAX_WORKERS = 16
# Seconds one request may take (a request that starts before the deadline may end after it).
REQUEST_TIMEOUT = 10.0
# Bytes of a body that are read (and parsed as JSON); the returned text is cut shorter.
MAX_BODY = 1024 * 1024
MAX_CONTENT = 4096
SCHEMES = ("http://", "https://")


class AnswersError(ValueError):
    """The arguments are not usable; the message names the project and the field."""


@dataclass(frozen=True)
class Project:
    name: str
    url: str
    host_header: Optional[str] = None


@dataclass(frozen=True)
class Reply:
    """What one request got: an HTTP status (and body), or else the connection error."""

    status: Optional[int] = None
    body: bytes = b""
    charset: Optional[str] = None
    error: Optional[str] = None


Fetch = Callable[[Project, float], Reply]


def is_settled(status: Optional[int]) -> bool:
    """Whether an answer with this status ends the waiting for its project."""
    return status is not None and 200 <= status <= 500


def _label(index: int, raw: Mapping[str, Any]) -> str:
    name = raw.get("name")
    if isinstance(name, str) and name.strip():
        return "project %r" % name
    return "project #%d" % (index + 1)


def _clean(value: str) -> bool:
    """Printable ASCII without spaces: anything else would break the request line or a header."""
    return all(33 <= ord(char) < 127 for char in value)


def _text_field(label: str, raw: Mapping[str, Any], key: str) -> Optional[str]:
    """The field's text, None when it is missing or empty."""
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AnswersError("%s: field %r: must be a string, got %s" % (label, key, type(value).__name__))
    return value


def _required_field(label: str, raw: Mapping[str, Any], key: str) -> str:
    value = _text_field(label, raw, key)
    if value is None or not value.strip():
        raise AnswersError("%s: field %r: must be given and not empty" % (label, key))
    return value


def parse_project(index: int, raw: Any) -> Project:
    """One entry of ``projects`` (``index`` counts from 0), checked field by field."""
    if not isinstance(raw, Mapping):
        raise AnswersError("project #%d: must be a dict with name and url, got %s" % (index + 1, type(raw).__name__))
    label = _label(index, raw)
    unknown = sorted(str(key) for key in raw if key not in ("name", "url", "host_header"))
    if unknown:
        raise AnswersError("%s: unknown field(s) %s" % (label, ", ".join(repr(key) for key in unknown)))
    name = _required_field(label, raw, "name")
    url = _required_field(label, raw, "url")
    host_header = _text_field(label, raw, "host_header")
    if not url.lower().startswith(SCHEMES) or url.split("//", 1)[1][:1] in ("", "/"):
        raise AnswersError("%s: field 'url': must start with http:// or https:// and name a host, got %r"
                           % (label, url))
    if not _clean(url):
        raise AnswersError("%s: field 'url': must be ASCII without spaces or control characters, got %r" % (label, url))
    if host_header is not None and not _clean(host_header):
        raise AnswersError("%s: field 'host_header': must be ASCII without spaces or control characters, got %r"
                           % (label, host_header))
    return Project(name=name, url=url, host_header=host_header)


def parse_projects(raw: Iterable[Any]) -> List[Project]:
    """Every entry of ``projects``, in order; names must be unique."""
    projects: List[Project] = []
    seen: Dict[str, int] = {}
    for index, entry in enumerate(raw):
        project = parse_project(index, entry)
        if project.name in seen:
            raise AnswersError("project %r: field 'name': given twice (entries #%d and #%d)"
                               % (project.name, seen[project.name] + 1, index + 1))
        seen[project.name] = index
        projects.append(project)
    return projects


def check_timing(timeout: float, delay: float) -> None:
    for key, value in (("timeout", timeout), ("delay", delay)):
        if not math.isfinite(value) or value < 0:
            raise AnswersError("option %r: must be a number of seconds, 0 or more, got %r" % (key, value))


def describe_error(exc: BaseException) -> str:
    """A short text for a failed request: URLError's reason rather than its wrapper's text."""
    reason = getattr(exc, "reason", None)
    cause = exc if reason is None else reason
    return str(cause) or type(cause).__name__


def body_text(body: bytes, charset: Optional[str] = None) -> str:
    """The body as text, in its charset if it names a known one, else UTF-8; undecodable bytes replaced."""
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")


def json_object(text: str) -> Optional[Dict[str, Any]]:
    """The text parsed as JSON when it is a JSON object, else None."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


@dataclass
class Answer:
    """What is known of one project: its last HTTP reply, else its last connection error."""

    project: Project
    tries: int = 0
    reply: Optional[Reply] = None
    error: Optional[str] = None

    def record(self, reply: Reply) -> None:
        self.tries += 1
        if reply.status is not None:
            self.reply = reply
        else:
            self.error = reply.error or "no answer"

    @property
    def status(self) -> Optional[int]:
        return self.reply.status if self.reply is not None else None

    @property
    def settled(self) -> bool:
        return is_settled(self.status)

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"name": self.project.name, "url": self.project.url, "status": self.status}
        text = body_text(self.reply.body, self.reply.charset) if self.reply is not None else ""
        parsed = json_object(text)
        if parsed is not None:
            out["json"] = parsed
        out["content"] = text[:MAX_CONTENT]
        if self.reply is None:
            out["error"] = self.error or "not asked"
        out["tries"] = self.tries
        return out


def ask(fetch: Fetch, project: Project, timeout: float) -> Reply:
    """One request; whatever goes wrong in it is a connection error, never an exception."""
    try:
        reply = fetch(project, timeout)
    except Exception as exc:  # pylint: disable=broad-except  # any failure means: no HTTP answer
        return Reply(error=describe_error(exc))
    if reply.status is not None and (isinstance(reply.status, bool) or not isinstance(reply.status, int)):
        return Reply(error="not an HTTP status: %r" % (reply.status,))
    return reply


def poll(
    projects: List[Project],
    fetch: Fetch,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    timeout: float = 60.0,
    delay: float = 1.0,
    workers: int = MAX_WORKERS,
    request_timeout: float = REQUEST_TIMEOUT,
) -> List[Answer]:
    """Ask every project in rounds until all have settled or ``timeout`` seconds have passed.

    Each round asks, at the same time, the projects that have not settled;
    ``delay`` seconds separate two rounds. The last round starts at the
    deadline at the latest, so a ``timeout`` of 0 asks each project once.
    ``fetch(project, seconds)`` makes one request, within ``request_timeout``
    seconds (a request started before the deadline may end after it);
    ``sleep`` and ``clock`` pace the rounds. The answers keep the order of
    ``projects``.
    """
    answers = [Answer(project) for project in projects]
    if not answers:
        return answers
    deadline = clock() + timeout
    pending = list(answers)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(answers)))) as pool:
        while True:
            replies = list(pool.map(lambda answer: ask(fetch, answer.project, request_timeout), pending))
            for answer, reply in zip(pending, replies):
                answer.record(reply)
            pending = [answer for answer in pending if not answer.settled]
            left = deadline - clock()
            if not pending or left <= 0:
                break
            sleep(min(delay, left))
    return answers


def summary(answers: List[Answer]) -> Dict[str, Any]:
    """The module's result (without ``changed``): every answer in order, and who fails or never answered."""
    return {
        "answers": [answer.to_dict() for answer in answers],
        "failing": [a.project.name for a in answers if a.status is not None and a.status >= 500],
        "unanswered": [a.project.name for a in answers if a.status is None],
    }
