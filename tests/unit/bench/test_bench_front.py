# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/lib/front.py: the configurations of a run in each isolation, and the pairs' verdict."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest

from lib import conf, front
from lib.env import MODULES, REPO, ROLE_TEMPLATES, _model, _sizing
from lib.measure import chunk_loops
from lib.model import PROFILES, Config
from lib.sweep import module_choice, sized_config

RUN = Path("/tmp/wsgifront.k2_x9q/io-bound-3-instance")
PORT = 19104
BACKEND = 19105
CONFIG = Config(4, 16)


@pytest.fixture(autouse=True)
def as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render as the benchmark runs: as root, Apache's children and the daemons as www-data."""
    monkeypatch.setattr(conf.os, "geteuid", lambda: 0)


def directives(text: str, name: str) -> list[str]:
    """The arguments of every ``name`` directive of a configuration, in order."""
    return [line.strip()[len(name) + 1:] for line in text.splitlines() if line.strip().startswith(name + " ")]


def test_backend_is_the_groups_instance_alone_on_loopback() -> None:
    backend, _front, _live = front.instance_confs(RUN, CONFIG, PORT, BACKEND)
    root = RUN / "wsgi-bench-blue"
    assert directives(backend, "Listen") == [f"127.0.0.1:{BACKEND}"]
    assert directives(backend, "<VirtualHost") == [f"127.0.0.1:{BACKEND}>"]
    assert directives(backend, "ServerRoot") == [f'"{root}"']
    assert directives(backend, "PidFile") == [f'"{root}/apache2.pid"']
    # The role's piped logger: the project's lines in RUN/logs/bench/, the instance's own in its folder.
    (error_log,) = directives(backend, "ErrorLog")
    assert error_log.startswith('"|/usr/bin/python3 -I -u ') and error_log.endswith(f' {RUN}/logs {root}/error.log"')
    assert directives(backend, "DefaultRuntimeDir") == [f'"{root}"']
    assert directives(backend, "WSGISocketPrefix") == [f"{root}/wsgi"]
    assert directives(backend, "WSGITrustedProxies") == ["127.0.0.1"]
    assert directives(backend, "WSGITrustedProxyHeaders") == ["X-Forwarded-For X-Forwarded-Proto X-Forwarded-Port"]
    assert directives(backend, "WSGIScriptReloading") == ["Off"]
    assert directives(backend, "WSGIImportScript") == [f'"{RUN}/app.wsgi" process-group=bench application-group=%{{GLOBAL}}']
    assert not directives(backend, "ProxyPass")
    assert not any("proxy" in line for line in directives(backend, "LoadModule"))


def test_backend_mpm_is_sized_from_the_group_alone() -> None:
    backend, _front, _live = front.instance_confs(RUN, CONFIG, PORT, BACKEND)
    mpm = _sizing.size_apache(CONFIG.processes * CONFIG.threads, 25)
    assert directives(backend, "ServerLimit") == [str(mpm.server_limit)]
    assert directives(backend, "ThreadsPerChild") == [str(mpm.threads_per_child)]
    assert directives(backend, "MaxRequestWorkers") == [str(mpm.max_request_workers)]


def test_the_daemon_line_is_the_same_in_both_isolations() -> None:
    backend, front_text, _live = front.instance_confs(RUN, CONFIG, PORT, BACKEND)
    shared = front.shared_conf(RUN, CONFIG, PORT)
    wanted = conf.daemon_line(RUN, CONFIG, "www-data", "www-data")[len("WSGIDaemonProcess "):]
    assert directives(backend, "WSGIDaemonProcess") == [wanted]
    assert directives(shared, "WSGIDaemonProcess") == [wanted]
    assert not directives(front_text, "WSGIDaemonProcess")


def test_front_proxies_everything_to_the_backend() -> None:
    _backend, text, live = front.instance_confs(RUN, CONFIG, PORT, BACKEND)
    root = RUN / "front"
    # One Listen, the server's own on loopback: the role writes none for a reserved port.
    assert directives(text, "Listen") == [f"127.0.0.1:{PORT}"]
    assert directives(text, "<VirtualHost") == [f"*:{PORT}>"]
    assert directives(text, "ProxyPass") == ['"/" "http://${modwsgi_fleet_dollar}{modwsgi_fleet_backend_bench}/" interpolate']
    assert directives(text, "ProxySet") == ["retry=0 disablereuse=On"] * 2
    assert directives(text, "SetEnvIfExpr") == [
        f"\"file('{RUN}/front/backends') =~ /(?m)^bench ([0-9.]+:[0-9]+)$/\" modwsgi_fleet_backend_bench=$1"]
    # The front reads the backend's address from its file of live instances: the blue one.
    assert [line for line in live.splitlines() if not line.startswith("#")] == [f"bench 127.0.0.1:{BACKEND}"]
    assert directives(text, "ProxyPreserveHost") == ["On"]
    assert directives(text, "RequestHeader") == [
        "unset X-Forwarded-For early",
        'set X-Forwarded-Proto "http" early',
        f'set X-Forwarded-Port "{PORT}" early',
    ]
    modules = directives(text, "LoadModule")
    for name in ("proxy", "proxy_http", "headers", "setenvif", "mpm_event", "wsgi"):
        assert f"{name}_module {MODULES}/mod_{name}.so" in modules
    assert directives(text, "ServerRoot") == [f'"{root}"']
    assert directives(text, "WSGISocketPrefix") == [f"{root}/wsgi"]
    assert directives(text, "MaxRequestWorkers") == ["256"]
    assert not directives(text, "WSGIScriptAlias")


def test_shared_runs_the_daemon_in_the_one_apache() -> None:
    text = front.shared_conf(RUN, CONFIG, PORT)
    root = RUN / "shared"
    assert directives(text, "Listen") == [f"127.0.0.1:{PORT}"]
    assert directives(text, "WSGIScriptAlias") == [f'/ "{RUN}/app.wsgi"']
    assert directives(text, "WSGIProcessGroup") == ["bench"]
    assert directives(text, "WSGISocketPrefix") == [f"{root}/wsgi"]
    assert directives(text, "MaxRequestWorkers") == ["256"]
    assert not directives(text, "ProxyPass")
    assert not any("proxy" in line for line in directives(text, "LoadModule"))


def test_servers_of_a_run_start_backend_first_in_folders_of_their_own() -> None:
    (shared,) = front.servers("shared", RUN, CONFIG, PORT, None)
    assert (shared.name, shared.port, shared.daemons, shared.root) == ("shared", PORT, 4, RUN / "shared")
    backend, public = front.servers("instance", RUN, CONFIG, PORT, BACKEND)
    assert (backend.name, backend.port, backend.daemons) == ("wsgi-bench-blue", BACKEND, 4)
    assert (public.name, public.port, public.daemons) == ("front", PORT, 0)
    for server in (shared, backend, public):
        # Every file the server writes is in its own folder, but the projects' logs (the run's logs/).
        for name in ("ServerRoot", "PidFile", "ErrorLog", "DefaultRuntimeDir", "WSGISocketPrefix"):
            for value in directives(server.text, name):
                value = value.strip('"')
                if value.startswith("|"):  # the role's piped logger: PROJECTS_DIR FALLBACK
                    projects_dir, fallback = value.split()[-2:]
                    assert projects_dir == str(RUN / "logs")
                    value = fallback
                assert value.startswith((f"{server.root}/", f"{RUN}/logs/")) or value == str(server.root), (name, value)
    with pytest.raises(ValueError):
        front.servers("instance", RUN, CONFIG, PORT, None)


def test_proxy_modules_are_the_roles() -> None:
    text = (REPO / "roles" / "wsgi" / "vars" / "Debian.yml").read_text(encoding="utf-8")
    (listed,) = re.findall(r"^__wsgi_proxy_modules: \[(.*)\]$", text, re.M)
    assert tuple(m.strip() for m in listed.split(",")) == front.PROXY_MODULES


def test_regex_escape_stand_in() -> None:
    assert conf.regex_escape("/api/v1.0") == r"/api/v1\.0"
    assert conf.regex_escape("/a+b") == r"/a\+b"


def ansible_render(template: Path, variables: dict[str, Any]) -> str:
    """The template as ansible.builtin.template renders it (as tests/unit/roles/test_templates.py does)."""
    template_mod = pytest.importorskip("ansible.template")
    dataloader = pytest.importorskip("ansible.parsing.dataloader")
    templar = template_mod.Templar(loader=dataloader.DataLoader(), variables=variables).copy_with_new_env(
        searchpath=[str(template.parent)])
    return templar.template(
        template_mod.trust_as_template(template.read_text(encoding="utf-8")),
        escape_backslashes=False,
        overrides={"trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"},
    )


def without_header(text: str) -> str:
    """The text after Ansible's framed ``ansible_managed | comment``: "#", "# Generated for a test", "#"."""
    header = "#\n# Generated for a test\n#\n"
    assert text.startswith(header)
    return text[len(header):]


def test_the_stand_in_filters_render_what_ansible_renders() -> None:
    # A model with a mount at a path, so that front.conf.j2 uses regex_escape too.
    raw = [dict(conf.project(RUN, CONFIG, "www-data", "www-data"), port=PORT),
           dict(conf.project(RUN, Config(1, 2), "www-data", "www-data"), name="other", port=PORT, path="/api/v1.0")]
    model = _model.build_model(raw, reserved_ports=[PORT], isolation="instance", instance_port_base=BACKEND)
    cases = [
        ("front.conf.j2", {"__wsgi_plan": model, "__wsgi_instance_groups": model["groups"],
                           "__wsgi_instance_backends": f"{RUN}/front/backends", **conf.log_vars(RUN / "logs")}),
        ("instance_backends.j2", {"__wsgi_instance_groups": model["groups"],
                                  "__wsgi_live_after": {g["name"]: "blue" for g in model["groups"]}}),
        ("wsgi.conf.j2", {"__wsgi_plan": model, **conf.log_vars(RUN / "logs")}),
        ("instance.conf.j2", {
            "__wsgi_group": model["groups"][0], "__wsgi_color": "blue",
            "__wsgi_instance_conf_prefix": f"{RUN}/", "__wsgi_instance_server_root": "",
            "__wsgi_instance_run_prefix": f"{RUN}/", "__wsgi_instance_pid_suffix": "/apache2.pid",
            "__wsgi_instance_log_prefix": f"{RUN}/", "__wsgi_instance_extra_modules": [],
            "__wsgi_instance_socket_suffix": "", "__wsgi_apache_user": "www-data",
            "__wsgi_apache_group": "www-data", "__wsgi_apache_modules_dir": MODULES,
            "__wsgi_mod_wsgi_module": f"{MODULES}/mod_wsgi.so", **conf.log_vars(RUN / "logs"),
        }),
    ]
    for name, variables in cases:
        variables = dict(variables, ansible_managed="Generated for a test")
        ours = conf.render_template(ROLE_TEMPLATES / name, variables)
        # Ansible's comment filter frames the text with "#" lines; the stand-in does not.
        assert ours.startswith("# Generated for a test\n")
        assert ours == "# Generated for a test\n" + without_header(ansible_render(ROLE_TEMPLATES / name, variables)), name
    assert r'ProxyPassMatch "^(/api/v1\.0(/.*)?)$"' in conf.render_template(ROLE_TEMPLATES / "front.conf.j2", dict(
        cases[0][1], ansible_managed="x"))


def test_the_size_is_the_modules_choice_as_bench_run_takes_it() -> None:
    host = _sizing.Host(cpus=2, memory_mb=4096)
    for profile in PROFILES:
        choice, config = sized_config(profile, 13, host)
        sized = module_choice(profile, 13, host)["result"]["projects"][profile.name]
        assert choice["result"]["projects"][profile.name] == sized
        assert (config.processes, config.threads, config.write_processes) == (
            sized["processes"], sized["threads"], sized["processes_explicit"])


def test_chunk_is_a_tenth_of_a_millisecond_of_the_loop() -> None:
    assert chunk_loops({"loops_per_ms": 24419.0}) == 2442
    assert chunk_loops({"loops_per_ms": 50.0}) == 100


def test_ports_are_free_and_drawn_once() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        busy = taken.getsockname()[1]
        ports = front.ports_from(busy)
        first, second = next(ports), next(ports)
    assert busy < first < second


# --- The pairs and the verdict -------------------------------------------------------


def run(rps: float, p99: float, errors: int = 0, *, other: float = 0.0, apache_rss: float = 20.0,
        apache_pss: float = 10.0, ours: float = 1.9) -> dict:
    """What measure_mode returns, reduced to what the pairs read."""
    return {
        "rps": rps,
        "latency_ms": {"p99": p99},
        "non_2xx": errors,
        "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        "error_log_lines": errors,
        "cpu_cores": {"apache_and_daemons": ours - 0.1, "wrk": 0.1, "other": other, "steal": 0.0},
        "memory": {"apache_rss_mb": apache_rss, "apache_pss_mb": apache_pss, "daemons_rss_mb": 48.0,
                   "daemons_pss_mb": 30.0},
    }


def pair(shared_rps: float, instance_rps: float, shared_p99: float = 100.0, instance_p99: float = 100.0, *,
         other: float = 0.0, errors: int = 0) -> dict:
    return front.pair_numbers(run(shared_rps, shared_p99, other=other),
                              run(instance_rps, instance_p99, errors, apache_rss=45.0, apache_pss=18.0),
                              "shared", busy_cpu=0.3)


def test_pair_ratios_are_instance_over_shared() -> None:
    p = pair(200.0, 190.0, 100.0, 105.0)
    assert p["rps_ratio"] == pytest.approx(0.95)
    assert p["p99_ratio"] == pytest.approx(1.05)
    assert p["extra_apache_rss_mb"] == pytest.approx(25.0)
    assert p["extra_apache_pss_mb"] == pytest.approx(8.0)
    assert p["quiet"] and p["first"] == "shared"
    assert pair(0.0, 10.0)["rps_ratio"] == 0.0


def test_the_verdict_takes_the_median_of_the_pairs() -> None:
    figures = ((99.0, 104.0), (90.0, 130.0), (97.0, 101.0), (98.0, 108.0), (101.0, 99.0))
    pairs = [pair(100.0, rps, 100.0, p99) for rps, p99 in figures]
    summary = front.summarize(pairs, 0.95, cpus=2)
    assert summary["rps_ratio"] == pytest.approx(0.98)
    assert summary["p99_ratio"] == pytest.approx(1.04)
    assert summary["checks"] == {"throughput": True, "p99": True, "errors": True}
    assert summary["passed"] and summary["source"] == "median of 5 alternating pairs"
    assert summary["saturated"]


@pytest.mark.parametrize(("ratio", "target", "passed"), [(0.95, 0.95, True), (0.949, 0.95, False),
                                                         (0.85, 0.85, True), (0.84, 0.85, False)])
def test_throughput_target_is_a_floor(ratio: float, target: float, passed: bool) -> None:
    summary = front.summarize([pair(1000.0, 1000.0 * ratio)] * 3, target, cpus=2)
    assert summary["checks"]["throughput"] is passed


@pytest.mark.parametrize(("p99", "passed"), [(110.0, True), (110.5, False)])
def test_p99_target_is_a_ceiling(p99: float, passed: bool) -> None:
    summary = front.summarize([pair(100.0, 100.0, 100.0, p99)] * 3, 0.95, cpus=2)
    assert summary["checks"]["p99"] is passed
    assert summary["passed"] is passed


def test_any_failed_request_fails_the_profile() -> None:
    summary = front.summarize([pair(100.0, 100.0), pair(100.0, 100.0, errors=1), pair(100.0, 100.0)], 0.95, cpus=2)
    assert summary["instance_errors"] == 1 and summary["shared_errors"] == 0
    assert summary["checks"] == {"throughput": True, "p99": True, "errors": False}
    assert not summary["passed"]


def test_busy_pairs_are_left_out_when_enough_are_quiet() -> None:
    pairs = [pair(100.0, 99.0), pair(100.0, 50.0, other=0.9), pair(100.0, 98.0), pair(100.0, 97.0)]
    summary = front.summarize(pairs, 0.95, cpus=2)
    assert summary["rps_ratio"] == pytest.approx(0.98)
    assert summary["source"] == "median of 3 alternating pairs, the quiet ones of 4"
    assert not summary["machine_busy"]


def test_too_few_quiet_pairs_take_all_and_say_machine_busy() -> None:
    pairs = [pair(100.0, 99.0), pair(100.0, 50.0, other=0.9), pair(100.0, 40.0, other=0.5)]
    summary = front.summarize(pairs, 0.95, cpus=2)
    assert summary["rps_ratio"] == pytest.approx(0.5)
    assert summary["machine_busy"] and summary["source"].endswith("only 1 of them quiet: MACHINE BUSY")
    assert not summary["checks"]["throughput"]


def test_no_pairs_is_an_error() -> None:
    with pytest.raises(ValueError):
        front.summarize([], 0.95, cpus=2)


def test_the_issues_targets() -> None:
    assert front.TARGET_THROUGHPUT == {"cpu-bound": 0.95, "io-bound": 0.85, "mixed": 0.95}
    assert front.TARGET_P99 == 1.1
    assert set(front.TARGET_THROUGHPUT) == {p.name for p in PROFILES}


def test_verdict_line_says_pass_or_fail_per_target() -> None:
    summary = front.summarize([pair(100.0, 90.0, 100.0, 105.0)] * 3, 0.95, cpus=2)
    line = front.verdict_line("mixed", summary)
    assert line.startswith("**FAIL (throughput)**")
    assert "target >= 0.95: FAIL" in line and "target <= 1.1: PASS" in line and "(PASS)" in line
    assert "not at CPU saturation" not in line


def test_io_bound_below_saturation_is_said() -> None:
    pairs = [front.pair_numbers(run(500.0, 100.0, ours=1.2), run(480.0, 100.0, ours=1.2), "shared", 0.3)] * 3
    summary = front.summarize(pairs, 0.85, cpus=2)
    assert not summary["saturated"]
    assert "not at CPU saturation" in front.verdict_line("io-bound", summary)
    assert summary["passed"]  # the note informs; the verdict stays the one the targets give


def test_memory_totals_add_up_the_servers() -> None:
    servers = {
        "wsgi-bench-blue": {"apache": {"processes": 3, "rss_mb": 21.0, "pss_mb": 7.0},
                            "daemons": {"processes": 2, "rss_mb": 24.0, "pss_mb": 13.0}},
        "front": {"apache": {"processes": 3, "rss_mb": 26.0, "pss_mb": 11.5},
                  "daemons": {"processes": 0, "rss_mb": 0.0, "pss_mb": 0.0}},
    }
    assert front.memory_totals(servers) == {
        "apache_processes": 6, "apache_rss_mb": 47.0, "apache_pss_mb": 18.5,
        "daemons_processes": 2, "daemons_rss_mb": 24.0, "daemons_pss_mb": 13.0,
    }
