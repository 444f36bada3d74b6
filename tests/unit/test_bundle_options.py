"""The bundle inputs checked before anything starts (options/bundle.py): each mistake names its input and the fix,
all of them in one message."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbcicd.errors import ConfigurationError
from dbcicd.options.names import CLI_NAMES, TASK_NAMES
from dbcicd.options.parse import parse_options
from dbcicd.options.request import TaskRequest


def _bundle(tmp_path: Path) -> Path:
    (tmp_path / "etl").mkdir()
    (tmp_path / "etl" / "databricks.yml").write_text("bundle:\n  name: etl\n")
    return tmp_path


def test_deploy_reads_the_bundle_inputs(tmp_path: Path) -> None:
    inputs = {
        "command": "deploy",
        "bundleDir": "etl",
        "bundleTarget": "staging",
        "bundleVariables": "catalog=dev\n\n schema = ci \n",
        "bundleForceLock": "true",
        "sourceDir": str(_bundle(tmp_path)),
    }
    bundle = parse_options(TaskRequest(inputs), CLI_NAMES).bundle
    assert bundle is not None
    assert bundle.directory == (tmp_path / "etl").resolve()
    assert bundle.variables == (("catalog", "dev"), ("schema", "ci"))
    assert (bundle.target, bundle.force_lock, bundle.cli_version, bundle.cli_version_given) == (
        "staging",
        True,
        "1.13.0",
        False,
    )


def test_every_bad_bundle_input_is_named_with_its_fix(tmp_path: Path) -> None:
    inputs = {
        "command": "deploy",
        "bundleDir": "nowhere",
        "bundleTarget": "--force-lock",
        "bundleVariables": "catalog\nbad name=1",
        "cliVersion": "latest",
        "cliPath": str(tmp_path / "missing"),
        "sourceDir": str(tmp_path),
    }
    with pytest.raises(ConfigurationError) as refused:
        parse_options(TaskRequest(inputs), TASK_NAMES)
    message = str(refused.value)
    assert "Input 'bundleDir' nowhere holds no databricks.yml" in message
    assert "Input 'bundleTarget' '--force-lock' is not a target name" in message
    assert "Input 'bundleVariables' line 'catalog' is not name=value" in message
    assert "Input 'bundleVariables' line 'bad name' is not name=value" in message
    assert "Input 'cliVersion' 'latest' is not a release number" in message
    assert "is not an executable file" in message


def test_test_takes_a_bundle_job_or_notebooks_not_both(tmp_path: Path) -> None:
    inputs = {"command": "test", "bundleJob": "checks", "notebooks": "tests/a", "sourceDir": str(_bundle(tmp_path))}
    with pytest.raises(ConfigurationError, match="Give notebooks or bundleJob for the test command, not both"):
        parse_options(TaskRequest({**inputs, "bundleDir": "etl"}), TASK_NAMES)
    alone = {k: v for k, v in inputs.items() if k != "notebooks"}
    options = parse_options(TaskRequest({**alone, "bundleDir": "etl"}), TASK_NAMES)
    assert options.git is None and options.bundle is not None and options.bundle.job_keys == ("checks",)


def test_bundle_job_names_several_jobs_one_per_line_or_comma_separated_each_once(tmp_path: Path) -> None:
    inputs = {"command": "test", "bundleDir": "etl", "sourceDir": str(_bundle(tmp_path))}
    options = parse_options(TaskRequest({**inputs, "bundleJob": "unit, lint\n\n  smoke \n"}), TASK_NAMES)
    assert options.bundle is not None and options.bundle.job_keys == ("unit", "lint", "smoke")
    with pytest.raises(ConfigurationError) as refused:
        parse_options(TaskRequest({**inputs, "bundleJob": "unit\nunit,--force-lock"}), TASK_NAMES)
    message = str(refused.value)
    assert "Input 'bundleJob' '--force-lock' is not a resource key" in message
    assert "Input 'bundleJob' names unit more than once: name each job once" in message
