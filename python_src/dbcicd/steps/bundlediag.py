"""What the Databricks CLI says about a bundle, made into Azure DevOps issues: a diagnostic with the file and line it
points at, and a held deploy lock named with its holder and the way out.

The CLI writes each diagnostic to stderr as `<Severity>: <summary>`, then `  at <path in the configuration>`, then
`  in <file>:<line>:<column>` (one line per location), a blank line and the detail (databricks/cli
libs/logdiag/logdiag.go, its error and warning templates). Everything in them comes from the bundle, which a pull
request may have written: messages pass `untrusted_text`, and a file is pointed at only when it is a plain relative
path inside the bundle's folder; the logging command's properties are escaped where it is written
(azdo/logging_commands.py format_command).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..untrusted import untrusted_text

MAX_MESSAGE_CHARS = 1000
_HEAD = re.compile(r"^(Error|Warning|Recommendation): (.*)$")
_LOCATION = re.compile(r"^  in (.+):(\d+):(\d+)$")
_PATH = re.compile(r"^  at (.+)$")
# databricks/cli libs/locker/locker.go assertLockHeld: "deploy lock acquired by <user> at <time>. Another
# deployment may be in progress. Use --force-lock to override..." (`force-acquired` when it was forced).
_LOCK = re.compile(r"deploy lock (?:force-)?acquired by (.+?) at (.+?)\.\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Issue:
    """An issue for the step's record; `source_path` and `line` point at the file (absolute, on the agent)."""

    kind: str  # error | warning
    message: str
    source_path: str = ""
    line: int = 0
    column: int = 0


def diagnostics(stderr: str, bundle_dir: Path) -> list[Issue]:
    """Every error and warning diagnostic in the CLI's stderr, as an issue with its file and line where it has one."""
    issues: list[Issue] = []
    current: dict[str, object] | None = None
    for raw in stderr.splitlines():
        head = _HEAD.match(raw)
        if head:
            if current is not None:
                issues.append(_issue(current, bundle_dir))
            current = {"kind": head.group(1), "summary": head.group(2), "at": "", "in": None}
            continue
        if current is None:
            continue
        if (located := _LOCATION.match(raw)) and current["in"] is None:
            current["in"] = (located.group(1), int(located.group(2)), int(located.group(3)))
        elif (path := _PATH.match(raw)) and not current["at"]:
            current["at"] = path.group(1)
    if current is not None:
        issues.append(_issue(current, bundle_dir))
    return [issue for issue in issues if issue.kind in ("error", "warning")]


def _issue(found: dict[str, object], bundle_dir: Path) -> Issue:
    kind = "error" if found["kind"] == "Error" else "warning" if found["kind"] == "Warning" else "info"
    message = f"{found['summary']}" + (f" (at {found['at']})" if found["at"] else "")
    location = found["in"]
    source, line, column = "", 0, 0
    if isinstance(location, tuple):
        file, line, column = location
        source = _inside(str(file), bundle_dir)
        message += f" in {file}:{line}:{column}"
        if not source:
            line = column = 0
    return Issue(kind, untrusted_text(message, MAX_MESSAGE_CHARS), untrusted_text(source), line, column)


def _inside(file: str, bundle_dir: Path) -> str:
    """The absolute path of `file` when it is a relative path inside the bundle's folder, else ''."""
    relative = PurePosixPath(file.replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts or not relative.parts or ":" in file:
        return ""
    return str(bundle_dir.joinpath(*relative.parts))


def lock_holder(stderr: str) -> tuple[str, str] | None:
    """Who holds the deploy lock, and since when, if the CLI said the lock is held."""
    found = _LOCK.search(stderr)
    return (untrusted_text(found.group(1), 200), untrusted_text(found.group(2), 100)) if found else None
