"""A local workspace in its own process for benchmarks, so client and server do not share an interpreter."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import workspace

from dbcicd_localworkspace.runtime.spark.class_archive import WRITE_GRACE_SECONDS

STOP_TIMEOUT_S = WRITE_GRACE_SECONDS + 60


@contextmanager
def local_workspace(*extra_args: str, environment: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Start `dbcicd local serve` (with `environment` added to this process's); yields its
    DATABRICKS_HOST/DATABRICKS_TOKEN; stops it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbcicd", "local", "serve", *extra_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(environment or {})},
    )
    try:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        while len(env) < 2:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit("the local workspace did not start")
            name, _, value = line.strip().partition("=")
            env[name] = value
        yield env
    finally:
        proc.terminate()
        # Its stop waits for its Spark servers, one of which may be writing its class archive (spark/class_archive.py).
        proc.wait(timeout=STOP_TIMEOUT_S)


def upload_notebook(client: WorkspaceClient, path: str, source: str) -> None:
    client.workspace.mkdirs(path.rsplit("/", 1)[0])
    client.workspace.import_(
        path,
        content=base64.b64encode(source.encode()).decode(),
        format=workspace.ImportFormat.SOURCE,
        language=workspace.Language.PYTHON,
        overwrite=True,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
