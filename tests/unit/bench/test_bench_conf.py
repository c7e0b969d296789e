# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/lib/conf.py: the WSGIDaemonProcess line of a run, rendered with the wsgi role's template."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib import conf
from lib.env import REPO
from lib.model import Config

ROOT = Path("/tmp/wsgibench.k2_x9q/cpu-bound-grid-2x4-sweep")
TEMPLATE = REPO / "roles" / "wsgi" / "templates" / "wsgi.conf.j2"

# The role's production defaults come with the line, sorted with the bench's own options.
OPTIONS = (
    " connect-timeout=15 deadlock-timeout=60 graceful-timeout=15 home=/tmp/wsgibench.k2_x9q/cpu-bound-grid-2x4-sweep"
    " lang=C.UTF-8 listen-backlog=1024 locale=C.UTF-8 queue-timeout=45 request-timeout=60 shutdown-timeout=5"
    " socket-timeout=60 startup-timeout=15"
)
EXPLICIT = "WSGIDaemonProcess bench processes=2 threads=4 user=www-data group=www-data display-name=%{GROUP}" + OPTIONS
OMITTED = "WSGIDaemonProcess bench threads=16 user=www-data group=www-data display-name=%{GROUP}" + OPTIONS


def test_role_template_is_there() -> None:
    assert TEMPLATE.is_file()
    assert "WSGIDaemonProcess" in TEMPLATE.read_text(encoding="utf-8")


def test_processes_written() -> None:
    assert conf.daemon_line(ROOT, Config(2, 4), "www-data", "www-data") == EXPLICIT


def test_processes_omitted() -> None:
    # One process, no processes=: what the role writes for processes_explicit false.
    assert conf.daemon_line(ROOT, Config(1, 16, write_processes=False), "www-data", "www-data") == OMITTED


def test_processes_1_written_is_not_omitted() -> None:
    line = conf.daemon_line(ROOT, Config(1, 1), "www-data", "www-data")
    assert " processes=1 threads=1 " in line


def test_plan_of_the_run() -> None:
    plan = conf.render_plan([conf.project(ROOT, Config(1, 8, write_processes=False), "www-data", "www-data")])
    (group,) = plan["groups"]
    assert group["name"] == "bench"
    assert group["processes"] is None and group["processes_explicit"] is False
    assert group["threads"] == 8
    assert {k: group["options"][k] for k in ("home", "listen-backlog")} == {"home": str(ROOT), "listen-backlog": 1024}
    assert group["option_sources"]["home"] == group["option_sources"]["listen-backlog"] == "project"
    assert (group["user"], group["group"]) == ("www-data", "www-data")
    # What the role's render model adds: one process with 8 threads.
    assert (group["multithread"], group["multiprocess"]) == (True, False)
    assert group["capacity"] == 8


def test_whole_role_template_renders_for_the_plan() -> None:
    plan = conf.render_plan([conf.project(ROOT, Config(3, 2), "www-data", "www-data")])
    text = conf.render_role_template(plan)
    assert text.startswith("# " + conf.MANAGED + "\n")
    assert "WSGIRestrictEmbedded On\n" in text
    assert "wsgi.multithread=True, wsgi.multiprocess=True" in text
    assert f'WSGIScriptAlias / "{ROOT}/app.wsgi"' in text


def test_a_template_that_loses_processes_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.j2"
    broken.write_text(
        "{% for group in __wsgi_plan.groups %}WSGIDaemonProcess {{ group.name }} threads={{ group.threads }}\n"
        "{% endfor %}",
        encoding="utf-8",
    )
    with pytest.raises(RuntimeError, match="processes=2 threads=4"):
        conf.daemon_line(ROOT, Config(2, 4), "www-data", "www-data", template=broken)


def test_an_undefined_variable_is_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "undefined.j2"
    broken.write_text("{{ __wsgi_nothing }}\n", encoding="utf-8")
    with pytest.raises(Exception, match="__wsgi_nothing"):
        conf.daemon_line(ROOT, Config(2, 4), "www-data", "www-data", template=broken)


def test_comment_filter() -> None:
    assert conf.comment("Ansible managed") == "# Ansible managed"
    assert conf.comment("one\n\ntwo") == "# one\n#\n# two"


def test_account_is_www_data_as_root_and_the_own_account_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf.os, "geteuid", lambda: 0)
    assert conf.account() == ("www-data", "www-data")
    monkeypatch.setattr(conf.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(conf.os, "getegid", lambda: 1001)
    monkeypatch.setattr(conf.pwd, "getpwuid", lambda uid: type("pw", (), {"pw_name": "bencher%d" % uid}))
    monkeypatch.setattr(conf.grp, "getgrgid", lambda gid: type("gr", (), {"gr_name": "staff%d" % gid}))
    assert conf.account() == ("bencher1000", "staff1001")


def test_httpd_conf_uses_the_line_and_preloads_the_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf.os, "geteuid", lambda: 0)
    text = conf.httpd_conf(ROOT, 18123, Config(2, 4), children=2, threads_per_child=128)
    lines = text.splitlines()
    assert EXPLICIT in lines
    assert "Listen 127.0.0.1:18123" in lines
    assert ["User www-data", "Group www-data"] == lines[lines.index("User www-data"):lines.index("User www-data") + 2]
    assert f"WSGIScriptAlias / {ROOT}/app.wsgi process-group=bench application-group=%{{GLOBAL}}" in lines
    assert "MaxRequestWorkers 256" in lines
    assert sum(line.startswith("WSGIDaemonProcess ") for line in lines) == 1
    assert not any(line.startswith("Listen ") and "127.0.0.1" not in line for line in lines)
