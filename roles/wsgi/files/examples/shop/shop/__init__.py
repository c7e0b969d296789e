"""A small Django project, shipped by the wsgi role from a git repository as releases."""

VERSION = "1"
