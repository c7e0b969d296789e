"""Behaviour of a host converged with the example inventory.

Runs twice: after converge (every project present) and after the side effect
that sets the project `legacy` absent (the mark file tells which).
"""

import json
import re
import shlex
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "common"))
from fleet_host import (  # noqa: E402  pylint: disable=wrong-import-position
    INSTANCES_BACKENDS, INSTANCES_STATE, REPO, SHARED_CONF, Load, daemon_config, daemons, get, group_pids, host_state,
    cpu_quotas, inventory_projects, isolation, live_instances, main_apache, other_instance, playbook, recap_changed,
    site)

# The source document's table: processes/threads against what the app sees.
# (multithread, multiprocess, daemon group, processes expected by display-name)
EXPECTED = {
    # (a) shared daemon group, processes=1 threads=1 given
    "project1": ("/project1", 80, False, True, "portal", 1),
    "project2": ("/project2", 80, False, True, "portal", 1),
    # (b) own groups at paths of one vhost
    "site1": ("/site1", 8080, True, False, "site1", 1),  # processes omitted, threads=25
    "site2": ("/", 8080, True, True, "site2", 1),  # processes=1 given, threads=25
    # (c) one vhost per port
    "keystone": ("/", 5000, True, True, "keystone", 2),  # processes=2 threads=25
    "nova-api": ("/", 8774, False, True, "nova-api", 5),  # processes=5 threads=1
    "placement": ("/", 8778, True, True, "placement", 2),  # Flask, processes=2 threads=4
    # (d) production timeouts, tight: processes=1 threads=1
    "reports": ("/", 8092, False, True, "reports", 1),
    # (e) a code tree shipped as releases, threads=4
    "catalog": ("/", 8094, True, False, "catalog", 1),
    # (f) Django from a git repository, threads=4
    "shop": ("/", 8096, True, False, "shop", 1),
}
SIZED = "glance"
LEGACY = ("/", 9090, True, False, "legacy", 1)
RETIRED_MARK = "/var/tmp/molecule-legacy-retired"
CONF = SHARED_CONF


def answer(host, name):
    path, port = EXPECTED[name][:2]
    status, body = get(host, port, path)
    assert status == 200, "%s answered %s: %s" % (name, status, body)
    return json.loads(body)


def retired(host):
    return host.file(RETIRED_MARK).exists


def test_whole_config_passes_apache_check(host):
    result = host.run("/usr/local/sbin/modwsgi-fleet-configtest")
    assert result.rc == 0, result.stderr
    assert "Syntax OK" in result.stderr
    assert host.run("apache2ctl -t").rc == 0


def test_apache_runs_event_mpm_with_mod_wsgi(host):
    assert host.service("apache2").is_running
    assert host.service("apache2").is_enabled
    modules = host.check_output("apache2ctl -M 2>/dev/null")
    assert "mpm_event_module" in modules
    assert "wsgi_module" in modules


def test_rendered_config_has_no_seed_mistakes(host):
    text = host.file(CONF).content_string
    assert text.startswith("#"), "ansible_managed header first"
    vhosts = re.findall(r"<VirtualHost \*:(\d+)>(.*?)</VirtualHost>", text, re.S)
    expected_ports = {e[1] for e in EXPECTED.values()} | {9292} | ({9393} if retired(host) else {LEGACY[1]})
    assert sorted(int(vhost[0]) for vhost in vhosts) == sorted(expected_ports)
    # In isolation instance the aliases are in each group's instance, one virtual host each.
    if isolation(host) == "instance":
        vhosts = re.findall(r"<VirtualHost 127\.0\.0\.1:(\d+)>(.*?)</VirtualHost>", daemon_config(host), re.S)
        assert len(vhosts) == len(live_instances(host))
    for port, body in vhosts:
        # A mount's <Location> names its daemon group; a static path's holds its cache header only.
        locations = [path for path, section in re.findall(r'<Location "([^"]+)">(.*?)</Location>', body, re.S)
                     if "WSGIProcessGroup" in section]
        aliases = re.findall(r"WSGIScriptAlias (\S+) ", body)
        assert len(locations) == len(set(locations)), "port %s repeats a <Location>: %s" % (port, locations)
        assert sorted(locations) == sorted(aliases), "port %s: each alias has its own <Location>" % port
    for config in (text, daemon_config(host)):
        assert not re.search("[\u201c\u201d\u2033]", config), "typographic quotes in the config"
    # The side effect adds an embedded project: only then is embedded mode allowed.
    assert ("WSGIRestrictEmbedded Off" if retired(host) else "WSGIRestrictEmbedded On") in text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_project_answers_with_promised_flags(host, name):
    multithread, multiprocess, group = EXPECTED[name][2:5]
    reply = answer(host, name)
    assert reply["project"] == name
    assert reply["multithread"] is multithread
    assert reply["multiprocess"] is multiprocess
    assert reply["process_group"] == group
    assert reply["user"] == group, "daemon runs as its group's default user"


def test_flask_project_runs_in_its_venv(host):
    reply = answer(host, "placement")
    assert reply["framework"].startswith("flask")
    assert reply["prefix"] == "/srv/wsgi/placement/venv"


def test_inventory_covers_all_four_rows_of_the_table():
    """The example inventory's settings give every row of the document's table, as EXPECTED says."""
    example = REPO / "inventories" / "example" / "group_vars" / "wsgi_hosts.yml"
    projects = {p["name"]: p for p in yaml.safe_load(example.read_text())["wsgi_projects"]}
    groups = {}
    for project in projects.values():
        groups.setdefault(project.get("daemon", project["name"]), {}).update(
            {k: project[k] for k in ("processes", "threads") if k in project})
    rows = set()
    for name, (_path, _port, multithread, multiprocess, group, _count) in EXPECTED.items():
        if projects[name].get("sizing"):
            continue
        processes, threads = groups[group].get("processes"), groups[group].get("threads", 15)
        assert (threads > 1, processes is not None) == (multithread, multiprocess), name
        rows.add((processes is None, processes == 1, threads > 1))
    # threads, processes=1 threads, processes=N threads, processes=N threads=1
    assert {(True, False, True), (False, True, True), (False, False, True), (False, False, False)} <= rows


@pytest.mark.parametrize("group", sorted({e[4] for e in EXPECTED.values()}))
def test_daemon_processes_by_display_name_and_user(host, group):
    expected = {e[5] for e in EXPECTED.values() if e[4] == group}.pop()
    procs = {pid: user for pid, (user, name) in daemons(host).items() if name == group}
    assert len(procs) == expected, "%s: %s" % (group, procs)
    assert set(procs.values()) == {group}


def test_shared_group_serves_both_projects_from_the_same_process(host):
    procs = {pid for pid, (user, name) in daemons(host).items() if name == "portal" and user == "portal"}
    pid1 = answer(host, "project1")["pid"]
    pid2 = answer(host, "project2")["pid"]
    assert pid1 == pid2 and pid1 in procs


def test_separate_groups_use_separate_processes(host):
    all_daemons = daemons(host)
    for name in ("site1", "site2", "keystone", "nova-api"):
        pid = answer(host, name)["pid"]
        assert all_daemons[pid][1] == name


def test_paths_of_one_vhost_reach_their_own_project(host):
    # "/" belongs to site2; "/site1" and below to site1.
    assert answer(host, "site1")["project"] == "site1"
    status, body = get(host, 8080, "/site1/deeper")
    assert status == 200 and json.loads(body)["project"] == "site1"
    status, body = get(host, 8080, "/site10")
    assert status == 200 and json.loads(body)["project"] == "site2"


def test_wsgi_script_source_is_not_served_as_text(host):
    for name in EXPECTED:
        path, port = EXPECTED[name][:2]
        body = get(host, port, path)[1]
        assert "def application" not in body


def test_sized_project_runs_as_sized(host):
    """glance sets no processes/threads: wsgi_sizing chose them, the app sees what they promise."""
    line = re.search(r"^WSGIDaemonProcess glance (.*)$", daemon_config(host), re.M).group(1)
    options = dict(item.split("=", 1) for item in line.split())
    processes = int(options.get("processes", 1))
    threads = int(options["threads"])
    assert (processes, threads) != (1, 15), "the defaults, not a sizing"
    procs = [pid for pid, (user, name) in daemons(host).items() if name == SIZED]
    assert len(procs) == processes
    status, body = get(host, 9292, "/")
    reply = json.loads(body)
    assert status == 200 and reply["project"] == SIZED
    assert reply["multithread"] is (threads > 1)
    assert reply["multiprocess"] is ("processes" in options)


def test_front_end_covers_every_daemon_thread(host):
    """The apache role's event MPM (the one owner of these directives) covers every daemon thread."""
    assert not host.file("/etc/apache2/modwsgi-fleet/wsgi-mpm.conf").exists, "no second owner of the MPM"
    text = host.file("/etc/apache2/conf-enabled/modwsgi-fleet.conf").content_string
    workers = int(re.search(r"MaxRequestWorkers (\d+)", text).group(1))
    limit = int(re.search(r"ServerLimit (\d+)", text).group(1))
    per_child = int(re.search(r"ThreadsPerChild (\d+)", text).group(1))
    capacity = 0
    for line in re.findall(r"^WSGIDaemonProcess .*$", daemon_config(host), re.M):
        options = dict(item.split("=", 1) for item in line.split()[2:])
        capacity += int(options.get("processes", 1)) * int(options["threads"])
    assert workers >= capacity
    assert workers <= limit * per_child and workers % per_child == 0


def test_legacy_project_present_or_retired(host):
    path, port, multithread, multiprocess = LEGACY[:4]
    listening = host.socket("tcp://0.0.0.0:%d" % port).is_listening or host.socket(
        "tcp://:::%d" % port).is_listening
    conf = host.file(CONF).content_string + daemon_config(host)
    if retired(host):
        assert "legacy" not in conf
        assert not listening
        assert "legacy" not in {entry[1] for entry in daemons(host).values()}
        assert get(host, port, path)[0] == 0  # connection refused
    else:
        assert listening
        status, body = get(host, port, path)
        assert status == 200
        reply = json.loads(body)
        assert (reply["project"], reply["multithread"], reply["multiprocess"]) == ("legacy", multithread, multiprocess)


def test_embedded_project_runs_in_apache_itself(host):
    """Added by the side effect: mode embedded, served by Apache's own (event MPM) children."""
    status, body = get(host, 9393, "/")
    if not retired(host):
        assert status == 0  # not configured yet: nothing listens
        return
    reply = json.loads(body)
    assert status == 200 and reply["project"] == "tiny"
    assert reply["process_group"] == ""
    assert reply["multithread"] is True and reply["multiprocess"] is True
    assert reply["pid"] not in daemons(host)
    assert host.process.get(pid=reply["pid"]).user == "www-data"


@pytest.mark.parametrize("port", sorted({e[1] for e in EXPECTED.values()}))
def test_ports_listen(host, port):
    assert host.socket("tcp://0.0.0.0:%d" % port).is_listening or host.socket("tcp://:::%d" % port).is_listening


def test_app_sees_the_client_and_not_a_proxy_and_no_forged_header(host):
    """REMOTE_ADDR, scheme, Host, port, SCRIPT_NAME, Authorization: the same in both isolations.

    Asked at the container's own address (not loopback), with forwarding headers a
    client made up: neither mod_wsgi alone nor the front end of isolation instance
    may believe them.
    """
    address = host.check_output("hostname -I").split()[0]
    forged = ["X-Forwarded-For: 203.0.113.9", "X-Forwarded-Proto: https", "X-Forwarded-Port: 443",
              "Authorization: Basic dXNlcjpwYXNz"]
    for port, path, script_name, authorization in ((5000, "/v3/auth", "", "Basic"),  # pass_authorization
                                                   (8080, "/site1/deeper", "/site1", "")):
        args = " ".join("-H %s" % shlex.quote(header) for header in forged)
        reply = json.loads(host.check_output("curl -s %s 'http://%s:%d%s?a=1&b=2'" % (args, address, port, path)))
        assert reply["remote_addr"] == address, reply
        assert (reply["url_scheme"], reply["http_host"], reply["server_port"]) == (
            "http", "%s:%d" % (address, port), str(port)), reply
        assert (reply["script_name"], reply["path_info"], reply["query_string"]) == (
            script_name, path[len(script_name):], "a=1&b=2"), reply
        assert reply["authorization"] == authorization, reply


def test_each_daemon_group_runs_in_an_apache_instance_of_its_own(host):
    if isolation(host) != "instance":
        pytest.skip("isolation instance only")
    live = live_instances(host)
    assert sorted(live) == sorted({e[4] for e in EXPECTED.values()} | {SIZED, LEGACY[4]})
    state = json.loads(host.file(INSTANCES_STATE).content_string)["groups"]
    main_pid = int(host.file("/run/apache2/apache2.pid").content_string)
    for group, name in live.items():
        assert host.service("apache2@%s" % name).is_running, name
        assert host.service("apache2@%s" % name).is_enabled, name
        assert not host.service("apache2@%s" % other_instance(name)).is_running, name
        # Its port on loopback only.
        port = state[group]["ports"][state[group]["live"]]
        assert host.socket("tcp://127.0.0.1:%d" % port).is_listening
        # The main Apache reads it from the file of live addresses.
        assert "%s 127.0.0.1:%d" % (group, port) in host.file(INSTANCES_BACKENDS).content_string.splitlines()
        assert not host.socket("tcp://0.0.0.0:%d" % port).is_listening
        # Its daemons are children of that instance, none of the main Apache.
        for pid in (pid for pid, (_user, display) in daemons(host).items() if display == group):
            parent = int(host.check_output("ps -o ppid= -p %d" % pid))
            assert parent != main_pid
            assert "/etc/apache2-%s " % name in host.check_output("ps -o args= -p %d" % parent) + " "


def cgroup_value(host, controller_v1, name_v1, name_v2, cgroup):
    """A cgroup file of a unit: cgroup v1's controller hierarchy, else the unified one."""
    v1 = "/sys/fs/cgroup/%s%s/%s" % (controller_v1, cgroup, name_v1)
    if host.file(v1).exists:
        return "v1", host.file(v1).content_string.strip()
    return "v2", host.file("/sys/fs/cgroup%s/%s" % (cgroup, name_v2)).content_string.strip()


def test_each_instance_unit_has_its_share_enforced_by_the_kernel(host):
    """CPUWeight, MemoryHigh/Max and TasksMax of each instance unit, as docs/sizing.md computes them, in the kernel.

    The trixie scenario's container lets its systemd manage its cgroups
    (privileged, a private cgroup namespace), as a host's systemd does.
    """
    if isolation(host) != "instance":
        pytest.skip("isolation instance only")
    sizing = {p["name"]: p["sizing"] for p in inventory_projects(host) if p.get("sizing")}
    for group, name in live_instances(host).items():
        unit = "apache2@%s.service" % name
        conf = host.file("/etc/apache2-%s/apache2.conf" % name).content_string
        daemon = dict(item.split("=", 1) for item in re.search(
            r"^WSGIDaemonProcess \S+ (.*)$", conf, re.M).group(1).split() if "=" in item)
        processes, threads = int(daemon.get("processes", 1)), int(daemon["threads"])
        server_limit = int(re.search(r"ServerLimit (\d+)", conf).group(1))
        per_child = int(re.search(r"ThreadsPerChild (\d+)", conf).group(1))
        meta = sizing.get(group, {})
        want = {
            "Slice": "wsgi.slice",
            "CPUWeight": str(round(100 * meta.get("weight", 1))),
            "TasksMax": str(2 * (processes * (threads + 3) + server_limit * (per_child + 2) + 3)),
            "OOMPolicy": "continue",
        }
        if "rss_mb" in meta:
            for key, percent in (("MemoryHigh", 125), ("MemoryMax", 150)):
                want[key] = str((-(-processes * meta["rss_mb"] * percent // 100) + 64) * 1024 * 1024)
        else:
            want.update(MemoryHigh="infinity", MemoryMax="infinity")
        shown = dict(line.split("=", 1) for line in host.check_output(
            "systemctl show -p Slice,CPUWeight,MemoryHigh,MemoryMax,TasksMax,OOMPolicy,ControlGroup %s" % unit
        ).splitlines())
        cgroup = shown.pop("ControlGroup")
        assert shown == want, (group, shown, want)
        assert cgroup == "/wsgi.slice/%s" % unit, cgroup
        # What the kernel enforces (cgroup v1 has no MemoryHigh).
        layout, shares = cgroup_value(host, "cpu", "cpu.shares", "cpu.weight", cgroup)
        assert int(shares) == (int(want["CPUWeight"]) * 1024 // 100 if layout == "v1" else int(want["CPUWeight"]))
        limit = cgroup_value(host, "memory", "memory.limit_in_bytes", "memory.max", cgroup)[1]
        if want["MemoryMax"] == "infinity":
            assert limit == "max" or int(limit) >= 1 << 62, (group, limit)
        else:
            assert int(limit) == int(want["MemoryMax"]), (group, limit)
        tasks = cgroup_value(host, "pids", "pids.max", "pids.max", cgroup)[1]
        assert tasks == want["TasksMax"], (group, tasks)
        used = cgroup_value(host, "pids", "pids.current", "pids.current", cgroup)[1]
        assert 0 < int(used) <= int(want["TasksMax"]) // 2, (group, used, "more tasks than a full instance")
        # A daemon process runs its request threads and mod_wsgi's own three, no more.
        for pid in (pid for pid, (_user, display) in daemons(host).items() if display == group):
            counted = int(re.search(r"^Threads:\s+(\d+)", host.file("/proc/%d/status" % pid).content_string,
                                    re.M).group(1))
            assert counted <= threads + 3, (group, pid, counted)


def test_each_instance_unit_is_held_to_its_cpu_quota_by_the_kernel(host):
    """CPUQuota of each live instance: the weights' share of the CPUs, in its own drop-in and in the kernel."""
    if isolation(host) != "instance":
        pytest.skip("isolation instance only")
    quotas = cpu_quotas(host, inventory_projects(host))
    assert len(quotas) >= 2, quotas
    for group, quota in quotas.items():
        assert quota["wanted"] == quota["dropin"] == quota["kernel"], (group, quotas)


def test_logrotate_under_load_rotates_the_logs_and_restarts_nothing(host):
    """Debian's daily logrotate run, forced, while every project is busy.

    The logs rotate in place (the line written before is in the rotated file,
    not in the live one, and Apache goes on writing the live one), and no Apache
    was reloaded: the same children of the main Apache, the same daemons.
    """
    projects = "/var/log/apache2/modwsgi-fleet"
    logs = ["/var/log/apache2/error.log", "/var/log/apache2/other_vhosts_access.log",
            projects + "/keystone/access.log", projects + "/keystone/error.log"] + [
        "/var/log/apache2-%s/error.log" % name for name in sorted(live_instances(host).values())]
    mark = "logrotate-check-%d" % time.time_ns()
    for log in logs:
        host.check_output("echo %s >> %s", mark, log)
    before = (main_apache(host), group_pids(host))
    targets = {name: "http://127.0.0.1:%d%s" % (port, path) for name, (path, port, *_flags) in EXPECTED.items()}
    with Load(host, targets, connections=1, new_connections=1) as load:
        host.check_output("logrotate --force /etc/logrotate.d/apache2")
    for name, result in load.results.items():
        assert result["ok"] > result["on_new_connections"] > 0 and result["failed"] == 0, (name, result)
    assert (main_apache(host), group_pids(host)) == before
    for log in logs:
        assert mark in host.file(log + ".1").content_string, log
        assert mark not in host.file(log).content_string, log
    # Requests after the rotation are logged in the live files, each project's in its own.
    for name in EXPECTED:
        assert "GET " in host.file("%s/%s/access.log" % (projects, name)).content_string, name


# Bad input: the play fails before anything on the host changes, naming the
# project and the field. Each case is the example's projects with one entry
# spoiled, passed as extra vars to the real playbook.
BAD_INPUT = {
    "unknown key": ({"name": "bad", "source": "examples/hello.wsgi", "port": 7001, "colour": "red"},
                    "project 'bad': field 'colour'"),
    "name with a space": ({"name": "bad project", "source": "examples/hello.wsgi", "port": 7001},
                          "field 'name'"),
    "name with a newline": ({"name": "bad\nproject", "source": "examples/hello.wsgi", "port": 7001},
                            "field 'name'"),
    "relative path": ({"name": "bad", "script": "srv/bad.wsgi", "port": 7001}, "project 'bad': field 'script'"),
    "same port and path": ({"name": "bad", "source": "examples/hello.wsgi", "port": 5000},
                           "field 'path': port 5000 path / is already served by project 'bad'"),
    "bad sizing metadata": ({"name": "bad", "source": "examples/hello.wsgi", "port": 7001,
                             "sizing": {"cpu_ms": -1, "wait_ms": 10, "rss_mb": 50}},
                            "project 'bad': field 'sizing.cpu_ms': must be > 0"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_fails_before_anything_changes(host, case, tmp_path):
    if retired(host):
        pytest.skip("checked once, on the host as converged from the inventory")
    bad, message = BAD_INPUT[case]
    before = host_state(host)
    returncode, output = site(tmp_path, inventory_projects(host) + [bad])
    assert returncode != 0, output
    assert message in output, output[-3000:]
    assert host_state(host) == before


def test_status_entry_point_shows_every_project_as_promised_and_changes_nothing(host, tmp_path):
    if retired(host):
        pytest.skip("checked once, on the host as converged from the inventory")
    before = host_state(host)
    returncode, output = playbook(tmp_path, "status.yml", {})
    assert returncode == 0, output[-3000:]
    assert recap_changed(output) == 0, output[-3000:]
    assert host_state(host) == before
    # The last column: the Apache that runs the project's daemon group.
    live = live_instances(host)
    for name, (path, port, multithread, multiprocess, group, _processes) in EXPECTED.items():
        served_by = live[group] if isolation(host) == "instance" else "main"
        row = r"%s +http://127\.0\.0\.1:%d%s +200 +\w+ +%s +%s +yes +%s\b" % (
            re.escape(name), port, re.escape(path), multithread, multiprocess, re.escape(served_by))
        assert re.search(row, output), (name, output[-3000:])


def test_check_mode_on_a_converged_host_shows_no_change(host, tmp_path):
    if retired(host):
        pytest.skip("checked once, on the host as converged from the inventory")
    before = host_state(host)
    returncode, output = site(tmp_path, inventory_projects(host), "--check", "--diff")
    assert returncode == 0, output[-3000:]
    assert recap_changed(output) == 0, output[-3000:]
    assert host_state(host) == before
    # The plan is computed once: by the validate pre-task; the main entry point reuses it.
    runs = [block.split("\n", 1)[1] for block in output.split("TASK [")
            if block.startswith("modwsgi.fleet.wsgi : Check the projects and compute the host's plan]")]
    assert [run.lstrip().split(":", 1)[0] for run in runs] == ["ok", "skipping"], runs


def task_outcomes(output: str) -> dict[str, str]:
    """Task name -> the first word of its first result line (ok, changed, skipping, ...) in a playbook's output."""
    outcomes = {}
    for block in output.split("TASK [")[1:]:
        name, rest = block.split("]", 1)
        lines = [line for line in rest.splitlines()[1:] if line.strip()]
        outcomes.setdefault(name, lines[0].split(":", 1)[0] if lines else "")
    return outcomes


# What a run that changes nothing leaves to the one read of each role
# (modwsgi.fleet.host_state): none of these tasks calls the host.
WRITES = [
    "modwsgi.fleet.apache : Install the Apache and mod_wsgi packages (apt)",
    "modwsgi.fleet.apache : Install the configuration check",
    "modwsgi.fleet.apache : Disable the MPMs not chosen",
    "modwsgi.fleet.apache : Enable the chosen MPM and mod_wsgi",
    "modwsgi.fleet.apache : Create the directory for project configuration",
    "modwsgi.fleet.apache : Write the listen ports",
    "modwsgi.fleet.apache : Write the server-wide settings",
    "modwsgi.fleet.apache : Disable the distribution's default site",
    "modwsgi.fleet.apache : Install logrotate",
    "modwsgi.fleet.apache : Write the logrotate file of Apache's logs",
    "modwsgi.fleet.apache : Enable and start Apache",
    "modwsgi.fleet.wsgi : Switch each project whose code changed to its release",
    "modwsgi.fleet.wsgi : Enable mod_headers for the cache headers of static files",
    "modwsgi.fleet.wsgi : Create the folders of the piped logger and of each new project's logs",
    "modwsgi.fleet.wsgi : Put the piped logger of the projects' error lines in place",
    "modwsgi.fleet.wsgi : Write the daemon groups and virtual hosts",
    "modwsgi.fleet.wsgi : Remove the front end of earlier releases",
]


def test_a_run_that_changes_nothing_skips_every_write(host, tmp_path):
    """Each role reads the host once and compares with what it would write (rendered on the controller):
    a template whose checksum differed from the host's file would show here as run, not skipped."""
    if retired(host):
        pytest.skip("checked once, on the host as converged from the inventory")
    returncode, output = site(tmp_path, inventory_projects(host))
    assert returncode == 0, output[-3000:]
    assert recap_changed(output) == 0, output[-3000:]
    outcomes = task_outcomes(output)
    assert outcomes["modwsgi.fleet.apache : Read what this role would change on the host"] == "ok"
    # Nothing differs: the apache role's changes are skipped whole, the wsgi role's one by one.
    assert outcomes["modwsgi.fleet.apache : Change what differs on the host"] == "skipping"
    ran = {name: outcomes[name] for name in WRITES if outcomes.get(name, "skipping") != "skipping"}
    assert ran == {}


def test_drift_on_the_host_is_seen_by_the_read_and_put_back(host, tmp_path):
    """What the one read compares (content, mode, module links, default site) is put back when it drifts."""
    if retired(host):
        pytest.skip("checked once, on the host as converged from the inventory")
    ports = host.file("/etc/apache2/ports.conf").content_string
    host.run_expect([0], "echo '# drift' >> /etc/apache2/ports.conf"
                         " && chmod 0640 /etc/apache2/conf-enabled/modwsgi-fleet.conf"
                         " && ln -sfn ../sites-available/000-default.conf /etc/apache2/sites-enabled/000-default.conf"
                         " && chmod 0700 /etc/apache2/modwsgi-fleet")
    returncode, output = site(tmp_path, inventory_projects(host))
    assert returncode == 0, output[-3000:]
    outcomes = task_outcomes(output)
    for name in ("modwsgi.fleet.apache : Write the listen ports",
                 "modwsgi.fleet.apache : Write the server-wide settings",
                 "modwsgi.fleet.apache : Disable the distribution's default site",
                 "modwsgi.fleet.apache : Create the directory for project configuration"):
        assert outcomes.get(name) == "changed", (name, outcomes.get(name))
    assert host.file("/etc/apache2/ports.conf").content_string == ports
    assert host.file("/etc/apache2/conf-enabled/modwsgi-fleet.conf").mode == 0o644
    assert host.file("/etc/apache2/modwsgi-fleet").mode == 0o755
    assert not host.file("/etc/apache2/sites-enabled/000-default.conf").exists
    returncode, output = site(tmp_path, inventory_projects(host))
    assert returncode == 0 and recap_changed(output) == 0, output[-3000:]


def test_check_mode_shows_the_diff_of_a_changed_project_and_changes_nothing(host, tmp_path):
    if retired(host):
        pytest.skip("checked once, on the host as converged from the inventory")
    projects = inventory_projects(host)
    for project in projects:
        if project["name"] == "keystone":
            project["threads"] = 30
    before = host_state(host)
    returncode, output = site(tmp_path, projects, "--check", "--diff")
    assert returncode == 0, output[-3000:]
    assert recap_changed(output) > 0
    assert re.search(r"\+WSGIDaemonProcess keystone processes=2 threads=30 ", output), output[-3000:]
    assert re.search(r"-WSGIDaemonProcess keystone processes=2 threads=25 ", output)
    assert host_state(host) == before
    assert "threads=25" in daemon_config(host)
