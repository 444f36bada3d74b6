"""DBFS API 2.0 writes through the real databricks-sdk client: put, create/add-block/close, mkdirs, delete, move, and
the DBFS root's folders; with the limits and error codes of Databricks' reference (DbfsAPI in databricks-sdk)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import re
import uuid
from collections.abc import Iterator

import pytest
from contract_target import Target
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import BadRequest, DatabricksError, ResourceAlreadyExists, ResourceDoesNotExist
from databricks.sdk.service.files import DbfsAPI

MB = 1024 * 1024


@pytest.fixture
def base(client: WorkspaceClient) -> Iterator[str]:
    """A fresh DBFS folder for one test, deleted after it."""
    path = f"/tmp/dbcicd-contract-{uuid.uuid4().hex[:10]}"
    yield path
    with contextlib.suppress(DatabricksError):
        client.dbfs.delete(path, recursive=True)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def read_all(client: WorkspaceClient, path: str) -> bytes:
    with client.dbfs.download(path) as fh:
        return fh.read()


def post(target: Target, path: str, body: bytes, content_type: str) -> tuple[int, dict]:
    """(status, JSON body) of a POST sent as written: what the SDK never sends (multipart, oversized blocks)."""
    host = target.host.removeprefix("http://").removeprefix("https://").rstrip("/")
    conn = (http.client.HTTPSConnection if target.host.startswith("https") else http.client.HTTPConnection)(
        host, timeout=30
    )
    try:
        headers = {"Authorization": f"Bearer {target.token}", "Content-Type": content_type}
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data.strip() else {}
    finally:
        conn.close()


def test_put_inline_contents_and_overwrite(client: WorkspaceClient, base: str) -> None:
    """put with base64 contents makes parent folders; an existing file is replaced only with overwrite=true."""
    path = f"{base}/a/b/one.txt"
    client.dbfs.put(path, contents=b64(b"first"))
    assert read_all(client, path) == b"first"
    with pytest.raises(ResourceAlreadyExists):
        client.dbfs.put(path, contents=b64(b"second"))
    client.dbfs.put(path, contents=b64(b"second"), overwrite=True)
    assert read_all(client, path) == b"second"
    assert client.dbfs.get_status(f"{base}/a/b").is_dir


def test_put_inline_over_one_megabyte_is_refused(client: WorkspaceClient, base: str) -> None:
    """Inline contents are limited to 1 MB: MAX_BLOCK_SIZE_EXCEEDED, and nothing is written."""
    with pytest.raises(DatabricksError) as refused:
        client.dbfs.put(f"{base}/big.bin", contents=b64(b"x" * (MB + 1)))
    assert refused.value.error_code == "MAX_BLOCK_SIZE_EXCEEDED"
    with pytest.raises(ResourceDoesNotExist):
        client.dbfs.get_status(f"{base}/big.bin")


def test_put_as_multipart_form(client: WorkspaceClient, target: Target, base: str) -> None:
    """put also takes a multipart form, the file as its `contents` part (how curl and the legacy CLI upload), with
    no 1 MB limit."""
    data = bytes(range(256)) * 8 * 1024  # 2 MB, every byte value
    boundary = "dbcicd-" + uuid.uuid4().hex
    parts = [(b"path", f"{base}/form.bin".encode()), (b"overwrite", b"true"), (b"contents", data)]
    body = b"".join(
        b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"" + name + b"\""
        + (b'; filename="form.bin"' if name == b"contents" else b"") + b"\r\n\r\n" + value + b"\r\n"
        for name, value in parts
    ) + b"--" + boundary.encode() + b"--\r\n"  # fmt: skip
    status, answer = post(target, "/api/2.0/dbfs/put", body, f"multipart/form-data; boundary={boundary}")
    assert status == 200, answer
    assert read_all(client, f"{base}/form.bin") == data


def test_streaming_upload_of_a_large_file(client: WorkspaceClient, base: str) -> None:
    """The SDK's dbfs.upload streams through create, add-block (1 MB each) and close; the file appears whole."""
    data = b"0123456789abcdef" * (160 * 1024)  # 2.5 MB: three blocks
    client.dbfs.upload(f"{base}/stream.bin", io.BytesIO(data))
    assert client.dbfs.get_status(f"{base}/stream.bin").file_size == len(data)
    assert read_all(client, f"{base}/stream.bin") == data


def test_stream_handles_and_block_limit(client: WorkspaceClient, target: Target, base: str) -> None:
    """A block over 1 MB is MAX_BLOCK_SIZE_EXCEEDED; a closed or unknown handle is RESOURCE_DOES_NOT_EXIST; the file
    is not there before close, and create refuses an existing file without overwrite."""
    path = f"{base}/handle.bin"
    handle = client.dbfs.create(path).handle
    status, answer = post(
        target, "/api/2.0/dbfs/add-block", json.dumps({"handle": handle, "data": b64(b"x" * (MB + 1))}).encode(),
        "application/json",
    )  # fmt: skip
    assert (status, answer["error_code"]) == (400, "MAX_BLOCK_SIZE_EXCEEDED")
    client.dbfs.add_block(handle, b64(b"kept"))
    with pytest.raises(ResourceDoesNotExist):
        client.dbfs.get_status(path)
    client.dbfs.close(handle)
    assert read_all(client, path) == b"kept"
    with pytest.raises(ResourceDoesNotExist):
        client.dbfs.add_block(handle, b64(b"late"))
    with pytest.raises(ResourceDoesNotExist):
        client.dbfs.close(handle)
    with pytest.raises(ResourceAlreadyExists):
        client.dbfs.create(path)


def test_a_stream_whose_folder_is_deleted_is_gone(client: WorkspaceClient, base: str) -> None:
    """Deleting the folder of a file being written ends its stream: add-block and close find no handle, and no
    half-written file appears."""
    handle = client.dbfs.create(f"{base}/sub/f.bin").handle
    client.dbfs.add_block(handle, b64(b"part"))
    DbfsAPI(client.api_client).delete(f"{base}/sub", recursive=True)
    with pytest.raises(ResourceDoesNotExist):
        client.dbfs.add_block(handle, b64(b"more"))
    with pytest.raises(ResourceDoesNotExist):
        client.dbfs.close(handle)
    with pytest.raises(ResourceDoesNotExist):
        client.dbfs.get_status(f"{base}/sub/f.bin")


def test_mkdirs_delete_and_the_non_empty_refusal(client: WorkspaceClient, base: str) -> None:
    """mkdirs makes parents and refuses a file on the way; deleting a non-empty folder needs recursive=true (400
    with Databricks' message); deleting what is not there succeeds. Through the generated DbfsAPI: the SDK's
    `dbfs.delete` refuses any folder without recursive before calling the API."""
    api = DbfsAPI(client.api_client)
    client.dbfs.mkdirs(f"{base}/x/y/z")
    client.dbfs.put(f"{base}/x/file", contents=b64(b"f"))
    with pytest.raises(ResourceAlreadyExists):
        client.dbfs.mkdirs(f"{base}/x/file/sub")
    not_empty = re.escape("Directory is not empty. Use recursive delete or remove contents first.")
    with pytest.raises(BadRequest, match=not_empty):
        api.delete(f"{base}/x")
    api.delete(f"{base}/x/y/z")  # an empty folder goes without recursive
    api.delete(f"{base}/x", recursive=True)
    with pytest.raises(ResourceDoesNotExist):
        client.dbfs.get_status(f"{base}/x")
    api.delete(f"{base}/never-was")


def test_move_files_and_folders(client: WorkspaceClient, base: str) -> None:
    """move renames a file or a whole folder; a missing source and an existing destination are refused."""
    client.dbfs.put(f"{base}/src/deep/a.txt", contents=b64(b"a"))
    client.dbfs.put(f"{base}/other.txt", contents=b64(b"o"))
    client.dbfs.move(f"{base}/src", f"{base}/dst")
    assert read_all(client, f"{base}/dst/deep/a.txt") == b"a"
    with pytest.raises(ResourceDoesNotExist):
        client.dbfs.get_status(f"{base}/src")
    with pytest.raises(ResourceAlreadyExists):
        client.dbfs.move(f"{base}/other.txt", f"{base}/dst/deep/a.txt")
    with pytest.raises(ResourceDoesNotExist):
        client.dbfs.move(f"{base}/missing.txt", f"{base}/m.txt")


def test_the_dbfs_root_has_its_usual_folders(client: WorkspaceClient) -> None:
    """A workspace's DBFS root holds /FileStore, /databricks-datasets, /databricks-results and /user/hive/warehouse."""
    root = {f.path for f in client.dbfs.list("/") if f.is_dir}
    assert {"/FileStore", "/databricks-datasets", "/databricks-results", "/user"} <= root
    assert client.dbfs.get_status("/user/hive/warehouse").is_dir
