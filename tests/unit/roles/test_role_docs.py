"""The roles' README.md files are those scripts/role-docs writes from meta/argument_specs.yml."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import build_plan

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "role-docs"
ROLES = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())

pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="scripts/ is not part of this copy of the collection")


def test_readmes_are_up_to_date():
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, "stale role README(s), run scripts/role-docs:\n%s%s" % (result.stdout, result.stderr)


@pytest.mark.parametrize("role", ROLES)
def test_example_playbook_works(role):
    """The playbook at the top of the README names roles of this collection and a valid project."""
    text = (REPO / "roles" / role / "README.md").read_text()
    match = re.search(r"## Example playbook\n\n```yaml\n(.*?)```", text, re.S)
    assert match, "%s: README without an example playbook" % role
    (play,) = yaml.safe_load(match.group(1))
    assert play["hosts"] == "wsgi_hosts" and play["become"] is True
    assert [r["role"] for r in play["roles"]] == ["modwsgi.fleet.apache", "modwsgi.fleet.wsgi"]
    projects = play["vars"]["wsgi_projects"]
    assert len(build_plan(projects).to_dict()["groups"]) == 1
    for project in projects:
        assert (REPO / "roles" / "wsgi" / "files" / project["source"]).is_file()


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_documented(role):
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    text = (REPO / "roles" / role / "README.md").read_text()
    for name in specs["main"].get("options") or {}:
        assert "```yaml\n%s:" % name in text, "%s: %s missing from README.md" % (role, name)
    # No Ansible markup left over: C(...), O(...), I(...) and the like.
    assert not re.search(r"\b(?:[BCEIMOPUV]|RV)\([^)]*\)", re.sub(r"```.*?```|`[^`]*`", "", text, flags=re.S))
