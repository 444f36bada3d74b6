"""`dbcicd local serve` killed outright (SIGKILL, as the out-of-memory killer or a CI job's timeout ends it) leaves
nothing running: not the notebook's process, not what the notebook started, not a cluster's Spark server. And should
something outlive it all the same (its lifeline cut: a watcher killed first), the next start on the same root stops
it and says so.

Processes are told apart by id and start time (tests/process_tree.py), so a process id the system gave to another
process meanwhile does not count as a leftover."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from jobs_helpers import notebook, notebook_task, upload, wait

from process_tree import Process, children, descendants, describe, left_after, process, running, supported

pytestmark = [
    pytest.mark.slow,
    pytest.mark.local_only("kills the local workspace's own process"),
    pytest.mark.skipif(not supported(), reason="reads process trees from Linux /proc"),
]
GONE_WITHIN_S = 10  # the bound; the lifeline ends them at once, the margin is for a busy machine
START_TIMEOUT_S = 120  # a notebook's process starting on a loaded two-core machine
SPARK_TIMEOUT_S = 240  # the first Spark notebook starts the JVM: some 10 s on two cores, far more under load
# Starts a child of its own (what %sh or %pip would start), writes the marker file, then waits for a kill.
SLEEPER = notebook(
    "import subprocess, time\n"
    'child = subprocess.Popen(["sleep", "600"])\n'
    'dbutils.widgets.text("marker", "")\n'
    'open(dbutils.widgets.get("marker"), "w").write(str(child.pid))\n'
    "time.sleep(600)",
)


@contextmanager
def serving(
    root: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], WorkspaceClient]]:
    """`dbcicd local serve --root ROOT` as a user starts it (`env` added to its environment), its stderr to `log`, and
    a client of it; killed at the end if still up."""
    with log.open("w") as errors:
        server = subprocess.Popen(
            [sys.executable, "-m", "dbcicd", "local", "serve", "--root", str(root)],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, **(env or {})},
        )
    try:
        assert server.stdout is not None
        printed = dict(server.stdout.readline().strip().split("=", 1) for _ in range(2))
        client = WorkspaceClient(host=printed["DATABRICKS_HOST"], token=printed["DATABRICKS_TOKEN"], auth_type="pat")
        yield server, client
    finally:
        if server.poll() is None:
            server.kill()
        server.communicate()


def run_sleeper(server: subprocess.Popen[str], client: WorkspaceClient, marker: Path) -> Process:
    """Start SLEEPER in a run; once it runs, its process."""
    path = upload(client, "/Shared/sleeper", SLEEPER)
    client.jobs.submit(run_name="sleeper", tasks=[notebook_task("t", path, params={"marker": str(marker)})])
    deadline = time.monotonic() + START_TIMEOUT_S
    while not marker.exists() or not marker.read_text():
        assert server.poll() is None, "the local workspace ended"
        assert time.monotonic() < deadline, f"{marker} not written within {START_TIMEOUT_S} s"
        time.sleep(0.1)
    kernels = children(server.pid)
    assert len(kernels) == 1, describe(kernels)
    return kernels.pop()


def start_spark_server(root: Path, client: WorkspaceClient) -> Process:
    """Run a Spark notebook on the `local` cluster to its end; the cluster's server, which runs on."""
    path = upload(client, "/Shared/spark", notebook("dbutils.notebook.exit(str(spark.range(3).count()))"))
    run = client.jobs.submit(run_name="spark", tasks=[notebook_task("t", path, existing_cluster_id="local")]).run_id
    ended = wait(client, run, SPARK_TIMEOUT_S)
    assert ended.state is not None and ended.state.result_state is not None
    assert ended.state.result_state.value == "SUCCESS", ended.state
    record = root / "spark" / "servers" / "cluster-local" / "server.json"
    jvm = process(int(json.loads(record.read_text())["pid"]))
    assert jvm is not None, "the Spark server is not running"
    return jvm


def cut_lifeline(started: Process) -> None:
    """Kill the watcher of a process the workspace started, as the out-of-memory killer might: what it watched over
    no longer ends with the workspace."""
    watchers = {p for p in children(started[0]) if "watcher.py" in describe({p})}
    assert len(watchers) == 1, describe(children(started[0]))
    os.kill(watchers.pop()[0], signal.SIGKILL)


def kill(server: subprocess.Popen[str]) -> None:
    server.send_signal(signal.SIGKILL)
    server.wait()


def test_a_killed_workspace_leaves_no_notebook_process(tmp_path: Path) -> None:
    """SIGKILL while a notebook runs: its process, the child it started and all else below the workspace end."""
    marker = tmp_path / "child-pid"
    with serving(tmp_path / "ws", tmp_path / "serve.log") as (server, client):
        run_sleeper(server, client, marker)
        below = descendants(server.pid)
        child = process(int(marker.read_text()))
        assert child in below, describe(below)
        kill(server)
    left = left_after(below, GONE_WITHIN_S)
    assert not left, f"still running {GONE_WITHIN_S} s after the workspace was killed:\n{describe(left)}"


@pytest.mark.spark
def test_a_killed_workspace_leaves_no_spark_server(tmp_path: Path) -> None:
    """SIGKILL while a cluster's Spark Connect server is up, the notebook that started it long ended (the server,
    started in a session of its own, is then no longer below the workspace): the JVM ends too."""
    root = tmp_path / "ws"
    with serving(root, tmp_path / "serve.log") as (server, client):
        jvm = start_spark_server(root, client)
        ours = descendants(server.pid) | {jvm} | descendants(jvm[0])
        kill(server)
    left = left_after(ours, GONE_WITHIN_S)
    assert not left, f"still running {GONE_WITHIN_S} s after the workspace was killed:\n{describe(left)}"


def test_a_killed_workspace_leaves_no_git_process(tmp_path: Path) -> None:
    """SIGKILL while a Git folder is cloned from a remote that never answers (the ssh command git runs sleeps; git
    appends its arguments, which `;:` drops): git and what it started end too, rather than wait on by themselves."""
    with serving(tmp_path / "ws", tmp_path / "serve.log", env={"GIT_SSH_COMMAND": "sleep 600;:"}) as (server, client):
        client.workspace.mkdirs("/Repos/stalled")
        create = {"url": "ssh://127.0.0.1/stalled.git", "provider": "gitHub", "path": "/Repos/stalled/clone"}
        request = urllib.request.Request(
            f"{client.config.host}/api/2.0/repos",
            data=json.dumps(create).encode(),
            headers={"Authorization": f"Bearer {client.config.token}", "Content-Type": "application/json"},
        )
        threading.Thread(target=lambda: _answer(request), daemon=True).start()  # answered only once git ends
        deadline = time.monotonic() + START_TIMEOUT_S
        while not any("sleep 600" in describe({p}) for p in descendants(server.pid)):
            assert time.monotonic() < deadline, f"git did not start:\n{describe(descendants(server.pid))}"
            time.sleep(0.1)
        below = descendants(server.pid)
        kill(server)
    left = left_after(below, GONE_WITHIN_S)
    assert not left, f"still running {GONE_WITHIN_S} s after the workspace was killed:\n{describe(left)}"


def _answer(request: urllib.request.Request) -> None:
    with contextlib.suppress(OSError):
        urllib.request.urlopen(request, timeout=START_TIMEOUT_S).close()


def test_a_restart_stops_the_notebook_process_a_killed_workspace_left(tmp_path: Path) -> None:
    """A notebook's process outlived its killed workspace (its watcher was killed first): the next start on the same
    root stops it, and what it started, and says so."""
    root, marker = tmp_path / "ws", tmp_path / "child-pid"
    with serving(root, tmp_path / "first.log") as (server, client):
        kernel = run_sleeper(server, client, marker)
        cut_lifeline(kernel)
        kill(server)
    left = {kernel, process(int(marker.read_text()))}
    assert running(left) == left, "nothing outlived the killed workspace: the test cannot tell a restart stops it"
    with serving(root, tmp_path / "again.log"):
        still = left_after(left, GONE_WITHIN_S)
    assert not still, f"still running after a restart on the same root:\n{describe(still)}"
    said = (tmp_path / "again.log").read_text()
    assert f"Stopped process {kernel[0]} (the notebook process of task t of run " in said, said


@pytest.mark.spark
def test_a_restart_stops_the_spark_server_a_killed_workspace_left(tmp_path: Path) -> None:
    """The `local` cluster's Spark server outlived its killed workspace (its watcher was killed first): the next
    start on the same root stops it and says so."""
    root = tmp_path / "ws"
    with serving(root, tmp_path / "first.log") as (server, client):
        jvm = start_spark_server(root, client)
        cut_lifeline(jvm)
        kill(server)
    assert running({jvm}) == {jvm}, "the server did not outlive the killed workspace: the test cannot tell"
    with serving(root, tmp_path / "again.log"):
        still = left_after({jvm}, GONE_WITHIN_S)
    assert not still, f"still running after a restart on the same root:\n{describe(still)}"
    said = (tmp_path / "again.log").read_text()
    assert f"Stopped process {jvm[0]} (the Spark Connect server of cluster-local)" in said, said
