"""The OpenStack example converged: real keystone issues and validates tokens through its rendered vhost."""

import base64
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "common"))
from fleet_host import SHARED_CONF, daemons, get  # noqa: E402  pylint: disable=wrong-import-position

KEYSTONE = "http://127.0.0.1:5000"
DATA = "/srv/wsgi/keystone/data"
STAND_INS = {"nova-api": 8774, "placement": 8778, "glance-api": 9292, "cinder-api": 8776}


def auth_body(password, scope=True):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}}}}
    if scope:
        body["auth"]["scope"] = {"project": {"name": "admin", "domain": {"id": "default"}}}
    return json.dumps(body)


def request(host, method, path, body=None, headers=()):
    """curl from inside the container; (status, headers as a dict with lower-case names, body)."""
    args = ["curl", "-s", "-D", "-", "-X", method]
    for header in headers:
        args += ["-H", header]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    command = " ".join(["%s"] * len(args))
    if body is not None:
        command = "echo %s | base64 -d | " + command
        args = [base64.b64encode(body.encode()).decode()] + args
    result = host.run(command + " %s", *args, KEYSTONE + path)
    head, _blank, text = result.stdout.partition("\r\n\r\n")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return status, fields, text


def admin_password(host):
    return host.check_output("cat %s/admin_password", DATA).strip()


def test_keystone_issues_a_token_and_validates_it(host):
    """POST /v3/auth/tokens answers 201 with X-Subject-Token; GET /v3/auth/tokens with it answers 200."""
    status, fields, text = request(host, "POST", "/v3/auth/tokens", auth_body(admin_password(host)))
    assert status == 201, text
    token = fields["x-subject-token"]
    issued = json.loads(text)["token"]
    assert issued["user"]["name"] == "admin" and issued["project"]["name"] == "admin"
    assert "identity" in [entry["type"] for entry in issued["catalog"]], "bootstrap registered the endpoint"
    status, _fields, text = request(host, "GET", "/v3/auth/tokens",
                                    headers=["X-Auth-Token: %s" % token, "X-Subject-Token: %s" % token])
    assert status == 200, text
    assert json.loads(text)["token"]["audit_ids"] == issued["audit_ids"]


def test_keystone_refuses_a_wrong_password_and_a_made_up_token(host):
    status, _fields, _text = request(host, "POST", "/v3/auth/tokens", auth_body("not-the-password"))
    assert status == 401
    status, _fields, _text = request(host, "GET", "/v3/auth/tokens",
                                     headers=["X-Auth-Token: gAAAAAmadeup", "X-Subject-Token: gAAAAAmadeup"])
    assert status == 401


def test_keystone_is_the_pinned_release_in_its_own_venv_and_daemon_group(host):
    shown = host.check_output("/srv/wsgi/keystone/venv/bin/pip show keystone")
    assert "Version: 30.0.0" in shown.splitlines()
    groups = {name for _user, name in daemons(host).values()}
    users = {user for user, name in daemons(host).values() if name == "keystone"}
    assert groups == {"keystone", *STAND_INS} and users == {"keystone"}
    current = host.file("/srv/wsgi/keystone/current")
    assert current.is_symlink and re.fullmatch(r"releases/[0-9a-f]{16}", current.linked_to.split("/srv/wsgi/keystone/")[-1])


def test_keystone_runs_in_the_main_interpreter_with_the_authorization_header(host):
    text = host.file(SHARED_CONF).content_string
    (vhost,) = re.findall(r"<VirtualHost \*:5000>(.*?)</VirtualHost>", text, re.S)
    assert 'WSGIApplicationGroup %{GLOBAL}' in vhost and "WSGIPassAuthorization On" in vhost
    assert 'WSGIScriptAlias / "/srv/wsgi/keystone/current/keystone.wsgi"' in vhost


def test_keystone_keeps_its_state_in_its_data_folder(host):
    """Keys, database and the admin password outlive releases, readable by keystone only."""
    folder = host.file(DATA)
    assert (folder.user, folder.group, folder.mode) == ("keystone", "keystone", 0o750)
    for name in ("fernet-keys", "credential-keys"):
        keys = host.file("%s/%s" % (DATA, name))
        assert (keys.user, keys.mode) == ("keystone", 0o700)
        assert host.file("%s/%s/0" % (DATA, name)).exists
    password = host.file("%s/admin_password" % DATA)
    assert (password.user, password.mode) == ("keystone", 0o600)
    assert host.file("%s/keystone.db" % DATA).user == "keystone"


def test_the_other_apis_are_stand_ins_that_answer(host):
    for name, port in STAND_INS.items():
        status, body = get(host, port, "/")
        assert status == 200, (name, body)
        assert json.loads(body)["process_group"] == name
