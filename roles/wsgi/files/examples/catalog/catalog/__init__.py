"""A small package shipped as a code tree (the wsgi role's `code`): each version is a release."""

VERSION = "1"
