"""Options: every input declared once, parsed before anything starts, errors in the words of the entry used."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from dbcicd.entry.cli import _parser
from dbcicd.errors import ConfigurationError
from dbcicd.options.names import CLI_NAMES, CLI_ONLY_INPUTS, INPUT_FLAGS, TASK_NAMES
from dbcicd.options.parse import parse_options
from dbcicd.options.request import TaskRequest

TASK_JSON = Path(__file__).resolve().parents[2] / "task.json"
TEST = {"command": "test", "notebooks": "tests/test_*", "gitUrl": "https://github.com/org/p", "branch": "main"}


def cli_flags() -> set[str]:
    """Every option string of every sub-command of `dbcicd`."""
    flags: set[str] = set()
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                flags.update(s for a in sub._actions for s in a.option_strings)
    return flags


def test_inputs_are_declared_once_for_the_task_and_the_cli() -> None:
    """The declared inputs are task.json's (plus the CLI's own), and each declared flag exists on the CLI."""
    task_inputs = {i["name"] for i in json.loads(TASK_JSON.read_text())["inputs"]}
    assert set(INPUT_FLAGS) == task_inputs | CLI_ONLY_INPUTS
    assert {flag for flag in INPUT_FLAGS.values() if flag} <= cli_flags()


def test_reading_an_undeclared_input_is_a_bug() -> None:
    with pytest.raises(KeyError, match="not declared"):
        TaskRequest({"command": "test"}).text("timeoutMinuets")


@pytest.mark.parametrize(
    ("inputs", "task_error", "cli_error"),
    [
        ({"timeoutMinutes": "0"}, "Input 'timeoutMinutes' must be greater than 0", "--timeout-minutes must be greater"),
        ({"timeoutMinutes": "soon"}, "Input 'timeoutMinutes' must be a number", "--timeout-minutes must be a number"),
        ({"timeoutMinutes": "nan"}, "Input 'timeoutMinutes' must be a finite number", "--timeout-minutes must be a f"),
        ({"publishTestResults": "maybe"}, "Input 'publishTestResults' must be true or false", "publishTestResults"),
        ({"failOnTestFailure": "maybe"}, "Input 'failOnTestFailure' must be true or false", "--no-fail-on-test-fail"),
        ({"retryTimeoutSeconds": "2.5"}, "Input 'retryTimeoutSeconds' must be a whole", "--retry-timeout-seconds must"),
        ({"olderThanHours": "-1"}, "Input 'olderThanHours' must be at least 0", "--older-than-hours must be at least"),
        ({"compute": "gpu"}, "compute 'gpu' is not one of", "--compute 'gpu' is not one of"),
        ({"gitProvider": "svn"}, "gitProvider 'svn' is not a Git provider", "--git-provider 'svn' is not a Git"),
        ({"tempFolder": "/Repos/a/b"}, "tempFolder '/Repos/a/b' is not allowed", "--temp-folder '/Repos/a/b' is not"),
        ({"notebooks": "../x"}, "notebooks entry '../x' must be relative", "--notebooks entry '../x' must be rel"),
        ({"branch": "main", "tag": "v1"}, "Give either branch or tag, not both", "Give either --branch or --tag"),
        ({"parameters": "{"}, "parameters is not valid JSON", "--parameters is not valid JSON"),
        ({"compute": "existingCluster"}, "existingClusterId is empty but compute", "--existing-cluster-id is empty"),
        ({"notebookResultsDir": "/tmp/r"}, "Input 'notebookResultsDir' '/tmp/r' must", "--notebook-results-dir '/tmp"),
    ],
)
def test_a_wrong_value_names_the_input_or_the_flag(inputs: dict[str, str], task_error: str, cli_error: str) -> None:
    request = TaskRequest({**TEST, **inputs})
    with pytest.raises(ConfigurationError, match="^" + re.escape(task_error)):
        parse_options(request, TASK_NAMES)
    with pytest.raises(ConfigurationError) as refused:
        parse_options(request, CLI_NAMES)
    assert cli_error in refused.value.message


def test_each_command_gets_what_it_needs_checked_before_it_starts() -> None:
    with pytest.raises(ConfigurationError, match="exactly one of --notebooks, --job-id, --job-name or --bundle-job"):
        parse_options(TaskRequest({"command": "run", "notebooks": "a", "jobName": "b"}), CLI_NAMES)
    with pytest.raises(ConfigurationError, match="--notebooks globs need a Git folder to search: give --repo-path"):
        parse_options(TaskRequest({**TEST, "command": "run"}), CLI_NAMES)
    with pytest.raises(ConfigurationError, match="--git-url is required outside a pipeline"):
        parse_options(TaskRequest({"command": "test", "notebooks": "t", "branch": "main"}), CLI_NAMES)
    with pytest.raises(ConfigurationError, match="Input 'repoPath' is required"):
        parse_options(TaskRequest({**TEST, "command": "repo"}), TASK_NAMES)


def test_options_are_typed_and_immutable() -> None:
    options = parse_options(TaskRequest({**TEST, "timeoutMinutes": "1.5", "parameters": "env=staging"}), TASK_NAMES)
    assert options.timeout_seconds == 90
    assert options.parameters == {"env": "staging"}
    assert options.git is not None and options.git.provider == "gitHub" and options.git.ref.name == "main"
    with pytest.raises(TypeError):
        options.parameters["env"] = "prod"  # type: ignore[index]


def test_every_wrong_input_is_reported_at_once() -> None:
    """Three mistakes, one message naming each: a second attempt is not needed to find the second mistake."""
    inputs = {**TEST, "timeoutMinutes": "soon", "publishTestResults": "maybe", "tempFolder": "relative/x"}
    with pytest.raises(ConfigurationError) as refused:
        parse_options(TaskRequest(inputs), TASK_NAMES)
    lines = refused.value.message.splitlines()
    assert lines[0] == "3 inputs need fixing; nothing was started:"
    assert lines[1].startswith("- tempFolder 'relative/x' must be")
    assert lines[2:] == [
        "- Input 'timeoutMinutes' must be a number, got 'soon'",
        "- Input 'publishTestResults' must be true or false, got 'maybe'",
    ]


def test_a_check_that_depends_on_a_wrong_input_is_not_reported_twice() -> None:
    """A malformed repoPath is one mistake, not also 'repoPath is required'."""
    with pytest.raises(ConfigurationError) as refused:
        parse_options(TaskRequest({**TEST, "command": "repo", "repoPath": "/Repos/onlyone"}), CLI_NAMES)
    assert "required" not in refused.value.message and "\n" not in refused.value.message
