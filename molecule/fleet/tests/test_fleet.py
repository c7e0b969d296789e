"""Rolling reconfiguration across a fleet of three hosts (playbooks/reconfigure.yml).

A good change rolls through every host, one batch after the other, each host
drained before and put back after. A change that breaks on the second host
stops the rollout there: the first host keeps the new config and serves it,
the second stays drained with the project that broke reported by name, and the
third keeps the old config, untouched and serving. Then the fleet is rolled
back, and a last change, which makes every host reload, rolls while clients
keep every project busy through a client-side balancer (tests/load/wsgi_load.py
--pool-file) that the hooks drain: no client request fails.

The first host is in shared isolation, the second and third in instance
(host_vars/): on the second, the change that breaks is never switched in, so
the project that broke still answers there with its old code.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "common"))
from fleet_host import (  # noqa: E402  pylint: disable=wrong-import-position
    LOAD_SCRIPT, daemon_config, get, group_pids, host_state, isolation, live_instances, playbook)

NAMES = ["modwsgi-fleet-1", "modwsgi-fleet-2", "modwsgi-fleet-3"]
HOSTS = {name: testinfra.get_host("podman://" + name) for name in NAMES}
API_V2 = Path(__file__).resolve().parents[1] / "files" / "api_v2.wsgi"
FIGURES = Path(os.environ.get("MODWSGI_FLEET_FIGURES", "/tmp/modwsgi-fleet-rolling-figures.json"))
# The hooks' log outlives a test session: each session's runs carry their own names.
SESSION = "%x" % time.time_ns()


def lb_log(name, run):
    """(action, time) of each hook that ran on the host during this session's `run`."""
    text = HOSTS[name].run("cat /var/log/fleet-lb.log").stdout
    return [(action, float(when)) for line in text.splitlines()
            for label, action, when in [line.split()] if label == "%s-%s" % (run, SESSION)]


def api(name):
    status, body = get(HOSTS[name], 8080, "/")
    return status, (json.loads(body) if status == 200 else body)


def rollout(tmp_path, run, **extra):
    return playbook(tmp_path, "reconfigure.yml",
                    dict(extra, fleet_run="%s-%s" % (run, SESSION), wsgi_rolling_serial=1))


def test_every_host_serves_both_projects():
    for name, host in HOSTS.items():
        for port in (8080, 8081):
            status, body = get(host, port, "/")
            assert status == 200, (name, port, body)
            assert json.loads(body)["user"] in ("api", "web")


def test_the_fleet_is_reached_over_ssh_as_a_non_root_user_who_becomes_root_with_sudo():
    """The converge went over SSH by key as `fleet`, and every change was made as root through sudo."""
    for name, host in HOSTS.items():
        ssh = host.check_output("journalctl -q -o cat -u ssh.service")
        assert "Accepted publickey for fleet from " in ssh, name
        assert "Accepted password" not in ssh and "for root" not in ssh, (name, ssh[-2000:])
        # Ansible's become: `fleet` ran the modules' Python as root through sudo,
        # pipelined (the module comes on stdin: no AnsiballZ file on the command line).
        sudo = host.check_output("journalctl -q -o cat -t sudo")
        assert re.search(r"fleet : PWD=\S+ ; USER=root ; COMMAND=/bin/sh -c 'echo BECOME-SUCCESS-\w+ ; "
                         r"/usr/bin/python3[.0-9]*'", sudo), (name, sudo[-2000:])
        # Keys only: the server refuses passwords and root.
        config = host.check_output("sshd -T").splitlines()
        assert "passwordauthentication no" in config, name
        assert "permitrootlogin no" in config, name


@pytest.mark.parametrize(("sizing", "message"), [
    ({"cpu_ms": -1, "wait_ms": 10, "rss_mb": 50}, "project 'web': field 'sizing.cpu_ms': must be > 0"),
    ({"cpu_ms": 5, "wait_ms": 5, "rss_mb": 50, "colour": "red"}, "project 'web': field 'sizing.colour': unknown field"),
    # One process needs more memory than the host has: a budget that cannot fit.
    ({"cpu_ms": 5, "wait_ms": 5, "rss_mb": 10 ** 7}, "sizing on this host"),
], ids=["negative", "unknown key", "over budget"])
def test_bad_sizing_on_one_host_stops_the_rollout_before_any_host_changes(tmp_path, sizing, message):
    """Only the second host's `web` gets the metadata; the first play refuses it, no batch starts."""
    before = {name: host_state(host) for name, host in HOSTS.items()}
    rc, out = rollout(tmp_path, "sizing", fleet_web_sizing=sizing, fleet_web_sizing_host="modwsgi-fleet-2")
    assert rc != 0, out[-3000:]
    assert message in out, out[-3000:]
    assert "PLAY [Apply the change, one batch of hosts after the other]" not in out.split("PLAY RECAP")[0]
    for name, host in HOSTS.items():
        assert lb_log(name, "sizing") == [], name
        assert host_state(host) == before[name], name


def test_a_good_change_rolls_through_every_host_one_batch_after_the_other(tmp_path):
    rc, out = rollout(tmp_path, "good", fleet_api_threads=4)
    assert rc == 0, out[-3000:]
    assert out.count("PLAY [Apply the change, one batch of hosts after the other]") == 3
    previous_end = 0.0
    for name in NAMES:
        assert "threads=4 user=api" in daemon_config(HOSTS[name]), name
        status, body = api(name)
        assert status == 200 and body["multithread"] is True, (name, body)
        log = lb_log(name, "good")
        assert [action for action, _when in log] == ["drain", "restore"], (name, log)
        # Drained after the previous host was back, and back before the next one is drained.
        assert log[0][1] > previous_end, (name, log, previous_end)
        previous_end = log[1][1]


def test_a_change_that_breaks_on_the_second_host_stops_the_rollout_there(tmp_path):
    third = HOSTS["modwsgi-fleet-3"]
    third_before = (daemon_config(third), third.check_output("cat /run/apache2/apache2.pid"),
                    group_pids(third), live_instances(third))
    second = HOSTS["modwsgi-fleet-2"]
    second_before = (group_pids(second), live_instances(second))

    rc, out = rollout(tmp_path, "bad", fleet_api_threads=4, fleet_api_source=str(API_V2))

    assert rc != 0, out[-3000:]
    assert "project 'api' answers 500" in out, out[-3000:]
    # First host: the new code, serving, back in the pool.
    status, body = api("modwsgi-fleet-1")
    assert status == 200 and body["version"] == 2, body
    assert [a for a, _when in lb_log("modwsgi-fleet-1", "bad")] == ["drain", "restore"]
    # Second host (isolation instance): the new instance of `api` answered 500
    # and was never switched in; the old one serves the old code, nothing else
    # was touched. The host stays drained.
    assert isolation(second) == "instance"
    assert "project 'api' answers 500" in out and "which was not switched in" in out, out[-3000:]
    status, body = api("modwsgi-fleet-2")
    assert status == 200 and "version" not in body, body
    assert get(second, 8081, "/")[0] == 200
    assert (group_pids(second), live_instances(second)) == second_before
    assert [a for a, _when in lb_log("modwsgi-fleet-2", "bad")] == ["drain"]
    # Third host: never touched, still serving the old code.
    assert lb_log("modwsgi-fleet-3", "bad") == []
    third_after = (daemon_config(third), third.check_output("cat /run/apache2/apache2.pid"),
                   group_pids(third), live_instances(third))
    assert third_after == third_before
    status, body = api("modwsgi-fleet-3")
    assert status == 200 and "version" not in body, body


def test_rolling_back_brings_every_host_to_the_converged_state(tmp_path):
    run = "back"
    rc, out = playbook(tmp_path, "reconfigure.yml", {"fleet_run": "%s-%s" % (run, SESSION), "wsgi_rolling_serial": 3})
    assert rc == 0, out[-3000:]
    for name, host in HOSTS.items():
        assert "threads=2 user=api" in daemon_config(host), name
        status, body = api(name)
        assert status == 200 and "version" not in body, (name, body)
        assert [a for a, _when in lb_log(name, run)] == ["drain", "restore"]


def test_a_change_under_load_through_a_draining_balancer_fails_no_request(tmp_path):
    """Every host reloads (a new thread count), each drained first: the clients see no failure."""
    addresses = {name: subprocess.run(["podman", "inspect", name, "--format", "{{.NetworkSettings.IPAddress}}"],
                                      check=True, capture_output=True, text=True).stdout.strip() for name in NAMES}
    pool = tmp_path / "pool"
    pool.write_text("".join(address + "\n" for address in addresses.values()))
    out, stop = tmp_path / "load.json", tmp_path / "load.stop"
    load = subprocess.Popen([sys.executable, str(LOAD_SCRIPT), "--out", str(out), "--stop-file", str(stop),
                             "--pool-file", str(pool), "--connections", "2", "--interval", "0.02",
                             "--target", "api=http://balancer:8080/", "--target", "web=http://balancer:8081/"])
    try:
        time.sleep(2)
        pids_before = {name: HOSTS[name].check_output("cat /run/apache2/apache2.pid") for name in NAMES}
        rc, output = rollout(tmp_path, "balanced", fleet_api_threads=3, fleet_lb_pool=str(pool))
        time.sleep(2)
    finally:
        stop.touch()
        load.wait(timeout=120)
    assert rc == 0, output[-3000:]
    results = json.loads(out.read_text())["targets"]
    FIGURES.write_text(json.dumps(results, indent=1, sort_keys=True))
    for name in NAMES:
        assert "threads=3 user=api" in daemon_config(HOSTS[name]), name
        # A graceful reload: the same parent, new children and daemons.
        assert HOSTS[name].check_output("cat /run/apache2/apache2.pid") == pids_before[name]
        assert [a for a, _when in lb_log(name, "balanced")] == ["drain", "restore"]
    for project in ("api", "web"):
        result = results[project]
        assert result["failed"] == 0, (project, result)
        assert sorted(result["backends"]) == sorted(addresses.values()), (project, result)
        assert result["ok"] > 500, (project, result)
