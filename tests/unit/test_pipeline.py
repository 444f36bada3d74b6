"""Build variables -> what to check out, unique temporary names, idempotency tokens."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dbcicd.errors import ConfigurationError
from dbcicd.options.build import BuildContext, GitRef, parse_ref
from dbcicd.steps.tempnames import created_at, repo_name_from_url, temporary_name


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("refs/heads/main", GitRef("branch", "main")),
        ("refs/heads/feature/x", GitRef("branch", "feature/x")),
        ("refs/tags/v1.2", GitRef("tag", "v1.2")),
        ("develop", GitRef("branch", "develop")),
    ],
)
def test_refs_are_normalised(ref: str, expected: GitRef) -> None:
    """refs/heads/ and refs/tags/ prefixes become a branch or a tag."""
    assert parse_ref(ref) == expected


def test_merge_ref_is_refused() -> None:
    """A pull request's merge ref cannot be checked out by a Git folder; the error says what to use."""
    with pytest.raises(ConfigurationError, match=r"System\.PullRequest\.SourceBranch"):
        parse_ref("refs/pull/12/merge")


def test_pull_request_build_uses_source_branch_and_commit() -> None:
    """PR builds check out the PR's source branch at its source commit, and say so."""
    ctx = BuildContext.from_variables(
        {
            "Build.SourceBranch": "refs/pull/7/merge",
            "Build.SourceVersion": "a" * 40,
            "System.PullRequest.SourceBranch": "refs/heads/feature/login",
            "System.PullRequest.SourceCommitId": "b" * 40,
            "System.PullRequest.PullRequestId": "7",
        }
    )
    assert ctx.source_ref == GitRef("branch", "feature/login")
    assert ctx.source_commit == "b" * 40
    assert "pull request 7" in ctx.note and "feature/login" in ctx.note


def test_variable_names_are_case_insensitive() -> None:
    """Azure Pipelines variable names ignore case."""
    ctx = BuildContext.from_variables({"BUILD.SOURCEBRANCH": "refs/tags/v2", "build.buildid": "42"})
    assert ctx.source_ref == GitRef("tag", "v2")
    assert ctx.build_id == "42"


def test_idempotency_token_is_one_invocations_own() -> None:
    """One invocation gets the same token for the same purpose (an SDK retry re-sends it); a second invocation of
    the same step of the same attempt — a second command in a script step, a re-run with the same build id, the
    agent's retry of the step — gets another, and so starts a run of its own."""
    base = {"Build.BuildId": "9", "System.JobAttempt": "1", "System.TaskInstanceId": "step-a"}
    invocation = BuildContext.from_variables(base)
    token = invocation.idempotency_token("submit")
    assert token == invocation.idempotency_token("submit")
    assert len(token) <= 64
    assert token != invocation.idempotency_token("run-now:1")
    assert token != BuildContext.from_variables(base).idempotency_token("submit")
    assert invocation.invocation_tag != BuildContext.from_variables(base).invocation_tag


def test_temporary_names_are_unique_and_dated() -> None:
    """Two names made in the same second differ; the creation time is read back from the name."""
    now = datetime(2026, 5, 4, 3, 2, 1, tzinfo=timezone.utc)
    a = temporary_name("My_Project", "1234", "2", now)
    b = temporary_name("My_Project", "1234", "2", now)
    assert a != b
    assert a.startswith("dbcicd-my-project-b1234-a2-20260504T030201Z-")
    assert created_at(a) == now
    assert temporary_name("x", "", "", now).startswith("dbcicd-x-blocal-a1-")


def test_foreign_names_have_no_creation_time() -> None:
    """`cleanup` only touches names this tool made."""
    assert created_at("my-project") is None
    assert created_at("dbcicd-x-b1-a1-20260504T030201Z") is None
    assert created_at(temporary_name("x", "", "", datetime.now(timezone.utc) - timedelta(days=2))) is not None


def test_repo_name_from_url() -> None:
    assert repo_name_from_url("https://github.com/org/demo.git") == "demo"
    assert repo_name_from_url("https://dev.azure.com/o/p/_git/demo/") == "demo"
    assert repo_name_from_url("git@github.com:org/demo.git") == "demo"
