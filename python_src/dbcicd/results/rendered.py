"""The notebooks as they ran: each notebook task's rendered page, for a reviewer who cannot open the workspace.

Jobs API `runs/export` (databricks-sdk `jobs.export_run`) takes a TASK run's id — a multi-task run as a whole is not
exported — and answers `views`: self-contained HTML, one per view. `views_to_export=CODE` (the default) is "the code
view of the notebook", `DASHBOARDS` "all dashboard views of the notebook" and `ALL` both (docs.databricks.com/api/
jobs/v2/export-run; databricks-sdk's `ViewsToExport`): the code view is the notebook with the outputs its cells showed
as the run page shows them, which is what a reviewer reads; dashboards, when a notebook has any, repeat some of those
outputs. No Databricks page states a size limit of the export.

Which tasks: `exportNotebooks` — `failed` (the default: the page that explains a failure), `all`, or `none`. Tasks
that never ran (skipped, upstream failed) have no page. A page that cannot be exported (a run older than the
workspace keeps, a task that is not a notebook) becomes a warning: the step's verdict is the run's.

Sizes: one page keeps at most `MAX_PAGE_BYTES`, all pages of a run together `MAX_TOTAL_BYTES`. A page over its
share is cut, and a note at the top of the page (and in the summary) says how much was kept and where the whole
run is: nothing is left out silently.
"""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
from databricks.sdk.service import jobs

from ..output import task_state
from .cases import PASSING_STATES, SKIP_REASONS

MAX_PAGE_BYTES = 20_000_000
MAX_TOTAL_BYTES = 100_000_000
EXPORT_THREADS = 8
_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class RenderedPage:
    """One task's page: its HTML (cut to `kept_bytes` of `full_bytes` when too large), or why there is none."""

    task_key: str
    task_run_id: int
    notebook: str  # the view's name (the notebook's)
    content: str = ""
    full_bytes: int = 0
    kept_bytes: int = 0
    error: str = ""

    @property
    def cut(self) -> bool:
        return self.kept_bytes < self.full_bytes

    @property
    def file_name(self) -> str:
        """`<task key>.html`, with what a file name cannot hold replaced."""
        return _UNSAFE_FILE_CHARS.sub("_", self.task_key) + ".html"


def tasks_to_export(run: jobs.Run, choice: str) -> list[jobs.RunTask]:
    """The notebook tasks whose page `choice` asks for, in the run's order."""
    if choice == "none":
        return []
    chosen = []
    for task in run.tasks or []:
        state = task_state(task)
        if task.notebook_task is None or task.run_id is None or state in SKIP_REASONS:
            continue
        if choice == "all" or state not in PASSING_STATES:
            chosen.append(task)
    return chosen


def export_pages(
    client: WorkspaceClient,
    run: jobs.Run,
    choice: str,
    max_page_bytes: int = MAX_PAGE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> list[RenderedPage]:
    """Export the pages `choice` asks for (concurrently), each cut to its share of the limits."""
    tasks = tasks_to_export(run, choice)
    if not tasks:
        return []
    with ThreadPoolExecutor(max_workers=min(EXPORT_THREADS, len(tasks))) as pool:
        exported = list(pool.map(lambda task: _export(client, task), tasks))
    pages, left = [], max_total_bytes
    for task, (page, content) in zip(tasks, exported, strict=True):
        if content:
            page = _bounded(page, content, min(max_page_bytes, left), task.run_page_url or "")
            left = max(0, left - page.kept_bytes)
        pages.append(page)
    return pages


def _export(client: WorkspaceClient, task: jobs.RunTask) -> tuple[RenderedPage, str]:
    key, run_id = task.task_key or str(task.run_id), int(task.run_id or 0)
    notebook = (task.notebook_task.notebook_path if task.notebook_task else "").rstrip("/").rsplit("/", 1)[-1]
    try:
        answer = client.jobs.export_run(run_id, views_to_export=jobs.ViewsToExport.CODE)
    except DatabricksError as err:
        return RenderedPage(key, run_id, notebook, error=f"runs/export of task {key} (run {run_id}): {err}"), ""
    views = [view for view in answer.views or [] if view.content]
    notebook_views = [view for view in views if view.type == jobs.ViewType.NOTEBOOK] or views
    if not notebook_views:
        return RenderedPage(key, run_id, notebook, error=f"runs/export of task {key} (run {run_id}) held no page"), ""
    view = notebook_views[0]
    return RenderedPage(key, run_id, view.name or notebook), view.content or ""


def _bounded(page: RenderedPage, content: str, limit: int, run_page_url: str) -> RenderedPage:
    """The page, or its first `limit` bytes with a note at its top saying so. Lone surrogates (JSON lets an export
    carry `\\udcff`, which no UTF-8 file can hold) become `?`."""
    content = content.encode("utf-8", "replace").decode("utf-8")
    data = content.encode("utf-8")
    full = len(data)
    if full <= limit:
        return RenderedPage(page.task_key, page.task_run_id, page.notebook, content, full, full)
    kept = data[: max(0, limit)].decode("utf-8", errors="ignore")
    if kept.rfind("<") > kept.rfind(">"):
        kept = kept[: kept.rfind("<")]  # never inside a tag
    note = cut_note(len(kept.encode("utf-8")), full, run_page_url)
    body = _BODY.search(kept)
    content = kept[: body.end()] + note + kept[body.end() :] if body else note + kept
    return RenderedPage(page.task_key, page.task_run_id, page.notebook, content, full, len(kept.encode("utf-8")))


def cut_note(kept: int, full: int, run_page_url: str) -> str:
    """The visible note at the top of a page that was cut."""
    where = f' The whole run: <a href="{html.escape(run_page_url)}">its run page</a>.' if run_page_url else ""
    return (
        '<div class="dbcicd-cut" style="border:2px solid #cf222e;background:#fff8c5;color:#1f2328;padding:8px 12px;'
        'margin:8px;font:14px sans-serif">'
        f"This page was cut: the first {size_text(kept)} of {size_text(full)} are kept, over the size the step "
        f"keeps.{where}</div>"
    )


def size_text(count: int) -> str:
    """Bytes for a person: `20.0 MB`, `512 KB` (decimal units, as the limits are given)."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB"
    return f"{count / 1000:.0f} KB" if count >= 1000 else f"{count} bytes"
