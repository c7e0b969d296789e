# shellcheck shell=bash
# Sourced by the scripts in this folder: the tool chain from scripts/bootstrap
# and this checkout seen as the collection modwsgi.fleet.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODWSGI_WORK=${MODWSGI_WORK:-$HOME/.cache/modwsgi-fleet}
VENV=${VENV:-$MODWSGI_WORK/venv}
# shellcheck disable=SC1091
. "$VENV/bin/activate"
collections="$here/.ansible/collections"
mkdir -p "$collections/ansible_collections/modwsgi"
ln -sfn "$here" "$collections/ansible_collections/modwsgi/fleet"
# The venv's site-packages (collections of the "ansible" package) are searched too.
export ANSIBLE_COLLECTIONS_PATH="$collections"
export PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
