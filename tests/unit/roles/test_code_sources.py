# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a project's code comes from, and the folders its account owns.

``code: {src | archive | git, subdir, wsgi_file, keep, hooks}`` is parsed by
``_plan._code`` and ``_plan._git`` and handed to wsgi_release as the plan's
``releases``; ``data_dirs`` and ``static[].writable`` by ``normalize_project``;
the plan's ``directories`` (for wsgi_files) by ``Plan.to_dict``; and
``_plan._static_mounts`` keeps Apache from serving a data folder or a code
project's ``repository.git`` as static files.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

import pytest

from ansible_collections.modwsgi.fleet.plugins.module_utils._plan import PlanError, build_plan

WSGI_FILE = "shop/wsgi.py"
GIT = {"repo": "https://git.example.com/shop.git", "version": "v1.4.2"}
FS_PATH = "must be an absolute path of letters, digits and _ . + @ - (no spaces or quotes), got %r"
EXACTLY_ONE = ("give exactly one of src (a directory on the controller), archive (a tar or zip file on the "
               "controller) or git (a repository the host can fetch from)")
GIT_REPO = ("must be a repository the host can fetch from: a URL such as https://git.example.com/shop.git, "
            "git@git.example.com:shop.git or an absolute path (no spaces or quotes), got %r")
GIT_VERSION = "must be a branch, tag or commit such as main, v1.4.2 or 4f2a9c1 (no leading dash, no '..'), got %r"
SUBDIR = "must be the tree's folder inside the %s, such as src or myapp-1.0, got %r"
EMBEDDED = "has no meaning with mode embedded (the app runs in Apache's own processes)"


def project(name: str, **fields: Any) -> dict[str, Any]:
    """A daemon-mode project with its script in /srv/wsgi/NAME, mounted at /NAME unless ``path`` is given."""
    raw: dict[str, Any] = {"name": name, "script": "/srv/wsgi/%s/%s.wsgi" % (name, name), "path": "/" + name}
    raw.update(fields)
    return raw


def code_project(name: str, code: Optional[dict[str, Any]] = None, **fields: Any) -> dict[str, Any]:
    """A project whose code ships as releases, from the directory trees/NAME unless ``code`` is given."""
    raw = project(name, code={"src": "trees/" + name, "wsgi_file": WSGI_FILE} if code is None else code, **fields)
    del raw["script"]
    return raw


def static(path: str, directory: str, writable: Optional[bool] = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, "directory": directory}
    if writable is not None:
        entry["writable"] = writable
    return entry


def plan(*projects: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return build_plan(copy.deepcopy(list(projects)), **kwargs).to_dict()


def refused(*projects: dict[str, Any], **kwargs: Any) -> str:
    with pytest.raises(PlanError) as info:
        build_plan(copy.deepcopy(list(projects)), **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def one_project(result: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [p for p in result["projects"] if p["name"] == name]
    return found


def code_of(code: dict[str, Any]) -> dict[str, Any]:
    """The normalised code of project shop given ``code`` (the WSGI file added)."""
    return one_project(plan(code_project("shop", dict(code, wsgi_file=WSGI_FILE))), "shop")["code"]


def bad_code(code: dict[str, Any]) -> str:
    """Why project shop with ``code`` is refused, without the project's name (checked here)."""
    message = refused(code_project("shop", code))
    assert message.startswith("project 'shop': field 'code")
    return message[len("project 'shop': "):]


# --- Each source, normalised ------------------------------------------------------------------


@pytest.mark.parametrize(("code", "expected"), [
    ({"src": "trees/shop"}, {"src": "trees/shop", "subdir": ""}),
    ({"src": "trees/shop/", "subdir": "src"}, {"src": "trees/shop/", "subdir": "src"}),
    ({"src": "/home/dev/shop", "subdir": None}, {"src": "/home/dev/shop", "subdir": ""}),
    ({"archive": "dist/shop-1.0.tar.gz", "subdir": "shop-1.0"},
     {"archive": "dist/shop-1.0.tar.gz", "subdir": "shop-1.0"}),
    ({"archive": "dist/shop.zip", "subdir": ""}, {"archive": "dist/shop.zip", "subdir": ""}),
    ({"git": dict(GIT)}, {"git": GIT, "subdir": ""}),
    ({"git": dict(GIT), "subdir": "src/shop"}, {"git": GIT, "subdir": "src/shop"}),
], ids=["src", "src+subdir", "src+subdir None", "archive+subdir", "archive+subdir empty", "git", "git+subdir"])
def test_each_source_is_normalised_with_its_subdir(code: dict[str, Any], expected: dict[str, Any]) -> None:
    result = plan(code_project("shop", dict(code, wsgi_file=WSGI_FILE)))
    assert one_project(result, "shop")["code"] == dict(
        expected, wsgi_file=WSGI_FILE, keep=3, hooks=[], root="/srv/wsgi/shop")
    assert one_project(result, "shop")["script"] == "/srv/wsgi/shop/current/shop/wsgi.py"
    assert one_project(result, "shop")["source"] is None


@pytest.mark.parametrize("repo", [
    "https://git.example.com/shop.git",
    "https://deploy@git.example.com:8443/team/shop.git",
    "ssh://git@git.example.com:2222/team/shop.git",
    "git://git.example.com/shop",
    "file:///srv/git/shop.git",
    "git+ssh://git.example.com/shop.git",
    "git@git.example.com:team/shop.git",
    "deploy@10.0.0.5:repos/shop",
    "/srv/git/shop.git",
    "/srv/git/shop",
])
def test_a_git_repo_may_be_a_url_an_scp_like_address_or_an_absolute_path(repo: str) -> None:
    assert code_of({"git": {"repo": repo, "version": "main"}})["git"] == {"repo": repo, "version": "main"}


@pytest.mark.parametrize("version", [
    "main", "v1.4.2", "4f2a9c1", "4f2a9c1e0b8d7a6f5e4d3c2b1a0f9e8d7c6b5a4f", "release/2024.05", "feature/x-y_z",
    "v1.0+build@1", "_wip", "a" * 200,
])
def test_a_git_version_may_be_a_branch_a_tag_or_a_commit(version: str) -> None:
    assert code_of({"git": dict(GIT, version=version)})["git"] == dict(GIT, version=version)


@pytest.mark.parametrize("subdir", ["src", "myapp-1.0", "shop-main/src", "a/b/c", "_build", "v1.0+local@x"])
@pytest.mark.parametrize("source", [{"src": "trees/shop"}, {"archive": "dist/shop.tar.xz"}, {"git": GIT}],
                         ids=["src", "archive", "git"])
def test_subdir_may_be_a_plain_relative_path(source: dict[str, Any], subdir: str) -> None:
    assert code_of(dict(source, subdir=subdir))["subdir"] == subdir


# --- Each bad source, refused -----------------------------------------------------------------


@pytest.mark.parametrize(("sources", "named"), [
    (["src", "archive"], "archive"),
    (["src", "git"], "git"),
    (["archive", "git"], "git"),
    (["src", "archive", "git"], "archive"),
    ([], "src"),
])
def test_exactly_one_source_is_needed(sources: list[str], named: str) -> None:
    given = {"src": "trees/shop", "archive": "dist/shop.zip", "git": dict(GIT)}
    code = dict({key: given[key] for key in sources}, wsgi_file=WSGI_FILE, subdir="src")
    assert bad_code(code) == "field 'code.%s': %s" % (named, EXACTLY_ONE)


def test_no_source_is_refused_before_a_missing_wsgi_file() -> None:
    assert bad_code({}) == "field 'code.src': " + EXACTLY_ONE


@pytest.mark.parametrize("source", [{"src": "trees/shop"}, {"archive": "dist/shop.zip"}, {"git": GIT}],
                         ids=["src", "archive", "git"])
def test_a_source_without_wsgi_file_is_refused(source: dict[str, Any]) -> None:
    assert bad_code(dict(source, subdir="src")) == "field 'code.wsgi_file': is required"


def test_an_unknown_code_key_is_refused_before_the_sources_are_counted() -> None:
    assert bad_code({"src": "trees/shop", "git": dict(GIT), "branch": "main", "wsgi_file": WSGI_FILE}) == (
        "field 'code.branch': unknown field (known: archive, git, hooks, keep, src, subdir, wsgi_file)")


@pytest.mark.parametrize("value", ["", None, 3, ["dist/shop.zip"], {"path": "x"}, "dist/\nshop.zip",
                                   "dist/\x00shop.zip"])
@pytest.mark.parametrize(("key", "what"), [("src", "directory"), ("archive", "tar or zip file")])
def test_a_src_or_archive_that_is_no_path_is_refused(key: str, what: str, value: Any) -> None:
    assert bad_code({key: value, "wsgi_file": WSGI_FILE}) == (
        "field 'code.%s': must be the path of a %s on the controller, got %r" % (key, what, value))


@pytest.mark.parametrize("value", ["https://git.example.com/shop.git", ["https://git.example.com/shop.git"], None, 3])
def test_git_that_is_not_a_mapping_is_refused(value: Any) -> None:
    assert bad_code({"git": value, "wsgi_file": WSGI_FILE}) == (
        "field 'code.git': must be a mapping of repo and version, got %r" % (value,))


@pytest.mark.parametrize(("git", "named"), [
    ({"version": "main"}, "repo"),
    ({"repo": GIT["repo"]}, "version"),
    ({}, "repo"),
])
def test_git_needs_repo_and_version(git: dict[str, Any], named: str) -> None:
    assert bad_code({"git": git, "wsgi_file": WSGI_FILE}) == "field 'code.git.%s': is required" % named


@pytest.mark.parametrize("key", ["branch", "dest", "depth", "src"])
def test_git_with_an_unknown_key_is_refused(key: str) -> None:
    assert bad_code({"git": dict(GIT, **{key: "x"}), "wsgi_file": WSGI_FILE}) == (
        "field 'code.git.%s': unknown field (known: repo, version)" % key)


@pytest.mark.parametrize("repo", [
    "https://git.example.com/my shop.git",  # a space
    "git@git.example.com:my shop.git",
    "my user@git.example.com:shop.git",
    "git@git example.com:shop.git",
    "/srv/git/my shop",
    "/srv/git/shop\n",
    "/srv/git/shop\tx",
    "https://git.example.com/shop'.git",    # quotes
    'https://git.example.com/"shop".git',
    "shop.git",                             # a relative path
    "/",                                    # the root folder alone is no repository
    "srv/git/shop.git",
    "-uevil",                               # git would read an option
    "--upload-pack=touch /tmp/x",
    "ext::sh -c touch% /tmp/x",             # git's command transport
    "",
    3,
    None,
    ["https://git.example.com/shop.git"],
])
def test_a_bad_git_repo_is_refused(repo: Any) -> None:
    assert bad_code({"git": dict(GIT, repo=repo), "wsgi_file": WSGI_FILE}) == "field 'code.git.repo': " + GIT_REPO % (
        repo,)


@pytest.mark.parametrize("version", [
    "-main",                      # a leading dash: git would read an option
    "--upload-pack=touch",
    "main..evil",                 # a range, not a version
    "..",
    "v1..",
    "a/../b",
    ".hidden",
    "/main",
    "v1 2",
    "main\n",
    "HEAD@{1}",
    "main~1",
    "main^",
    "a" * 201,
    "",
    3,
    None,
])
def test_a_bad_git_version_is_refused(version: Any) -> None:
    assert bad_code({"git": dict(GIT, version=version), "wsgi_file": WSGI_FILE}) == (
        "field 'code.git.version': " + GIT_VERSION % (version,))


@pytest.mark.parametrize("subdir", [
    "..", "../shop", "src/../..", "src/..", "./src", ".", "/src", "/srv/shop", "src/", "src//shop", "my src",
    "src\n", ".git", False, 3, ["src"],
])
@pytest.mark.parametrize(("source", "inside"), [
    ({"src": "trees/shop"}, "src"),
    ({"archive": "dist/shop.tar.gz"}, "archive"),
    ({"git": GIT}, "git"),
], ids=["src", "archive", "git"])
def test_a_bad_subdir_is_refused_naming_its_source(source: dict[str, Any], inside: str, subdir: Any) -> None:
    assert bad_code(dict(source, subdir=subdir, wsgi_file=WSGI_FILE)) == (
        "field 'code.subdir': " + SUBDIR % (inside, subdir))


# --- The plan's releases ----------------------------------------------------------------------


def test_releases_carry_the_source_and_subdir_but_not_the_hooks() -> None:
    hooks = [{"name": "collectstatic", "command": ["python", "manage.py", "collectstatic", "--noinput"]}]
    result = plan(
        code_project("shop", {"archive": "dist/shop-1.0.tar.gz", "subdir": "shop-1.0", "wsgi_file": WSGI_FILE}),
        code_project("blog", {"src": "trees/blog", "subdir": "src", "wsgi_file": "blog/wsgi.py", "keep": 5,
                              "hooks": hooks}),
        code_project("api", {"git": dict(GIT), "wsgi_file": "api/wsgi.py", "hooks": hooks}),
        project("plain"),
        code_project("gone", state="absent"),
    )
    assert result["releases"] == [
        {"project": "api", "git": GIT, "subdir": "", "wsgi_file": "api/wsgi.py", "keep": 3, "root": "/srv/wsgi/api"},
        {"project": "blog", "src": "trees/blog", "subdir": "src", "wsgi_file": "blog/wsgi.py", "keep": 5,
         "root": "/srv/wsgi/blog"},
        {"project": "shop", "archive": "dist/shop-1.0.tar.gz", "subdir": "shop-1.0", "wsgi_file": WSGI_FILE,
         "keep": 3, "root": "/srv/wsgi/shop"},
    ]
    # The hooks go to their own list, with each project's account.
    assert [(h["project"], h["hook"], h["user"]) for h in result["hooks"]] == [
        ("api", "collectstatic", "api"), ("blog", "collectstatic", "blog")]
    assert result["absent"] == ["gone"]


def test_a_release_from_git_is_a_copy_of_the_mapping() -> None:
    """The plan's git mapping holds repo and version only, whatever the input's object was."""
    given = dict(GIT)
    result = build_plan([code_project("shop", {"git": given, "wsgi_file": WSGI_FILE})]).to_dict()
    (release,) = result["releases"]
    assert release["git"] == GIT and release["git"] is not given


# --- data_dirs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (None, []),
    ([], []),
    (["/var/lib/shop"], ["/var/lib/shop"]),
    (["/var/lib/shop", "/srv/data/shop/uploads", "/srv/data/shop_2.0+x@y"],
     ["/var/lib/shop", "/srv/data/shop/uploads", "/srv/data/shop_2.0+x@y"]),
])
def test_data_dirs_are_a_list_of_absolute_paths(value: Optional[list[str]], expected: list[str]) -> None:
    assert one_project(plan(project("shop", data_dirs=value)), "shop")["data_dirs"] == expected


def test_a_project_without_data_dirs_has_an_empty_list() -> None:
    assert one_project(plan(project("shop")), "shop")["data_dirs"] == []


@pytest.mark.parametrize(("value", "message"), [
    (["var/lib/shop"], "field 'data_dirs[0]': " + FS_PATH % "var/lib/shop"),
    (["/var/lib/shop", "data"], "field 'data_dirs[1]': " + FS_PATH % "data"),
    (["/var/lib/shop", "/var/lib/../etc"], "field 'data_dirs[1]': must not contain '.' or '..' segments, got "
                                           "'/var/lib/../etc'"),
    (["/var/lib/shop/.."], "field 'data_dirs[0]': must not contain '.' or '..' segments, got '/var/lib/shop/..'"),
    (["/var/./lib"], "field 'data_dirs[0]': must not contain '.' or '..' segments, got '/var/./lib'"),
    (["/var/lib/shop/"], "field 'data_dirs[0]': " + FS_PATH % "/var/lib/shop/"),
    (["/var/my data"], "field 'data_dirs[0]': " + FS_PATH % "/var/my data"),
    (["/"], "field 'data_dirs[0]': " + FS_PATH % "/"),
    ([3], "field 'data_dirs[0]': " + FS_PATH.replace("%r", "3")),
    ("/var/lib/shop", "field 'data_dirs': must be a list, got '/var/lib/shop'"),
    ({"path": "/var/lib/shop"}, "field 'data_dirs': must be a list, got {'path': '/var/lib/shop'}"),
])
def test_bad_data_dirs_are_refused_naming_the_project_and_the_entry(value: Any, message: str) -> None:
    assert refused(project("shop", data_dirs=value)) == "project 'shop': " + message


@pytest.mark.parametrize("value", [["/var/lib/emb"], "/var/lib/emb"])
def test_data_dirs_are_refused_in_mode_embedded(value: Any) -> None:
    assert refused(project("emb", mode="embedded", data_dirs=value)) == "project 'emb': field 'data_dirs': " + EMBEDDED


def test_empty_data_dirs_are_allowed_in_mode_embedded() -> None:
    result = plan(project("emb", mode="embedded", data_dirs=[]))
    assert one_project(result, "emb")["data_dirs"] == [] and result["directories"] == []


# --- static[].writable ------------------------------------------------------------------------


def test_writable_is_parsed_and_defaults_to_false() -> None:
    result = plan(project("shop", static=[static("/shop/static", "/srv/static/shop", True),
                                          static("/shop/media", "/srv/media/shop", False),
                                          static("/shop/img", "/srv/img/shop")]))
    assert [e["writable"] for e in one_project(result, "shop")["static"]] == [True, False, False]
    (vhost,) = result["vhosts"]
    assert [(e["path"], e["writable"]) for e in vhost["static"]] == [
        ("/shop/static", True), ("/shop/media", False), ("/shop/img", False)]


def test_writable_is_refused_in_mode_embedded_naming_the_entry() -> None:
    emb = project("emb", mode="embedded", static=[static("/emb/s", "/srv/s/emb", False),
                                                  static("/emb/static", "/srv/static/emb", True)])
    assert refused(emb) == ("project 'emb': field 'static[1].writable': needs the project's own account, which "
                            "mode embedded has not (the app runs in Apache's own processes)")


def test_a_static_entry_that_is_not_writable_is_allowed_in_mode_embedded() -> None:
    result = plan(project("emb", mode="embedded", static=[static("/emb/static", "/srv/static/emb", False)]))
    assert result["directories"] == [{"project": "emb", "path": "/srv/static/emb"}]


# --- The plan's directories -------------------------------------------------------------------


def folder(project_name: str, path: str, owner: Optional[str] = None, group: Optional[str] = None,
           mode: Optional[str] = None) -> dict[str, str]:
    """An entry of the plan's directories; without owner, a folder wsgi_files makes root's where new and leaves
    as it is otherwise (a static folder that something else fills)."""
    if owner is None:
        return {"project": project_name, "path": path}
    assert group is not None and mode is not None
    return {"project": project_name, "path": path, "owner": owner, "group": group, "mode": mode}


def test_directories_give_each_folder_its_owner_and_mode() -> None:
    result = plan(project("shop", static=[static("/shop/static", "/srv/static/shop"),
                                          static("/shop/collected", "/srv/collected/shop", True),
                                          static("/shop/media", "/srv/media/shop", False)],
                          data_dirs=["/var/lib/shop", "/var/lib/shop-uploads"]))
    assert result["directories"] == [
        folder("shop", "/srv/static/shop"),
        folder("shop", "/srv/collected/shop", "shop", "shop", "0755"),  # filled by the project's hook
        folder("shop", "/srv/media/shop"),
        folder("shop", "/var/lib/shop", "shop", "shop", "0750"),
        folder("shop", "/var/lib/shop-uploads", "shop", "shop", "0750"),
    ]


def test_directories_list_every_static_folder_first_then_every_data_folder() -> None:
    result = plan(project("b", data_dirs=["/var/lib/b"], static=[static("/b/static", "/srv/static/b", True)]),
                  project("a", data_dirs=["/var/lib/a"], static=[static("/a/static", "/srv/static/a")]))
    assert result["directories"] == [
        folder("a", "/srv/static/a"),
        folder("b", "/srv/static/b", "b", "b", "0755"),
        folder("a", "/var/lib/a", "a", "a", "0750"),
        folder("b", "/var/lib/b", "b", "b", "0750"),
    ]


def test_directories_belong_to_the_projects_own_user_and_group() -> None:
    result = plan(project("blog", user="www-blog", group="www", data_dirs=["/var/lib/blog"],
                          static=[static("/blog/static", "/srv/static/blog", True)]),
                  project("wiki", user="wikid", data_dirs=["/var/lib/wiki"],
                          static=[static("/wiki/static", "/srv/static/wiki", True)]))
    assert result["directories"] == [
        folder("blog", "/srv/static/blog", "www-blog", "www", "0755"),
        folder("wiki", "/srv/static/wiki", "wikid", "wikid", "0755"),  # the group defaults to the user
        folder("blog", "/var/lib/blog", "www-blog", "www", "0750"),
        folder("wiki", "/var/lib/wiki", "wikid", "wikid", "0750"),
    ]


def test_a_project_in_another_projects_daemon_group_gives_its_folders_to_that_groups_account() -> None:
    result = plan(project("api", daemon="api", user="svc", group="svcgrp"),
                  project("admin", daemon="api", data_dirs=["/var/lib/admin"],
                          static=[static("/admin/static", "/srv/static/admin", True)]))
    assert (one_project(result, "admin")["user"], one_project(result, "admin")["group"]) == ("svc", "svcgrp")
    assert result["directories"] == [
        folder("admin", "/srv/static/admin", "svc", "svcgrp", "0755"),
        folder("admin", "/var/lib/admin", "svc", "svcgrp", "0750"),
    ]


def test_projects_of_a_shared_daemon_group_give_their_folders_to_its_account() -> None:
    result = plan(project("x", daemon="pool", user="pooled", data_dirs=["/var/lib/x"]),
                  project("y", daemon="pool", data_dirs=["/var/lib/y"]))
    assert result["directories"] == [
        folder("x", "/var/lib/x", "pooled", "pooled", "0750"),
        folder("y", "/var/lib/y", "pooled", "pooled", "0750"),
    ]


def test_a_code_project_has_a_writable_static_folder_for_its_hook_and_data_folders() -> None:
    hooks = [{"name": "collectstatic", "command": ["python", "manage.py", "collectstatic", "--noinput"]}]
    result = plan(code_project("shop", {"git": dict(GIT), "wsgi_file": WSGI_FILE, "hooks": hooks}, user="shopd",
                               static=[static("/shop/static", "/srv/wsgi/shop/static", True)],
                               data_dirs=["/srv/wsgi/shop/media"]))
    assert result["directories"] == [
        folder("shop", "/srv/wsgi/shop/static", "shopd", "shopd", "0755"),
        folder("shop", "/srv/wsgi/shop/media", "shopd", "shopd", "0750"),
    ]
    assert [(h["hook"], h["user"]) for h in result["hooks"]] == [("collectstatic", "shopd")]


def test_an_absent_project_has_no_directories() -> None:
    result = plan(project("shop"), project("gone", state="absent", data_dirs=["/var/lib/gone"],
                                           static=[static("/gone/static", "/srv/static/gone", True)]))
    assert result["directories"] == [] and result["absent"] == ["gone"]


# --- A static folder must not show a data folder or a repository ------------------------------


HELD = "field 'static[0].directory': %s holds the code, venv or data of project %r (%s), which Apache would then " \
       "serve as files"


@pytest.mark.parametrize(("directory", "holds", "project_named"), [
    ("/var/lib/shop", "/var/lib/shop", "shop"),                 # its own data folder
    ("/var/lib/shop/public", "/var/lib/shop", "shop"),          # inside it
    ("/var/lib/shop/a/b", "/var/lib/shop", "shop"),
    ("/var/lib", "/var/lib/shop", "shop"),                      # holding it
    ("/var", "/var/lib/shop", "shop"),
    ("/srv/data/other", "/srv/data/other", "other"),            # another project's, on another vhost
    ("/srv/data/other/media", "/srv/data/other", "other"),
    ("/srv/data", "/srv/data/other", "other"),
])
@pytest.mark.parametrize("writable", [False, True])
def test_a_static_directory_at_inside_or_holding_a_data_dir_is_refused(directory: str, holds: str,
                                                                       project_named: str, writable: bool) -> None:
    projects = [project("shop", data_dirs=["/var/lib/shop"], static=[static("/shop/static", directory, writable)]),
                project("other", port=8080, data_dirs=["/srv/data/other"])]
    assert refused(*projects) == "project 'shop': " + HELD % (directory, project_named, holds)


@pytest.mark.parametrize("directory", ["/var/lib/shop-static", "/var/lib/shopx", "/var/lib/static",
                                       "/srv/data/other2", "/srv/data/static"])
def test_a_static_directory_beside_a_data_dir_is_allowed(directory: str) -> None:
    result = plan(project("shop", data_dirs=["/var/lib/shop"], static=[static("/shop/static", directory)]),
                  project("other", port=8080, data_dirs=["/srv/data/other"]))
    assert [e["directory"] for e in result["vhosts"][0]["static"]] == [directory]


@pytest.mark.parametrize(("directory", "holds"), [
    ("/srv/wsgi/shop/repository.git", "/srv/wsgi/shop/repository.git"),
    ("/srv/wsgi/shop/repository.git/objects", "/srv/wsgi/shop/repository.git"),
    ("/srv/wsgi/shop/repository.git/refs/heads", "/srv/wsgi/shop/repository.git"),
    ("/srv/wsgi/shop", "/srv/wsgi/shop/releases"),  # the project's folder holds its releases too
])
@pytest.mark.parametrize("serving", ["shop", "www"])
def test_a_static_directory_in_a_code_projects_repository_is_refused(directory: str, holds: str,
                                                                     serving: str) -> None:
    """The host's mirror of a git project's repository holds every commit (settings, secrets): never served."""
    shop = code_project("shop", {"git": dict(GIT), "wsgi_file": WSGI_FILE})
    www = project("www", path="/www")
    (shop if serving == "shop" else www)["static"] = [static("/%s/static" % serving, directory)]
    assert refused(shop, www) == "project %r: " % serving + HELD % (directory, "shop", holds)


@pytest.mark.parametrize("source", [{"src": "trees/shop"}, {"archive": "dist/shop.zip"}], ids=["src", "archive"])
def test_the_repository_folder_of_a_code_project_is_refused_whatever_its_source(source: dict[str, Any]) -> None:
    shop = code_project("shop", dict(source, wsgi_file=WSGI_FILE),
                        static=[static("/shop/static", "/srv/wsgi/shop/repository.git")])
    assert refused(shop) == "project 'shop': " + HELD % ("/srv/wsgi/shop/repository.git", "shop",
                                                         "/srv/wsgi/shop/repository.git")


def test_the_repository_folder_follows_base_dir() -> None:
    shop = code_project("shop", {"git": dict(GIT), "wsgi_file": WSGI_FILE},
                        static=[static("/shop/static", "/opt/apps/shop/repository.git/objects")])
    assert refused(shop, base_dir="/opt/apps") == "project 'shop': " + HELD % (
        "/opt/apps/shop/repository.git/objects", "shop", "/opt/apps/shop/repository.git")
    # Under the default base, that folder is no project's.
    assert plan(shop)["directories"] == [folder("shop", "/opt/apps/shop/repository.git/objects")]


@pytest.mark.parametrize("directory", ["/srv/wsgi/shop/static", "/srv/wsgi/shop/repository.gitx",
                                       "/srv/wsgi/shop/repository", "/srv/wsgi/shop/repository-git"])
def test_a_static_directory_beside_the_repository_is_allowed(directory: str) -> None:
    result = plan(code_project("shop", {"git": dict(GIT), "wsgi_file": WSGI_FILE},
                               static=[static("/shop/static", directory)]))
    assert [e["directory"] for e in result["vhosts"][0]["static"]] == [directory]


def test_a_project_without_code_has_no_repository_folder() -> None:
    """Its script's folder may hold a static folder of any name, repository.git too."""
    result = plan(project("www", static=[static("/www/static", "/srv/wsgi/www/repository.git")]))
    assert [e["directory"] for e in result["vhosts"][0]["static"]] == ["/srv/wsgi/www/repository.git"]


# --- A git repo: no control characters, no host git could read as an option -------------------


@pytest.mark.parametrize("repo", [
    "https://git.example.com/sh\x00op.git",     # NUL
    "/srv/git/shop\x00",
    "https://git.example.com/sh\x1bop.git",     # ESC
    "git@git.example.com:team/sh\x1b[31mop.git",
    "https://git.example.com/shop\x7f.git",     # DEL
    "/srv/git/sh\x7fop",
    "git@git.example.com:shop\x01.git",         # any other control character
    "file:///srv/git/shop\x1f.git",
    "https://git.example.com/shop\t.git",       # a tab, in each form
    "git@git.example.com:shop\t.git",
    "/srv/git/shop\t",
    "https://git.example.com/shop.git\r",
    "ssh://-oProxyCommand=x/y",                 # a host git would hand to ssh as an option
    "https://-x/y",
    "git+ssh://-oProxyCommand=touch/y",
    "ssh://-/y",
    "ssh://x@-oProxyCommand=x/y",               # a dash right after the user's '@': the host is an option
    "ssh://deploy@-oProxyCommand=x:2222/y",
    "https://user:secret@-x/y",
    "git+ssh://git@-oProxyCommand=touch/y",
    "ssh://a@b@-x/y",
    "git@-oProxy:y",                            # the same in the scp-like form
    "git@-:y",
    "deploy@-oProxyCommand=touch:shop.git",
])
def test_a_git_repo_with_a_control_character_or_an_option_as_host_is_refused(repo: str) -> None:
    assert refused(code_project("shop", {"git": dict(GIT, repo=repo), "wsgi_file": WSGI_FILE})) == (
        "project 'shop': field 'code.git.repo': " + GIT_REPO % (repo,))


@pytest.mark.parametrize("repo", [
    "https://git.example.com/shop.git",
    "ssh://deploy@git.example.com/srv/git/shop.git",
    "ssh://git.example.com/shop.git",
    "git@git.example.com:shop.git",
    "file:///srv/git/shop.git",
    "/srv/git/shop.git",
    # A dash anywhere but first after "://" is no option.
    "https://git.example.com/-shop.git",
    "ssh://deploy@git-1.example.com/-/shop.git",
    "/srv/git/-shop",
    # "@-" in the path, after the host, is no option either.
    "ssh://git@git.example.com/team@-x/shop.git",
    "https://git.example.com/team@-x/shop.git",
    "git@git-1.example.com:team/shop.git",
])
def test_a_git_repo_of_each_form_without_control_characters_is_accepted(repo: str) -> None:
    assert plan(code_project("shop", {"git": dict(GIT, repo=repo), "wsgi_file": WSGI_FILE}))["releases"][0][
        "git"] == dict(GIT, repo=repo)


# --- The folders a project's account owns (data_dirs, writable static) ------------------------


SYSTEM = ("field '%s': %s is a system folder, which the project's account must not own; give a folder of its own "
          "such as %s/shop/data")
HOLDS = "field '%s': %s holds %s (%s), which the project's account must not own"
LIES_IN = "field '%s': %s lies in the venv or code of project %r (%s)"
ONE_OWNER = "field '%s': %s is also given by project %r (%s), %s; one folder has one owner"
NESTED = ("field '%s': %s and project %r's %s (%s, owned by %s) lie one in the other; one account's folder must not "
          "hold another's")


def owning(path: str, as_static: bool, **fields: Any) -> dict[str, Any]:
    """Project shop given ``path`` as its data folder, or as its writable static folder."""
    if as_static:
        return project("shop", static=[static("/shop/static", path, True)], **fields)
    return project("shop", data_dirs=[path], **fields)


def field_of(as_static: bool) -> str:
    return "static[0].directory" if as_static else "data_dirs[0]"


AS_STATIC = pytest.mark.parametrize("as_static", [False, True], ids=["data_dir", "writable_static"])


@AS_STATIC
@pytest.mark.parametrize("path", [
    "/data", "/var", "/opt", "/home", "/etc", "/tmp",             # top-level folders: fewer than two slashes
    "/var/lib", "/var/log", "/var/www", "/var/backups", "/srv/git",  # SYSTEM_FOLDERS
    "/usr", "/usr/local", "/usr/share", "/etc/ssl", "/etc/apache2", "/etc/httpd", "/etc/systemd", "/usr/bin",
    "/run", "/boot", "/root",                                     # SYSTEM_TREES themselves
])
def test_an_owned_folder_that_is_a_system_folder_is_refused(path: str, as_static: bool) -> None:
    assert refused(owning(path, as_static)) == "project 'shop': " + SYSTEM % (field_of(as_static), path, "/srv/wsgi")


def test_the_system_folder_message_suggests_a_folder_under_base_dir() -> None:
    assert refused(owning("/var/lib", False), base_dir="/opt/apps") == (
        "project 'shop': " + SYSTEM % ("data_dirs[0]", "/var/lib", "/opt/apps"))


def test_the_system_folder_rule_comes_before_the_base_folder_rule() -> None:
    """/srv holds the base folder /srv/wsgi, but is refused first as a top-level folder."""
    assert refused(owning("/srv", False)) == "project 'shop': " + SYSTEM % ("data_dirs[0]", "/srv", "/srv/wsgi")


@AS_STATIC
@pytest.mark.parametrize("path", [
    "/etc/systemd/system", "/usr/local/bin", "/etc/cron.d/x", "/run/shop", "/usr/local/shop", "/usr/lib/shop/data",
    "/root/shop", "/boot/grub", "/etc/ssl/private", "/etc/sudoers.d/shop", "/etc/apache2/sites-enabled",
])
def test_an_owned_folder_anywhere_in_a_system_tree_is_refused(path: str, as_static: bool) -> None:
    """SYSTEM_TREES hold what root reads or runs: every folder in them is a system folder."""
    assert refused(owning(path, as_static)) == "project 'shop': " + SYSTEM % (field_of(as_static), path, "/srv/wsgi")


@AS_STATIC
@pytest.mark.parametrize("path", [
    "/var/lib/shop", "/var/log/shop", "/var/www/shop", "/srv/git/shop",   # inside a system folder: its own
    "/srv/data", "/srv/static", "/var/libx", "/opt/shop",
    "/etc/keystone",                                  # operators keep keystone's keys there
    "/etc/systemdx", "/etc/ssl-shop", "/srv/usr", "/opt/run/shop",  # beside a system tree, or a namesake elsewhere
])
def test_an_owned_folder_below_or_beside_a_system_folder_is_accepted(path: str, as_static: bool) -> None:
    result = plan(owning(path, as_static))
    assert [(d["path"], d.get("owner")) for d in result["directories"]] == [(path, "shop")]


@pytest.mark.parametrize("path", ["/data", "/var/www", "/usr/share", "/opt"])
def test_a_static_folder_of_root_may_be_a_system_folder(path: str) -> None:
    """Only the folders the project's account is given must not be system folders: root's stay root's."""
    result = plan(project("shop", static=[static("/shop/static", path, False)]))
    assert result["directories"] == [folder("shop", path)]
    result = plan(project("shop", static=[static("/shop/static", path)]))  # writable left out: false
    assert result["directories"] == [folder("shop", path)]


@AS_STATIC
@pytest.mark.parametrize("path", ["/opt/apps", "/opt/apps/wsgi"])
def test_an_owned_folder_holding_or_being_the_base_folder_is_refused(path: str, as_static: bool) -> None:
    assert refused(owning(path, as_static), base_dir="/opt/apps/wsgi") == "project 'shop': " + HOLDS % (
        field_of(as_static), path, "the projects' base folder", "/opt/apps/wsgi")


@pytest.mark.parametrize("path", ["/srv/wsgi", "/srv/wsgi/shop"])
def test_a_data_dir_holding_or_being_a_folder_under_the_default_base_is_refused(path: str) -> None:
    """/srv/wsgi is the base itself (named before the project's folder); /srv/wsgi/shop the project's folder."""
    held = ("the projects' base folder", "/srv/wsgi") if path == "/srv/wsgi" else (
        "the folder or script of project 'shop'", "/srv/wsgi/shop")
    assert refused(owning(path, False)) == "project 'shop': " + HOLDS % (("data_dirs[0]", path) + held)


@AS_STATIC
@pytest.mark.parametrize(("path", "named", "held"), [
    ("/opt/apps/wsgi/shop", "shop", "/opt/apps/wsgi/shop"),         # its own folder
    ("/opt/apps/wsgi/other", "other", "/opt/apps/wsgi/other"),      # another project's folder
])
def test_an_owned_folder_being_a_projects_folder_is_refused(path: str, named: str, held: str,
                                                            as_static: bool) -> None:
    """The scripts live elsewhere here (/srv/wsgi/NAME), so no static rule stops these first."""
    assert refused(owning(path, as_static), project("other"), base_dir="/opt/apps/wsgi") == (
        "project 'shop': " + HOLDS % (field_of(as_static), path, "the folder or script of project %r" % named, held))


def test_a_data_dir_holding_another_projects_folder_is_refused() -> None:
    shop = project("shop", data_dirs=["/srv/apps"], script="/opt/shop/shop.wsgi")
    assert refused(shop, project("other"), base_dir="/srv/apps/wsgi") == "project 'shop': " + HOLDS % (
        "data_dirs[0]", "/srv/apps", "the projects' base folder", "/srv/apps/wsgi")
    assert refused(project("shop", data_dirs=["/srv/wsgi/other"]), project("other")) == (
        "project 'shop': " + HOLDS % ("data_dirs[0]", "/srv/wsgi/other", "the folder or script of project 'other'",
                                      "/srv/wsgi/other"))


@pytest.mark.parametrize("path", ["/opt/app", "/opt", "/opt/app/app.wsgi"])
def test_a_data_dir_holding_or_being_a_projects_script_is_refused(path: str) -> None:
    app = project("app", script="/opt/app/app.wsgi", data_dirs=[path])
    message = refused(app)
    if path == "/opt":
        assert message == "project 'app': " + SYSTEM.replace("shop", "app") % ("data_dirs[0]", path, "/srv/wsgi")
    else:
        assert message == "project 'app': " + HOLDS % ("data_dirs[0]", path, "the folder or script of project 'app'",
                                                       "/opt/app/app.wsgi")


def test_a_data_dir_holding_another_projects_script_is_refused() -> None:
    assert refused(project("a", script="/opt/a/a.wsgi"), project("b", data_dirs=["/opt/a"])) == (
        "project 'b': " + HOLDS % ("data_dirs[0]", "/opt/a", "the folder or script of project 'a'", "/opt/a/a.wsgi"))


def test_a_writable_static_folder_holding_a_projects_script_is_refused_as_serving_it_first() -> None:
    """_static_mounts runs first: the static rule names the script's folder."""
    app = project("app", script="/opt/app/app.wsgi", static=[static("/app/static", "/opt/app", True)])
    assert refused(app) == "project 'app': " + HELD % ("/opt/app", "app", "/opt/app")


@pytest.mark.parametrize("path", ["/srv/wsgi/shop/data", "/srv/wsgi/shop/media/uploads", "/srv/wsgi/shopx",
                                  "/srv/wsgi-data/shop", "/opt/app-data"])
def test_a_data_dir_beside_the_folders_and_scripts_is_accepted(path: str) -> None:
    result = plan(project("shop", data_dirs=[path]), project("app", script="/opt/app/app.wsgi"))
    assert [d["path"] for d in result["directories"]] == [path]


@pytest.mark.parametrize(("path", "held"), [
    ("/opt/venvs/shop", "/opt/venvs/shop"),
    ("/opt/venvs/shop/var", "/opt/venvs/shop"),
    ("/opt/venvs/shop/lib/python3/site-packages", "/opt/venvs/shop"),
])
def test_a_data_dir_in_a_venv_is_refused(path: str, held: str) -> None:
    shop = project("shop", python_home="/opt/venvs/shop", data_dirs=[path])
    # The venv itself is refused as a folder the data folder holds; below it, as a folder in the venv.
    expected = (HOLDS % ("data_dirs[0]", path, "the venv or python-path of project 'shop'", held) if path == held
                else LIES_IN % ("data_dirs[0]", path, "shop", held))
    assert refused(shop) == "project 'shop': " + expected


@pytest.mark.parametrize("path", ["/opt/venvs/a/data", "/opt/venvs/a"])
def test_a_data_dir_in_another_projects_venv_is_refused(path: str) -> None:
    expected = (HOLDS % ("data_dirs[0]", path, "the venv or python-path of project 'a'", "/opt/venvs/a")
                if path == "/opt/venvs/a" else LIES_IN % ("data_dirs[0]", path, "a", "/opt/venvs/a"))
    assert refused(project("a", python_home="/opt/venvs/a"), project("b", data_dirs=[path])) == (
        "project 'b': " + expected)


# The account owning a folder may rename what lies in it and put its own in its place: a data folder holding a
# venv (or a python_path folder) would hand that venv's code to the account, as one holding a script does.
@pytest.mark.parametrize(("owner", "path", "home"), [
    ("b", "/opt/venvs", "/opt/venvs/a"),
    ("b", "/opt/venvs", "/opt/venvs/py3/a"),
    ("a", "/opt/venvs", "/opt/venvs/a"),
], ids=["another_projects_venv", "above_it", "its_own_venv"])
def test_a_data_dir_holding_a_venv_is_refused(owner: str, path: str, home: str) -> None:
    projects = {"a": project("a", python_home=home), "b": project("b")}
    projects[owner]["data_dirs"] = [path]
    assert refused(*projects.values()) == "project %r: " % owner + HOLDS % (
        "data_dirs[0]", path, "the venv or python-path of project 'a'", home)


def test_a_data_dir_holding_another_projects_python_path_folder_is_refused() -> None:
    assert refused(project("a", python_path=["/opt/lib/a"]), project("b", data_dirs=["/opt/lib"])) == (
        "project 'b': " + HOLDS % ("data_dirs[0]", "/opt/lib", "the venv or python-path of project 'a'", "/opt/lib/a"))


@pytest.mark.parametrize(("path", "held"), [
    ("/srv/wsgi/shop/releases", "/srv/wsgi/shop/releases"),
    ("/srv/wsgi/shop/releases/0123456789abcdef/media", "/srv/wsgi/shop/releases"),
    ("/srv/wsgi/shop/current/media", "/srv/wsgi/shop/current"),
    ("/srv/wsgi/shop/repository.git", "/srv/wsgi/shop/repository.git"),
    ("/srv/wsgi/shop/repository.git/hooks", "/srv/wsgi/shop/repository.git"),
])
@pytest.mark.parametrize("owner", ["shop", "www"])
def test_a_data_dir_in_a_code_projects_releases_current_or_mirror_is_refused(path: str, held: str,
                                                                             owner: str) -> None:
    shop = code_project("shop", {"git": dict(GIT), "wsgi_file": WSGI_FILE})
    www = project("www")
    (shop if owner == "shop" else www)["data_dirs"] = [path]
    assert refused(shop, www) == "project %r: " % owner + LIES_IN % ("data_dirs[0]", path, "shop", held)


def test_a_data_dir_being_a_code_projects_current_holds_its_script() -> None:
    """`current` itself holds the WSGI file: the script rule, checked before the code rule, names it."""
    shop = code_project("shop", {"git": dict(GIT), "wsgi_file": WSGI_FILE}, data_dirs=["/srv/wsgi/shop/current"])
    assert refused(shop) == "project 'shop': " + HOLDS % (
        "data_dirs[0]", "/srv/wsgi/shop/current", "the folder or script of project 'shop'",
        "/srv/wsgi/shop/current/shop/wsgi.py")


@pytest.mark.parametrize("path", ["/srv/wsgi/shop/media", "/srv/wsgi/shop/releases-old", "/srv/wsgi/shop/currentx",
                                  "/srv/wsgi/shop/repository"])
def test_a_data_dir_beside_a_code_projects_releases_is_accepted(path: str) -> None:
    result = plan(code_project("shop", {"git": dict(GIT), "wsgi_file": WSGI_FILE}, data_dirs=[path]))
    assert [d["path"] for d in result["directories"]] == [path]


@pytest.mark.parametrize(("directory", "held"), [
    ("/srv/wsgi/shop/current/static", "/srv/wsgi/shop/current"),
    ("/srv/wsgi/shop/current/shop/static", "/srv/wsgi/shop/current"),
    ("/srv/wsgi/shop/current", "/srv/wsgi/shop/current"),
    ("/srv/wsgi/shop/releases/0123456789abcdef/static", "/srv/wsgi/shop/releases"),
])
@pytest.mark.parametrize("writable", [False, True])
@pytest.mark.parametrize("serving", ["shop", "www"])
def test_a_static_directory_in_a_code_projects_current_or_releases_is_refused(directory: str, held: str,
                                                                              writable: bool, serving: str) -> None:
    """A release holds the code (settings too): Apache serves none of it, even the release's own static folder."""
    shop = code_project("shop", {"src": "trees/shop", "wsgi_file": WSGI_FILE})
    www = project("www")
    (shop if serving == "shop" else www)["static"] = [static("/%s/static" % serving, directory, writable)]
    assert refused(shop, www) == "project %r: " % serving + HELD % (directory, "shop", held)


def test_one_folder_with_two_owners_is_refused_data_dirs() -> None:
    assert refused(project("a", data_dirs=["/srv/data/shared"]), project("b", data_dirs=["/srv/data/shared"])) == (
        "project 'b': " + ONE_OWNER % ("data_dirs[0]", "/srv/data/shared", "a", "data_dirs[0]", "owned by a:a"))


def test_one_folder_of_one_user_with_two_groups_is_refused() -> None:
    """The owner is user and group: the same user with another group is another owner."""
    a = project("a", user="svc", group="web", data_dirs=["/srv/data/shared"])
    b = project("b", user="svc", group="batch", data_dirs=["/srv/data/shared"])
    assert refused(a, b) == (
        "project 'b': " + ONE_OWNER % ("data_dirs[0]", "/srv/data/shared", "a", "data_dirs[0]", "owned by svc:web"))


def test_a_writable_static_folder_of_one_user_with_two_groups_is_refused() -> None:
    a = project("a", user="svc", group="web", static=[static("/a/static", "/srv/static/common", True)])
    b = project("b", user="svc", group="batch", static=[static("/b/static", "/srv/static/common", True)])
    assert refused(a, b) == "project 'b': " + ONE_OWNER % (
        "static[0].directory", "/srv/static/common", "a", "static[0].directory", "owned by svc:web")


def test_one_folder_of_one_user_and_one_group_is_accepted() -> None:
    result = plan(project("a", user="svc", group="web", data_dirs=["/srv/data/shared"]),
                  project("b", user="svc", group="web", data_dirs=["/srv/data/shared"]))
    assert result["directories"] == [folder("a", "/srv/data/shared", "svc", "web", "0750"),
                                     folder("b", "/srv/data/shared", "svc", "web", "0750")]


def test_one_folder_with_two_owners_names_the_first_in_name_order() -> None:
    """The projects are checked by name, whatever their order in wsgi_projects."""
    b = project("b", data_dirs=["/srv/data/shared"])
    a = project("a", data_dirs=["/srv/x", "/srv/data/shared"], user="alice")
    assert refused(b, a) == (
        "project 'b': " + ONE_OWNER % ("data_dirs[0]", "/srv/data/shared", "a", "data_dirs[1]", "owned by alice:alice"))


def test_a_writable_static_folder_that_is_another_projects_root_static_folder_is_refused() -> None:
    a = project("a", static=[static("/a/static", "/srv/static/common", True)])
    b = project("b", static=[static("/b/static", "/srv/static/common")])
    assert refused(a, b) == "project 'b': " + ONE_OWNER % (
        "static[0].directory", "/srv/static/common", "a", "static[0].directory", "owned by a:a")


def test_a_root_static_folder_that_is_another_projects_writable_one_is_refused() -> None:
    a = project("a", static=[static("/a/img", "/srv/static/img"), static("/a/static", "/srv/static/common", False)])
    b = project("b", static=[static("/b/static", "/srv/static/common", True)])
    assert refused(a, b) == "project 'b': " + ONE_OWNER % (
        "static[0].directory", "/srv/static/common", "a", "static[1].directory", "root's")


def test_a_writable_static_folder_of_two_accounts_is_refused() -> None:
    a = project("a", static=[static("/a/static", "/srv/static/common", True)])
    b = project("b", static=[static("/b/static", "/srv/static/common", True)])
    assert refused(a, b) == "project 'b': " + ONE_OWNER % (
        "static[0].directory", "/srv/static/common", "a", "static[0].directory", "owned by a:a")


@pytest.mark.parametrize(("a_dirs", "b_dirs", "paths"), [
    # b's folder in a's, then a's folder in b's: the one checked second names the first.
    (["/srv/data/a"], ["/srv/data/a/b"], ("/srv/data/a/b", "/srv/data/a")),
    (["/srv/data/a/inner"], ["/srv/data/a"], ("/srv/data/a", "/srv/data/a/inner")),
    (["/srv/data/x", "/srv/data/a"], ["/srv/data/a/b/c"], ("/srv/data/a/b/c", "/srv/data/a")),
], ids=["inner_second", "outer_second", "deeper"])
def test_nested_data_dirs_of_two_accounts_are_refused(a_dirs: list[str], b_dirs: list[str],
                                                      paths: tuple[str, str]) -> None:
    """The projects are checked by name: b's folder (given second, here first) is named against a's."""
    inner_or_outer, other = paths
    a_field = "data_dirs[%d]" % a_dirs.index(other)
    assert refused(project("b", data_dirs=b_dirs), project("a", data_dirs=a_dirs)) == "project 'b': " + NESTED % (
        "data_dirs[0]", inner_or_outer, "a", a_field, other, "a:a")


@pytest.mark.parametrize(("a_dir", "b_dir"), [
    ("/srv/static/a", "/srv/static/a/b"),
    ("/srv/static/a/b", "/srv/static/a"),
], ids=["inner_second", "outer_second"])
def test_nested_writable_static_folders_of_two_accounts_are_refused(a_dir: str, b_dir: str) -> None:
    a = project("a", static=[static("/a/static", a_dir, True)])
    b = project("b", static=[static("/b/static", b_dir, True)])
    assert refused(a, b) == "project 'b': " + NESTED % (
        "static[0].directory", b_dir, "a", "static[0].directory", a_dir, "a:a")


def test_nested_folders_of_one_user_with_two_groups_are_refused() -> None:
    a = project("a", user="svc", group="web", data_dirs=["/srv/data/a"])
    b = project("b", user="svc", group="batch", data_dirs=["/srv/data/a/b"])
    assert refused(a, b) == "project 'b': " + NESTED % ("data_dirs[0]", "/srv/data/a/b", "a", "data_dirs[0]",
                                                        "/srv/data/a", "svc:web")


@pytest.mark.parametrize("dirs", [["/srv/data/a", "/srv/data/a/b"], ["/srv/data/a/b", "/srv/data/a"]],
                         ids=["outer_first", "inner_first"])
def test_nested_data_dirs_of_one_project_are_accepted(dirs: list[str]) -> None:
    result = plan(project("a", data_dirs=dirs))
    assert result["directories"] == [folder("a", path, "a", "a", "0750") for path in dirs]


def test_nested_folders_of_two_projects_with_one_account_are_accepted() -> None:
    """The projects of one daemon group share its account: one owner, whichever folder holds the other."""
    result = plan(project("x", daemon="pool", user="pooled", data_dirs=["/srv/data/pool/x"],
                          static=[static("/x/static", "/srv/static/pool", True)]),
                  project("y", daemon="pool", data_dirs=["/srv/data/pool"],
                          static=[static("/y/static", "/srv/static/pool/y", True)]))
    assert result["directories"] == [
        folder("x", "/srv/static/pool", "pooled", "pooled", "0755"),
        folder("y", "/srv/static/pool/y", "pooled", "pooled", "0755"),
        folder("x", "/srv/data/pool/x", "pooled", "pooled", "0750"),
        folder("y", "/srv/data/pool", "pooled", "pooled", "0750"),
    ]


def test_a_writable_static_folder_that_is_a_data_dir_is_refused_as_serving_the_data() -> None:
    """Same owner, but _static_mounts refuses first: Apache would serve the data."""
    shop = project("shop", data_dirs=["/srv/data/shop"], static=[static("/shop/static", "/srv/data/shop", True)])
    assert refused(shop) == "project 'shop': " + HELD % ("/srv/data/shop", "shop", "/srv/data/shop")


def test_a_root_static_folder_of_two_projects_is_accepted() -> None:
    result = plan(project("a", static=[static("/a/static", "/srv/static/common")]),
                  project("b", static=[static("/b/static", "/srv/static/common", False)]))
    assert result["directories"] == [folder("a", "/srv/static/common"), folder("b", "/srv/static/common")]


def test_the_same_data_dir_twice_in_one_project_is_accepted_and_listed_twice() -> None:
    result = plan(project("shop", data_dirs=["/srv/data/shop", "/srv/data/shop"]))
    assert result["directories"] == [folder("shop", "/srv/data/shop", "shop", "shop", "0750")] * 2


def test_the_same_data_dir_of_two_projects_with_one_account_is_accepted() -> None:
    """One owner: the projects of one daemon group share its account."""
    result = plan(project("x", daemon="pool", user="pooled", data_dirs=["/srv/data/pool"]),
                  project("y", daemon="pool", data_dirs=["/srv/data/pool"]))
    assert result["directories"] == [folder("x", "/srv/data/pool", "pooled", "pooled", "0750"),
                                     folder("y", "/srv/data/pool", "pooled", "pooled", "0750")]


def test_the_folders_of_an_absent_project_are_not_checked() -> None:
    """An absent project owns nothing any more; its folders may go to another."""
    result = plan(project("gone", state="absent", data_dirs=["/srv/data/x"]),
                  project("shop", data_dirs=["/srv/data/x"]))
    assert result["directories"] == [folder("shop", "/srv/data/x", "shop", "shop", "0750")]


# --- static[].writable: null is false, a string is refused -----------------------------------


def test_writable_null_is_false() -> None:
    entry = {"path": "/shop/static", "directory": "/srv/static/shop", "writable": None}
    result = plan(project("shop", static=[entry]))
    assert [e["writable"] for e in one_project(result, "shop")["static"]] == [False]
    assert result["directories"] == [folder("shop", "/srv/static/shop")]


def test_writable_null_is_allowed_in_mode_embedded() -> None:
    entry = {"path": "/emb/static", "directory": "/srv/static/emb", "writable": None}
    assert plan(project("emb", mode="embedded", static=[entry]))["directories"] == [folder("emb", "/srv/static/emb")]


def test_writable_null_may_be_a_system_folder() -> None:
    """null is false, so root's: the system-folder rule of owned folders does not apply."""
    entry = {"path": "/shop/static", "directory": "/var/www", "writable": None}
    assert plan(project("shop", static=[entry]))["directories"] == [folder("shop", "/var/www")]


@pytest.mark.parametrize("value", ["yes", "true", "false", "", 1, 0, [], {}])
def test_writable_that_is_no_boolean_is_refused(value: Any) -> None:
    entry = {"path": "/shop/static", "directory": "/srv/static/shop", "writable": value}
    assert refused(project("shop", static=[static("/shop/img", "/srv/img/shop"), entry])) == (
        "project 'shop': field 'static[1].writable': must be true or false, got %r" % (value,))


NESTED_ROOTS = ("field '%s': %s and project %r's %s (%s, root's) lie one in the other; one account's folder must "
                "not hold another's")


@pytest.mark.parametrize(("a_dir", "b_dir"), [
    ("/srv/static/common/a", "/srv/static/common"),
    ("/srv/static", "/srv/static/b"),
], ids=["writable_holds_roots", "roots_holds_writable"])
def test_a_writable_folder_and_another_projects_root_static_folder_may_not_nest(a_dir: str, b_dir: str) -> None:
    """b could replace the files served at a's URLs, or a's URLs would serve what b writes."""
    a = project("a", static=[static("/a/static", a_dir)])
    b = project("b", static=[static("/b/static", b_dir, True)])
    assert refused(a, b) == "project 'b': " + NESTED_ROOTS % ("static[0].directory", b_dir, "a", "static[0].directory",
                                                              a_dir)


def test_a_root_static_folder_after_another_projects_writable_one_is_checked_too() -> None:
    """The root folder comes second (project b): the pair is caught from its side."""
    a = project("a", static=[static("/a/static", "/srv/static/a", True)])
    b = project("b", static=[static("/b/static", "/srv/static")])
    assert refused(a, b) == "project 'b': " + NESTED % ("static[0].directory", "/srv/static", "a", "static[0].directory",
                                                        "/srv/static/a", "a:a")


def test_one_projects_root_and_writable_static_folders_may_nest() -> None:
    site = project("site", static=[static("/site/static", "/srv/static/site"),
                                   static("/site/uploads", "/srv/static/site/uploads", True)])
    result = plan(site)
    assert [(d["path"], d.get("owner")) for d in result["directories"]] == [
        ("/srv/static/site", None), ("/srv/static/site/uploads", "site")]
