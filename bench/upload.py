"""How long `source: upload` takes to import a repository into the local workspace, parallel against sequential.

The repository: --files files (default 2,000; one in ten a notebook, the rest modules and data of 1-9 KB) in
nested folders, about 10 MB in all, committed with git. Each repeat lists the commit, reads its blobs and imports
every file into a new folder, as the `test` command does, with the product's thread count and with one thread (the
baseline, measured in the same run); the folder is deleted between repeats and not timed.

    python bench/upload.py [--files 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from databricks.sdk import WorkspaceClient

from _localserver import local_workspace
from dbcicd.steps import upload

TARGET_S = 10.0  # "a 2,000-file repository uploads in seconds"
NOTEBOOK = "# Databricks notebook source\nprint({i})\n"


def make_repository(where: Path, count: int) -> int:
    """A committed repository of `count` files; its size in bytes."""
    size = 0
    for i in range(count):
        folder = where / f"pkg{i % 20}" / f"sub{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        if i % 10 == 0:
            path, text = folder / f"nb_{i}.py", NOTEBOOK.format(i=i)
        else:
            path, text = folder / f"m_{i}.txt", f"{i}\n" * (250 + (i * 37) % 2000)
        path.write_text(text)
        size += len(text)
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "x"]):
        subprocess.run(["git", *args], cwd=where, check=True)
    return size


def upload_once(client: WorkspaceClient, checkout: Path, folder: str) -> float:
    started = time.perf_counter()
    found = upload.commit_files(checkout, "bench")
    upload.Upload(client, folder, lambda _: None).run(found.files, upload.read_contents(checkout, found.files))
    elapsed = time.perf_counter() - started
    client.workspace.delete(folder, recursive=True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    threads = upload.UPLOAD_THREADS
    with tempfile.TemporaryDirectory() as tmp, local_workspace() as env:
        client = WorkspaceClient(host=env["DATABRICKS_HOST"], token=env["DATABRICKS_TOKEN"], auth_type="pat")
        size = make_repository(Path(tmp), args.files)
        timings: dict[int, list[float]] = {threads: [], 1: []}
        for i in range(args.repeat):
            for count in timings:
                upload.UPLOAD_THREADS = count
                timings[count].append(upload_once(client, Path(tmp), f"/Shared/bench-upload-{count}-{i}"))
        upload.UPLOAD_THREADS = threads

    parallel, sequential = statistics.median(timings[threads]), statistics.median(timings[1])
    print(f"repository: {args.files} files, {size / 1024 / 1024:.1f} MB")
    print(f"{threads} threads:   p50 {parallel:.2f} s  ({args.files / parallel:.0f} files/s)")
    print(f"1 thread:     p50 {sequential:.2f} s  (baseline)")
    print(f"speed-up over the baseline: {sequential / parallel:.1f}x")
    verdict = "met" if parallel <= TARGET_S else "MISSED"
    print(f"target p50 <= {TARGET_S:g} s: ratio {parallel / TARGET_S:.2f} -> {verdict}")
    return 0 if parallel <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
