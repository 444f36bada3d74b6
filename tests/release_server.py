"""A loopback stand-in for the Databricks CLI's release downloads (github.com/databricks/cli/releases/download/
v<version>/...): a zip holding `databricks` (here the CLI stand-in, tests/fakes/databricks_cli.py) and the
`databricks_cli_<version>_SHA256SUMS` file listing its checksum, as each release publishes them."""

from __future__ import annotations

import hashlib
import io
import platform
import shlex
import sys
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

STAND_IN = Path(__file__).parent / "fakes" / "databricks_cli.py"


def archive_name(version: str) -> str:
    system = {"Linux": "linux", "Darwin": "darwin"}[platform.system()]
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
    return f"databricks_cli_{version}_{system}_{arch}.zip"


def release_files(version: str, tampered: bool = False) -> dict[str, bytes]:
    """URL path -> content: the archive and its checksums; `tampered`: the archive changed after it was summed."""
    program = f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(STAND_IN))} "$@"\n'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("databricks")
        info.external_attr = 0o755 << 16
        archive.writestr(info, program)
        archive.writestr("README.md", "Databricks CLI\n")
    content = buffer.getvalue()
    name = archive_name(version)
    sums = f"{hashlib.sha256(content).hexdigest()}  {name}\n{'0' * 64}  databricks_cli_{version}_windows_amd64.zip\n"
    if tampered:
        content = content.replace(b"Databricks CLI", b"Databricks CLJ")
    return {f"/v{version}/{name}": content, f"/v{version}/databricks_cli_{version}_SHA256SUMS": sums.encode()}


@contextmanager
def serving(files: dict[str, bytes]) -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 answering `files`' paths (404 for any other); yields its base URL and the paths asked."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        server.server_close()
