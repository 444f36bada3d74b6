"""The core the packaged task prepares under Agent.ToolsDirectory outlives the job: a later job (a pull request's
script step on the same self-hosted agent) can change it. The next step must notice, prepare it again and run the
genuine code, with its credentials, not the changed one."""

from __future__ import annotations

import time
from pathlib import Path

from task_harness import Agent

# Printed and written by the changed core if it ever runs.
PAYLOAD = "import pathlib\npathlib.Path({marker!r}).write_text('ran')\nprint('TAMPERED')\n"


def prepared_core(tools: Path) -> Path:
    """The one prepared folder under the tools directory: <tools>/dbcicd/<version>/<hash>/py<X.Y>."""
    [folder] = (tools / "dbcicd").glob("*/*/py3.*")
    return folder


def test_a_changed_cache_is_noticed_prepared_again_and_not_run(agent: Agent, tmp_path: Path) -> None:
    """Edit a file of the cached core between two steps: the second step says so, prepares the core again and runs
    the genuine code; the edited file is back as shipped."""
    agent.tools = tmp_path / "tools"
    inputs = {"command": "cleanup", "tempFolder": f"/Repos/cache-integrity-{time.time_ns() % 10**9}"}
    first = agent.run(inputs)
    assert first.result == "Succeeded", first.stdout
    core = prepared_core(agent.tools)
    entry = core / "dbcicd" / "__main__.py"
    genuine = entry.read_text(encoding="utf-8")
    marker = tmp_path / "tampered-core-ran"
    entry.write_text(PAYLOAD.format(marker=str(marker)) + genuine, encoding="utf-8")

    second = agent.run(inputs)

    assert second.result == "Succeeded", second.stdout
    assert "TAMPERED" not in second.stdout
    assert not marker.exists(), "the changed core ran"
    assert f"The dbcicd core prepared in {core} is not the task's (dbcicd/__main__.py differs)" in second.stdout
    assert entry.read_text(encoding="utf-8") == genuine
    assert sorted(p.name for p in core.parent.iterdir()) == [core.name], "the changed folder is removed"


def test_planted_bytecode_is_noticed(agent: Agent, tmp_path: Path) -> None:
    """A .pyc beside a checked source would run in its place: a file the task did not ship makes the step prepare
    the core again, and no step writes bytecode into the cache itself."""
    agent.tools = tmp_path / "tools"
    inputs = {"command": "cleanup", "tempFolder": f"/Repos/cache-integrity-{time.time_ns() % 10**9}"}
    assert agent.run(inputs).result == "Succeeded"
    core = prepared_core(agent.tools)
    assert not list(core.rglob("__pycache__")), "the core's bytecode is kept out of the cache"
    planted = core / "dbcicd" / "__pycache__" / "__main__.cpython-3.pyc"
    planted.parent.mkdir()
    planted.write_bytes(b"not bytecode")

    second = agent.run(inputs)

    assert second.result == "Succeeded", second.stdout
    assert "(dbcicd/__pycache__/__main__.cpython-3.pyc is not part of it)" in second.stdout
    assert not planted.exists()


def test_the_cache_folder_is_private_to_the_agent_user(agent: Agent, tmp_path: Path) -> None:
    """<tools>/dbcicd is 0700, even where the tools directory itself is open to everyone."""
    agent.tools = tmp_path / "shared-tools"
    agent.tools.mkdir(mode=0o777)
    agent.tools.chmod(0o777)
    run = agent.run({"command": "cleanup", "tempFolder": f"/Repos/cache-integrity-{time.time_ns() % 10**9}"})
    assert run.result == "Succeeded", run.stdout
    assert (agent.tools / "dbcicd").stat().st_mode & 0o777 == 0o700
