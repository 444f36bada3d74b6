"""runs/export's page as Databricks makes it: the notebook carried as data, drawn by the page's own script.

A Databricks export is not static HTML. The notebook model (its name, language and `commands`, each with the cell's
`command` text and its `results`) is JSON, URL-encoded, then base64, in one script line
`var __DATABRICKS_NOTEBOOK_MODEL = '<base64>';`, and a script of the page renders it into `document.body` (Databricks'
StaticNotebookView: `ImportUtilities.importNotebookV1(__DATABRICKS_NOTEBOOK_MODEL)`, "an external dependency from
HtmlExporter.scala", then `ReactDOM.render(..., document.body)`). Readers of exports decode it the same way:
databricks-sdk-py tests/integration/test_auth.py (`_task_outputs`: the regular expression
`var __DATABRICKS_NOTEBOOK_MODEL = '(.*)';`, base64, `urllib.parse.unquote`, `json.loads`, then
`commands[].results.data`, a string or a list of items with `data`), databricks-demos/dbdemos
dbdemos/notebook_parser.py (decodes, edits `commands`, re-encodes with `urllib.parse.quote`).

Databricks' scripts load from its servers, which a page opened offline cannot reach, so this page carries a renderer
of its own (`RENDERER`). It never runs the model: the model's script is not allowed by the page's policy (only the
renderer's hash is), and the renderer reads the model as text from that script and builds the page with DOM calls
(text as text nodes, displayHTML markup only in a sandboxed frame's `srcdoc`). Whoever edits the model (dbcicd
shrinks a page too large to keep) keeps a page that renders.

The shapes of `results` items follow what the readers above use: `ansi` text, `table` (`schema` of `{name}` and
rows in `data`), `htmlSandbox`, and `listResults` holding several; a failed command has `errorSummary` and `error`
(the trace). No public source documents the model: `image` items (`mime` and base64 `data`), `truncated` of a
table and `renderedMarkdown` of a `%md` command are this workspace's own. Databricks renders a Markdown cell in the
browser; this renderer has no Markdown of its own, so the cell comes rendered (notebook.py's `markdown_html`: HTML
off, unsafe links refused), and the renderer still copies only plain formatting elements and safe links out of it.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

from .notebook import MARKDOWN_MAGICS, markdown_html
from .page import document

MODEL_VARIABLE = "__DATABRICKS_NOTEBOOK_MODEL"
# encodeURIComponent's unescaped characters, so that the browser's decodeURIComponent reads it back.
_URI_SAFE = "!'()*-._~"


def encode_model(model: dict[str, Any]) -> str:
    """The model as the page carries it: JSON, URL-encoded, base64."""
    quoted = urllib.parse.quote(json.dumps(model, ensure_ascii=False), safe=_URI_SAFE)
    return base64.b64encode(quoted.encode("ascii")).decode("ascii")


def decode_model(encoded: str) -> dict[str, Any]:
    return json.loads(urllib.parse.unquote(base64.b64decode(encoded).decode("ascii")))


def model_script(encoded: str) -> str:
    return f"<script>var {MODEL_VARIABLE} = '{encoded}';</script>"


def notebook_model(name: str, cells: list[dict[str, Any]], error: str = "", trace: str = "") -> dict[str, Any]:
    """The model of a notebook run from its cell record (runtime/cell_record.py). A run that failed before any cell
    was recorded gets one command holding its error, so that its page still says why."""
    commands = [_command(position, cell) for position, cell in enumerate(cells, start=1)]
    if not commands and error:
        commands = [{"command": "", "position": 1, "state": "error", "errorSummary": error, "error": trace}]
    language = str(cells[0].get("language") or "python") if cells else "python"
    return {"version": "NotebookV1", "name": name, "language": language, "commands": commands}


def export_document(name: str, model: dict[str, Any]) -> str:
    """The whole page: the model as data, and the renderer that draws it when the page opens."""
    body = model_script(encode_model(model)) + '<p class="note">Rendering the notebook…</p>'
    return document(name, "", body, RENDERER)


def _command(position: int, cell: dict[str, Any]) -> dict[str, Any]:
    language = str(cell.get("language") or "python")
    source = str(cell.get("source", ""))
    command: dict[str, Any] = {
        "command": source if language == "python" or source.startswith("%") else f"%{language}\n{source}",
        "position": position,
        "state": "finished",
        "results": None,
    }
    if language in MARKDOWN_MAGICS:
        command["renderedMarkdown"] = markdown_html(source, language)
    items = []
    for output in cell.get("outputs", []):
        if "error" in output:
            command.update(state="error", errorSummary=str(output["error"]), error=str(output.get("trace", "")))
        else:
            items.append(_result_item(output))
    if items:
        command["results"] = {"type": "listResults", "data": items}
    return command


def _result_item(output: dict[str, Any]) -> dict[str, Any]:
    kind = output.get("kind") or output.get("display") or next(iter(output), "")
    if kind in ("stdout", "stderr"):
        cut = output.get("cut") or 0
        note = f"… {cut} bytes cut; the whole output is in the task's log\n" if cut else ""
        return {"type": "ansi", "data": note + str(output.get("text", ""))}
    if kind == "table":
        rows = output.get("rows") or []
        schema = [{"name": str(column)} for column in output.get("columns") or []]
        truncated = output.get("total", len(rows)) > len(rows)
        return {"type": "table", "schema": schema, "data": rows, "truncated": truncated}
    if kind == "html":
        return {"type": "htmlSandbox", "data": str(output.get("html", ""))}
    if kind == "image":
        return {"type": "image", "mime": str(output.get("mime", "")), "data": str(output.get("data", ""))}
    if kind == "exit":
        return {"type": "ansi", "data": f"Notebook exited: {output.get('exit', '')}"}
    return {"type": "ansi", "data": ""}


# The page's renderer: reads the model from the text of its script (never running it), then draws the notebook with
# DOM calls only: every text a text node, displayHTML markup only as a sandboxed frame's srcdoc, images only as
# data: URIs of image types with base64 data.
RENDERER = r"""
(function () {
  "use strict";
  var IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif"];
  var FORMATTING = ("H1 H2 H3 H4 H5 H6 P STRONG EM CODE PRE UL OL LI BLOCKQUOTE HR BR A " +
    "TABLE THEAD TBODY TR TH TD").split(" ");
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function readModel() {
    var scripts = document.getElementsByTagName("script");
    for (var i = 0; i < scripts.length; i++) {
      var found = /__DATABRICKS_NOTEBOOK_MODEL = '([A-Za-z0-9+\/=]*)'/.exec(scripts[i].textContent);
      if (found) return JSON.parse(decodeURIComponent(atob(found[1])));
    }
    return null;
  }
  function item(result) {
    var type = result && result.type;
    if (type === "table") {
      var box = el("div");
      var table = el("table", "dataframe"), head = el("tr"), body = el("tbody");
      (result.schema || []).forEach(function (c) { head.appendChild(el("th", "", c && c.name)); });
      (result.data || []).forEach(function (row) {
        var tr = el("tr");
        (row || []).forEach(function (v) { tr.appendChild(el("td", "", v)); });
        body.appendChild(tr);
      });
      var thead = el("thead");
      thead.appendChild(head);
      table.appendChild(thead);
      table.appendChild(body);
      box.appendChild(table);
      var shown = (result.data || []).length;
      if (result.truncated) box.appendChild(el("p", "note", "Showing the first " + shown + " rows"));
      return box;
    }
    if (type === "htmlSandbox" || type === "html") {
      var frame = el("iframe", "html");
      frame.setAttribute("sandbox", "");
      frame.setAttribute("title", "displayHTML");
      frame.setAttribute("srcdoc", String(result.data || ""));
      return frame;
    }
    if (type === "image") {
      var data = String(result.data || "");
      if (IMAGE_TYPES.indexOf(result.mime) < 0 || !/^[A-Za-z0-9+\/]*={0,2}$/.test(data)) {
        return el("p", "note", "(an image that cannot be shown)");
      }
      var img = el("img", "figure");
      img.setAttribute("alt", "figure");
      img.setAttribute("src", "data:" + result.mime + ";base64," + data);
      return img;
    }
    return el("pre", "stdout", typeof result.data === "string" ? result.data : JSON.stringify(result.data));
  }
  // A copy of rendered Markdown with nothing but formatting: other elements become their text, no attribute is
  // kept but an http(s) or in-page link's href.
  function formatted(markup) {
    var box = el("div", "md");
    function copy(from, to) {
      from.childNodes.forEach(function (node) {
        if (node.nodeType === 3) {
          to.appendChild(document.createTextNode(node.nodeValue));
        } else if (node.nodeType === 1 && FORMATTING.indexOf(node.tagName) >= 0) {
          var kept = document.createElement(node.tagName.toLowerCase());
          var href = node.tagName === "A" ? node.getAttribute("href") || "" : "";
          if (/^(https?:|#)/i.test(href)) kept.setAttribute("href", href);
          copy(node, kept);
          to.appendChild(kept);
        } else if (node.nodeType === 1) {
          to.appendChild(document.createTextNode(node.textContent));
        }
      });
    }
    copy(new DOMParser().parseFromString(String(markup), "text/html").body, box);
    return box;
  }
  function cell(command, number) {
    var text = String(command.command || "");
    var magic = /^%([A-Za-z-]+)\s*\n?/.exec(text);
    var language = magic ? magic[1] : "python";
    var box = el("div", "cell");
    box.id = "cell-" + number;
    var code = el("div", "code");
    code.appendChild(el("span", "lang", "Cmd " + number + " \u00b7 " + language));
    var source = magic ? text.slice(magic[0].length) : text;
    if (typeof command.renderedMarkdown === "string") {
      code.appendChild(formatted(command.renderedMarkdown));
    } else {
      code.appendChild(el("pre", language === "md" || language === "md-sandbox" ? "md" : "", source));
    }
    box.appendChild(code);
    var out = el("div", "out");
    var results = command.results;
    var items = results ? (results.type === "listResults" ? results.data || [] : [results]) : [];
    items.forEach(function (r) { out.appendChild(item(r)); });
    if (command.errorSummary || command.error) {
      var error = el("div", "error");
      error.appendChild(el("pre", "message", command.errorSummary || ""));
      error.appendChild(el("pre", "trace", command.error || ""));
      out.appendChild(error);
    }
    if (out.childNodes.length) box.appendChild(out);
    return box;
  }
  var model = readModel();
  var header = el("header"), main = el("main");
  header.appendChild(el("h1", "", model ? model.name : "No notebook in this page"));
  var commands = model ? (model.commands || []).slice() : [];
  commands.sort(function (a, b) { return (a.position || 0) - (b.position || 0); });
  commands.forEach(function (command, i) { main.appendChild(cell(command, i + 1)); });
  if (model && !commands.length) main.appendChild(el("p", "note", "No cell ran."));
  document.body.replaceChildren(header, main);
})();
"""
