"""dbutils.secrets in the notebook kernel: values read from the workspace's secret store, redacted wherever the
process writes them whole (print, logging, raw stream writes, the failure it reports), and only there."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from kernel_helpers import Workspace, notebook

from dbcicd_localworkspace.runtime import secret_store

VALUE = "s3cr3t-value-42"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / secret_store.FILE_NAME)
    entry = {"value": base64.b64encode(VALUE.encode()).decode(), "updated": 0}
    secret_store.save(path, {"ci": {"backend_type": "DATABRICKS", "acls": {}, "secrets": {"token": entry}}})
    return path


def test_values_are_redacted_in_every_stream_but_not_when_transformed(ws: Workspace, store: str) -> None:
    """print, a logging handler made before the read, and sys.stderr.write all show [REDACTED]; a reversed value is
    not recognised ("applies only to literals", Databricks' Secret redaction page); the value itself is intact."""
    source = notebook(
        "import logging, sys\nlogging.basicConfig(level=logging.INFO, format='%(message)s')\n",
        "value = dbutils.secrets.get('ci', 'token')\n"
        "print('password is', value)\n"
        "logging.info('connecting with %s', value)\n"
        "sys.stderr.write(f'[{value}]\\n')\n"
        "print('reversed', value[::-1])\n"
        "dbutils.notebook.exit(str(len(value)))\n",
    )
    result = ws.run(ws.write("nb.py", source), secrets_file=store)
    assert result.code == 0, result.stderr
    assert result.exit_value == str(len(VALUE))
    assert "password is [REDACTED]" in result.stdout
    assert "connecting with [REDACTED]" in result.stderr and "[[REDACTED]]" in result.stderr
    assert f"reversed {VALUE[::-1]}" in result.stdout
    assert VALUE not in result.stdout + result.stderr


def test_missing_scope_key_and_store(ws: Workspace, store: str) -> None:
    """Unknown keys and scopes fail with the names; without a store there are no scopes."""
    missing_key = ws.run(ws.write("a.py", notebook("dbutils.secrets.get('ci', 'nope')\n")), secrets_file=store)
    assert missing_key.error == "ValueError: Secret does not exist with scope: ci and key: nope"
    missing_scope = ws.run(ws.write("b.py", notebook("dbutils.secrets.list('other')\n")), secrets_file=store)
    assert missing_scope.error == "ValueError: Secret scope other does not exist"
    no_store = ws.run(ws.write("c.py", notebook("dbutils.notebook.exit(str(dbutils.secrets.listScopes()))\n")))
    assert no_store.exit_value == "[]"
