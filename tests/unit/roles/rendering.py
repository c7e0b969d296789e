# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the role tests share: the roles' templates and vars as a play renders and loads them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[3]
ROLES = ROOT / "roles"
MANAGED = "Ansible managed: modwsgi.fleet unit test sample"
LOADER = DataLoader()


def render(template: Path, variables: dict[str, Any]) -> str:
    """Render ``template`` as ansible.builtin.template does (trim_blocks, no lstrip_blocks)."""
    # The template's folder is the search path of its {% import %}s, as for the action.
    templar = Templar(loader=LOADER, variables=dict(variables, ansible_managed=MANAGED)).copy_with_new_env(
        searchpath=[str(template.parent)])
    result = templar.template(
        trust_as_template(template.read_text(encoding="utf-8")),
        escape_backslashes=False,
        overrides=dict(trim_blocks=True, lstrip_blocks=False, newline_sequence="\n"),
    )
    assert isinstance(result, str)
    return result


def wsgi_vars(os_family: str) -> dict[str, Any]:
    """The wsgi role's vars, then its OS vars over them (its paths and names on the host), templates resolved on use."""
    variables: dict[str, Any] = {}
    for name in ("main", os_family):
        variables.update(LOADER.load_from_file(str(ROLES / "wsgi" / "vars" / ("%s.yml" % name)),
                                               trusted_as_template=True) or {})
    return variables


def unquote(value: str) -> str:
    assert len(value) >= 2 and value[0] == value[-1] == '"', value
    return value[1:-1]
