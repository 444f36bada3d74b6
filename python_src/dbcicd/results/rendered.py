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
share is cut, and a note at the top of the page (and in the summary) says what was left out and where the whole
run is: nothing is left out silently.

How a page is cut: an export is not static HTML. It carries the notebook as one string, `var
__DATABRICKS_NOTEBOOK_MODEL = '<base64 of the URL-encoded JSON>';`, which the page's script renders into the body
when the page opens (databricks-sdk-py tests/integration/test_auth.py `_task_outputs` and databricks-demos/dbdemos
dbdemos/notebook_parser.py decode it so; the local workspace's render/export_page.py makes pages the same way). Bytes
cut off the end would cut that string, and the page would show nothing; a note put into the body would be replaced
by the render. So the model is decoded, the largest cell outputs (`commands[].results`) are replaced, largest first,
by a line saying what was left out, until the page fits; the note goes in as the model's first command, a `%md`
cell, which the page's own renderer shows; and the model is encoded back. Code and the other outputs stay as they
ran, which is what a reviewer reads; a page linking the run instead would keep none of it. Only a page that holds no
model, or that is still too large without any output (its code alone), becomes a small page of its own saying so
and linking the run.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import urllib.parse
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
_MODEL = re.compile(r"(__DATABRICKS_NOTEBOOK_MODEL = ')([A-Za-z0-9+/=]*)(')")
# encodeURIComponent's unescaped characters: what the page's decodeURIComponent reads back.
_URI_SAFE = "!'()*-._~"
# Room for the note and for each line that replaces an output (both written once the outputs to leave out are known;
# both encoded, the note is about 1 KB and a line about 400 bytes).
NOTE_RESERVE_BYTES = 2048
MARKER_RESERVE_BYTES = 600
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
    """The page, or, over `limit` bytes, the page with its largest outputs left out (see the module's docstring).
    Lone surrogates (JSON lets an export carry `\\udcff`, which no UTF-8 file can hold) become `?`."""
    content = content.encode("utf-8", "replace").decode("utf-8")
    full = len(content.encode("utf-8"))
    if full > limit:
        content = _without_largest_outputs(content, full, limit, run_page_url) or link_page(
            page.notebook, full, limit, run_page_url
        )
    return RenderedPage(page.task_key, page.task_run_id, page.notebook, content, full, len(content.encode("utf-8")))


def _without_largest_outputs(content: str, full: int, limit: int, run_page_url: str) -> str | None:
    """The page with the fewest of its largest outputs replaced that brings it within `limit`, and the note as its
    first cell; None when it holds no model or does not fit even without any output."""
    found = _MODEL.search(content)
    model = _decode_model(found.group(2)) if found else None
    commands = model.get("commands") if model else None
    if found is None or model is None or not isinstance(commands, list):
        return None
    budget = limit - (len(content.encode("utf-8")) - len(found.group(2))) - NOTE_RESERVE_BYTES
    outputs = sorted(
        ((len(_encode_model(c["results"])), c) for c in commands if isinstance(c, dict) and c.get("results")),
        key=lambda pair: pair[0],
        reverse=True,
    )
    excess = len(found.group(2)) - budget
    dropped = 0
    while excess > 0 and dropped < len(outputs):
        excess -= outputs[dropped][0] - MARKER_RESERVE_BYTES
        dropped += 1
    if excess > 0:
        return None
    for size, command in outputs[:dropped]:
        command["results"] = {"type": "ansi", "data": f"(This output, {size_text(size)}, was left out: {_WHY})"}
    note = {"command": f"%md\n{cut_note_markdown(full, limit, dropped, run_page_url)}", "results": None}
    positions = [c["position"] for c in commands if isinstance(c, dict) and isinstance(c.get("position"), int | float)]
    note["position"] = min(positions, default=1) - 1
    commands.insert(0, note)
    shrunk = content[: found.start(2)] + _encode_model(model) + content[found.end(2) :]
    return shrunk if len(shrunk.encode("utf-8")) <= limit else None


_WHY = "the page was over the size the step keeps; the run page shows it"


def _decode_model(encoded: str) -> dict | None:
    try:
        model = json.loads(urllib.parse.unquote(base64.b64decode(encoded, validate=True).decode("ascii")))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return model if isinstance(model, dict) else None


def _encode_model(value: object) -> str:
    quoted = urllib.parse.quote(json.dumps(value, ensure_ascii=False), safe=_URI_SAFE)
    return base64.b64encode(quoted.encode("ascii")).decode("ascii")


def cut_note_markdown(full: int, limit: int, dropped: int, run_page_url: str) -> str:
    """The note a cut page opens with, as a Markdown cell."""
    link = urllib.parse.quote(run_page_url, safe=":/?#=&%.~-_") if run_page_url else ""
    where = f" The whole run: [its run page]({link})." if link else ""
    return (
        f"**This page was cut**: it had {size_text(full)}, over the {size_text(limit)} the step keeps, so its "
        f"{dropped} largest outputs were left out (each says so in its place).{where}"
    )


def link_page(notebook: str, full: int, limit: int, run_page_url: str) -> str:
    """A small page in place of one that cannot be cut: what it was, and the run page's link."""
    where = f' The whole run: <a href="{html.escape(run_page_url)}">its run page</a>.' if run_page_url else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(notebook)}</title></head><body>"
        '<div class="dbcicd-cut" style="border:2px solid #cf222e;background:#fff8c5;color:#1f2328;padding:8px 12px;'
        'margin:8px;font:14px sans-serif">'
        f"This page was cut: the exported page of {html.escape(notebook)} had {size_text(full)}, over the "
        f"{size_text(limit)} the step keeps, and no smaller page of it could be made.{where}</div></body></html>\n"
    )


def size_text(count: int) -> str:
    """Bytes for a person: `20.0 MB`, `512 KB` (decimal units, as the limits are given)."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB"
    return f"{count / 1000:.0f} KB" if count >= 1000 else f"{count} bytes"
