#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: wsgi_healthcheck
short_description: Wait until many WSGI projects answer over HTTP, asking them all at once
version_added: 0.2.0
description:
  - Asks the URL of every project (HTTP C(GET), with the project's C(Host) header if given) in
    rounds, at the same time in up to 16 threads, until each project has settled or O(timeout)
    seconds have passed. One call replaces a loop of M(ansible.builtin.uri) tasks, one per project.
  - A project has settled once it answers an HTTP status from 200 to 500. A 4xx shows that the
    application runs (keystone answers 401). A 500 shows that the application itself fails, for
    example at import; waiting does not cure that, so it is not asked again.
  - A status from 501 to 599 (502, 503 and 504 while Apache or the daemon processes start) or no
    HTTP answer at all (connection refused or reset, timeout) means the project is not there yet;
    it is asked again after O(delay) seconds, until O(timeout).
  - Redirects are not followed; a 3xx answer shows that the application runs.
  - The module never fails because of an answer. It returns every project's last answer and lists
    the projects that fail (status 500 or more) and those that never answered; the caller decides.
extends_documentation_fragment:
  - modwsgi.fleet.module
attributes:
  check_mode:
    support: full
    description: The module only reads (HTTP C(GET)); in check mode it asks the URLs all the same.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to show.
  idempotent:
    support: full
    description: Nothing is changed; the result is what the projects answer at the time.
options:
  projects:
    description:
      - The projects to ask. Names must be unique; the answers come back in this order.
      - An empty list asks nothing.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name of the project, as reported in RV(answers), RV(failing) and RV(unanswered).
        type: str
        required: true
      url:
        description:
          - The URL to ask, starting with C(http://) or C(https://).
        type: str
        required: true
      host_header:
        description:
          - C(Host) header sent to O(projects[].url) (for name-based virtual hosts, when the URL
            names C(127.0.0.1)). Not given or empty, the host of the URL is sent.
        type: str
  timeout:
    description:
      - Seconds after which the module stops asking the projects that have not settled.
      - The last round starts at that time at the latest; V(0) asks every project once.
      - Each request may take up to 10 seconds; one that starts before O(timeout) may end after it.
    type: int
    default: 60
  delay:
    description:
      - Seconds between two rounds of asking.
    type: float
    default: 1
  validate_certs:
    description:
      - Whether the certificate of an C(https://) URL must be valid for the URL's host.
      - Off by default, as the role asks on the loopback address (C(127.0.0.1)), which a
        certificate for the public host name does not name.
    type: bool
    default: false
notes:
  - A project that first answered 503 and then refused connections until O(timeout) is reported
    with its last HTTP answer (503), so it is listed in RV(failing), not in RV(unanswered).
seealso:
  - module: ansible.builtin.uri
  - module: modwsgi.fleet.wsgi_restart
  - module: modwsgi.fleet.wsgi_plan
"""

EXAMPLES = r"""
- name: Wait until every project answers
  modwsgi.fleet.wsgi_healthcheck:
    projects:
      - name: nova-api
        url: http://127.0.0.1:8774/
      - name: keystone
        url: https://127.0.0.1:5000/v3
        host_header: identity.example.com
    timeout: 60
    delay: 2
  register: health

- name: Fail for the projects whose application fails or that never answered
  ansible.builtin.fail:
    msg: "failing: {{ health.failing }}; no answer: {{ health.unanswered }}"
  when: health.failing or health.unanswered

- name: Show whether each application runs threaded, as it reports in JSON
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.json.multithread | default('not reported') }}"
  loop: "{{ health.answers }}"
  loop_control:
    label: "{{ item.name }}"
"""

RETURN = r"""
answers:
  description: The last answer of every project, in the order of O(projects).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the project.
      type: str
      sample: nova-api
    url:
      description: The URL asked.
      type: str
      sample: http://127.0.0.1:8774/
    status:
      description:
        - HTTP status of the last HTTP answer; V(null) when there was no HTTP answer at all.
      type: int
      sample: 200
    json:
      description: The body parsed as JSON.
      returned: when the body is a JSON object
      type: dict
      sample: {"multithread": true, "multiprocess": false}
    content:
      description: The body as text, cut to 4096 characters; empty when there was no HTTP answer.
      type: str
      sample: '{"multithread": true, "multiprocess": false}'
    error:
      description: The last connection error.
      returned: when there was no HTTP answer at all
      type: str
      sample: "[Errno 111] Connection refused"
    tries:
      description: How many times the project was asked.
      type: int
      sample: 3
failing:
  description:
    - Names of the projects whose last status is 500 or more, the ones whose application fails
      (500) and the ones still answering 501-599 (such as 502, 503, 504) at O(timeout).
  returned: always
  type: list
  elements: str
  sample: [placement-api]
unanswered:
  description: Names of the projects that gave no HTTP answer at all by O(timeout).
  returned: always
  type: list
  elements: str
  sample: [heat-api]
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.error import HTTPError
from ansible.module_utils.six.moves.urllib.parse import urlsplit
from ansible.module_utils.urls import open_url
from ansible_collections.modwsgi.fleet.plugins.module_utils._answers import (
    MAX_BODY,
    AnswersError,
    Reply,
    check_timing,
    describe_error,
    parse_projects,
    poll,
    summary,
)


def charset_of(headers):
    try:
        return headers.get_content_charset()
    except Exception:  # pylint: disable=broad-except  # no headers, or not a message object
        return None


def read_body(response):
    try:
        return response.read(MAX_BODY) or b""
    except Exception:  # pylint: disable=broad-except  # the status came; a body cut short is still an answer
        return b""
    finally:
        try:
            response.close()
        except Exception:  # pylint: disable=broad-except
            pass


def plain_get(project, timeout, headers):
    """One GET of an http:// URL with the standard library's client.

    open_url builds a TLS context for every request, even a plain one: about
    20 ms of CPU each, a second for 50 projects on the host being checked. A
    redirect is an answer, as with open_url's follow_redirects="none".
    """
    parts = urlsplit(project.url)
    target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    connection = http_client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        return Reply(status=response.status, body=read_body(response), charset=charset_of(response.msg))
    finally:
        connection.close()


def make_fetch(validate_certs):
    """One GET of a project's URL: its status and body, or the connection error."""

    def fetch(project, timeout):
        headers = {"Host": project.host_header} if project.host_header else {}
        if project.url.startswith("http://"):
            try:
                return plain_get(project, timeout, headers)
            except Exception as exc:  # pylint: disable=broad-except  # any failure to connect means: not yet
                return Reply(error=describe_error(exc))
        try:
            response = open_url(project.url, method="GET", headers=headers, timeout=timeout,
                                validate_certs=validate_certs, follow_redirects="none")
        except HTTPError as exc:
            return Reply(status=exc.code, body=read_body(exc), charset=charset_of(exc.headers))
        except Exception as exc:  # pylint: disable=broad-except  # any failure to connect means: not yet
            return Reply(error=describe_error(exc))
        return Reply(status=response.getcode(), body=read_body(response), charset=charset_of(response.headers))

    return fetch


def main():
    module = AnsibleModule(
        argument_spec=dict(
            projects=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    name=dict(type="str", required=True),
                    url=dict(type="str", required=True),
                    host_header=dict(type="str"),
                ),
            ),
            timeout=dict(type="int", default=60),
            delay=dict(type="float", default=1),
            validate_certs=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        projects = parse_projects(module.params["projects"])
        check_timing(module.params["timeout"], module.params["delay"])
    except AnswersError as exc:
        module.fail_json(msg=str(exc))
    answers = poll(projects, make_fetch(module.params["validate_certs"]), time.sleep, time.monotonic,
                   timeout=module.params["timeout"], delay=module.params["delay"])
    module.exit_json(changed=False, **summary(answers))


if __name__ == "__main__":
    main()
