"""`source: upload`: the build's own checkout, imported into a temporary workspace folder, instead of a Git folder.

A Git folder needs the Databricks control plane to reach the Git server with a Git credential of the identity the
pipeline signs in as; an upload needs neither, because the agent already holds the code. What is uploaded is what
the commit holds: git's list of the files of HEAD (`git ls-tree`), their contents read from the object database
(`git cat-file --batch`), so untracked files, files `.gitignore` leaves out and uncommitted edits never go, whatever
the working tree looks like. Submodules and symbolic links are left out (a Git folder has no submodules either).

Every file is imported with format AUTO at its own path (extension included): the workspace decides, from the
extension and the notebook header, what becomes a notebook (its extension dropped) and what stays a workspace file
(databricks-sdk `WorkspaceExt.upload`; Workspace API import, format AUTO) — as `databricks workspace import-dir` and
`databricks sync` do. So `%run ./other` and `import module` from the notebook's own folder work as in a Git folder.
One difference is Databricks', not ours: in a Git folder the repository's root is on `sys.path`, in a workspace
folder only the notebook's folder is (docs.databricks.com/files/workspace-modules.html, "the current working
directory of your notebook is automatically added to the Python path. If you're using Git folders, the root repo
directory is added").

Uploads run in parallel; a cancel stops them (no new import starts), waits for those under way and then the caller
deletes the folder, so that no import lands after the delete.
"""

from __future__ import annotations

import posixpath
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.workspace import ImportFormat

from ..errors import ConfigurationError

UPLOAD_THREADS = 16
# The limit of the import the SDK's `workspace.upload` makes (multipart/form-data): 500 MB, as Databricks' own tools
# give it (databricks/cli#1795: "API limits on exporting files from workspaces are set at 10 MBs while uploading to is
# 500 MBs"; databricks/terraform-provider-databricks#5293: the upload functions "support bigger payload (up to
# 500Mb)"). 10 MB is the limit of the JSON import's base64 `content` (databricks-sdk WorkspaceAPI.import_), which
# dbcicd does not use. Whether the 500 are decimal or binary megabytes no source says: the smaller is taken.
MAX_FILE_BYTES = 500 * 1000 * 1000
MAX_TOTAL_BYTES = 200 * 1024 * 1024  # ours: a test run's code, not a data set
PROGRESS_EVERY_S = 2.0
LISTED_FILES = 5
_GIT_TIMEOUT_S = 120
_FILE_MODES = ("100644", "100755")  # regular files; 120000 is a symbolic link, 160000 a submodule


@dataclass(frozen=True)
class SourceFile:
    """A file of the commit: its path relative to the repository's root, its size, and its blob's id."""

    path: str
    size: int
    blob: str


@dataclass(frozen=True)
class CommitFiles:
    """What HEAD of a checkout holds, and what was left out of it."""

    commit: str
    files: tuple[SourceFile, ...]
    skipped: tuple[str, ...]  # submodules and symbolic links

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _git(source_dir: Path, *args: str, input_bytes: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(source_dir), *args], input=input_bytes, capture_output=True, timeout=_GIT_TIMEOUT_S
        )
    except FileNotFoundError:
        raise ConfigurationError("git is not installed: an upload lists the commit's files with git") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigurationError(
            f"Cannot read the commit to upload from {source_dir}: git {args[0]} failed"
            + (f" ({detail[-1]})" if detail else "")
            + "; it must be a Git checkout with at least one commit"
        )
    return done.stdout


def commit_files(source_dir: Path, what: str) -> CommitFiles:
    """The files of HEAD in `source_dir`; refused (naming `what`, the input or flag) when it is no checkout or the
    commit is larger than an upload takes."""
    if not source_dir.is_dir():
        raise ConfigurationError(f"{what} {source_dir} is not a folder: give the checkout to upload")
    commit = _git(source_dir, "rev-parse", "--verify", "HEAD^{commit}").decode().strip()
    files, skipped = [], []
    for entry in _git(source_dir, "ls-tree", "-r", "-z", "--long", "--full-tree", "HEAD").split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, blob, size = meta.decode().split()
        path = raw_path.decode("utf-8", "surrogateescape")
        if kind == "blob" and mode in _FILE_MODES:
            files.append(SourceFile(path, int(size), blob))
        else:
            skipped.append(path)
    found = CommitFiles(commit, tuple(files), tuple(skipped))
    _check_sizes(found, what)
    return found


def _largest(files: list[SourceFile]) -> str:
    top = sorted(files, key=lambda f: f.size, reverse=True)[:LISTED_FILES]
    return ", ".join(f"{f.path} ({_megabytes(f.size)})" for f in top)


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _check_sizes(found: CommitFiles, what: str) -> None:
    too_big = [f for f in found.files if f.size > MAX_FILE_BYTES]
    if too_big:
        raise ConfigurationError(
            f"Cannot upload commit {found.commit[:12]} ({what}): {len(too_big)} file(s) exceed the workspace's "
            f"{_megabytes(MAX_FILE_BYTES)} limit per file: {_largest(too_big)}. Keep data out of the repository "
            "(a volume or cloud storage), or use a Git folder (source gitFolder)"
        )
    if found.size > MAX_TOTAL_BYTES:
        raise ConfigurationError(
            f"Cannot upload commit {found.commit[:12]} ({what}): its {len(found.files)} files hold "
            f"{_megabytes(found.size)}, more than the {_megabytes(MAX_TOTAL_BYTES)} an upload takes. The largest: "
            f"{_largest(list(found.files))}. Keep data out of the repository, or use a Git folder (source gitFolder)"
        )


def read_contents(source_dir: Path, files: tuple[SourceFile, ...]) -> list[bytes]:
    """The blobs' bytes, in order, from one `git cat-file --batch` (sizes are bounded by `_check_sizes`)."""
    out = _git(source_dir, "cat-file", "--batch", input_bytes="".join(f"{f.blob}\n" for f in files).encode())
    contents, at = [], 0
    for source in files:
        header_end = out.index(b"\n", at)
        _, kind, size = out[at:header_end].decode().split()
        start = header_end + 1
        contents.append(out[start : start + int(size)])
        at = start + int(size) + 1  # the content is followed by a newline
        if kind != "blob":
            raise ConfigurationError(f"Cannot upload {source.path}: git gave a {kind}, not a file")
    return contents


class Upload:
    """Imports the files into `folder`, in parallel, until done or stopped. `run` is meant for a thread of its own
    (an `InFlight`); `stop` may be called from any thread, and `run` returns once no import is under way."""

    def __init__(self, client: WorkspaceClient, folder: str, progress: Callable[[str], None]) -> None:
        self._client = client
        self._folder = folder
        self._progress = progress
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._done_files = 0
        self._done_bytes = 0
        self._last_report = 0.0

    def stop(self) -> None:
        self._stopped.set()

    def run(self, files: tuple[SourceFile, ...], contents: list[bytes]) -> int:
        """Make the folders, then import every file; the number of files imported. A stop ends it early (and it
        says so by raising nothing: the caller that stopped it is cancelling)."""
        started = time.monotonic()
        self._last_report = started
        folders = _leaf_folders(self._folder, [f.path for f in files])
        total = len(files)
        try:
            with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
                list(pool.map(self._mkdirs, folders))  # every parent first: an import needs its folder
                list(pool.map(lambda item: self._import(*item, total), zip(files, contents, strict=True)))
        except BaseException:
            self._stopped.set()  # the imports not yet started return at once; the pool waits for the rest
            raise
        if not self._stopped.is_set():
            took = time.monotonic() - started
            self._progress(
                f"Uploaded {total} file(s) ({_megabytes(self._done_bytes)}) to {self._folder} in {took:.1f} s"
            )
        return self._done_files

    def _mkdirs(self, path: str) -> None:
        if not self._stopped.is_set():
            self._client.workspace.mkdirs(path)

    def _import(self, source: SourceFile, content: bytes, total: int) -> None:
        if self._stopped.is_set():
            return
        path = posixpath.join(self._folder, source.path)
        self._client.workspace.upload(path, content, format=ImportFormat.AUTO, overwrite=False)
        with self._lock:
            self._done_files += 1
            self._done_bytes += len(content)
            now = time.monotonic()
            if now - self._last_report >= PROGRESS_EVERY_S and self._done_files < total:
                self._last_report = now
                self._progress(f"Uploading: {self._done_files}/{total} file(s), {_megabytes(self._done_bytes)}")


def _leaf_folders(root: str, paths: list[str]) -> list[str]:
    """The workspace folders to make so that every file's parent exists: mkdirs makes parents, so the deepest
    folders suffice (the root itself when every file lies in it)."""
    folders = {posixpath.join(root, posixpath.dirname(p)).rstrip("/") for p in paths} | {root}
    parents = {posixpath.dirname(f) for f in folders}
    return sorted(f for f in folders if f not in parents)
