"""Workspace API 2.0 through the real databricks-sdk client: status, listing, import/export round trips, folders."""

from __future__ import annotations

import base64
import io
import json
import uuid

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import BadRequest, DatabricksError, ResourceAlreadyExists, ResourceDoesNotExist
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

from dbcicd_localworkspace import LocalWorkspaceServer

HEADER = b"# Databricks notebook source\n"
JUPYTER = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "text"]},
        {"cell_type": "code", "metadata": {}, "source": ["x = 1\n", "print(x)"], "outputs": [], "execution_count": 1},
    ],
    "metadata": {"language_info": {"name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 0,
}


@pytest.fixture
def home(client: WorkspaceClient) -> str:
    """A fresh folder for one test under /Users/{me}."""
    path = f"/Users/{client.current_user.me().user_name}/t-{uuid.uuid4().hex[:10]}"
    client.workspace.mkdirs(path)
    return path


def import_json(client: WorkspaceClient, path: str, content: bytes, **fields) -> dict:
    """workspace/import with a JSON body (content base64), as older clients send it."""
    body = {"path": path, "content": base64.b64encode(content).decode(), **fields}
    return client.api_client.do("POST", "/api/2.0/workspace/import", body=body)


def error_code(call) -> str:
    with pytest.raises(DatabricksError) as err:
        call()
    return err.value.error_code


def test_json_source_import_adds_the_header_and_exports_back(client: WorkspaceClient, home: str) -> None:
    """SOURCE + language makes a notebook (header added); export answers base64 content and the file type."""
    assert import_json(client, f"{home}/nb", b"print(1)\n", format="SOURCE", language="PYTHON") == {}
    status = client.workspace.get_status(f"{home}/nb")
    assert (status.object_type, status.language, status.path) == (ObjectType.NOTEBOOK, Language.PYTHON, f"{home}/nb")
    exported = client.workspace.export(f"{home}/nb")
    assert base64.b64decode(exported.content) == HEADER + b"print(1)\n" and exported.file_type == "py"


def test_sdk_upload_and_download_round_trip(client: WorkspaceClient, home: str) -> None:
    """`workspace.upload` (multipart/form-data) and `workspace.download` (direct_download) keep notebooks intact."""
    client.workspace.upload(f"{home}/nb.py", io.BytesIO(b"print(2)"))  # SOURCE, language from the extension
    assert client.workspace.get_status(f"{home}/nb.py").object_type == ObjectType.NOTEBOOK
    assert client.workspace.download(f"{home}/nb.py").read() == HEADER + b"print(2)"
    client.workspace.upload(f"{home}/q", b"select 1", language=Language.SQL)
    assert client.workspace.download(f"{home}/q").read() == b"-- Databricks notebook source\nselect 1"


def test_raw_and_auto_files_keep_their_bytes_and_names(client: WorkspaceClient, home: str) -> None:
    """RAW, and AUTO without a notebook header, make workspace files that download byte for byte."""
    binary = bytes(range(256)) * 3
    client.workspace.upload(f"{home}/blob.bin", binary, format=ImportFormat.RAW)
    client.workspace.upload(f"{home}/util.py", b"X = 1\n", format=ImportFormat.AUTO)
    for name, content in (("blob.bin", binary), ("util.py", b"X = 1\n")):
        assert client.workspace.get_status(f"{home}/{name}").object_type == ObjectType.FILE
        assert client.workspace.download(f"{home}/{name}").read() == content


def test_auto_recognises_notebooks_and_drops_the_extension(client: WorkspaceClient, home: str) -> None:
    """AUTO with a header (or a Jupyter notebook) makes a notebook named without its extension."""
    client.workspace.upload(f"{home}/job.py", HEADER + b"print(3)\n", format=ImportFormat.AUTO)
    client.workspace.upload(f"{home}/book.ipynb", json.dumps(JUPYTER).encode(), format=ImportFormat.AUTO)
    assert client.workspace.get_status(f"{home}/job").object_type == ObjectType.NOTEBOOK
    assert client.workspace.get_status(f"{home}/book").object_type == ObjectType.NOTEBOOK
    with pytest.raises(ResourceDoesNotExist):
        client.workspace.get_status(f"{home}/job.py")


def test_jupyter_import_and_conversions(client: WorkspaceClient, home: str) -> None:
    """A JUPYTER notebook exports as itself or as source; a source notebook exports as Jupyter cells."""
    import_json(client, f"{home}/book", json.dumps(JUPYTER).encode(), format="JUPYTER")
    as_jupyter = json.loads(client.workspace.download(f"{home}/book", format=ExportFormat.JUPYTER).read())
    assert as_jupyter["cells"] == JUPYTER["cells"]
    source = client.workspace.download(f"{home}/book", format=ExportFormat.SOURCE).read().decode()
    assert source.startswith("# Databricks notebook source\n") and "# MAGIC %md" in source and "print(x)" in source

    client.workspace.upload(
        f"{home}/src", HEADER + b"a = 1\n\n# COMMAND ----------\n\n# MAGIC %md\n# MAGIC Hi\n", language=Language.PYTHON
    )
    exported = client.workspace.export(f"{home}/src", format=ExportFormat.JUPYTER)
    cells = json.loads(base64.b64decode(exported.content))["cells"]
    assert exported.file_type == "ipynb"
    assert [(c["cell_type"], "".join(c["source"])) for c in cells] == [("code", "a = 1"), ("markdown", "Hi")]


def test_existing_path_needs_overwrite(client: WorkspaceClient, home: str) -> None:
    """Importing onto an existing object is RESOURCE_ALREADY_EXISTS unless overwrite is set."""
    client.workspace.upload(f"{home}/nb", b"v1", language=Language.PYTHON)
    with pytest.raises(ResourceAlreadyExists):
        client.workspace.upload(f"{home}/nb", b"v2", language=Language.PYTHON)
    client.workspace.upload(f"{home}/nb", b"v2", language=Language.SQL, overwrite=True)
    assert client.workspace.get_status(f"{home}/nb").language == Language.SQL
    assert client.workspace.download(f"{home}/nb").read() == b"-- Databricks notebook source\nv2"
    with pytest.raises(ResourceAlreadyExists):
        client.workspace.upload(home, b"x", format=ImportFormat.RAW, overwrite=True)  # a folder is never replaced


def test_import_needs_an_existing_parent_and_valid_fields(client: WorkspaceClient, home: str) -> None:
    """A missing parent folder is 404; a bad language, format or base64 content is 400."""
    with pytest.raises(ResourceDoesNotExist, match="parent folder"):
        client.workspace.upload(f"{home}/missing/nb", b"x", language=Language.PYTHON)
    assert error_code(lambda: import_json(client, f"{home}/a", b"x", format="SOURCE")) == "INVALID_PARAMETER_VALUE"
    assert error_code(lambda: import_json(client, f"{home}/a", b"x", format="DBC")) == "INVALID_PARAMETER_VALUE"
    assert error_code(lambda: import_json(client, f"{home}/a", b"x", format="JUPYTER")) == "INVALID_PARAMETER_VALUE"
    bad = {"path": f"{home}/a", "content": "***", "format": "RAW"}
    with pytest.raises(BadRequest, match="content"):
        client.api_client.do("POST", "/api/2.0/workspace/import", body=bad)


def test_top_level_repos_folder_holds_only_git_folders(client: WorkspaceClient) -> None:
    """Files may not go directly into /Repos or /Repos/{folder}; /Repos/{folder} itself may be created."""
    folder = f"/Repos/t-{uuid.uuid4().hex[:10]}"
    client.workspace.mkdirs(folder)
    for path in ("/Repos/stray", f"{folder}/stray"):
        with pytest.raises(BadRequest, match="Top-level folder can only contain repos") as err:
            client.workspace.upload(path, b"x", format=ImportFormat.RAW)
        assert err.value.error_code == "DIRECTORY_PROTECTED"
    assert error_code(lambda: client.workspace.mkdirs(f"{folder}/plain")) == "DIRECTORY_PROTECTED"


def test_mkdirs_is_idempotent_and_refuses_files_in_the_way(client: WorkspaceClient, home: str) -> None:
    """mkdirs creates parents, succeeds on an existing folder and is RESOURCE_ALREADY_EXISTS across a file."""
    client.workspace.mkdirs(f"{home}/a/b/c")
    client.workspace.mkdirs(f"{home}/a/b/c")
    assert client.workspace.get_status(f"{home}/a/b").object_type == ObjectType.DIRECTORY
    client.workspace.upload(f"{home}/f", b"x", format=ImportFormat.RAW)
    with pytest.raises(ResourceAlreadyExists, match="not a folder"):
        client.workspace.mkdirs(f"{home}/f/sub")


def test_list_folder_file_and_missing_path(client: WorkspaceClient, home: str) -> None:
    """list gives a folder's children; on a file it gives that file; a missing path is 404."""
    client.workspace.mkdirs(f"{home}/sub")
    client.workspace.upload(f"{home}/nb", b"1", language=Language.PYTHON)
    client.workspace.upload(f"{home}/data.csv", b"a,b", format=ImportFormat.RAW)
    listed = {o.path: o.object_type for o in client.workspace.list(home)}
    assert listed == {
        f"{home}/sub": ObjectType.DIRECTORY,
        f"{home}/nb": ObjectType.NOTEBOOK,
        f"{home}/data.csv": ObjectType.FILE,
    }
    [only] = client.workspace.list(f"{home}/data.csv")
    assert (only.path, only.size) == (f"{home}/data.csv", 3)
    with pytest.raises(ResourceDoesNotExist):
        list(client.workspace.list(f"{home}/nope"))


def test_delete_rules(client: WorkspaceClient, home: str) -> None:
    """A non-empty folder needs recursive (DIRECTORY_NOT_EMPTY otherwise); missing paths are 404."""
    client.workspace.mkdirs(f"{home}/d")
    client.workspace.upload(f"{home}/d/nb", b"1", language=Language.PYTHON)
    assert error_code(lambda: client.workspace.delete(f"{home}/d")) == "DIRECTORY_NOT_EMPTY"
    client.workspace.delete(f"{home}/d/nb")
    client.workspace.delete(f"{home}/d")
    client.workspace.mkdirs(f"{home}/e/f")
    client.workspace.delete(f"{home}/e", recursive=True)
    for gone in ("d", "e"):
        with pytest.raises(ResourceDoesNotExist):
            client.workspace.get_status(f"{home}/{gone}")
    with pytest.raises(ResourceDoesNotExist):
        client.workspace.delete(f"{home}/never")
    assert error_code(lambda: client.workspace.delete("/Users", recursive=True)) == "DIRECTORY_PROTECTED"


def test_export_of_folders_and_unsupported_formats_is_400(client: WorkspaceClient, home: str) -> None:
    """Folders cannot be exported here, nor can HTML/DBC; a missing path is 404."""
    client.workspace.upload(f"{home}/nb", b"1", language=Language.PYTHON)
    with pytest.raises(BadRequest, match="folder"):
        client.workspace.export(home)
    with pytest.raises(BadRequest, match="HTML"):
        client.workspace.export(f"{home}/nb", format=ExportFormat.HTML)
    with pytest.raises(ResourceDoesNotExist):
        client.workspace.export(f"{home}/missing")


def test_export_over_10_mb_is_max_notebook_size_exceeded(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer, home: str
) -> None:
    """A notebook larger than 10 MB cannot be exported."""
    big = local_workspace.workspace.tree.disk_path(f"{home}/big").with_suffix(".py")
    big.write_bytes(HEADER + b"#" * (10 * 1024 * 1024))
    assert error_code(lambda: client.workspace.export(f"{home}/big")) == "MAX_NOTEBOOK_SIZE_EXCEEDED"


def test_paths_that_escape_the_workspace_are_refused(client: WorkspaceClient) -> None:
    """`..`, relative paths and Git metadata are refused before anything touches the disk."""
    for path in ("/Users/../../etc/passwd", "Users/relative", "/Shared/x\x00y"):
        with pytest.raises(BadRequest):
            client.workspace.get_status(path)
    with pytest.raises(BadRequest, match=r"\.git"):
        client.workspace.mkdirs("/Shared/.git/hooks")
