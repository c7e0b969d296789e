"""Every role variable is documented in meta/argument_specs.yml, with the default it really has."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PROJECT_KEYS, SIZING_KEYS

ROLES = Path(__file__).resolve().parents[3] / "roles"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("role", sorted(p.name for p in ROLES.iterdir()))
def test_defaults_and_argument_specs_agree(role):
    defaults = load(ROLES / role / "defaults" / "main.yml")
    specs = load(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]
    options = specs["main"]["options"]
    assert sorted(defaults) == sorted(options), "%s: defaults and argument_specs list other variables" % role
    for name, value in defaults.items():
        assert options[name].get("default") == value, "%s: %s default differs" % (role, name)
        assert options[name].get("description"), "%s: %s has no description" % (role, name)
        assert options[name].get("type"), "%s: %s has no type" % (role, name)


def test_every_entry_point_used_has_a_spec():
    """Each tasks_from that a playbook of this repository uses, and main, has a spec."""
    repo = ROLES.parent
    used = {("apache", "main"), ("wsgi", "main")}
    for playbook in list((repo / "playbooks").glob("*.yml")) + list((repo / "molecule").glob("*/*.yml")):
        for play in load(playbook) if isinstance(load(playbook), list) else []:
            for task in play.get("pre_tasks", []) + play.get("tasks", []):
                include = task.get("ansible.builtin.include_role") or {}
                if include:
                    used.add((include["name"].split(".")[-1], include.get("tasks_from", "main")))
    assert ("wsgi", "status") in used and ("wsgi", "validate") in used
    for role, entry in sorted(used):
        specs = load(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]
        assert entry in specs, "%s: entry point %s has no argument spec" % (role, entry)
        assert (ROLES / role / "tasks" / ("%s.yml" % entry)).is_file()
        assert specs[entry].get("short_description")


def test_every_project_field_is_documented():
    description = " ".join(
        load(ROLES / "wsgi" / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]["wsgi_projects"][
            "description"])
    for key in sorted(PROJECT_KEYS | SIZING_KEYS):
        assert "C(%s)" % key in description, "wsgi_projects field %s is not documented" % key
