"""The frame of every page: one style sheet, a Content-Security-Policy, and escaping.

Pages show what notebooks printed and displayed, which nobody vetted, so every text goes through `esc()` and the
policy forbids what an injected tag would need: scripts (only the page's own, by hash), network loads of any kind
(images must be `data:` URIs), forms, frames of other origins. The policy travels inside the document
(`<meta http-equiv>`), so it holds when an exported page is opened from a file, and in the header of the pages
served (http/pages.py).
"""

from __future__ import annotations

import base64
import hashlib
import html
from datetime import datetime, timezone

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1b3139;color:#fff;padding:12px 24px}header h1{font-size:18px;margin:0}
header .sub{color:#c8d3d8;font-size:12px}main{padding:16px 24px;max-width:1200px}
a{color:#1f6feb}table{border-collapse:collapse;background:#fff}th,td{border:1px solid #d8dee4;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#eef1f4}pre{margin:0;white-space:pre-wrap;word-break:break-word;
font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}.cell{background:#fff;border:1px solid #d8dee4;
border-radius:6px;margin:12px 0}.cell .code{background:#f6f8fa;padding:8px 12px;border-bottom:1px solid #d8dee4}
.cell .lang{float:right;color:#57606a;font-size:11px}.cell .out{padding:8px 12px}.out>*+*{margin-top:8px}
.stderr{color:#953800}.error{background:#ffebe9;border-left:4px solid #cf222e;padding:6px 10px}
.error .message{font-weight:600;color:#a40e26}.exit{color:#1a7f37}.note{color:#57606a;font-style:italic}
.state{font-weight:600}.SUCCESS{color:#1a7f37}.FAILED,.TIMEDOUT,.INTERNAL_ERROR,.UPSTREAM_FAILED{color:#cf222e}
.CANCELED,.UPSTREAM_CANCELED,.EXCLUDED,.SKIPPED{color:#6e7781}.RUNNING,.PENDING,.BLOCKED,.QUEUED{color:#9a6700}
section.task{margin:24px 0}iframe.html{width:100%;min-height:120px;border:1px dashed #d8dee4;background:#fff}
img.figure{max-width:100%;height:auto;display:block}.md>:first-child{margin-top:0}.md>:last-child{margin-bottom:0}
"""


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def policy(script: str = "") -> str:
    """Nothing may load but this page's style, its own script (by hash) and `data:` images; frames get no origin."""
    scripts = f"script-src {_hash(script)}" if script else "script-src 'none'"
    # style-src allows inline styles: displayHTML's own markup keeps its look inside its sandboxed frame, and CSS
    # cannot run code or, with every load forbidden, send anything anywhere.
    return (
        f"default-src 'none'; {scripts}; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; "
        "form-action 'none'; base-uri 'none'"
    )


def esc(value: object) -> str:
    """Text for an element or a quoted attribute: every character HTML gives a meaning escaped."""
    return html.escape(str(value), quote=True)


def document(title: str, subtitle: str, body: str, script: str = "", refresh_seconds: int = 0) -> str:
    """A whole page, self-contained (no file or network load); `script` (trusted, ours) runs under its hash; a page
    of something still changing (an active run) reloads itself every `refresh_seconds`."""
    code = f"<script>{script}</script>" if script else ""
    reload = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">{reload}'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(policy(script))}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f'<body><header><h1>{esc(title)}</h1><div class="sub">{esc(subtitle)}</div></header>'
        f"<main>{body}</main>{code}</body></html>\n"
    )


def when(ms: int) -> str:
    """An epoch-milliseconds time as people read it (UTC); '' for a time not reached (0)."""
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(ms: int) -> str:
    if ms <= 0:
        return ""
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s"
