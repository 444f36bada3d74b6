"""The renderer of notebook runs (dbcicd_localworkspace/render): whatever a notebook produced is text of the page, never
its markup, and a page says what a person needs to read it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from dbcicd_localworkspace.render.notebook import cells_html
from dbcicd_localworkspace.render.page import document, policy
from dbcicd_localworkspace.render.run_page import RunView, TaskView, run_page

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def test_every_output_of_a_notebook_is_text() -> None:
    cells = [
        {
            "language": HOSTILE,
            "source": HOSTILE,
            "outputs": [
                {"kind": "stdout", "text": HOSTILE, "cut": 0},
                {"display": "table", "columns": [HOSTILE], "rows": [[HOSTILE]], "total": 1},
                {"display": "html", "html": HOSTILE},
                {"exit": HOSTILE},
                {"error": HOSTILE, "trace": HOSTILE},
            ],
        }
    ]
    page = document(HOSTILE, HOSTILE, cells_html(cells))
    found = tags(page)
    assert [t for t, _ in found].count("script") == 0 and not any(t == "img" for t, _ in found)
    assert not any(k.startswith("on") for _, attrs in found for k in attrs)
    (frame,) = [attrs for t, attrs in found if t == "iframe"]
    assert frame["sandbox"] == "" and frame["srcdoc"] == HOSTILE  # markup only inside the sandboxed frame
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 7


def test_images_are_data_uris_of_image_types_only() -> None:
    good = {"display": "image", "mime": "image/png", "data": "iVBORw0KGgo="}
    svg = {"display": "image", "mime": "image/svg+xml", "data": "PHN2Zz4="}
    broken = {"display": "image", "mime": "image/png", "data": '"><script>x</script>'}
    html = cells_html([{"language": "python", "source": "", "outputs": [good, svg, broken]}])
    assert [a["src"] for t, a in tags(html) if t == "img"] == ["data:image/png;base64,iVBORw0KGgo="]
    assert html.count("an image that cannot be shown") == 2


def test_the_policy_allows_no_script_but_the_pages_own_and_no_network() -> None:
    assert "script-src 'none'" in policy() and "img-src data:" in policy() and "default-src 'none'" in policy()
    own = policy("go()")
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", own) and "'unsafe-inline'" not in own.split(";")[1]
    page = document("t", "s", "<p>x</p>", "go()")
    assert f'content="{policy("go()")}"'.replace("'", "&#x27;") in page


def test_long_output_says_it_was_cut() -> None:
    html = cells_html([{"language": "python", "source": "", "outputs": [{"kind": "stdout", "text": "end", "cut": 9}]}])
    assert "9 bytes cut" in html
    table = {"display": "table", "columns": ["a"], "rows": [["1"]], "total": 5000}
    assert "Showing the first 1 of 5000 rows" in cells_html([{"language": "python", "source": "", "outputs": [table]}])


def task(result: str, end_ms: int) -> TaskView:
    return TaskView(
        key="t", run_id=2, kind="spark_python_task", path="/f.py", phase="RUNNING" if not result else "TERMINATED",
        result=result, message="", start_ms=1_000, end_ms=end_ms, folder=Path("/nonexistent"),
        error=None, error_trace=None, exit_value=None,
    )  # fmt: skip


def view(result: str) -> RunView:
    end = 4_000 if result else 0
    return RunView(
        run_id=1, job_id=9, name="nightly", phase="TERMINATED" if result else "RUNNING", result=result,
        message="", start_ms=1_000, end_ms=end, tasks=(task(result, end),),
    )  # fmt: skip


def test_the_page_of_an_active_run_reloads_itself_and_an_ended_one_does_not() -> None:
    assert '<meta http-equiv="refresh" content="3">' in run_page(view(""))
    ended = run_page(view("SUCCESS"))
    assert 'http-equiv="refresh"' not in ended and "3.0 s" in ended and "SUCCESS" in ended
