"""mod_wsgi's production timeouts at work on a converged host (README: "Production defaults").

The example inventory's project `reports` runs one process of one thread with
request-timeout=6 and queue-timeout=2; every other group has the role's
defaults. The app sleeps when asked (?sleep=SECONDS) and lists the requests
its process started (?id=NAME). These run once, after converge: the second
verify of the default scenario (after `legacy` is retired) skips them.
"""

import base64
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "common"))
from fleet_host import (  # noqa: E402  pylint: disable=wrong-import-position
    REPO, daemon_config, daemons, get, group_pids, inventory_projects, isolation, main_apache, playbook, recap_changed,
    restart_report, site)

RETIRED_MARK = "/var/tmp/molecule-legacy-retired"
REPORTS = "http://127.0.0.1:8092/"
SITE1 = "http://127.0.0.1:8080/site1"
# Projects of other groups, asked while `reports` or `site1` is busy: path, port.
OTHERS = {"keystone": ("/", 5000), "project1": ("/project1", 80), "nova-api": ("/", 8774)}
DEFAULTS = {"lang": "C.UTF-8", "locale": "C.UTF-8", "queue-timeout": "45", "request-timeout": "60",
            "socket-timeout": "60", "connect-timeout": "15", "listen-backlog": "100", "startup-timeout": "15",
            "deadlock-timeout": "60", "graceful-timeout": "15", "shutdown-timeout": "5"}
SIZED = ("queue-timeout", "request-timeout", "listen-backlog")


@pytest.fixture(autouse=True)
def after_converge_only(host):
    if host.file(RETIRED_MARK).exists:
        pytest.skip("the timeouts were shown after converge")


def in_background(host, script):
    """Run a shell script in the container without waiting for it."""
    subprocess.run(["podman", "exec", "-d", host.backend.hostname, "bash", "-c", script], check=True)


def wait_for_file(host, path, seconds):
    deadline = time.monotonic() + seconds
    while not host.file(path).exists:
        assert time.monotonic() < deadline, "%s did not appear within %d s" % (path, seconds)
        time.sleep(0.5)
    time.sleep(0.2)  # written whole
    return host.file(path).content_string


def others_answer(host):
    """Every project of OTHERS answers 200 within 5 s."""
    for name, (path, port) in OTHERS.items():
        url = "http://127.0.0.1:%d%s" % (port, path)
        reply = host.run("curl -s -o /dev/null --max-time 5 -w '%%{http_code}' %s", url)
        assert reply.stdout == "200", "%s answered %r while another group was busy" % (name, reply.stdout)


def ask(host, url, **query):
    """GET url?query from inside the container: the app's JSON."""
    port, path = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/.*)", url).groups()
    status, body = get(host, int(port), path + "?" + "&".join("%s=%s" % item for item in sorted(query.items())))
    assert status == 200, "%s answered %s: %s" % (url, status, body)
    return json.loads(body)


def daemon_options(host):
    """Group -> its WSGIDaemonProcess options, and the comment lines above the line."""
    lines = daemon_config(host).splitlines()
    found = {}
    for index, line in enumerate(lines):
        if line.startswith("WSGIDaemonProcess "):
            name, *tokens = line.split()[1:]
            start = index
            while lines[start - 1].startswith("#"):
                start -= 1
            found[name] = (dict(token.split("=", 1) for token in tokens), "\n".join(lines[start:index]))
    return found


def test_every_daemon_group_carries_the_production_defaults(host):
    groups = daemon_options(host)
    assert {"reports", "site1", "keystone", "glance", "portal"} <= set(groups)
    for name, (options, comment) in groups.items():
        overridden = {"reports": {"request-timeout": "6", "queue-timeout": "2"},
                      "keystone": {}}.get(name, {})
        for key, value in DEFAULTS.items():
            if key in overridden:
                assert options[key] == overridden[key], (name, key)
            elif name == "glance" and key in SIZED:
                assert options[key].isdigit(), (name, key)  # sized (tested against the sizing in unit tests)
            else:
                assert options[key] == value, (name, key)
        assert "production defaults" in comment, comment
    assert "from the project: queue-timeout, request-timeout" in groups["reports"][1]
    assert "from sized: listen-backlog, queue-timeout, request-timeout" in groups["glance"][1]
    # keystone's own maximum-requests comes on top of the defaults.
    assert groups["keystone"][0]["maximum-requests"] == "10000"


def test_a_hung_request_is_ended_by_request_timeout_and_the_group_recovers(host):
    before = group_pids(host)
    in_background(host, "curl -s -o /dev/null -w '%%{http_code} %%{time_total}' --max-time 60 '%s?sleep=120&id=hung' "
                        "> /tmp/hung.part; mv /tmp/hung.part /tmp/hung.out" % REPORTS)
    time.sleep(3)
    others_answer(host)
    status, seconds = wait_for_file(host, "/tmp/hung.out", 45).split()
    host.run("rm -f /tmp/hung.out")
    # request-timeout (6 s, one thread) stops the process; shutdown-timeout (5 s) ends the request.
    assert status == "500" and 6 <= float(seconds) <= 30, (status, seconds)
    reply = ask(host, REPORTS, id="after")
    assert reply["pid"] not in before["reports"] and reply["started"] == ["after"]
    after = group_pids(host)
    assert after["reports"] != before["reports"]
    assert {g: p for g, p in after.items() if g != "reports"} == {g: p for g, p in before.items() if g != "reports"}


def test_requests_that_waited_past_queue_timeout_are_answered_504_and_never_run(host):
    """One request holds the only thread for 4 s; two more wait behind it, past queue-timeout (2 s).

    `gone` leaves after 1 s, as a client that gave up; `waited` stays. Neither runs: the
    process, which lives on, lists only the requests it started.
    """
    pid = ask(host, REPORTS, id="first")["pid"]
    script = (
        "curl -s -o /dev/null -w 'held %%{http_code}\\n' '%(url)s?sleep=4&id=held' > /tmp/q.held & "
        "sleep 0.5; "
        "curl -s -o /dev/null --max-time 1 -w 'gone %%{http_code}\\n' '%(url)s?id=gone' > /tmp/q.gone & "
        "curl -s -o /dev/null -w 'waited %%{http_code} %%{time_total}\\n' '%(url)s?id=waited' > /tmp/q.waited & "
        "sleep 1.5; "
        "for port in 5000 8774; do curl -s -o /dev/null --max-time 5 -w \"other %%{http_code}\\n\" "
        "http://127.0.0.1:$port/ >> /tmp/q.others; done; "
        "wait; cat /tmp/q.held /tmp/q.gone /tmp/q.waited /tmp/q.others; rm -f /tmp/q.*" % {"url": REPORTS})
    output = host.check_output("bash -c %s", script).splitlines()
    # The other groups answered while `reports` was full.
    assert [line for line in output if line.startswith("other")] == ["other 200", "other 200"], output
    lines = dict(line.split(" ", 1) for line in output if not line.startswith("other"))
    assert lines["held"] == "200"
    assert lines["gone"] == "000"  # the client left
    status, seconds = lines["waited"].split()
    assert status == "504" and float(seconds) >= 2, lines
    reply = ask(host, REPORTS, id="next")
    assert reply["pid"] == pid, "the process was restarted"
    started = reply["started"]
    assert started[-3:] == ["first", "held", "next"], started
    assert "gone" not in started and "waited" not in started


def test_a_restart_drains_the_requests_in_flight_and_a_hung_one_does_not_hold_it(host, tmp_path):
    """The restart entry point on site1 (the role's defaults: graceful-timeout=15, shutdown-timeout=5).

    Three clients ask site1 for 2-second requests back to back; a fourth request hangs (120 s).
    The daemon goes on serving while it drains: every 2-second request answers 200, those in
    flight at the signal included. The hung one cannot hold the restart: after graceful-timeout
    the process stops, and shutdown-timeout later it is gone.
    """
    before = group_pids(host)
    # Each line: start end body status (the body is the app's JSON, on one line).
    loop = ("while [ ! -e /tmp/drain.stop ]; do s=$(date +%%s.%%N); "
            "r=$(curl -s --max-time 60 -w ' %%{http_code}' '%s?sleep=2&id=loop'); "
            "printf '%%s %%s %%s\\n' \"$s\" \"$(date +%%s.%%N)\" \"$r\" >> /tmp/drain.CLIENT; done" % SITE1)
    host.run("rm -f /tmp/drain.*")
    for client in range(3):
        in_background(host, loop.replace("CLIENT", str(client)))
        time.sleep(0.7)
    in_background(host, "curl -s -o /dev/null -w '%%{http_code} %%{time_total}' '%s?sleep=120&id=hung' "
                        "> /tmp/drain.hung.part; mv /tmp/drain.hung.part /tmp/drain.hung" % SITE1)
    time.sleep(1)
    rc, output = playbook(tmp_path, "restart.yml", {"wsgi_restart_projects": ["site1"]})
    assert rc == 0, output[-3000:]
    report = restart_report(output, "site1")
    time.sleep(3)
    host.run("touch /tmp/drain.stop")
    hung_status, hung_seconds = wait_for_file(host, "/tmp/drain.hung", 60).split()
    time.sleep(3)
    records = []
    for client in range(3):
        for line in host.file("/tmp/drain.%d" % client).content_string.splitlines():
            start, end, answer = line.split(" ", 2)
            body, status = answer.rsplit(" ", 1) if " " in answer else ("", answer)
            records.append((float(start), float(end), status, json.loads(body)["pid"] if body else None))
    host.run("rm -f /tmp/drain.*")

    (old,), (new,) = report["old_pids"], report["new_pids"]
    (signalled,), (drained,) = report["signalled_at"], report["drained_s"]
    assert report["old_pids"] == before["site1"]
    assert records and all(status == "200" for _s, _e, status, _p in records), records
    in_flight = [r for r in records if r[0] < signalled < r[1]]
    assert in_flight and all(pid == old for _s, _e, _st, pid in in_flight), (signalled, records)
    served_while_draining = [r for r in records if r[0] > signalled + 0.5 and r[3] == old]
    assert served_while_draining, "the old process took no new request while it drained"
    assert any(pid == new for _s, _e, _st, pid in records)
    # The hung request held the process for graceful-timeout, then shutdown-timeout ended it.
    assert 14 <= drained <= 25, drained
    assert hung_status == "500" and float(hung_seconds) < 40, (hung_status, hung_seconds)
    after = group_pids(host)
    assert {g: p for g, p in after.items() if g != "site1"} == {g: p for g, p in before.items() if g != "site1"}


def test_static_files_are_served_by_apache_and_never_reach_the_app(host):
    """site1's /site1/static is /srv/wsgi/site1/static (the role created it), cached for an hour."""
    assert host.file("/srv/wsgi/site1/static").is_directory
    host.run("echo 'body { color: green }' > /srv/wsgi/site1/static/site.css")
    reply = host.run("curl -s -D - 'http://127.0.0.1:8080/site1/static/site.css?id=static-probe'")
    head, body = reply.stdout.split("\r\n\r\n", 1)
    assert head.startswith("HTTP/1.1 200"), head
    assert "Cache-Control: public, max-age=3600" in head.splitlines(), head
    assert body == "body { color: green }\n"
    missing = host.run("curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:8080/site1/static/nothing.css'")
    assert missing.stdout == "404"
    started = ask(host, SITE1, id="after-static")["started"]
    assert "after-static" in started and "static-probe" not in started


def test_each_project_logs_to_files_of_its_own(host, tmp_path):
    """project1 and project2 share a virtual host (port 80) and a daemon group (portal): their lines stay apart.

    Error lines carry the project and the group; an uncaught traceback lands in its project's error log;
    a request for no project is in no project's access log. The status entry point shows the last lines.
    """
    logs = "/var/log/apache2/modwsgi-fleet"
    marker = "m%d" % time.time_ns()
    assert get(host, 80, "/project1?log=%s-one" % marker)[0] == 200
    assert get(host, 80, "/project2?log=%s-two&fail=1" % marker)[0] == 500
    assert get(host, 80, "/nowhere-%s" % marker)[0] == 404
    time.sleep(1)  # the piped logger writes after Apache

    def read(project, name):
        return host.file("%s/%s/%s" % (logs, project, name)).content_string

    one, two = read("project1", "error.log"), read("project2", "error.log")
    (line,) = [line for line in one.splitlines() if "%s-one" % marker in line]
    assert "] [project project1] [group portal] " in line and "project1 logs %s-one" % marker in line
    assert "%s-two" % marker not in one
    assert "project2 logs %s-two" % marker in two and "%s-one" % marker not in two
    lines = two.splitlines()
    start = [index for index, line in enumerate(lines) if "project2 logs %s-two" % marker in line][0]
    traceback = "\n".join(lines[start:])
    assert "Traceback (most recent call last):" in traceback and "RuntimeError: project2 fails, as asked" in traceback
    assert all("] [project project2] [group portal] " in line for line in traceback.splitlines()[:4]), traceback
    access_one, access_two = read("project1", "access.log"), read("project2", "access.log")
    assert '"GET /project1?log=%s-one HTTP/1.1" 200 ' % marker in access_one
    assert '"GET /project2?log=%s-two&fail=1 HTTP/1.1" 500 ' % marker in access_two
    assert "%s-two" % marker not in access_one and "%s-one" % marker not in access_two
    assert not host.run("grep -rl nowhere-%s %s", marker, logs).stdout
    # The status entry point shows each project's last error lines.
    rc, output = playbook(tmp_path, "status.yml", {"wsgi_status_error_lines": 8})
    assert rc == 0, output[-3000:]
    assert "==> %s/project2/error.log <==" % logs in output and "RuntimeError: project2 fails, as asked" in output


CATALOG = "http://127.0.0.1:8094/"
CATALOG_TREE = REPO / "roles" / "wsgi" / "files" / "examples" / "catalog"


HOOK_LOG = "/tmp/catalog-hooks.log"
# Each run of it writes who ran it, in which folder, for which release.
RECORD = {"name": "record", "command": [
    "python3", "-c", "import os, pwd; open(%r, 'a').write('%%s %%s %%s\\n' %% (pwd.getpwuid(os.getuid()).pw_name, "
    "os.getcwd(), os.environ['MODWSGI_FLEET_RELEASE']))" % HOOK_LOG]}


def catalog_projects(host, src, *hooks):
    """The inventory's projects, with catalog's code from ``src`` and these hooks after its own."""
    projects = inventory_projects(host)
    for project in projects:
        if project["name"] == "catalog":
            project["code"] = dict(project["code"], src=str(src), hooks=project["code"]["hooks"] + list(hooks))
    return projects


def apache_workers(host):
    """The main Apache's pid and its children that are no mod_wsgi daemon: a reload replaces the children."""
    pid, children = main_apache(host)
    return pid, sorted(set(children) - set(daemons(host)))


def current_release(host):
    return host.file("/srv/wsgi/catalog/current").linked_to.rsplit("/", 1)[1]


def test_code_ships_as_releases_switched_atomically_and_rolled_back(host, tmp_path):
    """catalog's tree: a new version is a new release, `current` moves to it and only catalog's group restarts;
    a broken one (no WSGI file) changes nothing; the rollback entry point goes back; the inventory's code again."""
    first = current_release(host)
    assert host.file("/srv/wsgi/catalog/releases/%s/.modwsgi-fleet-release" % first).exists
    reply = ask(host, CATALOG)
    assert (reply["version"], reply["release"]) == ("1", first)
    before = group_pids(host)
    apache_before = apache_workers(host)

    tree = tmp_path / "catalog"
    shutil.copytree(CATALOG_TREE, tree)
    init = tree / "catalog" / "__init__.py"
    init.write_text(init.read_text().replace('VERSION = "1"', 'VERSION = "2"'))
    host.run("rm -f %s", HOOK_LOG)
    rc, output = site(tmp_path, catalog_projects(host, tree, RECORD))
    assert rc == 0, output[-3000:]
    second = current_release(host)
    assert second != first and host.file("/srv/wsgi/catalog/releases/%s" % first).is_directory
    # The hooks ran once, before the switch, as catalog in the new release's folder.
    release_dir = "/srv/wsgi/catalog/releases/%s" % second
    assert host.file(HOOK_LOG).content_string == "catalog %s %s\n" % (release_dir, release_dir)
    reply = ask(host, CATALOG)
    assert (reply["version"], reply["release"]) == ("2", second)
    after = group_pids(host)
    assert after["catalog"] != before["catalog"]
    assert {g: p for g, p in after.items() if g != "catalog"} == {g: p for g, p in before.items() if g != "catalog"}
    assert apache_workers(host) == apache_before, "a new release reloads no Apache"
    # The same tree again: nothing changes, nothing is sent, no hook runs.
    rc, output = site(tmp_path, catalog_projects(host, tree, RECORD))
    assert rc == 0 and recap_changed(output) == 0, output[-3000:]
    assert host.file(HOOK_LOG).content_string.count("\n") == 1

    # A new release whose hook fails: the play stops naming the project and the hook; the release serving stays.
    third = tmp_path / "third"
    shutil.copytree(tree, third)
    (third / "catalog" / "__init__.py").write_text('VERSION = "3"\n')
    refuse = {"name": "refuse", "command": ["python3", "-c", "raise SystemExit('version 3 is not ready')"]}
    rc, output = site(tmp_path, catalog_projects(host, third, refuse))
    assert rc != 0 and "project 'catalog': hook 'refuse'" in output and "version 3 is not ready" in output, \
        output[-3000:]
    assert current_release(host) == second and ask(host, CATALOG)["release"] == second

    # A tree without its WSGI file: refused on the host, naming the project; the release serving stays.
    broken = tmp_path / "broken"
    shutil.copytree(tree, broken)
    (broken / "catalog" / "wsgi.py").unlink()
    rc, output = site(tmp_path, catalog_projects(host, broken))
    assert rc != 0 and "project 'catalog': field 'code'" in output and "catalog/wsgi.py" in output, output[-3000:]
    assert current_release(host) == second and ask(host, CATALOG)["release"] == second

    rc, output = playbook(tmp_path, "rollback.yml", {"wsgi_rollback_projects": ["catalog"],
                                                     "wsgi_projects": catalog_projects(host, tree)})
    assert rc == 0, output[-3000:]
    assert current_release(host) == first and ask(host, CATALOG)["release"] == first
    # The inventory's code is the first release: the converged host again, with nothing to switch.
    rc, output = site(tmp_path, inventory_projects(host))
    assert rc == 0 and recap_changed(output) == 0, output[-3000:]


SHOP = "http://127.0.0.1:8096/"
SHOP_TREE = REPO / "roles" / "wsgi" / "files" / "examples" / "shop"
SHOP_REPO = "/srv/git/shop.git"
CUP_MIGRATION = '''from django.db import migrations


def cup(apps, schema_editor):
    apps.get_model("shop", "Item").objects.get_or_create(name="cup")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(cup, migrations.RunPython.noop)]
'''


def shop_release(host):
    return host.file("/srv/wsgi/shop/current").linked_to.rsplit("/", 1)[1]


def shop_projects(host, **code):
    """The inventory's projects, with these fields of shop's `code` replaced."""
    projects = inventory_projects(host)
    for project in projects:
        if project["name"] == "shop":
            project["code"] = {k: v for k, v in dict(project["code"], **code).items() if v is not None}
    return projects


def version_two(tree):
    """Make the tree at ``tree`` shop's version 2: a new VERSION and a migration that adds an item."""
    init = tree / "shop" / "__init__.py"
    init.write_text(init.read_text().replace('VERSION = "1"', 'VERSION = "2"'))
    (tree / "shop" / "migrations" / "0002_cup.py").write_text(CUP_MIGRATION)


def test_a_django_project_ships_from_git_with_migrate_and_collectstatic(host, tmp_path):
    """shop: Django from PyPI, its code fetched by the host from a git repository, its hooks run before the switch.

    Version 1 (branch main) serves its migrated items and its collected stylesheet. In shared isolation (the
    default scenario) also: branch v2, pushed to the repository, is a new release whose migration ran before it
    went live, restarting only shop's group; the same tree from an archive on the controller is the same release
    (nothing changes); a branch that does not exist stops the run naming the project and the field; the
    inventory's branch again goes back to version 1.
    """
    first = shop_release(host)
    reply = ask(host, SHOP)
    assert (reply["version"], reply["release"], reply["user"]) == ("1", first, "shop")
    assert {"kettle", "teapot"} <= set(reply["items"])
    # The data folder is shop's alone; the secret key made once by the `secret` hook.
    data = host.file("/srv/wsgi/shop/data")
    assert (data.user, data.group, data.mode) == ("shop", "shop", 0o750)
    key = host.file("/srv/wsgi/shop/data/secret_key")
    assert (key.user, key.mode) == ("shop", 0o600)
    secret = key.content_string
    # collectstatic, run as shop, filled the writable static folder; Apache serves it, cached for a day.
    assert host.file("/srv/wsgi/shop/static").user == "shop"
    head, body = host.run("curl -s -D - 'http://127.0.0.1:8096%s'" % reply["stylesheet"]).stdout.split("\r\n\r\n", 1)
    assert head.startswith("HTTP/1.1 200") and "Cache-Control: public, max-age=86400" in head.splitlines(), head
    assert body == (SHOP_TREE / "shop" / "static" / "shop" / "site.css").read_text()
    assert host.file("/srv/wsgi/shop/repository.git/HEAD").exists
    if isolation(host) == "instance":
        # The chain below does not depend on the isolation, and costs four runs: the default scenario
        # has it; catalog's test above switches releases in instance isolation too.
        return

    # Version 2 on a branch of the repository, as a developer pushes it.
    work = "/var/tmp/shop-v2-%d" % time.time_ns()
    tree = tmp_path / "shop-2"
    shutil.copytree(SHOP_TREE, tree)
    version_two(tree)
    host.run("git clone -q %s %s", SHOP_REPO, work)
    for name in ("shop/__init__.py", "shop/migrations/0002_cup.py"):
        encoded = base64.b64encode((tree / name).read_bytes()).decode()
        assert host.run("echo %s | base64 -d > %s/%s", encoded, work, name).rc == 0
    pushed = host.run("cd %s && git checkout -q -b v2 && git add -A && git -c user.name=dev "
                      "-c user.email=dev@localhost commit -q -m 'shop, version 2' && git push -q --force origin v2",
                      work)
    assert pushed.rc == 0, pushed.stderr
    before = group_pids(host)
    rc, output = site(tmp_path, shop_projects(host, git={"repo": SHOP_REPO, "version": "v2"}))
    assert rc == 0, output[-3000:]
    second = shop_release(host)
    assert second != first
    reply = ask(host, SHOP)
    assert (reply["version"], reply["release"]) == ("2", second)
    assert {"cup", "kettle", "teapot"} <= set(reply["items"]), "the migration ran before the switch"
    assert host.file("/srv/wsgi/shop/data/secret_key").content_string == secret, "the key outlives releases"
    after = group_pids(host)
    assert after["shop"] != before["shop"]
    assert {g: p for g, p in after.items() if g != "shop"} == {g: p for g, p in before.items() if g != "shop"}

    # The same tree as a tar.gz on the controller, in a top folder: the same release, nothing changes.
    archive = tmp_path / "shop-2.tar.gz"
    subprocess.run(["tar", "czf", str(archive), "-C", str(tmp_path), "shop-2"], check=True)
    rc, output = site(tmp_path, shop_projects(host, git=None, archive=str(archive), subdir="shop-2"))
    assert rc == 0 and recap_changed(output) == 0, output[-3000:]
    assert shop_release(host) == second

    # A branch the repository lacks: the run stops naming the project and the field; version 2 keeps serving.
    rc, output = site(tmp_path, shop_projects(host, git={"repo": SHOP_REPO, "version": "no-such-branch"}))
    assert rc != 0 and "project 'shop': field 'code.git.version'" in output, output[-3000:]
    assert ask(host, SHOP)["release"] == second

    # The inventory's branch: version 1 again, from the release the host kept.
    rc, output = site(tmp_path, inventory_projects(host))
    assert rc == 0, output[-3000:]
    assert shop_release(host) == first and ask(host, SHOP)["version"] == "1"
    host.run("rm -rf %s", work)
