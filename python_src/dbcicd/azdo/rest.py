"""Results into Azure DevOps through its REST API, for when no agent reads our logging commands.

Outside an agent (a developer's shell, another CI system) nobody turns `results.publish` into a test run; and even
under an agent no logging command can post to a pull request. So, when asked:

- `publishAzureDevOps` (`--publish-azure-devops`): every test case of the run (one per task, and those the
  notebooks wrote) becomes a test run of the build: created InProgress, results added, then Completed;
- `pullRequestComment` (`--pull-request-comment`, off by default) on a pull-request build: a status on the pull
  request (succeeded/failed, linking the run page) and a comment thread holding the Markdown summary.

Pull-request comments work for Azure Repos only (`Build.Repository.Provider` `TfsGit`). For a GitHub or Bitbucket
pull request `System.PullRequest.PullRequestId` is the provider's own id, not the number (GitHub's number is in
`System.PullRequest.PullRequestNumber`), and `Build.Repository.ID` names a repository outside Azure Repos ("The ID of
the pull request ... System.PullRequest.PullRequestNumber: ... populated for pull requests from GitHub which have a
different pull request ID and pull request number", learn.microsoft.com, azure/devops/pipelines/build/variables), so
the Git API of Azure DevOps has no such pull request: such a build warns once and publishes no comment, instead of
failing a step whose run succeeded.

Where to: `System.CollectionUri`, `System.TeamProject`, `Build.BuildId`, `Build.Repository.ID` and
`System.PullRequest.PullRequestId`, as pipeline variables (`--var`) or from the environment as the agent sets them.
The token: `System.AccessToken`, else `AZURE_DEVOPS_TOKEN` or `SYSTEM_ACCESSTOKEN` from the environment; registered
as a secret the moment it is read.

The client is Microsoft's `azure-devops` package, an optional extra (`pip install "dbcicd[azure-devops]"`) because
it depends on msrest, unmaintained since 2022; it is imported only when one of the above is asked for.
"""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from databricks.sdk.service import jobs

from ..errors import ConfigurationError
from ..options.build import environment_name, variable
from ..secrets import redact, register_secret
from ..untrusted import bounded, untrusted_text
from .testcases import FAILED, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_TEXT_CHARS, SKIPPED, outcome_of

if TYPE_CHECKING:
    from ..options.parse import Options

INSTALL_HINT = 'pip install "dbcicd[azure-devops]"'
TOKEN_ENVIRONMENT = ("AZURE_DEVOPS_TOKEN", "SYSTEM_ACCESSTOKEN")
# The PublishTestResults task adds results in batches of 1,000; the service refuses much larger requests.
RESULTS_PER_REQUEST = 1_000
# A pull request comment holds at most 150,000 characters (a guess from the web UI's limit); summaries are far shorter.
MAX_COMMENT_CHARS = 150_000
# Build.Repository.Provider of a repository in Azure Repos; others: GitHub, GitHubEnterprise, Bitbucket, Git, Svn.
AZURE_REPOS_PROVIDER = "TfsGit"
STATUS_CONTEXT = ("dbcicd", "databricks-run")  # genre, name: one status per pull request, replaced by each build
_OUTCOMES = {FAILED: "Failed", SKIPPED: "NotExecuted"}


@dataclass(frozen=True)
class RestSettings:
    """What to publish, and where."""

    organization_url: str
    project: str
    token: str
    publish_test_run: bool
    comment_on_pull_request: bool
    build_id: str = ""
    repository_id: str = ""
    pull_request_id: str = ""
    test_run_title: str = ""

    @classmethod
    def from_options(
        cls,
        options: Options,
        variables: Mapping[str, str],
        environ: Mapping[str, str],
        warn: Callable[[str], None] | None = None,
    ) -> RestSettings | None:
        """None when nothing is asked for; raises ConfigurationError naming what is missing (before any run).
        `warn` gets what is asked for but cannot work here (a pull request outside Azure Repos)."""

        def value(name: str) -> str:
            return variable(variables, name) or environ.get(environment_name(name), "").strip()

        pull_request_id = value("System.PullRequest.PullRequestId")
        publish_test_run = options.publish_azure_devops
        comment = options.pull_request_comment and bool(pull_request_id)
        provider = value("Build.Repository.Provider")
        if comment and provider and provider != AZURE_REPOS_PROVIDER:
            comment = False
            if warn is not None:
                warn(
                    f"{options.names.input('pullRequestComment')} is on, but this pull request is in a {provider} "
                    "repository (Build.Repository.Provider), not in Azure Repos: dbcicd can comment on Azure Repos "
                    "pull requests only, so it posts no comment or status. The run's results are published as usual."
                )
        if not (publish_test_run or comment):
            return None
        token = value("System.AccessToken") or next((environ[n] for n in TOKEN_ENVIRONMENT if environ.get(n)), "")
        register_secret(token)
        settings = cls(
            organization_url=value("System.CollectionUri"),
            project=value("System.TeamProject"),
            token=token,
            publish_test_run=publish_test_run,
            comment_on_pull_request=comment,
            build_id=value("Build.BuildId"),
            repository_id=value("Build.Repository.ID"),
            pull_request_id=pull_request_id,
            test_run_title=options.test_run_title,
        )
        settings._check()
        return settings

    def _check(self) -> None:
        missing = [
            hint
            for hint, present in (
                ("the organization URL (System.CollectionUri, e.g. https://dev.azure.com/org/)", self.organization_url),
                ("the project (System.TeamProject)", self.project),
                ("a token (System.AccessToken, or AZURE_DEVOPS_TOKEN in the environment)", self.token),
                ("the repository id (Build.Repository.ID)", self.repository_id or not self.comment_on_pull_request),
            )
            if not present
        ]
        if missing:
            raise ConfigurationError(
                "Publishing to Azure DevOps through its REST API needs " + ", ".join(missing) + ": set them as "
                "pipeline variables (--var NAME=VALUE on the command line) or in the environment"
            )
        if self.comment_on_pull_request and not self.pull_request_id.isdigit():
            raise ConfigurationError(
                f"System.PullRequest.PullRequestId '{self.pull_request_id}' must be the pull request's number"
            )
        if not _client_installed():
            raise ConfigurationError(f"Publishing to Azure DevOps needs the azure-devops package: {INSTALL_HINT}")


def _client_installed() -> bool:
    try:
        return importlib.util.find_spec("azure.devops") is not None
    except ImportError:  # not even the `azure` namespace is there
        return False


def publish_results(
    settings: RestSettings, run: jobs.Run, documents: list[ET.Element], success: bool, summary: str
) -> list[str]:
    """Publish what `settings` asks for; returns what failed, as messages (empty when all went through)."""
    from msrest.exceptions import ClientException

    clients = _Clients(settings)
    problems = []
    steps = []
    if settings.publish_test_run:
        steps.append(("the test run", lambda: _publish_test_run(clients, settings, run, documents)))
    if settings.comment_on_pull_request:
        steps.append(("the pull request status", lambda: _post_status(clients, settings, run, success)))
        steps.append(("the pull request comment", lambda: _post_comment(clients, settings, summary)))
    for what, step in steps:
        try:
            step()
        except ClientException as err:
            problems.append(redact(f"{what} could not be published to Azure DevOps: {err}"))
    return problems


class _Clients:
    """The azure-devops connection, made on first use so that a bad URL is reported like any other failure."""

    def __init__(self, settings: RestSettings) -> None:
        self._settings = settings
        self._connection: Any = None

    def _connect(self) -> Any:
        if self._connection is None:
            from azure.devops.connection import Connection
            from msrest.authentication import BasicAuthentication

            credentials = BasicAuthentication("", self._settings.token)
            self._connection = Connection(base_url=self._settings.organization_url, creds=credentials)
        return self._connection

    def test(self) -> Any:
        return self._connect().clients_v7_1.get_test_client()

    def git(self) -> Any:
        return self._connect().clients_v7_1.get_git_client()


def _publish_test_run(clients: _Clients, settings: RestSettings, run: jobs.Run, documents: list[ET.Element]) -> None:
    from azure.devops.v7_1.test.models import RunCreateModel, RunUpdateModel, ShallowReference

    client = clients.test()
    results = [_result(case) for root in documents for case in root.iter("testcase")]
    created = client.create_test_run(
        RunCreateModel(
            name=settings.test_run_title or run.run_name or f"Databricks run {run.run_id}",
            automated=True,
            state="InProgress",
            build=ShallowReference(id=settings.build_id) if settings.build_id else None,
            start_date=_now(),
        ),
        settings.project,
    )
    for start in range(0, len(results), RESULTS_PER_REQUEST):
        client.add_test_results_to_test_run(results[start : start + RESULTS_PER_REQUEST], settings.project, created.id)
    client.update_test_run(RunUpdateModel(state="Completed", completed_date=_now()), settings.project, created.id)


def _result(case: ET.Element) -> Any:
    """A JUnit `testcase` as Azure DevOps maps it: title = name, test file = classname, Failed / NotExecuted."""
    from azure.devops.v7_1.test.models import TestCaseResult

    outcome = outcome_of(case)
    problem = next((case.find(tag) for tag in ("failure", "error", "skipped") if case.find(tag) is not None), None)
    name = untrusted_text(case.get("name", ""), MAX_NAME_CHARS)
    classname = untrusted_text(case.get("classname", ""), MAX_NAME_CHARS)
    message = (problem.get("message") or problem.text or "") if problem is not None else ""
    trace = (problem.text or "") if problem is not None and outcome == FAILED else ""
    return TestCaseResult(
        test_case_title=name,
        automated_test_name=f"{classname}.{name}" if classname else name,
        automated_test_storage=classname or None,
        automated_test_type="JUnit",
        outcome=_OUTCOMES.get(outcome, "Passed"),
        state="Completed",
        duration_in_ms=round(_seconds(case.get("time")) * 1000),
        error_message=untrusted_text(message, MAX_MESSAGE_CHARS) or None,
        stack_trace=untrusted_text(trace, MAX_TEXT_CHARS) or None,
    )


def _post_status(clients: _Clients, settings: RestSettings, run: jobs.Run, success: bool) -> None:
    from azure.devops.v7_1.git.models import GitPullRequestStatus, GitStatusContext

    genre, name = STATUS_CONTEXT
    status = GitPullRequestStatus(
        state="succeeded" if success else "failed",
        description=redact(f"Databricks run {run.run_id}: {'succeeded' if success else 'failed'}"),
        context=GitStatusContext(genre=genre, name=name),
        target_url=run.run_page_url or None,
    )
    clients.git().create_pull_request_status(
        status, settings.repository_id, int(settings.pull_request_id), project=settings.project
    )


def _post_comment(clients: _Clients, settings: RestSettings, summary: str) -> None:
    """The summary as a closed thread: informative, and never blocking a 'resolve all comments' policy."""
    from azure.devops.v7_1.git.models import Comment, GitPullRequestCommentThread

    content = bounded(redact(summary), MAX_COMMENT_CHARS)
    thread = GitPullRequestCommentThread(
        comments=[Comment(content=content, comment_type="text", parent_comment_id=0)], status="closed"
    )
    clients.git().create_thread(thread, settings.repository_id, int(settings.pull_request_id), project=settings.project)


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
