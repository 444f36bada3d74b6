"""`source: upload` through the CLI, against the local workspace: the commit's files are imported into a temporary
workspace folder (notebooks as notebooks, the rest as files), run there and deleted; what the commit does not hold
never goes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.workspace import ImportFormat

from dbcicd.entry.cli import main
from dbcicd.steps import upload
from dbcicd.steps.tempnames import temporary_name
from git_remote import git

HEADER = "# Databricks notebook source\n"
CELL = "\n# COMMAND ----------\n"
# The notebook reports what it can see: a module beside it, a variable from a %run notebook, and which of the
# checkout's files reached the workspace.
PROBE = (
    HEADER
    + "# MAGIC %run ./setup"
    + CELL
    + "import json, os\nimport helpers\n"
    + "seen = {name: os.path.exists(name) for name in ['helpers.py', 'untracked.txt', 'ignored.log']}\n"
    + "dbutils.notebook.exit(json.dumps({'setup': SETUP, 'helper': helpers.answer(), 'seen': seen,"
    + " 'edited': open('data.txt').read()}))\n"
)
FILES = {
    "tests/test_probe.py": PROBE,
    "tests/setup.py": HEADER + "SETUP = 'from %run'\n",
    "tests/helpers.py": "def answer():\n    return 42\n",
    "tests/data.txt": "committed",
    ".gitignore": "*.log\n",
}
UNREACHABLE = "https://git.invalid/org/unreachable.git"  # .invalid never resolves (RFC 6761)


def unique_parent(name: str) -> str:
    return f"/Workspace/Shared/{name}-{time.time_ns() % 10**9}"


def checkout_of(remote: Any, where: Path) -> Path:
    """A clone of `remote`, with an untracked file, an ignored file and an uncommitted edit."""
    git("clone", "--quiet", str(remote.bare), str(where), cwd=where.parent)
    (where / "tests" / "untracked.txt").write_text("not committed")
    (where / "tests" / "ignored.log").write_text("ignored")
    (where / "tests" / "data.txt").write_text("edited, not committed")
    return where


def children(client: WorkspaceClient, parent: str) -> list[str]:
    try:
        return [o.path or "" for o in client.workspace.list(parent)]
    except NotFound:
        return []


@pytest.mark.parametrize("command", ["test", "run"])
def test_upload_runs_the_commit_and_deletes_the_folder(
    command: str,
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A repository the workspace cannot clone (its URL never resolves) runs from the upload: a module imported and
    a %run resolved from the uploaded files; untracked, ignored and uncommitted content stays home."""
    checkout = checkout_of(make_remote(FILES), cli_env / "checkout")
    parent = unique_parent("upload")
    outputs = cli_env / "outputs.json"
    source = ["--source", "upload", "--source-dir", str(checkout), "--git-url", UNREACHABLE]
    code = main([command, *source, "--temp-folder", parent, "-n", "tests/test_probe", "--outputs-json", str(outputs)])

    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    exit_value = json.loads(json.loads(outputs.read_text())["notebookOutput"])
    assert exit_value == {
        "setup": "from %run",
        "helper": 42,
        "seen": {"helpers.py": True, "untracked.txt": False, "ignored.log": False},
        "edited": "committed",
    }
    assert "Uploading commit" in out.out and "Deleted the uploaded folder" in out.out
    assert children(client, parent) == []


def test_upload_from_the_checkout_you_are_in_warns_of_uncommitted_changes(
    cli_env: Path, make_remote: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --source-dir the CLI uploads the checkout it runs in, needs no push, and says what is left out."""
    remote = make_remote(FILES)
    checkout = checkout_of(remote, cli_env / "checkout")
    git("commit", "--quiet", "--allow-empty", "-m", "not pushed", cwd=checkout)  # ahead of origin: fine to upload
    monkeypatch.chdir(checkout)
    code = main(["test", "--source", "upload", "--temp-folder", unique_parent("upload-cwd"), "-n", "tests/test_probe"])

    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "uncommitted change(s) in checkout are not tested" in out.err + out.out
    assert "the upload sends commit" in out.err + out.out


def test_an_oversized_commit_is_refused_naming_its_largest_files(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    remote = make_remote({**FILES, "data/big.csv": "x" * 3000, "data/medium.csv": "y" * 2000})
    checkout = checkout_of(remote, cli_env / "checkout")
    monkeypatch.setattr(upload, "MAX_TOTAL_BYTES", 4000)
    parent = unique_parent("upload-big")
    code = main(["test", "--source", "upload", "--source-dir", str(checkout), "--temp-folder", parent, "-n", "x"])

    err = capsys.readouterr().err
    assert code == 2, err
    assert "data/big.csv (0.0 MB), data/medium.csv (0.0 MB)" in err and "source gitFolder" in err
    assert children(client, parent) == []


def test_a_file_over_the_json_imports_10_mb_is_uploaded(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """The upload imports multipart (the SDK's workspace.upload), whose limit is 500 MB, not the 10 MB of the JSON
    import's base64 content: a 12 MB file of the commit goes (steps/upload.py cites both)."""
    remote = make_remote({**FILES, "data/lookup.csv": "z" * (12 * 1024 * 1024)})
    checkout = checkout_of(remote, cli_env / "checkout")
    parent = unique_parent("upload-12mb")
    source = ["--source", "upload", "--source-dir", str(checkout), "--git-url", UNREACHABLE]
    code = main(["test", *source, "--temp-folder", parent, "-n", "tests/test_probe"])

    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "Uploading commit" in out.out and children(client, parent) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temp-folder", "/Repos/ci"], "is under /Repos, which holds only Git folders"),
        (["--source-dir", "/nonexistent/checkout"], "/nonexistent/checkout is not a folder"),
        (["--source-dir", "."], "it must be a Git checkout with at least one commit"),
        (["--job-id", "12"], "--source upload runs notebooks from the uploaded files: give --notebooks"),
    ],
)
def test_upload_configuration_errors_exit_2(
    cli_env: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command = "run" if "--job-id" in args else "test"
    base = [command, "--source", "upload", "--source-dir", str(cli_env), "--temp-folder", unique_parent("bad")]
    code = main([*base, *args] + ([] if command == "run" else ["-n", "tests/x"]))
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err


def test_the_upload_imports_in_parallel_and_reports_progress(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many files, in nested folders: each parent made before its files, every file in place."""
    files = {f"pkg/m{i % 7}/f{i}.txt": str(i) for i in range(120)}
    checkout = make_remote(files).work
    messages: list[str] = []
    monkeypatch.setattr(upload, "PROGRESS_EVERY_S", 0.0)
    found = upload.commit_files(checkout, "--source-dir")
    folder = unique_parent("upload-many")
    try:
        done = upload.Upload(client, folder, messages.append).run(
            found.files, upload.read_contents(checkout, found.files)
        )
        assert done == 120
        assert any(m.startswith("Uploading: ") for m in messages) and messages[-1].startswith("Uploaded 120 file(s)")
        assert client.workspace.download(f"{folder}/pkg/m3/f10.txt").read() == b"10"
    finally:
        client.workspace.delete(folder, recursive=True)


def test_cleanup_deletes_uploaded_folders_it_made(
    cli_env: Path, client: WorkspaceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """An upload's folder left behind by a killed agent is a plain workspace folder: cleanup finds it by its marked
    name through the Workspace API and deletes it; a folder named like it by hand stays."""
    parent = unique_parent("upload-cleanup")
    old = temporary_name("project", "77", "1", datetime.now(timezone.utc) - timedelta(days=2))
    hand_made = old[:-6] + "zzzzzz"  # the pattern without a valid mark
    for name in (old, hand_made):
        client.workspace.mkdirs(f"{parent}/{name}/tests")
        client.workspace.upload(f"{parent}/{name}/tests/data.txt", b"x", format=ImportFormat.AUTO)

    code = main(["cleanup", "--temp-folder", parent, "--older-than-hours", "24"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert [path.rsplit("/", 1)[-1] for path in children(client, parent)] == [hand_made]
    assert "Deleted 1 temporary folder(s)" in out.err + out.out
    client.workspace.delete(parent, recursive=True)
