"""What a person sees of a run: the run page link the product prints opens in a real browser (headless chromium),
and runs/export answers as Databricks does, with the notebook as it ran. Screenshots are kept in
build/test-artifacts/run-pages/."""

from __future__ import annotations

import importlib.util
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service import jobs
from jobs_helpers import by_key, folder, notebook, notebook_task, submit_and_wait, upload, wait

from dbcicd.results.rendered import export_pages
from dbcicd_localworkspace import LocalWorkspaceServer
from dbcicd_localworkspace.render.export_page import decode_model
from headless_browser import ARTIFACTS, Browser, data_uri_png_size, find_browser
from notebook_pages import printed

pytestmark = [
    pytest.mark.slow,
    # The pages and the exported page's layout are the local workspace's own (a real workspace's export carries its
    # notebook model for its own viewer), and the notebooks run on the local cluster.
    pytest.mark.local_only("run pages and the layout of exported pages are the local workspace's own"),
]
PAGES = "run-pages"

# Every kind of output a cell can show, and output that would be markup if it were not escaped.
SHOWCASE = notebook(
    'print("rows loaded: 2")\nprint("<img src=x onerror=alert(1) id=printed>")',
    "# MAGIC %md\n# MAGIC ## Model check\n"
    "# MAGIC **Checked** <img src=x onerror=alert(1) id=md> [a](javascript:alert(1))",
    'import pandas as pd\ndisplay(pd.DataFrame({"income": [52000, 61000], "note": ["<b id=cell>x</b>", "ok"]}))',
    "displayHTML(\"<h2 id='injected'>Report</h2><script>document.title = 'pwned'</script>\")",
    "import matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots(figsize=(4, 3))\n"
    'ax.scatter([1, 2, 3], [1.1, 1.9, 3.2])\nax.set_title("predicted vs actual")\nplt.show()',
    'raise ValueError("income must be positive, got -3")',
)
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed (the test extra has it)"
)


@pytest.fixture(scope="module")
def browser() -> Browser:
    return find_browser()


@pytest.fixture(scope="module")
def showcase_run(client: WorkspaceClient) -> Iterator[jobs.Run]:
    """A run of two tasks: the showcase notebook (it fails at its last cell) and one that prints and succeeds."""
    base = folder(client)
    good = upload(client, f"{base}/report", notebook('print("report written")', 'dbutils.notebook.exit("42 rows")'))
    shown = upload(client, f"{base}/evaluate", SHOWCASE)
    yield submit_and_wait(client, notebook_task("evaluate", shown), notebook_task("report", good))


def test_the_printed_run_page_link_opens_in_a_browser(
    browser: Browser, showcase_run: jobs.Run, local_workspace: LocalWorkspaceServer
) -> None:
    """The run page URL (Databricks' `/?o=…#job/<job>/run/<run>`) shows the run, its tasks with state and duration,
    each task's output, error and trace, without a token."""
    url = showcase_run.run_page_url or ""
    assert url.startswith(local_workspace.host) and "#job/" in url
    dom = browser.dom(url)
    assert dom.title == "test"  # the run's name: the fragment led to the run's page
    heads = [th.text for th in dom.find_all("thead")[0].find_all("th")]
    assert heads == ["Task", "Notebook", "State", "Started", "Duration", "Message"]
    states = {row.find_all("td")[0].text: row.find_all("td")[2].text for row in dom.find_all("tbody")[0].find_all("tr")}
    assert states == {"evaluate": "FAILED", "report": "SUCCESS"}
    durations = [row.find_all("td")[4].text for row in dom.find_all("tbody")[0].find_all("tr")]
    assert all(d.endswith(" s") for d in durations), durations
    text = dom.root.text
    assert "report written" in text and "Notebook exited: 42 rows" in text
    errors = dom.find_all(cls="error")
    assert any("ValueError: income must be positive, got -3" in e.text and "Traceback" in e.text for e in errors)
    browser.screenshot(url, f"{PAGES}/run-page.png")


def test_a_task_run_link_shows_that_task(browser: Browser, showcase_run: jobs.Run) -> None:
    report = by_key(showcase_run)["report"]
    dom = browser.dom(report.run_page_url or "")
    sections = dom.find_all("section", cls="task")
    assert [s.attrs["id"] for s in sections] == [f"task-{report.run_id}"]
    assert "report written" in sections[0].text


def test_pages_are_for_this_machine_only_and_hold_no_token(
    showcase_run: jobs.Run, local_workspace: LocalWorkspaceServer
) -> None:
    """A request naming another host (a page of another site pointing its name at 127.0.0.1) is refused; the pages
    never show the API token; the API itself still wants the token."""
    path = f"/jobs/{showcase_run.job_id}/runs/{showcase_run.run_id}"
    status, body, headers = _get(local_workspace.host + path)
    assert status == 200 and local_workspace.token not in body
    assert "script-src 'none'" in headers["Content-Security-Policy"]
    status, index, _ = _get(local_workspace.host + "/")
    assert status == 200 and local_workspace.token not in index and str(showcase_run.run_id) in index
    assert _get(local_workspace.host + path, host="attacker.example:80")[0] == 403
    assert _get(local_workspace.host + "/jobs/1/runs/2")[0] == 404
    assert _get(local_workspace.host + f"/api/2.2/jobs/runs/get?run_id={showcase_run.run_id}")[0] == 401


def test_export_answers_as_databricks_does(client: WorkspaceClient, showcase_run: jobs.Run) -> None:
    """runs/export of a notebook task run: one NOTEBOOK view named after the notebook, a whole HTML page;
    DASHBOARDS: none (the local workspace has no dashboards); a multi-task run id or bad views_to_export: 400."""
    evaluate = by_key(showcase_run)["evaluate"]
    exported = client.jobs.export_run(evaluate.run_id)
    assert [(v.name, v.type) for v in exported.views or []] == [("evaluate", jobs.ViewType.NOTEBOOK)]
    content = (exported.views or [])[0].content or ""
    assert content.startswith("<!DOCTYPE html>") and "</html>" in content
    assert client.jobs.export_run(evaluate.run_id, views_to_export=jobs.ViewsToExport.ALL).views
    assert not client.jobs.export_run(evaluate.run_id, views_to_export=jobs.ViewsToExport.DASHBOARDS).views
    with pytest.raises(InvalidParameterValue, match="multiple tasks"):
        client.jobs.export_run(showcase_run.run_id)


@needs_matplotlib
def test_the_export_shows_what_the_notebook_showed(
    browser: Browser, client: WorkspaceClient, showcase_run: jobs.Run
) -> None:
    """The exported page, opened from a file as a person opens a saved page: the cells in order with their code,
    the printed text, the table, the displayHTML markup (sandboxed), the plot as a real image, the error with its
    trace, and nothing of the notebook's output acting as markup of the page."""
    evaluate = by_key(showcase_run)["evaluate"]
    page = ARTIFACTS / PAGES / "export-evaluate.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text((client.jobs.export_run(evaluate.run_id).views or [])[0].content or "", encoding="utf-8")
    dom = browser.dom(page.as_uri())

    cells = dom.find_all("div", cls="cell")
    languages = [c.find_all(cls="lang")[0].text.split("· ")[-1] for c in cells]
    assert languages == ["python", "md", "python", "python", "python", "python"]
    assert "rows loaded: 2" in cells[0].find_all("pre", cls="stdout")[0].text
    assert "<img src=x onerror=alert(1) id=printed>" in cells[0].text  # shown as text
    (heading,) = cells[1].find_all("h2")  # the Markdown shows formatted, its own tags as text, no script link
    assert heading.text == "Model check" and cells[1].find_all("strong")[0].text == "Checked"
    assert "%md" not in cells[1].text and "<img src=x onerror=alert(1) id=md>" in cells[1].text
    assert not [a for a in dom.find_all("a") if a.attrs.get("href", "").startswith("javascript")]

    (table,) = cells[2].find_all("table", cls="dataframe")
    assert [th.text for th in table.find_all("th")] == ["income", "note"]
    assert [[td.text for td in tr.find_all("td")] for tr in table.find_all("tbody")[0].find_all("tr")] == [
        ["52000", "<b id=cell>x</b>"],
        ["61000", "ok"],
    ]
    (frame,) = cells[3].find_all("iframe")
    assert frame.attrs["sandbox"] == "" and "<h2 id='injected'>" in frame.attrs["srcdoc"]

    (image,) = cells[4].find_all("img")
    width, height = data_uri_png_size(image.attrs["src"])
    assert width > 100 and height > 100

    (error,) = cells[5].find_all(cls="error")
    assert "ValueError: income must be positive, got -3" in error.text and "Traceback" in error.text

    assert dom.title == "evaluate"  # the displayHTML script did not run
    ids = {e.attrs.get("id") for e in dom.find_all()}
    assert not ids & {"printed", "cell", "injected", "md"}
    assert [i.attrs["src"][:22] for i in dom.find_all("img")] == ["data:image/png;base64,"]
    # The page carries two scripts, as Databricks' does: the notebook model (data: the policy allows only the
    # renderer to run) and the renderer, which replaced the body; no script came from the notebook's output.
    assert not dom.find_all("script")
    exported = page.read_text(encoding="utf-8")
    assert exported.count("<script>") == 2 and "<script>var __DATABRICKS_NOTEBOOK_MODEL = '" in exported
    browser.screenshot(page.as_uri(), f"{PAGES}/export-evaluate.png")


@needs_matplotlib
def test_a_page_over_the_bound_is_cut_and_still_renders_with_the_note(
    browser: Browser, client: WorkspaceClient, showcase_run: jobs.Run
) -> None:
    """The export of the showcase notebook, cut to less than its size as the step cuts pages (results/rendered.py),
    opened in a browser: the page's script renders it, the note is its first cell, the plot (the largest output)
    is replaced by a line saying so, and every other cell shows as it ran."""
    evaluate = by_key(showcase_run)["evaluate"]
    whole = (client.jobs.export_run(evaluate.run_id).views or [])[0].content or ""
    one = jobs.Run(run_id=showcase_run.run_id, tasks=[evaluate])
    [page] = export_pages(client, one, "all", max_page_bytes=len(whole.encode()) - 5000)
    assert page.cut and page.kept_bytes <= len(whole.encode()) - 5000
    file = ARTIFACTS / PAGES / "export-evaluate-cut.html"
    file.write_text(page.content, encoding="utf-8")

    dom = browser.dom(file.as_uri())
    note, *cells = dom.find_all("div", cls="cell")
    assert "This page was cut" in note.text and "largest outputs were left out" in note.text
    assert evaluate.run_page_url and evaluate.run_page_url in note.text
    assert len(cells) == 6 and "rows loaded: 2" in cells[0].text and "Model check" in cells[1].text
    assert not dom.find_all("img") and "was left out" in cells[4].text
    assert "ValueError: income must be positive" in cells[5].text
    browser.screenshot(file.as_uri(), f"{PAGES}/export-evaluate-cut.png")


def test_a_python_file_task_is_not_exported(client: WorkspaceClient) -> None:
    path = upload(client, f"{folder(client)}/job.py", 'print("plain file")\n')
    run = submit_and_wait(
        client,
        jobs.SubmitTask(
            task_key="file", spark_python_task=jobs.SparkPythonTask(python_file=path), existing_cluster_id="local"
        ),
    )
    with pytest.raises(InvalidParameterValue, match="Only notebook runs can be exported"):
        client.jobs.export_run(run.tasks[0].run_id)


def _get(url: str, host: str | None = None) -> tuple[int, str, dict[str, str]]:
    """(status, body, headers) of a request as a browser sends it: no token."""
    request = urllib.request.Request(url)
    if host is not None:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers)


def test_secret_values_are_redacted_in_every_output(client: WorkspaceClient) -> None:
    """A secret read with dbutils.secrets is [REDACTED] wherever a cell shows it: printed, in a table, in
    displayHTML, as the exit value."""
    scope, value = f"pages-{uuid.uuid4().hex[:10]}", "pa55-" + uuid.uuid4().hex
    client.secrets.create_scope(scope)
    try:
        client.secrets.put_secret(scope, "token", string_value=value)
        path = upload(
            client,
            f"{folder(client)}/leaky",
            notebook(
                f'token = dbutils.secrets.get("{scope}", "token")\nprint("token", token)',
                'import pandas as pd\ndisplay(pd.DataFrame({"t": [token]}))',
                'displayHTML(f"<p>{token}</p>")',
                "dbutils.notebook.exit(token)",
            ),
        )
        run = submit_and_wait(client, notebook_task("leaky", path))
        content = (client.jobs.export_run(run.tasks[0].run_id).views or [])[0].content or ""
    finally:
        client.secrets.delete_scope(scope)
    model = json.dumps(decode_model(re.search(r"__DATABRICKS_NOTEBOOK_MODEL = '([^']*)'", content).group(1)))
    assert value not in content and value not in model
    assert model.count("[REDACTED]") >= 4


def test_a_timed_out_task_shows_the_cells_it_ran(browser: Browser, client: WorkspaceClient) -> None:
    """A task ended by its timeout: its page says it timed out, and shows what its cells printed before."""
    path = upload(client, f"{folder(client)}/slow", notebook('print("step 1 done")', "import time\ntime.sleep(60)"))
    run = submit_and_wait(client, notebook_task("slow", path, timeout_seconds=1))
    dom = browser.dom(run.run_page_url or "")
    (section,) = dom.find_all("section", cls="task")
    assert "TIMEDOUT" in section.find_all("h2")[0].text
    assert "Task timed out after 1 seconds" in section.find_all(cls="error")[0].text
    cells = section.find_all("div", cls="cell")
    assert len(cells) == 2 and "step 1 done" in cells[0].text


@pytest.mark.parametrize("ending", ["timeout", "cancel"])
def test_an_interrupted_cell_shows_what_it_printed_until_then(
    browser: Browser, client: WorkspaceClient, tmp_path: Path, ending: str
) -> None:
    """A task stopped in the middle of a cell — by its timeout, or by a cancel once it has printed — shows that
    cell's printed text on its run page and in runs/export, as a notebook shows it (the kernel is killed, so the
    cell's record never closes: its text is what the streams hold from the cell's start on)."""
    marker = tmp_path / "printed"
    stuck = notebook(f'print("tick", 0, flush=True)\nopen({str(marker)!r}, "w").close()\nimport time\ntime.sleep(120)')
    path = upload(client, f"{folder(client)}/stuck", stuck)
    if ending == "timeout":
        run = submit_and_wait(client, notebook_task("stuck", path, timeout_seconds=3))
    else:
        run_id = client.jobs.submit(run_name="test", tasks=[notebook_task("stuck", path)]).run_id
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        client.jobs.cancel_run(run_id)
        run = wait(client, run_id)
    assert marker.exists(), "the cell never printed"
    (task,) = run.tasks or []
    exported = (client.jobs.export_run(task.run_id).views or [])[0].content or ""
    cells = browser.dom(run.run_page_url or "").find_all("div", cls="cell")
    assert len(cells) == 1 and "tick 0" in cells[0].find_all("pre", cls="stdout")[0].text
    assert any(text.startswith("tick 0") for text in printed(exported))
