"""`python -m dbcicd` is the same as the `dbcicd` command."""

from dbcicd.entry.cli import entrypoint

entrypoint()
