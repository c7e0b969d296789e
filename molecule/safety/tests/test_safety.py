"""Safe change on a live host: least privilege, hostile input, validation before
anything goes live, one project restarted alone, reconfiguration under load
without a failed request, and faults survived.

The tests run in this order and each leaves the host as converged (the
inventory's projects) when it ends. Load: tests/load/wsgi_load.py inside the
container, two keep-alive connections per project, each sending a GET every 20 ms.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "common"))
from fleet_host import (  # noqa: E402  pylint: disable=wrong-import-position
    REPO,
    Load,
    get,
    group_pids,
    host_state,
    inventory_projects,
    playbook,
    restart_report,
    site,
)

# project -> (port, path, processes) as in group_vars/wsgi_hosts.yml
PROJECTS = {
    "alpha": (80, "/alpha", 2),
    "beta": (80, "/beta", 3),
    "gamma": (8080, "/", 1),
    "inventory-service": (8081, "/", 2),
}
# The one project served with TLS (its virtual host's name; prepare.yml made its certificate).
SECURE = ("secure", 8443, "secure.example.test")
# What ps shows of a name longer than Apache's argv[0] leaves room for.
DISPLAYED = {name: name[:11] for name in PROJECTS}
CONF = "/etc/apache2/modwsgi-fleet/wsgi.conf"
FIGURES = Path(os.environ.get("MODWSGI_SAFETY_FIGURES", "/tmp/modwsgi-fleet-safety-figures.json"))
HELLO = REPO / "roles" / "wsgi" / "files" / "examples" / "hello.wsgi"


def url(name):
    port, path = PROJECTS[name][:2]
    return "http://127.0.0.1:%d%s" % (port, path)


def load_on(host, names):
    return Load(host, {name: url(name) for name in names})


def assert_served_without_failure(results, names):
    for name in names:
        result = results[name]
        assert result["ok"] > 0, (name, result)
        assert result["failed"] == 0, (name, result)


def assert_only_the_reload_window_failed(results, names):
    """A graceful reload of Apache restarts every daemon group on new sockets: requests that
    Apache's old children had read but not yet handed to a daemon get 503 (mod_wsgi's
    WSGISocketRotation trade-off; README, Safety). Nothing else may fail: no refused or reset
    connection, no other status, and the project keeps serving."""
    for name in names:
        result = results[name]
        assert result["ok"] > 0, (name, result)
        assert result["errors"] == {}, (name, result)
        assert set(result["non_2xx"]) <= {"503"}, (name, result)
        assert result["failed"] <= max(5, result["requests"] // 200), (name, result)


def record(kind, results):
    """Keep the figures of each measured change for the README's Safety section."""
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[kind] = {
        name: {k: r[k] for k in ("requests", "ok", "failed", "non_2xx", "errors", "reused_closed", "max_ms")}
        for name, r in results.items()
    }
    FIGURES.write_text(json.dumps(figures, indent=1, sort_keys=True))


def pids_by_project(host):
    shown = group_pids(host)
    return {name: shown.get(DISPLAYED[name], []) for name in PROJECTS}


def wait_until_answering(host, names, seconds=60):
    deadline = time.time() + seconds
    for name in names:
        port, path = PROJECTS[name][:2]
        while get(host, port, path)[0] != 200:
            assert time.time() < deadline, "%s does not answer" % name
            time.sleep(0.5)


def restore(host, tmp_path):
    returncode, output = site(tmp_path, inventory_projects(host))
    assert returncode == 0, output[-3000:]


def test_every_project_answers(host):
    for name in PROJECTS:
        status, body = get(host, *PROJECTS[name][:2])
        assert status == 200, (name, body)
        assert json.loads(body)["project"] == name


# --- Least privilege --------------------------------------------------------


def test_each_daemon_group_runs_as_its_own_unprivileged_user(host):
    for name, pids in pids_by_project(host).items():
        assert len(pids) == PROJECTS[name][2], name
        for pid in pids:
            user = host.check_output("ps -o user:32= -p %s", str(pid)).strip()
            assert user == name and user != "root"
            assert host.user(user).shell == "/usr/sbin/nologin"


def test_code_is_not_writable_by_the_daemons(host):
    for name in PROJECTS:
        script = host.file("/srv/wsgi/%s/%s.wsgi" % (name, name))
        assert (script.user, script.mode) == ("root", 0o644)
        folder = host.file("/srv/wsgi/%s" % name)
        assert (folder.user, folder.mode) == ("root", 0o755)
        for path in (script.path, folder.path):
            assert host.run("runuser -u %s -- test -w %s", name, path).rc != 0, path


def test_no_directory_listing_and_no_source_served_as_text(host):
    conf = host.file(CONF).content_string
    assert conf.count("<Directory ") == conf.count("Options None") == len(PROJECTS) + 1
    assert "Indexes" not in conf
    for port, path in [(80, "/alpha/alpha.wsgi"), (80, "/srv/wsgi/alpha/alpha.wsgi"), (80, "/alpha.wsgi"),
                       (8080, "/gamma.wsgi"), (80, "/")]:
        status, body = get(host, port, path)
        assert "def application" not in body and "import json" not in body, (port, path, status)


def test_daemon_sockets_are_private(host):
    sockets = host.check_output("find /run/apache2 -name 'wsgi.*.sock' -printf '%m %u\\n'").splitlines()
    assert len(sockets) == len(PROJECTS) + 1
    for line in sockets:
        mode, owner = line.split()
        assert int(mode, 8) & 0o077 == 0, line  # no access for group or others
        assert owner in ("www-data", "root"), line
    assert int(host.check_output("stat -c %a /run/apache2"), 8) & 0o022 == 0


def s_client(host, *options):
    """The protocol openssl negotiates with the TLS project, or '' when the handshake fails."""
    command = "openssl s_client -connect 127.0.0.1:%s -servername %s -cipher DEFAULT:@SECLEVEL=0"
    run = host.run(command + " %s" * len(options) + " </dev/null 2>&1", str(SECURE[1]), SECURE[2], *options)
    for line in run.stdout.splitlines():  # "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384"
        if line.startswith("New, ") and ", Cipher is " in line:
            protocol, cipher = line[len("New, "):].split(", Cipher is ", 1)
            return "" if cipher.strip() == "(NONE)" or run.rc != 0 else protocol.strip()
    return ""


def test_tls_project_speaks_tls_1_2_and_1_3_only(host):
    name, port, server_name = SECURE
    reply = host.run("curl -sk --resolve %s:%s:127.0.0.1 https://%s:%s/", server_name, str(port), server_name,
                     str(port))
    assert reply.rc == 0 and json.loads(reply.stdout)["project"] == name, reply.stdout
    # What the app sees behind TLS (the same in isolation instance: molecule/default/tests/test_switch.py).
    assert (json.loads(reply.stdout)["url_scheme"], json.loads(reply.stdout)["server_port"]) == ("https", str(port))
    assert s_client(host) == "TLSv1.3"
    assert s_client(host, "-tls1_2") == "TLSv1.2"
    assert s_client(host, "-tls1_1") == ""
    assert s_client(host, "-tls1") == ""
    assert get(host, port, "/")[0] == 400  # plain HTTP on the TLS port is refused


# --- Hostile input, and validation before anything goes live ---------------


def test_hostile_corpus_is_refused_through_the_role_and_changes_nothing(host, tmp_path):
    before = host_state(host)
    results = tmp_path / "hostile.json"
    returncode, output = playbook(tmp_path, "molecule/safety/hostile.yml", {"hostile_results": str(results)})
    assert returncode == 0, output[-3000:]
    outcomes = json.loads(results.read_text())
    assert len(outcomes) >= 50
    for outcome in outcomes:
        case = outcome["case"]
        assert outcome["refused"], case
        if case["field"] == "name":
            expected = "Invalid wsgi_projects: wsgi_projects[%d]: field 'name': " % (len(PROJECTS) + 1)
        else:
            expected = "Invalid wsgi_projects: project 'hostile': field '%s': " % case.get("label", case["field"])
        assert outcome["message"].startswith(expected), (case, outcome["message"])
        assert "\n" not in outcome["message"]
    assert host_state(host) == before
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures["hostile inputs"] = {"tried": len(outcomes), "refused": sum(o["refused"] for o in outcomes),
                                 "fields": len({o["case"]["field"] for o in outcomes})}
    FIGURES.write_text(json.dumps(figures, indent=1, sort_keys=True))


def test_config_apache_refuses_never_goes_live(host, tmp_path):
    """An option value of the right form that mod_wsgi refuses (a group that does not exist)."""
    projects = inventory_projects(host)
    for project in projects:
        if project["name"] == "alpha":
            project["options"] = {"supplementary-groups": "no-such-group"}
    before = host_state(host)
    with load_on(host, PROJECTS) as load:
        returncode, output = site(tmp_path, projects)
    results = load.results
    assert returncode != 0
    assert "failed to validate" in output and "no-such-group" in output, output[-3000:]
    assert host_state(host) == before
    assert_served_without_failure(results, PROJECTS)
    record("a config Apache refuses", results)


# --- Restart one project, touch no other -------------------------------------


def restart_with_the_module(host, name):
    run = subprocess.run(
        ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], host.backend.hostname, "-b",
         "-m", "modwsgi.fleet.wsgi_restart", "-a", json.dumps({"group": name, "user": name, "url": url(name)})],
        check=False, capture_output=True, text=True, cwd=REPO,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json"))
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout.split("=>", 1)[1])


def restart_with_the_playbook(host, name, tmp_path):
    returncode, output = playbook(tmp_path, "restart.yml", {"wsgi_restart_projects": [name]})
    assert returncode == 0, output[-3000:]
    return restart_report(output, name)


@pytest.mark.parametrize("name,how", [("beta", "module"), ("inventory-service", "module"), ("alpha", "playbook")])
def test_restart_one_project_touches_no_other(host, name, how, tmp_path):
    before = pids_by_project(host)
    with load_on(host, PROJECTS) as load:
        if how == "module":
            reported = restart_with_the_module(host, name)
        else:
            reported = restart_with_the_playbook(host, name, tmp_path)
    results = load.results
    after = pids_by_project(host)
    assert reported["old_pids"] == before[name]
    assert reported["new_pids"] == after[name]
    assert len(after[name]) == len(before[name]) and not set(after[name]) & set(before[name])
    assert {k: v for k, v in after.items() if k != name} == {k: v for k, v in before.items() if k != name}
    assert_served_without_failure(results, PROJECTS)
    record("restart of %s alone (%s)" % (name, how), results)


# --- Reconfiguration under load ----------------------------------------------


def set_field(name, **fields):
    def change(projects, tmp_path, inventory):
        for project in projects:
            if project["name"] == name:
                project.update(fields)
    return change


def new_release_of_gamma(projects, tmp_path, inventory):
    release = tmp_path / "hello.wsgi"
    release.write_text(HELLO.read_text() + "\n# a new release\n")
    set_field("gamma", source=str(release))(projects, tmp_path, inventory)


def back_to_the_inventory(projects, tmp_path, inventory):
    """delta goes (set absent), and alpha, beta and gamma's code are as the inventory has them."""
    projects[:] = inventory + [{"name": "delta", "state": "absent"}]


# Applied one after the other, each by one run of the site playbook under load;
# the last one returns the host to the inventory.
RECONFIGURATIONS = [
    ("threads of one project changed", set_field("alpha", threads=8)),
    ("a project added", lambda projects, tmp_path, inventory: projects.append(
        {"name": "delta", "source": "examples/hello.wsgi", "port": 8082, "threads": 4})),
    ("an option changed", set_field("beta", options={"maximum-requests": 5000})),
    ("new code for one project", new_release_of_gamma),
    ("a project removed (and the changes above undone)", back_to_the_inventory),
]


def test_reconfiguration_under_load(host, tmp_path):
    """Every kind of change while every project is busy. A new release of one project's code
    restarts that group alone: not one request fails. The others reload Apache gracefully."""
    inventory = inventory_projects(host)
    projects = inventory_projects(host)
    measured = {}
    try:
        for kind, change in RECONFIGURATIONS:
            change(projects, tmp_path, inventory)
            before = pids_by_project(host)
            apache = host.check_output("cat /run/apache2/apache2.pid")
            with load_on(host, PROJECTS) as load:
                returncode, output = site(tmp_path, projects)
            assert returncode == 0, (kind, output[-3000:])
            measured[kind] = load.results
            record(kind, load.results)
            if kind == "new code for one project":
                after = pids_by_project(host)
                assert "Restart the daemon groups one by one" in output
                assert not set(after["gamma"]) & set(before["gamma"])
                assert {k: v for k, v in after.items() if k != "gamma"} == \
                    {k: v for k, v in before.items() if k != "gamma"}
                assert host.check_output("cat /run/apache2/apache2.pid") == apache
                assert "a new release" in host.file("/srv/wsgi/gamma/gamma.wsgi").content_string
                assert_served_without_failure(load.results, PROJECTS)
    finally:
        if "a project removed (and the changes above undone)" not in measured:
            restore(host, tmp_path)
    assert get(host, 8082, "/")[0] == 0  # the removed project's port is closed
    assert "a new release" not in host.file("/srv/wsgi/gamma/gamma.wsgi").content_string
    for kind, results in measured.items():
        assert_only_the_reload_window_failed(results, PROJECTS)


# --- Faults --------------------------------------------------------------------


def test_project_failing_at_import_answers_500_and_the_play_names_it(host, tmp_path):
    broken = tmp_path / "broken.wsgi"
    broken.write_text("raise RuntimeError('this release is broken')\n")
    projects = inventory_projects(host) + [{"name": "broken", "source": str(broken), "port": 8083}]
    with load_on(host, PROJECTS) as load:
        returncode, output = site(tmp_path, projects)
    results = load.results
    assert returncode != 0
    assert "project 'broken' answers 500 at http://127.0.0.1:8083/" in output, output[-3000:]
    assert get(host, 8083, "/")[0] == 500
    record("a project whose app fails at import", results)
    assert_only_the_reload_window_failed(results, PROJECTS)
    returncode, output = site(tmp_path, inventory_projects(host) + [{"name": "broken", "state": "absent"}])
    assert returncode == 0, output[-3000:]
    assert get(host, 8083, "/")[0] == 0  # nothing listens there any more


def test_killed_daemon_is_replaced_and_its_project_answers(host):
    before = pids_by_project(host)
    victim = before["alpha"][0]
    host.run("kill -KILL %s", str(victim))
    deadline = time.time() + 30
    while True:
        now = pids_by_project(host)["alpha"]
        if victim not in now and len(now) == len(before["alpha"]):
            break
        assert time.time() < deadline, now
        time.sleep(0.5)
    wait_until_answering(host, ["alpha"])
    assert {k: v for k, v in pids_by_project(host).items() if k != "alpha"} == \
        {k: v for k, v in before.items() if k != "alpha"}


def test_apache_restart_brings_every_project_back(host):
    assert host.run("systemctl restart apache2").rc == 0
    wait_until_answering(host, PROJECTS)
    assert all(len(pids) == PROJECTS[name][2] for name, pids in pids_by_project(host).items())
