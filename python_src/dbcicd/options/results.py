"""The inputs that say what a run leaves behind for dbcicd to read: `notebookResultsDir`, where notebooks write
their result files (results/collect.py reads them back), and `exportNotebooks`, whose rendered pages to save
(results/rendered.py)."""

from __future__ import annotations

from ..errors import ConfigurationError
from .names import TASK_NAMES, Names

RESULTS_INPUT = "notebookResultsDir"
EXPORT_CHOICES = ("failed", "all", "none")
DEFAULT_EXPORT = "failed"


def notebook_results_root(value: str, names: Names = TASK_NAMES) -> str:
    """The `notebookResultsDir` input as a path notebooks can write to ('' when not given).

    `dbfs:/x` becomes `/dbfs/x`, the form a notebook's open() understands; anything outside the three readable
    places is refused here, before a run starts, rather than found unreadable after it.
    """
    value = value.strip().rstrip("/")
    if not value:
        return ""
    if value.startswith("dbfs:/"):
        value = "/dbfs/" + value[len("dbfs:/") :].lstrip("/")
    parts = [p for p in value.split("/") if p]
    if not value.startswith("/") or ".." in parts:
        raise ConfigurationError(f"{names.input(RESULTS_INPUT)} must be an absolute path without '..', got '{value}'")
    if parts[:1] == ["Volumes"] and len(parts) < 4:
        raise ConfigurationError(
            f"{names.input(RESULTS_INPUT)} '{value}' must name a volume: /Volumes/<catalog>/<schema>/<volume>[/folder]"
        )
    if parts[:1] not in (["Volumes"], ["Workspace"], ["dbfs"]) or len(parts) < 2:
        raise ConfigurationError(
            f"{names.input(RESULTS_INPUT)} '{value}' must be under /Volumes/<catalog>/<schema>/<volume>, /Workspace/ "
            "or dbfs:/ (where notebooks can write and dbcicd can read back)"
        )
    return value
