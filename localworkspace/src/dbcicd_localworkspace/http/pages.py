"""Pages for browsers: the run page links the product prints (`run_page_url`) open on the machine that serves the
local workspace, without a token, and show the run, its tasks and what each notebook printed, displayed and raised
(the renderer is render/).

Who may read them. A browser sends no bearer token, so pages are served to the local machine only, on conditions
that together keep them from anyone else:
- the server listens on 127.0.0.1 only, so no other machine reaches it; a request from any other address is refused
  all the same, should that ever change;
- the Host header must be this server's own (`127.0.0.1:<port>` or `localhost:<port>`): a web page in the user's
  browser cannot read them by pointing a name of its own at 127.0.0.1 (DNS rebinding), and the browser's same-origin
  rule keeps any other page from reading the answers;
- they are read-only (GET and HEAD), so a link cannot make the workspace do anything;
- no page holds the API token or any credential, so what a page shows cannot be used to call the API. They show
  notebook output, which is what the user's own runs printed.
A per-run view token in the link would also keep out other users of a shared machine, but it would be a credential
in every pipeline log that prints the link, and the link's shape is Databricks' own (`/?o=<id>#job/<job>/run/<run>`),
which the product and its users rely on.

A Databricks run page link carries the run in its fragment (`#job/<job>/run/<run>`), which browsers never send: `/`
answers a page whose one script (allowed by its hash, see render/page.py) sends the browser on to
`/jobs/<job>/runs/<run>`, the run's page (a path of our choosing, shaped like the newer links of Databricks' UI; no
source here settles theirs); without a fragment it lists the recent runs. Pages show the runs of the server's
default tenant (the workspace `--root` holds).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from ..render.page import document, esc, policy
from ..render.run_page import index_page, run_page
from .errors import ApiError
from .request import Request, Response

if TYPE_CHECKING:
    from ..jobs.api import Jobs

RUN_PAGE = re.compile(r"/jobs/(\d+)/runs/(\d+)/?")
RECENT_RUNS = 100
FRAGMENT_SCRIPT = (
    "var m=location.hash.match(/^#job\\/(\\d+)\\/run\\/(\\d+)/);if(m){location.replace('/jobs/'+m[1]+'/runs/'+m[2]);}"
)


def is_page(method: str, path: str) -> bool:
    return method in ("GET", "HEAD") and (path == "/" or RUN_PAGE.fullmatch(path) is not None)


def answer_page(jobs: Jobs, port: int, req: Request, client_address: str) -> Response:
    if not ipaddress.ip_address(client_address).is_loopback:
        return _page(403, "Not served here", "Run pages are served to the machine the local workspace runs on.")
    host = req.headers.get("Host", "")
    if host not in (f"127.0.0.1:{port}", f"localhost:{port}"):
        return _page(403, "Not served here", f"Open run pages at http://127.0.0.1:{port}/ (this request named {host}).")
    if req.path == "/":
        return _html(200, index_page(jobs.recent_runs(RECENT_RUNS), FRAGMENT_SCRIPT), FRAGMENT_SCRIPT)
    match = RUN_PAGE.fullmatch(req.path)
    assert match is not None
    job_id, run_id = int(match.group(1)), int(match.group(2))
    try:
        view = jobs.run_view(run_id)
    except ApiError as err:
        return _page(404, "No such run", err.message)
    if view.job_id != job_id:
        return _page(404, "No such run", f"Run {run_id} is not a run of job {job_id}; it belongs to job {view.job_id}.")
    return _html(200, run_page(view))


def _page(status: int, title: str, message: str) -> Response:
    return _html(status, document(title, "Local workspace", f"<p>{esc(message)}</p>"))


def _html(status: int, text: str, script: str = "") -> Response:
    headers = {
        "Content-Security-Policy": policy(script),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return Response(text.encode("utf-8"), status, "text/html; charset=utf-8", headers)
