"""`python -m dbcicd` is the same as the `dbcicd` command."""

from dbcicd.cli import entrypoint

entrypoint()
