"""Pure logic of starting runs: parameters, task keys, globs, compute, Git folder paths and providers."""

from __future__ import annotations

import pytest

from dbcicd.errors import ConfigurationError
from dbcicd.options.compute import Compute
from dbcicd.options.git import check_folder_path, check_temp_parent, provider_for, public_url, same_repository
from dbcicd.options.notebooks import notebook_path, split_patterns
from dbcicd.options.parameters import parse_parameters
from dbcicd.steps.notebooks import glob_to_regex
from dbcicd.steps.runs import task_keys


def test_parameters_from_lines_and_json() -> None:
    """key=value lines and a JSON object both work; JSON values become strings."""
    assert parse_parameters("a=1\n# comment\nb = x=y\n") == {"a": "1", "b": "x=y"}
    assert parse_parameters('{"a": 1, "b": "s", "c": true}') == {"a": "1", "b": "s", "c": "true"}


@pytest.mark.parametrize("bad", ["{not json", "[1, 2]", "novalue", "=x"])
def test_bad_parameters_name_the_input(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="parameters"):
        parse_parameters(bad)


def test_task_keys_are_readable_and_unique() -> None:
    """Path separators become underscores; collisions get a numeric suffix; keys stay within 100 characters."""
    assert task_keys(["tests/test_a", "tests/test-b", "tests.test_a", "x" * 150]) == [
        "tests_test_a",
        "tests_test-b",
        "tests_test_a_2",
        "x" * 100,
    ]


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("tests/test_*", ["tests/test_a"], ["tests/sub/test_a", "test_a"]),
        ("tests/**/test_*", ["tests/test_a", "tests/sub/deep/test_b"], ["other/test_a"]),
        ("**", ["a", "a/b/c"], []),
        ("nb?", ["nb1"], ["nb12"]),
        ("t[0-9]", ["t1"], ["ta"]),
    ],
)
def test_globs(pattern: str, matches: list[str], misses: list[str]) -> None:
    regex = glob_to_regex(pattern)
    assert all(regex.match(m) for m in matches)
    assert not any(regex.match(m) for m in misses)


def test_notebook_patterns_split_on_lines_and_commas() -> None:
    assert split_patterns("a, b\n\n c \n") == ["a", "b", "c"]


def test_compute_choices() -> None:
    """Existing cluster by id, a new cluster from JSON, serverless by default; bad JSON names the input."""
    assert Compute.from_inputs("", "", "").kind == "serverless"
    assert Compute.from_inputs("", "0123-abc", "").existing_cluster_id == "0123-abc"
    new = Compute.from_inputs("newCluster", "", '{"spark_version": "15.4.x-scala2.12", "num_workers": 1}')
    assert new.new_cluster is not None and new.new_cluster.num_workers == 1
    with pytest.raises(ConfigurationError, match="newClusterJson"):
        Compute.from_inputs("newCluster", "", "{oops")
    with pytest.raises(ConfigurationError, match="existingClusterId"):
        Compute.from_inputs("existingCluster", "", "")


@pytest.mark.parametrize("bad", ["Repos/ci/x", "/Repos/ci", "/Repos/a/b/c", "/Repos/ci/../x", ""])
def test_bad_folder_paths(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="repoPath"):
        check_folder_path(bad)


def test_folder_paths() -> None:
    assert check_folder_path("/Workspace/Repos/ci/demo/") == "/Repos/ci/demo"
    assert check_folder_path("/Users/me@x.com/demo") == "/Users/me@x.com/demo"
    assert check_temp_parent("/Repos/ci/") == "/Repos/ci"
    with pytest.raises(ConfigurationError, match="tempFolder"):
        check_temp_parent("/Repos/ci/nested")


def test_providers() -> None:
    """Explicit providers in any casing; otherwise guessed from the host; unknown hosts ask for gitProvider."""
    assert provider_for("file:///x", "GITHUB") == "gitHub"
    assert provider_for("https://github.com/o/r") == "gitHub"
    assert provider_for("https://org@dev.azure.com/org/p/_git/r") == "azureDevOpsServices"
    assert provider_for("https://org.visualstudio.com/p/_git/r") == "azureDevOpsServices"
    with pytest.raises(ConfigurationError, match="gitProvider"):
        provider_for("https://git.example.com/r")
    with pytest.raises(ConfigurationError, match="gitProvider"):
        provider_for("https://github.com/o/r", "sourceforge")


def test_urls_without_credentials() -> None:
    """Credentials in a URL never reach Databricks; comparisons ignore them and cosmetic differences."""
    assert public_url("https://user:secret@dev.azure.com/o/p/_git/r") == "https://dev.azure.com/o/p/_git/r"
    assert same_repository("https://GitHub.com/o/r.git", "https://github.com/o/r/")
    assert not same_repository("https://github.com/o/r", "https://github.com/o/other")


@pytest.mark.parametrize(
    ("given", "path"),
    [
        ("tests/test_x", "tests/test_x"),
        ("./tests/test_x.py", "tests/test_x"),
        ("jobs/report.SQL", "jobs/report"),
        ("jobs/etl.scala", "jobs/etl"),
        ("nb/analysis.r", "nb/analysis"),
        ("nb/explore.ipynb", "nb/explore"),
        ("data/v1.2/load", "data/v1.2/load"),
    ],
)
def test_notebook_paths_lose_the_same_extensions_in_a_git_folder_and_at_a_commit(given: str, path: str) -> None:
    """One rule for both: a run at a commit (git_source) had kept .sql, .scala and .r, and failed to find them."""
    assert notebook_path(given) == path
