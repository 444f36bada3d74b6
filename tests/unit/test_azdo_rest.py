"""Publishing through the Azure DevOps REST API with Microsoft's azure-devops client, against a loopback fake.

The real Azure DevOps service cannot be reached from tests, so a tiny http.server below answers the few endpoints
the client calls as Azure DevOps does: `OPTIONS _apis` (resource locations, from which the client builds its URLs),
the resource areas, test runs and results, pull request statuses and threads. It records every request.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk.service import jobs

from dbcicd.azdo.rest import INSTALL_HINT, RestSettings
from dbcicd.entry.cli import main
from dbcicd.errors import ConfigurationError
from dbcicd.options.names import TASK_NAMES
from dbcicd.options.parse import parse_options
from dbcicd.options.request import TaskRequest
from dbcicd.results.collect import ResultFile
from dbcicd.results.report import ReportSettings, publish
from dbcicd.steps.commands import Outcome
from json_reply import send_json

pytest.importorskip("azure.devops", reason=f"the optional azure-devops client is not installed ({INSTALL_HINT})")

TOKEN = "azdo-pat-5f0c1d2e3a4b"
FOLDER = "/Repos/ci/demo"
RUN_PAGE = "https://adb.example/#job/1/run/42"
PYTEST_XML = b"""<testsuites><testsuite name="pytest"><testcase classname="test_math" name="test_add" time="0.25"/>
<testcase classname="test_math" name="test_sub" time="0.5"><failure message="AssertionError: 0 != 1">trace
</failure></testcase></testsuite></testsuites>"""
TEST_AREA, GIT_AREA = "c2aa639c-3ccc-4740-b3b6-ce2a1e1d984e", "4e080c62-fa21-4fbc-8fef-2a10a2b38049"
PULL_REQUEST = "{project}/_apis/git/repositories/{repositoryId}/pullRequests/{pullRequestId}/{resource}"
# (location id, area, resource, route template, resource version), as Azure DevOps lists them in OPTIONS _apis.
LOCATIONS = [
    ("e81700f7-3be2-46de-8624-2eb35882fcaa", "Location", "ResourceAreas", "_apis/{resource}/{areaId}", 1),
    ("cadb3810-d47d-4a3c-a234-fe5f3be50138", "Test", "Runs", "{project}/_apis/test/{resource}/{runId}", 3),
    ("4637d869-3a76-4468-8057-0bb02aa385cf", "Test", "Results",
     "{project}/_apis/test/Runs/{runId}/{resource}/{testCaseResultId}", 6),
    ("b5f6bb4f-8d1e-4d79-8d11-4c9172c99c35", "git", "statuses", PULL_REQUEST + "/{statusId}", 1),
    ("ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", "git", "threads", PULL_REQUEST + "/{threadId}", 1),
]  # fmt: skip


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeAzureDevOps:
    """The organization `http://127.0.0.1:<port>/org`; `fail` maps a path suffix to an error message to answer."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    fail: dict[str, str] = field(default_factory=dict)

    def calls(self, method: str, suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.split("?")[0].endswith(suffix)]


def _handler(fake: FakeAzureDevOps) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            fake.requests.append(Recorded(self.command, self.path, dict(self.headers), json.loads(raw or b"null")))
            failure = next((message for suffix, message in fake.fail.items() if path.endswith(suffix)), None)
            if failure is not None:
                error = {"message": failure, "typeKey": "InvalidArgumentValueException", "errorCode": 0}
                return self._json(400, {"$id": "1", "innerException": None, **error})
            self._json(200, self._body(path, raw))

        def _body(self, path: str, raw: bytes) -> Any:
            body = json.loads(raw or b"null")
            if self.command == "OPTIONS":
                return {"count": len(LOCATIONS), "value": [_location(*location) for location in LOCATIONS]}
            if path.endswith("/_apis/ResourceAreas"):
                areas = [{"id": TEST_AREA, "name": "Test"}, {"id": GIT_AREA, "name": "git"}]
                return {"count": 2, "value": [{**area, "locationUrl": fake.url} for area in areas]}
            if path.endswith("/_apis/test/Runs"):
                return {"id": 7, "name": body["name"], "state": body["state"]}
            if path.endswith("/_apis/test/Runs/7/Results"):
                return {"count": len(body), "value": [{"id": 100000 + i} for i, _ in enumerate(body)]}
            if path.endswith("/_apis/test/Runs/7"):
                return {"id": 7, "state": body["state"]}
            return {**body, "id": 1}

        def _json(self, status: int, body: Any) -> None:
            send_json(self, status, body, "application/json; charset=utf-8; api-version=7.1")

        do_OPTIONS = do_GET = do_POST = do_PATCH = _answer

    return Handler


def _location(location_id: str, area: str, resource: str, template: str, version: int) -> dict[str, Any]:
    return {"id": location_id, "area": area, "resourceName": resource, "routeTemplate": template,
            "resourceVersion": version, "minVersion": "1.0", "maxVersion": "7.1", "releasedVersion": "7.0"}  # fmt: skip


@pytest.fixture(autouse=True)
def client_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client caches resource locations under the home folder unless told otherwise (read at its import)."""
    monkeypatch.setenv("AZURE_DEVOPS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "azure-devops-cache"))


@pytest.fixture
def azure_devops() -> Iterator[FakeAzureDevOps]:
    fake = FakeAzureDevOps()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/org"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def task(key: str, result: str, seconds: float) -> jobs.RunTask:
    return jobs.RunTask.from_dict(
        {
            "task_key": key,
            "run_id": len(key),
            "state": {"life_cycle_state": "TERMINATED", "result_state": result},
            "notebook_task": {"notebook_path": f"{FOLDER}/tests/{key}"},
            "run_page_url": f"{RUN_PAGE}/{key}",
            "execution_duration": int(seconds * 1000),
        }
    )


def outcome() -> Outcome:
    """A run with a passing, a failing and a skipped task, and a pytest JUnit file written by the passing one."""
    tasks = [task("passing", "SUCCESS", 1.5), task("failing", "FAILED", 2.0), task("dependent", "UPSTREAM_FAILED", 0)]
    run = jobs.Run.from_dict(
        {"run_id": 42, "run_name": "ci-tests", "run_page_url": RUN_PAGE, "state": {"result_state": "FAILED"}}
    )
    run.tasks = tasks
    trace = "Traceback\n  raise\nValueError: expected 3 rows"
    error = jobs.RunOutput(error="ValueError: expected 3 rows", error_trace=trace)
    return Outcome(
        command="test",
        success=False,
        message="The run failed",
        run=run,
        task_outputs={"failing": error},
        base_folder=FOLDER,
        result_files=[ResultFile("passing", f"/Workspace{FOLDER}/.dbcicd/results/pytest.xml", PYTEST_XML)],
    )


def request(organization_url: str, **inputs: str) -> TaskRequest:
    variables = {"System.CollectionUri": organization_url, "System.TeamProject": "proj", "Build.BuildId": "314",
                 "Build.Repository.ID": "repo-guid", "System.PullRequest.PullRequestId": "17"}  # fmt: skip
    return TaskRequest({"testRunTitle": "Notebook tests", **inputs}, {}, variables)


def rest_settings(asked: TaskRequest, environ: dict[str, str]) -> RestSettings | None:
    """What the session makes of the request: its options first, then the REST settings from them."""
    options = parse_options(TaskRequest({"command": "cleanup", **asked.inputs}, {}, asked.variables), TASK_NAMES)
    return RestSettings.from_options(options, asked.variables, environ)


def report(fake: FakeAzureDevOps, tmp_path: Path, **inputs: str) -> tuple[Any, str]:
    rest = rest_settings(request(fake.url, **inputs), {"AZURE_DEVOPS_TOKEN": TOKEN})
    stream = io.StringIO()
    result = publish(outcome(), ReportSettings(tmp_path), None, stream, rest)
    return result, stream.getvalue()


def test_test_run_created_filled_and_completed(azure_devops: FakeAzureDevOps, tmp_path: Path) -> None:
    """The task cases and the notebook's pytest cases become one completed test run of the build."""
    result, _ = report(azure_devops, tmp_path, publishAzureDevOps="true")

    [created] = azure_devops.calls("POST", "/org/proj/_apis/test/Runs")
    assert created.body == {**created.body, "name": "Notebook tests", "automated": True, "state": "InProgress"}
    assert created.body["build"] == {"id": "314"}
    assert created.headers["Accept"].endswith("api-version=7.1-preview.3")
    assert created.headers["Authorization"] == "Basic " + base64.b64encode(f":{TOKEN}".encode()).decode()
    [added] = azure_devops.calls("POST", "/org/proj/_apis/test/Runs/7/Results")
    results = {r["testCaseTitle"]: r for r in added.body}
    assert list(results) == ["passing", "failing", "dependent", "test_add", "test_sub"]
    assert {k: r["outcome"] for k, r in results.items()} == {
        "passing": "Passed", "failing": "Failed", "dependent": "NotExecuted", "test_add": "Passed", "test_sub": "Failed"
    }  # fmt: skip
    failing = results["failing"]
    assert failing["automatedTestName"] == "tests/failing.failing"
    assert failing["automatedTestStorage"] == "tests/failing"
    assert failing["errorMessage"] == "ValueError: expected 3 rows"
    assert failing["stackTrace"] == "Traceback\n  raise\nValueError: expected 3 rows"
    assert failing["durationInMs"] == 2000 and results["passing"]["durationInMs"] == 1500
    assert results["dependent"]["errorMessage"].startswith("Not started (UPSTREAM_FAILED): ")
    assert results["test_sub"]["errorMessage"] == "AssertionError: 0 != 1"
    assert results["test_sub"]["durationInMs"] == 500
    assert all(r["state"] == "Completed" and r["automatedTestType"] == "JUnit" for r in added.body)
    [completed] = azure_devops.calls("PATCH", "/org/proj/_apis/test/Runs/7")
    assert completed.body["state"] == "Completed"
    assert not azure_devops.calls("POST", "/statuses"), "no pull request comment unless asked"
    assert result.message == "The run failed; and 1 of 2 tests written by notebooks failed"


def test_pull_request_status_and_summary_comment(azure_devops: FakeAzureDevOps, tmp_path: Path) -> None:
    """pullRequestComment posts a failed status linking the run page and a closed thread with the summary."""
    result, _ = report(azure_devops, tmp_path, pullRequestComment="true")

    prefix = "/org/proj/_apis/git/repositories/repo-guid/pullRequests/17"
    [status] = azure_devops.calls("POST", f"{prefix}/statuses")
    assert status.body["state"] == "failed"
    assert status.body["targetUrl"] == RUN_PAGE
    assert status.body["context"] == {"genre": "dbcicd", "name": "databricks-run"}
    [thread] = azure_devops.calls("POST", f"{prefix}/threads")
    assert thread.body["status"] == "closed"
    [comment] = thread.body["comments"]
    assert comment["content"] == result.summary
    assert comment["content"].startswith("## Databricks run 42: FAILED")
    assert "ValueError: expected 3 rows" in comment["content"]
    assert not azure_devops.calls("POST", "/test/Runs"), "no test run unless asked"


def test_failures_to_publish_fail_the_step_and_never_show_the_token(
    azure_devops: FakeAzureDevOps, tmp_path: Path
) -> None:
    """A refused request is reported in the verdict, masked, and the other steps still go through."""
    azure_devops.fail["/threads"] = f"Bad request for token {TOKEN}"
    result, printed = report(azure_devops, tmp_path, publishAzureDevOps="true", pullRequestComment="true")

    assert not result.success
    expected = "the pull request comment could not be published to Azure DevOps: Bad request for token ***"
    assert expected in result.message
    assert azure_devops.calls("PATCH", "/test/Runs/7") and azure_devops.calls("POST", "/statuses")
    written = "".join(path.read_text() for path in tmp_path.iterdir())
    assert TOKEN not in printed + result.message + written


def test_nothing_asked_means_no_client() -> None:
    """Without publishAzureDevOps, and pullRequestComment outside a pull-request build, nothing is set up."""
    plain = request("https://dev.azure.com/org/")
    assert rest_settings(plain, {"AZURE_DEVOPS_TOKEN": TOKEN}) is None
    plain.variables.pop("System.PullRequest.PullRequestId")
    plain.inputs["pullRequestComment"] = "true"
    assert rest_settings(plain, {"AZURE_DEVOPS_TOKEN": TOKEN}) is None


def test_missing_settings_named_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--publish-azure-devops without an organization, project or token exits 2 naming each of them."""
    for name in ("TF_BUILD", "AZURE_DEVOPS_TOKEN", "SYSTEM_ACCESSTOKEN", "SYSTEM_COLLECTIONURI", "SYSTEM_TEAMPROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    assert main(["run", "--job-id", "1", "--publish-azure-devops"]) == 2
    error = capsys.readouterr().err
    assert "System.CollectionUri" in error and "System.TeamProject" in error and "AZURE_DEVOPS_TOKEN" in error


def test_missing_client_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking for REST publishing without the azure-devops package says how to install it."""
    monkeypatch.setitem(sys.modules, "azure.devops", None)
    with pytest.raises(ConfigurationError, match=r'pip install "dbcicd\[azure-devops\]"'):
        asked = request("https://dev.azure.com/org/", publishAzureDevOps="true")
        rest_settings(asked, {"AZURE_DEVOPS_TOKEN": TOKEN})


@pytest.mark.parametrize("provider", ["GitHub", "GitHubEnterprise", "Bitbucket"])
def test_a_pull_request_outside_azure_repos_warns_and_comments_nowhere(
    provider: str, azure_devops: FakeAzureDevOps, tmp_path: Path
) -> None:
    """For a GitHub or Bitbucket pull request System.PullRequest.PullRequestId is not the number and the repository
    is not in Azure Repos: pullRequestComment warns once and the step's verdict is the run's alone."""
    asked = request(azure_devops.url, pullRequestComment="true")
    asked.variables.update({"Build.Repository.Provider": provider, "Build.Repository.ID": "org/repo"})
    warnings: list[str] = []
    options = parse_options(TaskRequest({"command": "cleanup", **asked.inputs}, {}, asked.variables), TASK_NAMES)
    assert RestSettings.from_options(options, asked.variables, {"AZURE_DEVOPS_TOKEN": TOKEN}, warnings.append) is None
    [warning] = warnings
    assert f"Input 'pullRequestComment' is on, but this pull request is in a {provider} repository" in warning
    assert "Azure Repos pull requests only" in warning

    asked.inputs["publishAzureDevOps"] = "true"
    options = parse_options(TaskRequest({"command": "cleanup", **asked.inputs}, {}, asked.variables), TASK_NAMES)
    rest = RestSettings.from_options(options, asked.variables, {"AZURE_DEVOPS_TOKEN": TOKEN}, warnings.append)
    assert rest is not None and rest.publish_test_run and not rest.comment_on_pull_request
    run = jobs.Run.from_dict({"run_id": 43, "run_page_url": RUN_PAGE, "state": {"result_state": "SUCCESS"}})
    run.tasks = [task("ok", "SUCCESS", 1.0)]
    green = Outcome(command="test", success=True, message="Run 43 succeeded", run=run, base_folder=FOLDER)
    result = publish(green, ReportSettings(tmp_path), None, io.StringIO(), rest)
    assert result.success, result.message
    assert azure_devops.calls("POST", "/org/proj/_apis/test/Runs"), "the test run is still published"
    assert not azure_devops.calls("POST", "/statuses") and not azure_devops.calls("POST", "/threads")


def test_an_azure_repos_pull_request_still_gets_its_comment(azure_devops: FakeAzureDevOps) -> None:
    asked = request(azure_devops.url, pullRequestComment="true")
    asked.variables["Build.Repository.Provider"] = "TfsGit"
    rest = rest_settings(asked, {"AZURE_DEVOPS_TOKEN": TOKEN})
    assert rest is not None and rest.comment_on_pull_request
