"""Running the notebook kernel as the run engine does: a subprocess per notebook, reporting through its result file."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dbcicd_localworkspace.jobs.task_process import KERNEL

HEADER = "# Databricks notebook source\n"
SEPARATOR = "\n# COMMAND ----------\n\n"


def notebook(*cells: str) -> str:
    """A Databricks source-format notebook of these cells."""
    return HEADER + SEPARATOR.join(cells)


def magic(text: str) -> str:
    """A magic cell as Databricks exports it: every line prefixed with `# MAGIC`."""
    return "".join(f"# MAGIC {line}".rstrip() + "\n" for line in text.splitlines())


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    exit_value: str | None = None
    error: str | None = None
    error_trace: str | None = None


class Workspace:
    """Folders standing in for the local workspace's tree, DBFS and volumes, and a way to run notebooks in them."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.tree, self.dbfs, self.volumes = base / "ws", base / "dbfs", base / "vol"
        self.tree.mkdir()

    def write(self, workspace_file: str, text: str) -> Path:
        path = self.tree / workspace_file.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def spec(self, file: Path, **fields: object) -> dict[str, object]:
        return {
            "kind": "notebook",
            "file": str(file),
            "workspace_path": "/" + file.relative_to(self.tree).with_suffix("").as_posix(),
            "parameters": {},
            "argv": [],
            "cwd": str(file.parent),
            "sys_path": [str(file.parent)],
            "workspace_root": str(self.tree),
            "dbfs_root": str(self.dbfs),
            "volumes_root": str(self.volumes),
            "result_file": str(self.base / "result.json"),
            **fields,
        }

    def run(self, file: Path, timeout: float = 60, **fields: object) -> Result:
        """Run the kernel on `file` (spec fields overridable) and wait; the exit code, output and result file."""
        spec = self.spec(file, **fields)
        result_file = Path(str(spec["result_file"]))
        result_file.unlink(missing_ok=True)
        spec_file = self.base / "spec.json"
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(KERNEL), str(spec_file)],
            cwd=str(spec["cwd"]),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
            check=False,
        )
        reported = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else {}
        return Result(done.returncode, done.stdout, done.stderr, **reported)
