"""Files API (Unity Catalog volumes) and DBFS reads through the real databricks-sdk client, plus raw HTTP for the
headers and paths the SDK never sends."""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import uuid
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import AlreadyExists, BadRequest, DatabricksError, NotFound, ResourceDoesNotExist
from databricks.sdk.service.catalog import VolumeType

from dbcicd_localworkspace import LocalWorkspaceServer, Tenant


@pytest.fixture
def volume_dir(client: WorkspaceClient) -> str:
    """A fresh folder inside a volume (main.default.vol, made when missing: paths belong to real volumes)."""
    with contextlib.suppress(AlreadyExists):
        client.volumes.create("main", "default", "vol", VolumeType.MANAGED)
    return f"/Volumes/main/default/vol/t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def dbfs_dir(local_workspace: LocalWorkspaceServer) -> tuple[str, Path]:
    """(DBFS path, disk folder) of a fresh DBFS folder; notebooks write there, clients read through the API."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    disk = local_workspace.workspace.dbfs_root / name
    disk.mkdir()
    return f"/{name}", disk


def raw(server: LocalWorkspaceServer | Tenant, method: str, path: str, headers: dict[str, str] | None = None):
    """(status, headers, body) of a request sent exactly as written (no client-side path normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {server.token}", **(headers or {})})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_upload_download_and_metadata_round_trip(client: WorkspaceClient, volume_dir: str) -> None:
    """`files.upload` creates parent folders; `download` and `get_metadata` report the bytes and their headers."""
    data = bytes(range(256)) * 40
    client.files.upload(f"{volume_dir}/a/b/data.bin", io.BytesIO(data))
    got = client.files.download(f"{volume_dir}/a/b/data.bin")
    assert got.contents.read() == data and got.content_length == len(data)
    meta = client.files.get_metadata(f"{volume_dir}/a/b/data.bin")
    assert (meta.content_length, meta.content_type) == (len(data), "application/octet-stream")
    assert meta.last_modified.endswith("GMT")


def test_overwrite_false_refuses_an_existing_file(client: WorkspaceClient, volume_dir: str) -> None:
    """Uploading onto an existing file replaces it, unless overwrite=False (409 AlreadyExists)."""
    path = f"{volume_dir}/f.txt"
    client.files.upload(path, io.BytesIO(b"one"))
    client.files.upload(path, io.BytesIO(b"two"))
    with pytest.raises(AlreadyExists):
        client.files.upload(path, io.BytesIO(b"three"), overwrite=False)
    assert client.files.download(path).contents.read() == b"two"


def test_delete_and_missing_files(client: WorkspaceClient, volume_dir: str) -> None:
    """A deleted file is gone: metadata, download and delete answer NotFound."""
    path = f"{volume_dir}/gone.txt"
    client.files.upload(path, io.BytesIO(b"x"))
    client.files.delete(path)
    with pytest.raises(NotFound):
        client.files.get_metadata(path)
    with pytest.raises(NotFound):
        client.files.download(path).contents.read()
    with pytest.raises(NotFound):
        client.files.delete(path)


def test_directories_list_create_and_delete(client: WorkspaceClient, volume_dir: str) -> None:
    """Directories are created with parents, listed by name in pages, and deleted only when empty."""
    client.files.create_directory(f"{volume_dir}/sub/deeper")
    for name in ("c.txt", "a.txt", "b.txt"):
        client.files.upload(f"{volume_dir}/{name}", io.BytesIO(name.encode()))
    entries = list(client.files.list_directory_contents(volume_dir, page_size=2))
    assert [e.name for e in entries] == ["a.txt", "b.txt", "c.txt", "sub"]
    assert (entries[0].path, entries[0].file_size, entries[0].is_directory) == (f"{volume_dir}/a.txt", 5, False)
    assert entries[3].is_directory and entries[3].path == f"{volume_dir}/sub/"
    client.files.get_directory_metadata(f"{volume_dir}/sub")
    with pytest.raises(BadRequest, match="not empty"):
        client.files.delete_directory(f"{volume_dir}/sub")
    client.files.delete_directory(f"{volume_dir}/sub/deeper")
    client.files.delete_directory(f"{volume_dir}/sub")
    with pytest.raises(NotFound):
        client.files.get_directory_metadata(f"{volume_dir}/sub")
    with pytest.raises(NotFound):
        list(client.files.list_directory_contents(f"{volume_dir}/sub"))


def test_paths_outside_a_volume_are_refused(client: WorkspaceClient) -> None:
    """A Files API path must be inside /Volumes/<catalog>/<schema>/<volume>; the 400 says so."""
    for path in ("/tmp/x.txt", "/Volumes/main/default/x.txt"):
        with pytest.raises(BadRequest, match="/Volumes/<catalog>/<schema>/<volume>"):
            client.files.upload(path, io.BytesIO(b"x"))


def test_dot_dot_and_encoded_tricks_are_refused(local_workspace: LocalWorkspaceServer) -> None:
    """`..` (plain or percent-encoded) and encoded slashes never reach outside the volumes folder."""
    for trick in ("/Volumes/a/b/c/../../../../../etc/passwd", "/Volumes/a/b/c/%2e%2e/%2e%2e/x", "/Volumes/a/b/c/x%2Fy"):
        status, _, body = raw(local_workspace, "GET", f"/api/2.0/fs/files{trick}")
        assert status == 400 and b"INVALID_PARAMETER_VALUE" in body


def test_range_requests_answer_partial_content(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer, volume_dir: str
) -> None:
    """`Range: bytes=a-b`, `a-` and `-n` answer 206 with Content-Range; a range past the end is 416."""
    client.files.upload(f"{volume_dir}/r.txt", io.BytesIO(b"0123456789"))
    url = f"/api/2.0/fs/files{volume_dir}/r.txt"
    for header, part, content_range in (
        ("bytes=2-4", b"234", "bytes 2-4/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-2", b"89", "bytes 8-9/10"),
    ):
        status, headers, body = raw(local_workspace, "GET", url, {"Range": header})
        assert (status, body, headers["Content-Range"]) == (206, part, content_range)
    status, headers, _ = raw(local_workspace, "GET", url, {"Range": "bytes=20-"})
    assert status == 416 and headers["Content-Range"] == "bytes */10"


def test_if_unmodified_since_is_honoured(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer, volume_dir: str
) -> None:
    """A download conditioned on an older date than the file's is 412."""
    client.files.upload(f"{volume_dir}/c.txt", io.BytesIO(b"x"))
    url = f"/api/2.0/fs/files{volume_dir}/c.txt"
    assert raw(local_workspace, "GET", url, {"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 412
    assert raw(local_workspace, "GET", url, {"If-Unmodified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})[0] == 200


def test_download_falls_back_from_presigned_urls(
    isolated_client: WorkspaceClient, isolated_workspace: Tenant, volume_dir: str
) -> None:
    """create-download-url is 404 here, and the SDK then downloads through GET fs/files (counted in a tenant of
    its own, so only this test's calls)."""
    isolated_client.volumes.create("main", "default", "vol", VolumeType.MANAGED)
    isolated_client.files.upload(f"{volume_dir}/p.txt", io.BytesIO(b"p"))
    isolated_workspace.calls.clear()
    assert isolated_client.files.download(f"{volume_dir}/p.txt").contents.read() == b"p"
    assert isolated_workspace.calls == {
        "POST /api/2.0/fs/create-download-url": 1,
        f"GET /api/2.0/fs/files{volume_dir}/p.txt": 1,
    }


def test_dbfs_status_list_and_read(client: WorkspaceClient, dbfs_dir: tuple[str, Path]) -> None:
    """get-status, list and read see files written to the DBFS folder; `dbfs:/x` and `/x` are the same path."""
    path, disk = dbfs_dir
    (disk / "out").mkdir()
    (disk / "out" / "report.xml").write_bytes(b"<testsuite/>")
    status = client.dbfs.get_status(f"dbfs:{path}/out/report.xml")
    assert (status.path, status.is_dir, status.file_size) == (f"{path}/out/report.xml", False, 12)
    assert [(f.path, f.is_dir) for f in client.dbfs.list(f"dbfs:{path}")] == [(f"{path}/out", True)]
    read = client.dbfs.read(f"{path}/out/report.xml", offset=1, length=8)
    assert (read.bytes_read, base64.b64decode(read.data)) == (8, b"testsuit")
    assert client.dbfs.read(f"{path}/out/report.xml", offset=100).bytes_read == 0


def test_dbfs_download_reads_large_files_in_chunks(client: WorkspaceClient, dbfs_dir: tuple[str, Path]) -> None:
    """The SDK's `dbfs.download` reads a file larger than one 1 MB read, chunk by chunk."""
    path, disk = dbfs_dir
    data = bytes(range(256)) * (6 * 1024)  # 1.5 MB
    (disk / "big.bin").write_bytes(data)
    with client.dbfs.download(f"{path}/big.bin") as fh:
        assert fh.read() == data


def test_dbfs_read_limits_and_errors(client: WorkspaceClient, dbfs_dir: tuple[str, Path]) -> None:
    """Over 1 MB is MAX_READ_SIZE_EXCEEDED; a folder or negative offset is 400; a missing file is 404."""
    path, disk = dbfs_dir
    (disk / "f.txt").write_bytes(b"x")
    with pytest.raises(DatabricksError) as err:
        client.dbfs.read(f"{path}/f.txt", length=1024 * 1024 + 1)
    assert err.value.error_code == "MAX_READ_SIZE_EXCEEDED"
    with pytest.raises(BadRequest, match="directory"):
        client.dbfs.read(path)
    with pytest.raises(BadRequest):
        client.dbfs.read(f"{path}/f.txt", offset=-1)
    with pytest.raises(ResourceDoesNotExist, match="No file or directory exists"):
        client.dbfs.get_status(f"{path}/missing")
    for trick in (f"{path}/../../etc/passwd", "relative/path"):
        with pytest.raises(BadRequest):
            client.dbfs.get_status(trick)
