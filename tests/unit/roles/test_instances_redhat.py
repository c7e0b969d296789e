# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Isolation ``instance`` on the RHEL family: rendered and unit-tested only.

No RHEL host is converged anywhere, so these tests are what stands behind the
RHEL layout: the instance's configuration rendered from ``vars/RedHat.yml``
(the httpd package's ``httpd@.service`` runs ``httpd -DFOREGROUND -f
conf/NAME.conf`` from ``/etc/httpd``, is ``Type=notify`` and makes
``/run/httpd/instance-NAME``), and every path the instance task files compose,
templated with the RHEL family's vars as a play would. Debian's side is checked
against the same expectations where the two must agree (the daemon line, the
ports), and against its own layout where they differ.

Templates and task arguments are templated with ansible-core's own Templar, as
in tests/unit/roles/test_templates.py; both take their rendering from
``rendering.py`` beside them.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from ansible.template import Templar, trust_as_template

from ansible_collections.modwsgi.fleet.plugins.module_utils._model import build_model
from rendering import LOADER, MANAGED, ROLES, ROOT, unquote
from rendering import render as render_path
from rendering import wsgi_vars as family_vars

TEMPLATES = ROLES / "wsgi" / "templates"
TASKS = ROLES / "wsgi" / "tasks"
EXAMPLE = ROOT / "inventories" / "example" / "group_vars" / "wsgi_hosts.yml"
FAMILIES = ("Debian", "RedHat")

PROJECTS = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["wsgi_projects"]
# keystone and portal have a live instance (the host's record), the others none yet.
FACTS = {"instances": {"groups": {"keystone": {"live": "blue", "ports": {"blue": 20002, "green": 20003}},
                                  "portal": {"live": "green", "ports": {"blue": 20000, "green": 20001}}}}}
MODEL = build_model(PROJECTS, isolation="instance", facts=FACTS)
GROUPS = {g["name"]: g for g in MODEL["groups"]}
RETIRED = ["wsgi-old-blue", "wsgi-old-green"]


def apache_log_globs(os_family: str) -> list[str]:
    return LOADER.load_from_file(str(ROLES / "apache" / "vars" / ("%s.yml" % os_family)))["__apache_log_globs"]


def template_value(value: Any, variables: dict[str, Any]) -> Any:
    """``value`` (a task argument, possibly nested) templated as a play templates it."""
    if isinstance(value, dict):
        return {k: template_value(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [template_value(v, variables) for v in value]
    if isinstance(value, str):
        return Templar(loader=LOADER, variables=variables).template(trust_as_template(value))
    return value


def render(name: str, variables: dict[str, Any]) -> str:
    """A template of the wsgi role, by name."""
    return render_path(TEMPLATES / name, variables)


def render_instance(os_family: str, group: str, color: str) -> str:
    return render("instance.conf.j2", dict(family_vars(os_family), __wsgi_group=GROUPS[group], __wsgi_color=color))


def directives(text: str) -> list[tuple[str, str]]:
    """(directive, arguments) of every line, sections included ("<IfModule", "x"), comments left out.

    Fails unless every section is closed, in order.
    """
    found = []
    open_sections: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        closing = re.fullmatch(r"</([A-Za-z]+)>", stripped)
        if closing:
            assert open_sections and open_sections.pop() == closing.group(1), "unbalanced %s" % stripped
            continue
        name, _sep, rest = stripped.partition(" ")
        if name.startswith("<"):
            assert rest.endswith(">"), stripped
            open_sections.append(name[1:])
            rest = rest[:-1]
        found.append((name, rest.strip()))
    assert not open_sections, "unclosed: %s" % open_sections
    return found


def values(text: str, name: str) -> list[str]:
    return [rest for directive, rest in directives(text) if directive == name]


INSTANCES = [(g, c) for g in sorted(GROUPS) for c in ("blue", "green")]


# --- The instance's configuration -------------------------------------------------

# Where each directive of the instance's configuration comes from: core, or a module.
PROVIDER = {
    "User": "unixd_module", "Group": "unixd_module", "Require": "authz_core_module",
    "ServerLimit": "mpm_event_module", "ThreadsPerChild": "mpm_event_module", "ThreadLimit": "mpm_event_module",
    "MaxRequestWorkers": "mpm_event_module", "MinSpareThreads": "mpm_event_module",
    "MaxSpareThreads": "mpm_event_module", "MaxConnectionsPerChild": "mpm_event_module",
}
# What each family's server has built in (`httpd -l`): the RHEL family's httpd
# builds every module shared (--enable-mods-shared=all, --enable-mpms-shared=all
# in its spec file); Debian's apache2 has mod_unixd and mod_log_config built in, among others.
BUILT_IN = {"RedHat": {"core", "so_module", "http_core"},
            "Debian": {"core", "so_module", "http_core", "unixd_module", "log_config_module", "logio_module",
                       "version_module", "watchdog_module"}}


@pytest.mark.parametrize("os_family", FAMILIES)
@pytest.mark.parametrize("group, color", INSTANCES)
def test_every_directive_comes_from_core_or_a_module_loaded_above_it(os_family: str, group: str, color: str) -> None:
    """An instance reads no other file: each module it uses is loaded by its own LoadModule, before its first use."""
    loaded = set(BUILT_IN[os_family])
    for directive, rest in directives(render_instance(os_family, group, color)):
        if directive == "LoadModule":
            module, _path = rest.split()
            assert module not in loaded, "%s loaded twice, or built in" % module
            loaded.add(module)
            continue
        if directive == "<IfModule":
            assert rest in loaded, "<IfModule %s> would be skipped: the module is not loaded" % rest
        wanted = "wsgi_module" if directive.startswith("WSGI") else PROVIDER.get(directive)
        assert wanted is None or wanted in loaded, "%s before %s is loaded" % (directive, wanted)
    # httpd@.service is Type=notify: httpd must tell systemd it started, which mod_systemd does.
    assert ("systemd_module" in loaded) is (os_family == "RedHat")


@pytest.mark.parametrize("group, color", INSTANCES)
def test_rhel_instance_loads_rhels_module_files(group: str, color: str) -> None:
    loads = dict(rest.split() for rest in values(render_instance("RedHat", group, color), "LoadModule"))
    assert loads == {
        "unixd_module": "/usr/lib64/httpd/modules/mod_unixd.so",
        "systemd_module": "/usr/lib64/httpd/modules/mod_systemd.so",
        "mpm_event_module": "/usr/lib64/httpd/modules/mod_mpm_event.so",
        "authz_core_module": "/usr/lib64/httpd/modules/mod_authz_core.so",
        "env_module": "/usr/lib64/httpd/modules/mod_env.so",
        # python3-mod_wsgi's module, the one the facts read the Python of.
        "wsgi_module": "/usr/lib64/httpd/modules/mod_wsgi_python3.so",
    }
    assert loads["wsgi_module"] == template_value("{{ __wsgi_mod_wsgi_module }}", family_vars("RedHat"))


@pytest.mark.parametrize("group, color", INSTANCES)
def test_rhel_instance_lives_where_httpd_at_service_expects_it(group: str, color: str) -> None:
    text = render_instance("RedHat", group, color)
    name = GROUPS[group]["instance"]["names"][color]
    # The unit runs `httpd -f conf/NAME.conf` relative to /etc/httpd; the package's
    # example instance.conf names these two after the instance.
    assert values(text, "ServerRoot") == ['"/etc/httpd"']
    assert values(text, "DefaultRuntimeDir") == ['"/run/httpd/instance-%s"' % name]
    assert values(text, "PidFile") == ['"/run/httpd/instance-%s.pid"' % name]
    # Its daemons' sockets in its own run folder, which the unit makes 0710 root:apache.
    assert values(text, "WSGISocketPrefix") == ["/run/httpd/instance-%s/wsgi" % name]
    assert values(text, "User") == ["apache"] and values(text, "Group") == ["apache"]
    # No variable from an environment: the unit sets HTTPD_INSTANCE alone, and the
    # check before the file lands (httpd -t -f) has none.
    assert "${" not in text and "envvars" not in text
    assert "apache2" not in text


@pytest.mark.parametrize("os_family", FAMILIES)
@pytest.mark.parametrize("group, color", INSTANCES)
def test_instance_error_log_is_a_file_the_apache_role_rotates(os_family: str, group: str, color: str) -> None:
    name = GROUPS[group]["instance"]["names"][color]
    (error_log,) = values(render_instance(os_family, group, color), "ErrorLog")
    # The role's piped logger: PROJECTS_DIR FALLBACK, the instance's own lines in the fallback.
    projects_dir, fallback = unquote(error_log).split()[-2:]
    wanted = {"Debian": "/var/log/apache2-%s/error.log", "RedHat": "/var/log/httpd/%s/error.log"}[os_family] % name
    assert unquote(error_log).startswith("|/usr/bin/python3 -I -u ") and fallback == wanted
    assert projects_dir == {"Debian": "/var/log/apache2/modwsgi-fleet", "RedHat": "/var/log/httpd/modwsgi-fleet"}[os_family]
    globs = apache_log_globs(os_family)
    for path in (wanted, "%s/%s/error.log" % (projects_dir, group)):
        assert any(fnmatch.fnmatch(path, pattern) for pattern in globs), (path, globs)


@pytest.mark.parametrize("group, color", INSTANCES)
def test_rhel_instance_listens_on_loopback_only(group: str, color: str) -> None:
    text = render_instance("RedHat", group, color)
    port = GROUPS[group]["instance"]["ports"][color]
    assert values(text, "Listen") == ["127.0.0.1:%d" % port]
    assert values(text, "<VirtualHost") == ["127.0.0.1:%d" % port]
    assert values(text, "WSGITrustedProxies") == ["127.0.0.1"]


# The lines of an instance's configuration that the OS family's layout decides.
LAYOUT_LINE = re.compile(r"^(ServerRoot|DefaultRuntimeDir|PidFile|User|Group|ErrorLog|LoadModule|WSGISocketPrefix) ")


@pytest.mark.parametrize("group, color", INSTANCES)
def test_the_families_differ_in_their_layout_alone(group: str, color: str) -> None:
    """The same daemon line, MPM, virtual host and mounts on both; only paths, account and modules differ."""
    debian, rhel = render_instance("Debian", group, color), render_instance("RedHat", group, color)
    daemon = [line for line in debian.splitlines() if line.startswith("WSGIDaemonProcess ")]
    assert len(daemon) == 1 and daemon == [line for line in rhel.splitlines() if line.startswith("WSGIDaemonProcess ")]

    def rest(text: str) -> list[str]:
        """The lines without those of the layout and the comments that introduce them."""
        lines = text.splitlines()
        return [line for line, following in zip(lines, lines[1:] + [""])
                if not LAYOUT_LINE.match(line) and not (line.startswith("#") and LAYOUT_LINE.match(following))]
    assert rest(rhel) == rest(debian)
    assert len(rest(debian)) > 40, "the comparison kept the body of the configuration"


# --- The paths the task files compose -------------------------------------------------

def run_context(os_family: str) -> dict[str, Any]:
    """The variables of a play at the instance task files: the family's vars and a run that touches everything."""
    groups = MODEL["groups"]
    starting = GROUPS["keystone"]
    return dict(
        family_vars(os_family),
        ansible_facts={"os_family": os_family}, ansible_check_mode=False, ansible_diff_mode=True,
        __wsgi_plan=MODEL, __wsgi_instance_groups=groups,
        __wsgi_live_names={g["name"]: g["instance"]["names"][g["instance"]["live"]] for g in groups
                           if g["instance"]["live"]},
        __wsgi_starting=groups, __wsgi_switched=[GROUPS["keystone"], GROUPS["portal"]],
        __wsgi_failed_groups=["legacy"], __wsgi_retired_names=RETIRED, __wsgi_restart_groups=sorted(GROUPS),
        __wsgi_live_after={g["name"]: g["instance"]["live"] or g["instance"]["next"] for g in groups},
        # What the tasks register, as a run that reaches them has it.
        __wsgi_state_after={"groups": {}}, __wsgi_host_facts={"instances": None},
        __wsgi_new_answers={"answers": [], "failing": [], "unanswered": []},
        __wsgi_restarted={"results": []},
        __wsgi_quota_written={"changed": True}, __wsgi_quota_removed={"changed": False},
        # What the apache role sets for the roles after it.
        apache_include_dir={"Debian": "/etc/apache2", "RedHat": "/etc/httpd"}[os_family] + "/modwsgi-fleet",
        wsgi_conf_file="wsgi.conf",
        apache_configtest_command="/usr/local/sbin/modwsgi-fleet-configtest", wsgi_restart_timeout=60,
        wsgi_healthcheck_retries=30, wsgi_healthcheck_delay=2,
        # instance_start.yml, as instances.yml includes it for one group.
        __wsgi_group=starting, __wsgi_color="green", __wsgi_name=starting["instance"]["names"]["green"],
    )


def task_calls(tasks_file: str, os_family: str) -> dict[str, list[dict[str, Any]]]:
    """Each task of ``tasks_file`` by name: its module arguments once per loop item, templated for ``os_family``.

    An argument that templates to ``omit`` is left out, as Ansible leaves it out.
    """
    calls = {}
    for task in yaml.safe_load((TASKS / tasks_file).read_text(encoding="utf-8")):
        module = next(k for k in task if k.startswith(("ansible.builtin.", "modwsgi.fleet.")))
        if module == "ansible.builtin.set_fact":
            continue
        context = run_context(os_family)
        loop_var = (task.get("loop_control") or {}).get("loop_var", "item")
        items = template_value(task["loop"], context) if "loop" in task else [None]
        runs = []
        for item in items:
            variables = dict(context, **({loop_var: item} if item is not None else {}))
            variables.update({k: template_value(v, variables) for k, v in (task.get("vars") or {}).items()})
            args = task[module]
            if isinstance(args, dict):
                templated = {}
                for key, value in args.items():
                    try:
                        templated[key] = template_value(value, variables)
                    except Exception as exc:  # pylint: disable=broad-exception-caught
                        if "Omit" not in type(exc).__name__ and "omit" not in str(exc):
                            raise
                args = templated
            else:
                args = template_value(args, variables)
            when = task.get("when")
            runs.append({"args": args, "when": None if when is None else template_value(
                "{{ %s }}" % " and ".join("(%s)" % w for w in ([when] if isinstance(when, str) else when)),
                variables)})
        calls[task["name"]] = runs
    return calls


NAME = "wsgi-keystone-green"  # the instance run_context starts (its group's next colour)


def test_instance_start_makes_writes_and_starts_rhels_instance() -> None:
    calls = task_calls("instance_start.yml", "RedHat")
    folders = [(c["args"]["path"], c["args"]["mode"], c["args"]["owner"], c["args"]["group"])
               for c in calls["Create the folders of {{ __wsgi_name }}"]]
    # The run folder as httpd@.service's ExecStartPre makes it, before the check
    # needs it (Apache refuses a DefaultRuntimeDir that does not exist).
    assert folders == [("/run/httpd/instance-%s" % NAME, "0710", "root", "apache"),
                       ("/var/log/httpd/%s" % NAME, "0700", "root", "root")]
    (envvars,) = calls["Write the environment of {{ __wsgi_name }}"]
    assert envvars["when"] is False, "the RHEL family's unit reads no envvars file"
    (conf,) = calls["Write the configuration of {{ __wsgi_name }}"]
    assert conf["args"]["dest"] == "/etc/httpd/conf/%s.conf" % NAME
    assert conf["args"]["validate"] == "/usr/sbin/httpd -t -f %s"
    (start,) = calls["Start {{ __wsgi_name }}"]
    assert start["args"]["name"] == "httpd@%s.service" % NAME


def test_instance_start_on_debian_keeps_its_layout() -> None:
    calls = task_calls("instance_start.yml", "Debian")
    assert [c["args"]["path"] for c in calls["Create the folders of {{ __wsgi_name }}"]] == [
        "/etc/apache2-%s" % NAME, "/run/apache2-%s" % NAME, "/var/log/apache2-%s" % NAME]
    (envvars,) = calls["Write the environment of {{ __wsgi_name }}"]
    assert envvars["when"] is True and envvars["args"]["dest"] == "/etc/apache2-%s/envvars" % NAME
    (conf,) = calls["Write the configuration of {{ __wsgi_name }}"]
    assert conf["args"]["dest"] == "/etc/apache2-%s/apache2.conf" % NAME


def test_instances_read_stop_and_show_rhels_units_and_files() -> None:
    calls = task_calls("instances.yml", "RedHat")
    (read,) = calls["Read whether each live instance runs, and what configuration it has"]
    cmd = read["args"]["cmd"]
    assert "for name in wsgi-keystone-blue wsgi-portal-green; do" in cmd
    assert 'systemctl is-active httpd@"$name".service' in cmd
    assert 'sha1sum < /etc/httpd/conf/"$name".conf ' in cmd
    shown = [c["args"]["dest"] for c in calls[
        "Show how the configuration of each changed group differs from its live instance"]]
    assert shown == ["/etc/httpd/conf/wsgi-keystone-blue.conf", "/etc/httpd/conf/wsgi-portal-green.conf"]
    assert [c["args"]["name"] for c in calls["Stop the old instances of the switched groups"]] == [
        "httpd@wsgi-keystone-blue.service", "httpd@wsgi-portal-green.service"]
    assert [c["args"]["name"] for c in calls["Stop the new instances that do not answer"]] == [
        "httpd@wsgi-legacy-blue.service"]
    # MODEL knows no CPUs: no quota, each live instance's quota drop-in removed.
    assert calls["Write the CPU quota of each live instance"] == []
    quotas = [c["args"]["path"] for c in calls["Remove the CPU quota of each live instance that has none"]]
    assert quotas == ["/etc/systemd/system/httpd@wsgi-keystone-blue.service.d/modwsgi-fleet-cpu-quota.conf",
                      "/etc/systemd/system/httpd@wsgi-portal-green.service.d/modwsgi-fleet-cpu-quota.conf"]
    (reload,) = calls["Apply the new CPU quotas to the running instances"]
    assert reload["args"] == {"daemon_reload": True} and reload["when"] is True
    (proxy,) = calls["Enable the proxy modules of the main Apache"]
    assert (TASKS / proxy["args"]).is_file() and proxy["args"] == "proxy_RedHat.yml"
    (report,) = calls["Report the groups whose new instance was not switched in"]
    assert "/var/log/httpd/<instance>/" in report["args"]["msg"]


def test_retired_instances_leave_nothing_of_their_own_on_rhel() -> None:
    calls = task_calls("instances_retire.yml", "RedHat")
    assert [c["args"]["name"] for c in calls["Stop the instances of groups that are gone"]] == [
        "httpd@%s.service" % name for name in RETIRED]
    removed = [c["args"]["path"] for c in calls["Remove their configuration, run folders and logs"]]
    assert sorted(removed) == sorted(path % name for name in RETIRED for path in (
        "/etc/httpd/conf/%s.conf",   # its configuration, not the folder of httpd.conf
        "/run/httpd/instance-%s",    # made by the unit
        "/run/httpd/instance-%s.pid",
        "/var/lib/httpd/instance-%s",  # made by the unit, unused
        "/var/log/httpd/%s",
        "/etc/systemd/system/httpd@%s.service.d",  # its unit's resource control
    ))


def test_retired_instances_on_debian_keep_their_layout() -> None:
    removed = [c["args"]["path"] for c in task_calls("instances_retire.yml", "Debian")[
        "Remove their configuration, run folders and logs"]]
    prefixes = ("/etc/apache2-", "/run/apache2-", "/run/lock/apache2-", "/var/log/apache2-")
    assert removed == [prefix + name for prefix in prefixes for name in RETIRED] + [
        "/etc/systemd/system/apache2@%s.service.d" % name for name in RETIRED]


@pytest.mark.parametrize("os_family, pidfile", [("RedHat", "/run/httpd/instance-%s.pid"),
                                                ("Debian", "/run/apache2-%s/apache2.pid")])
def test_a_group_restarts_in_its_live_instance(os_family: str, pidfile: str) -> None:
    """wsgi_restart finds the group's daemons among the children of its live instance's parent."""
    calls = task_calls("restart_groups.yml", os_family)["Restart the daemon groups one by one"]
    pidfiles = {c["args"]["group"]: c["args"].get("pidfile") for c in calls}
    assert pidfiles == {name: (pidfile % g["instance"]["names"][g["instance"]["live"]] if g["instance"]["live"]
                               else None) for name, g in GROUPS.items()}


@pytest.mark.parametrize("os_family, other", [("RedHat", "apache2"), ("Debian", "httpd")])
def test_no_path_of_the_other_family_leaks_into_the_instance_tasks(os_family: str, other: str) -> None:
    for tasks_file in ("instances.yml", "instance_start.yml", "instances_retire.yml", "restart_groups.yml"):
        text = json.dumps(task_calls(tasks_file, os_family), default=str)
        assert other not in text, "%s names %s for %s" % (tasks_file, other, os_family)


def test_state_and_live_addresses_are_the_same_files_on_both_families() -> None:
    """wsgi_facts and the main Apache read them; nothing about them depends on the OS family."""
    debian, rhel = family_vars("Debian"), family_vars("RedHat")
    for name in ("__wsgi_instance_state", "__wsgi_instance_backends", "__wsgi_proxy_modules"):
        assert rhel[name] == debian[name], name


# --- The main httpd's proxy modules ----------------------------------------------------

def test_main_httpd_loads_each_proxy_module_only_where_the_package_does_not() -> None:
    variables = family_vars("RedHat")
    text = render("proxy_modules.conf.j2", variables)
    assert text.splitlines()[1] == "# " + MANAGED
    found = directives(text)
    modules = template_value("{{ __wsgi_proxy_modules }}", variables)
    assert modules == ["proxy", "proxy_http", "headers", "setenvif"]
    assert found == [entry for module in modules for entry in (
        ("<IfModule", "!%s_module" % module),
        ("LoadModule", "%s_module /usr/lib64/httpd/modules/mod_%s.so" % (module, module)))]
    # Read after the package's 00-proxy.conf and 00-base.conf (conf.modules.d/*.conf, in sorted order).
    conf = Path(template_value("{{ __wsgi_proxy_modules_conf }}", variables))
    assert conf.parent == Path("/etc/httpd/conf.modules.d") and conf.suffix == ".conf"
    assert sorted(["00-base.conf", "00-proxy.conf", conf.name])[-1] == conf.name


def test_proxy_task_checks_the_whole_configuration_and_reloads() -> None:
    (task,) = yaml.safe_load((TASKS / "proxy_RedHat.yml").read_text(encoding="utf-8"))
    args = task["ansible.builtin.template"]
    assert args["src"] == "proxy_modules.conf.j2" and args["dest"] == "{{ __wsgi_proxy_modules_conf }}"
    assert args["validate"] == "{{ apache_configtest_command }} {{ __wsgi_proxy_modules_conf }} %s"
    assert task["notify"] == "modwsgi.fleet apache reload"


# --- Which families may ask for instance isolation -----------------------------------------

@pytest.mark.parametrize("os_family, allowed", [("Debian", True), ("RedHat", True), (None, False)])
def test_instance_isolation_is_refused_only_where_the_family_has_no_layout(
        os_family: Optional[str], allowed: bool) -> None:
    (check,) = [t for t in yaml.safe_load((TASKS / "plan.yml").read_text(encoding="utf-8"))
                if t["name"] == "Check that this OS family has multi-instance Apache"]
    variables: dict[str, Any] = family_vars(os_family) if os_family else {}
    variables["ansible_facts"] = {"os_family": os_family or "Suse"}
    assert template_value("{{ %s }}" % check["ansible.builtin.assert"]["that"], variables) is allowed
    message = template_value(check["ansible.builtin.assert"]["fail_msg"], variables)
    assert message.startswith("wsgi_isolation: instance ") and "wsgi_isolation: shared" in message
    assert "Suse" in message or allowed


@pytest.mark.parametrize("resources, cpus, written", [
    ({"enabled": False}, None, []),  # no resource control: resources is null
    ({"cpu_quota_percent": 0}, 2, []),  # no quota
    ({}, 2, ["wsgi-keystone-blue", "wsgi-portal-green"]),  # the default quota, the host's CPUs known
])
def test_each_live_instance_gets_or_loses_its_cpu_quota(
        resources: dict, cpus: Optional[int], written: list[str]) -> None:
    """The quota tasks template for any resource setting, resources null included."""
    facts = dict(FACTS, **({"cpus": cpus, "memory_mb": 8192} if cpus else {}))
    model = build_model(PROJECTS, isolation="instance", facts=facts, resources=resources)
    groups = model["groups"]
    context = dict(run_context("Debian"), __wsgi_plan=model, __wsgi_instance_groups=groups)
    tasks = {t["name"]: t for t in yaml.safe_load((TASKS / "instances.yml").read_text(encoding="utf-8"))}
    write = template_value(tasks["Write the CPU quota of each live instance"]["loop"], context)
    remove = template_value(tasks["Remove the CPU quota of each live instance that has none"]["loop"], context)
    assert [g["instance"]["names"][g["instance"]["live"]] for g in write] == written
    assert sorted(g["name"] for g in write + remove) == ["keystone", "portal"]
    for group in write:
        text = render("instance_cpu_quota.conf.j2", dict(family_vars("Debian"), __wsgi_group=group,
                                                         __wsgi_color=group["instance"]["live"]))
        assert text.startswith("#") and "\n[Service]\nCPUQuota=%d%%\n" % group["instance"]["resources"][
            "cpu_quota_percent"] in text, text
