"""Isolation instance: a chain of changes under load, each touching only its own daemon group.

Runs after test_default.py (pytest takes the files in order) and leaves the host
changed; only a host in isolation instance runs it. Every project is under load
through each step; a step passes when no request failed, for every project (the
changed ones too), and the groups it did not change kept their daemon pids.
"""

import copy
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "common"))
from fleet_host import (  # noqa: E402  pylint: disable=wrong-import-position
    INSTANCES_BACKENDS, REPO, SHARED_CONF, Load, cpu_quotas, get, group_pids, inventory_projects, isolation,
    live_instances, main_apache, other_instance, playbook, site)

HELLO = REPO / "roles" / "wsgi" / "files" / "examples" / "hello.wsgi"
# The projects as the last step left them, for the next test.
CHAIN = {}


@pytest.fixture(scope="module", autouse=True)
def instance_host(host):
    if isolation(host) != "instance":
        pytest.skip("isolation instance only")


def url(project):
    port, path = project.get("port", 80), project.get("path", "/")
    return "http://127.0.0.1:%d%s" % (port, path)


def group_of(project):
    return project.get("daemon", project["name"])


def change(host, tmp_path, projects, changed, *options, public=False):
    """Run site.yml with ``projects`` under load on every present one; return what the load counted.

    Unless the change is ``public`` (a port or path added or removed), the main
    Apache is not reloaded at all: a switch only replaces the file of live
    instances it reads at each request.
    """
    present = [p for p in projects if p.get("state", "present") == "present"]
    before_pids, before_live, before_main = group_pids(host), live_instances(host), main_apache(host)
    # Every project the host serves before the change and after it.
    served = [p for p in present if group_of(p) in before_live]
    with Load(host, {p["name"]: url(p) for p in served}, connections=1, new_connections=1) as load:
        returncode, output = site(tmp_path, projects, *options)
    assert returncode == 0, output[-3000:]
    results = load.results
    # ok, failed, resent on a new connection after a kept-alive one closed, answered on new connections
    print({name: (r["ok"], r["failed"], r["reused_closed"], r["on_new_connections"])
           for name, r in sorted(results.items())})
    for name, result in results.items():
        assert result["ok"] > result["on_new_connections"] > 0 and result["failed"] == 0, (name, result)
    after_pids, after_live = group_pids(host), live_instances(host)
    if not public:
        assert main_apache(host) == before_main, "the main Apache was reloaded"
    for group in {group_of(p) for p in served} - set(changed):
        assert after_pids.get(group) == before_pids.get(group), "group %s was touched" % group
        assert after_live[group] == before_live[group], group
    for group in changed:
        if group in before_live and group in after_live:
            assert after_live[group] != before_live[group], "group %s did not switch" % group
            assert not set(after_pids[group]) & set(before_pids[group]), group
    return results


def test_a_chain_of_changes_under_load_drops_no_request(host, tmp_path):
    projects = inventory_projects(host)
    by_name = {p["name"]: p for p in projects}

    # Threads of one project, an option of another. Both also recycle their
    # daemons far later than the example says (maximum-requests): under this
    # load mod_wsgi would recycle them itself within the chain, and the check
    # that the groups a step leaves alone keep their pids would fail.
    by_name["keystone"]["threads"] = 30
    by_name["keystone"]["options"] = {"maximum-requests": 1000000}
    by_name["nova-api"]["options"] = {"maximum-requests": 1000000}
    change(host, tmp_path, projects, {"keystone", "nova-api"})
    assert "threads=30" in host.file("/etc/apache2-%s/apache2.conf" % live_instances(host)["keystone"]).content_string

    # New code for one, a venv package change for another, a larger share of the CPUs for a third (its
    # unit's CPUWeight, in the drop-in the new instance starts with).
    release = tmp_path / "legacy.wsgi"
    release.write_text(HELLO.read_text() + "\n# release 2\n")
    by_name["legacy"]["source"] = str(release)
    by_name["placement"]["pip_packages"] = by_name["placement"]["pip_packages"] + ["six"]
    before_quotas = cpu_quotas(host, projects)
    by_name["glance"]["sizing"] = dict(by_name["glance"]["sizing"], weight=3)
    change(host, tmp_path, projects, {"legacy", "placement", "glance"})
    assert "# release 2" in host.file("/srv/wsgi/legacy/legacy.wsgi").content_string
    glance = "apache2@%s.service" % live_instances(host)["glance"]
    assert host.check_output("systemctl show -p CPUWeight --value %s" % glance) == "300"
    assert "CPUWeight=300" in host.file("/etc/systemd/system/%s.d/modwsgi-fleet.conf" % glance).content_string
    # Every group's CPUQuota follows the new weights, in the running units: the
    # groups that did not switch kept their daemons (change() checked it).
    quotas = cpu_quotas(host, projects)
    assert any(quotas[g]["kernel"] != before_quotas[g]["kernel"] for g in quotas if g != "glance"), (
        before_quotas, quotas)
    for group, quota in quotas.items():
        assert quota["wanted"] == quota["dropin"] == quota["kernel"], (group, quotas)

    # A project added (over TLS, with the distribution's snakeoil certificate), another removed.
    projects.append({"name": "extra", "source": "examples/hello.wsgi", "port": 9494, "threads": 4,
                     "tls_certificate": "/etc/ssl/certs/ssl-cert-snakeoil.pem",
                     "tls_key": "/etc/ssl/private/ssl-cert-snakeoil.key"})
    by_name["legacy"]["state"] = "absent"
    change(host, tmp_path, projects, {"extra", "legacy"}, public=True)
    assert "legacy" not in live_instances(host)
    assert not host.file("/etc/apache2-wsgi-legacy-blue").exists
    assert not host.file("/etc/apache2-wsgi-legacy-green").exists
    assert get(host, 9090, "/")[0] == 0
    # TLS ends in the main Apache; the app behind it sees https, the public port and the client.
    reply = json.loads(host.check_output("curl -sk 'https://127.0.0.1:9494/deep?q=1'"))
    assert (reply["project"], reply["url_scheme"], reply["http_host"], reply["server_port"]) == (
        "extra", "https", "127.0.0.1:9494", "9494"), reply
    assert (reply["remote_addr"], reply["path_info"], reply["query_string"]) == ("127.0.0.1", "/deep", "q=1"), reply
    CHAIN["projects"] = [p for p in projects if p.get("state", "present") == "present"]
    # The load speaks plain HTTP: the TLS project is asked with curl alone.
    CHAIN["served"] = {p["name"]: url(p) for p in CHAIN["projects"] if not p.get("tls_certificate")}


def test_a_new_instance_that_fails_is_never_switched_in(host, tmp_path):
    """placement pointed at a venv without Flask: its new instance answers 500; the live one keeps serving."""
    if "projects" not in CHAIN:
        pytest.fail("runs on the host as the chain of changes left it")
    host.run("python3 -m venv /srv/wsgi/empty-venv")
    projects = copy.deepcopy(CHAIN["projects"])
    for project in projects:
        if project["name"] == "placement":
            project.pop("pip_packages")
            project["python_home"] = "/srv/wsgi/empty-venv"
    before_pids, before_live, before_main = group_pids(host), live_instances(host), main_apache(host)
    with Load(host, {"placement": "http://127.0.0.1:8778/", "keystone": "http://127.0.0.1:5000/"},
              new_connections=1) as load:
        returncode, output = site(tmp_path, projects)
    assert returncode != 0
    assert "project 'placement' answers 500" in output, output[-3000:]
    assert "which was not switched in" in output
    assert all(result["failed"] == 0 for result in load.results.values()), load.results
    assert live_instances(host) == before_live
    assert main_apache(host) == before_main, "the main Apache was reloaded"
    after = group_pids(host)
    assert {g: after.get(g) for g in before_pids} == before_pids, "no group was touched"
    assert not host.service("apache2@%s" % other_instance(before_live["placement"])).is_running
    status, body = get(host, 8778, "/")
    assert status == 200 and json.loads(body)["framework"].startswith("flask")


def test_restart_entry_point_restarts_one_group_in_its_live_instance(host, tmp_path):
    before_pids, before_live = group_pids(host), live_instances(host)
    returncode, output = playbook(tmp_path, "restart.yml", {"wsgi_restart_projects": ["keystone"]})
    assert returncode == 0, output[-3000:]
    after = group_pids(host)
    assert not set(after["keystone"]) & set(before_pids["keystone"])
    assert len(after["keystone"]) == len(before_pids["keystone"])
    assert {g: p for g, p in after.items() if g != "keystone"} == {
        g: p for g, p in before_pids.items() if g != "keystone"}
    assert live_instances(host) == before_live
    assert get(host, 5000, "/")[0] == 200


def test_moving_to_shared_and_back_serves_every_project(host, tmp_path):
    """instance -> shared -> instance under load: what each move costs is printed (the README states it: a
    reload of an Apache that holds daemons can cut requests in flight); after each, every project answers,
    and shared isolation leaves no instance, unit, configuration or record behind."""
    if "projects" not in CHAIN:
        pytest.fail("runs on the host as the chain of changes left it")
    for target in ("shared", "instance"):
        with Load(host, CHAIN["served"], connections=1, new_connections=1) as load:
            returncode, output = site(tmp_path, CHAIN["projects"], "-e", "wsgi_isolation=%s" % target)
        assert returncode == 0, output[-3000:]
        print(target, {name: (r["ok"], r["failed"], r["reused_closed"]) for name, r in sorted(load.results.items())})
        assert all(r["ok"] > 0 for r in load.results.values()), load.results
        for name, address in dict(CHAIN["served"], extra="https://127.0.0.1:9494/").items():
            assert host.run("curl -sk -o /dev/null -w '%%{http_code}' %s", address).stdout == "200", (target, name)
        units = host.check_output("systemctl list-units --state=active --plain --no-legend 'apache2@*' | wc -l")
        if target == "shared":
            assert live_instances(host) == {} and int(units) == 0
            assert not host.file(INSTANCES_BACKENDS).exists
            assert host.check_output("ls -d /etc/apache2-* /var/log/apache2-* 2>/dev/null | wc -l") == "0"
            assert host.check_output("ls -d /etc/systemd/system/apache2@wsgi-* 2>/dev/null | wc -l") == "0"
            assert "WSGIDaemonProcess keystone " in host.file(SHARED_CONF).content_string
        else:
            assert sorted(live_instances(host)) == sorted({group_of(p) for p in CHAIN["projects"]})
            assert int(units) == len(live_instances(host))
