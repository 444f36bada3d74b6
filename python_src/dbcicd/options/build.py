"""What the build tells us: which commit, branch or tag is being built, and who this step is.

Azure Pipelines hands these over as variables (`Build.SourceBranch`, `System.PullRequest.SourceBranch`, ...); the
CLI may pass the same names. Nothing here talks to Databricks.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ConfigurationError

_SHA = re.compile(r"[0-9a-fA-F]{7,64}")

# Every pipeline variable the core reads (the CLI takes them from the environment under TF_BUILD, as BUILD_BUILDID).
VARIABLES = (
    "Build.BuildId",
    "Build.Repository.Uri",
    "Build.SourceBranch",
    "Build.SourceVersion",
    "Build.SourcesDirectory",
    "System.HostType",
    "System.JobAttempt",
    "System.JobId",
    "System.TaskInstanceId",
    "System.PullRequest.SourceBranch",
    "System.PullRequest.SourceCommitId",
    "System.PullRequest.PullRequestId",
    "System.PullRequest.PullRequestNumber",
)


def environment_name(variable_name: str) -> str:
    """How the agent exposes a variable to processes: upper case, `.` and spaces as `_`."""
    return variable_name.upper().replace(".", "_").replace(" ", "_")


@dataclass(frozen=True)
class GitRef:
    """A branch or a tag, as the Repos API takes them (`branch` / `tag` of PATCH /repos/{id})."""

    kind: str  # "branch" | "tag"
    name: str

    def __str__(self) -> str:
        return f"{self.kind} '{self.name}'"


def parse_ref(ref: str, what: str = "branch") -> GitRef:
    """`refs/heads/x` -> branch x, `refs/tags/v1` -> tag v1, `x` -> branch x."""
    ref = ref.strip()
    if ref.startswith("refs/heads/"):
        return GitRef("branch", ref[len("refs/heads/") :])
    if ref.startswith("refs/tags/"):
        return GitRef("tag", ref[len("refs/tags/") :])
    if ref.startswith("refs/pull/") or ref.startswith("refs/merge-requests/"):
        raise ConfigurationError(
            f"{what} '{ref}' is a pull request merge ref, which a Git folder cannot check out. "
            "Pull request builds use System.PullRequest.SourceBranch; pass 'branch' explicitly otherwise."
        )
    if not ref:
        raise ConfigurationError(f"{what} is empty")
    return GitRef("branch", ref)


def variable(variables: Mapping[str, str], name: str) -> str:
    """A pipeline variable by name; Azure Pipelines variable names are case-insensitive. '' when unset."""
    value = variables.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in variables.items() if k.lower() == lowered), "")
    return (value or "").strip()


@dataclass(frozen=True)
class BuildContext:
    """The build being run: identity (for unique names and idempotency) and the source it built."""

    build_id: str
    job_attempt: str
    step_id: str
    repository_url: str
    source_ref: GitRef | None
    source_commit: str
    pull_request: str  # the pull request id, '' for other builds
    note: str  # how the ref was chosen, for the log
    sources_directory: str = ""  # the agent's checkout (Build.SourcesDirectory), which `source: upload` uploads
    host_type: str = ""  # System.HostType: build, release or deployment; '' outside a pipeline
    invocation: str = field(default_factory=lambda: secrets.token_hex(8))  # new for every invocation

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> BuildContext:
        """Read the build from pipeline variables; pull-request builds use the PR's source branch and commit."""
        pr_branch = variable(variables, "System.PullRequest.SourceBranch")
        pr_commit = variable(variables, "System.PullRequest.SourceCommitId")
        pr_id = variable(variables, "System.PullRequest.PullRequestId") or variable(
            variables, "System.PullRequest.PullRequestNumber"
        )
        source_branch = variable(variables, "Build.SourceBranch")
        source_commit = variable(variables, "Build.SourceVersion")
        note = ""
        ref: GitRef | None = None
        if pr_branch:
            ref = parse_ref(pr_branch, "System.PullRequest.SourceBranch")
            note = f"pull request {pr_id or ''} build: using its source {ref}".replace("  ", " ")
            if pr_commit:
                source_commit = pr_commit
                note += f" at {pr_commit[:12]}"
            else:
                # Without the PR's source commit we cannot tell which commit of the branch was built.
                source_commit = ""
        elif source_branch:
            ref = parse_ref(source_branch, "Build.SourceBranch")
        return cls(
            build_id=variable(variables, "Build.BuildId"),
            job_attempt=variable(variables, "System.JobAttempt") or "1",
            step_id=variable(variables, "System.TaskInstanceId") or variable(variables, "System.JobId"),
            repository_url=variable(variables, "Build.Repository.Uri"),
            source_ref=ref,
            source_commit=source_commit if _SHA.fullmatch(source_commit) else "",
            pull_request=pr_id if pr_branch else "",
            note=note,
            sources_directory=variable(variables, "Build.SourcesDirectory"),
            host_type=variable(variables, "System.HostType").lower(),
        )

    def idempotency_token(self, purpose: str) -> str:
        """A token of this invocation alone, for one thing it starts (`purpose`).

        Databricks answers a repeated token with the run it already started (runs/submit and run-now,
        `idempotency_token`: "If a run with the provided token already exists, the request does not create a new run
        but returns the ID of the existing run instead"). The SDK re-sends the same request body when it retries a
        call, so such a retry still gets the run it started. Nothing else shares the token: not a second command in
        the same script step (same System.TaskInstanceId), not a re-run with the same build id, and not the agent's
        retry of a failed step (`retryCountOnTaskFailure`: the agent keeps the step's TaskInstanceId and runs its
        handler again, microsoft/azure-pipelines-agent src/Agent.Worker/TaskRunner.cs and RetryHelper), each of
        which must start a run of its own.
        """
        key = "\x1f".join((self.build_id, self.job_attempt, self.step_id, self.invocation, purpose))
        return "dbcicd-" + hashlib.sha256(key.encode()).hexdigest()[:57]

    @property
    def invocation_tag(self) -> str:
        """Ten characters unique to this invocation: in the run name, so that a run can be told to be ours."""
        return self.idempotency_token("invocation")[-10:]
