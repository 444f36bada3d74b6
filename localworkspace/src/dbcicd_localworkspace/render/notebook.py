"""A notebook as it ran, cell by cell: its code, then what the cell printed, displayed and raised, in order
(from the record the kernel kept, runtime/cell_record.py), for the run pages; runs/export carries the same cells
as a notebook model that its page's script draws (export_page.py).

displayHTML markup is the one output shown as markup, as Databricks shows it: inside an iframe with `sandbox` and
no permission (no script, no form, no navigation of the page, an origin of its own) and the page's policy (no
network), its text given through `srcdoc`, escaped. A `%md` cell shows formatted, as a notebook shows a Markdown
cell (docs.databricks.com/notebooks/notebooks-code.html, documentation in a notebook with %md): CommonMark by
markdown-it-py with HTML off, so a tag in the cell is text, and its link check refuses javascript:, vbscript:,
file: and (but for images) data: links. Everything else is text.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt

from .page import esc

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
MARKDOWN_MAGICS = ("md-sandbox", "md")  # the longer first: `%md-sandbox` starts with `%md`
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def cells_html(cells: list[dict[str, Any]]) -> str:
    """The cells, in order; a cell shows its language, its code and its outputs."""
    if not cells:
        return '<p class="note">No cell ran.</p>'
    return "".join(_cell(number, cell) for number, cell in enumerate(cells, start=1))


def _cell(number: int, cell: dict[str, Any]) -> str:
    language = str(cell.get("language") or "python")
    source = str(cell.get("source", ""))
    if language in MARKDOWN_MAGICS:
        code = f'<div class="md">{markdown_html(source, language)}</div>'
    else:
        code = f"<pre>{esc(source)}</pre>"
    outputs = "".join(_output(o) for o in cell.get("outputs", []))
    return (
        f'<div class="cell" id="cell-{number}"><div class="code"><span class="lang">Cmd {number} · {esc(language)}'
        f"</span>{code}</div>" + (f'<div class="out">{outputs}</div>' if outputs else "") + "</div>"
    )


def markdown_html(source: str, magic: str) -> str:
    """A `%md` cell as formatted text: its Markdown (the cell without its `%md` word) as HTML in which every tag of
    the cell's own is escaped text."""
    return _MARKDOWN.render(source.removeprefix(f"%{magic}").lstrip(" "))


def _output(output: dict[str, Any]) -> str:
    kind = output.get("kind") or output.get("display") or next(iter(output), "")
    if kind in ("stdout", "stderr"):
        cut = output.get("cut") or 0
        note = f'<p class="note">… {cut} bytes cut; the whole output is in the task\'s log</p>' if cut else ""
        return f'{note}<pre class="{kind}">{esc(output.get("text", ""))}</pre>'
    if kind == "table":
        return _table(output)
    if kind == "html":
        return f'<iframe class="html" sandbox="" title="displayHTML" srcdoc="{esc(output.get("html", ""))}"></iframe>'
    if kind == "image":
        mime, data = str(output.get("mime", "")), str(output.get("data", ""))
        if mime not in IMAGE_TYPES or not _BASE64.fullmatch(data):
            return '<p class="note">(an image that cannot be shown)</p>'
        return f'<img class="figure" alt="figure" src="data:{mime};base64,{data}">'
    if kind == "exit":
        return f'<pre class="exit">Notebook exited: {esc(output.get("exit", ""))}</pre>'
    if kind == "error":
        return (
            f'<div class="error"><pre class="message">{esc(output.get("error", ""))}</pre>'
            f'<pre class="trace">{esc(output.get("trace", ""))}</pre></div>'
        )
    return ""


def _table(output: dict[str, Any]) -> str:
    columns, rows = output.get("columns") or [], output.get("rows") or []
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in rows)
    total = output.get("total", len(rows))
    note = f'<p class="note">Showing the first {len(rows)} of {total} rows</p>' if total > len(rows) else ""
    return f'<table class="dataframe"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}'
