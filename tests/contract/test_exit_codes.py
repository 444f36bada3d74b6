"""Exit code 2 for every configuration error, as the README promises: a table of bad configurations driven through
the CLI, each refused naming what to fix, before anything is left in the workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_target import Target
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, ResourceDoesNotExist

from dbcicd.entry.cli import main
from dbcicd.errors import EXIT_USAGE

URL = "{url}"  # the test's Git URL (git_url), filled in per case
AT_COMMIT = ["run", "--git-url", URL, "--branch", "main", "-n", "tests/test_a"]
TEST = ["test", "--git-url", URL, "--branch", "main", "--temp-folder", "{temp}", "-n", "tests/*"]
BAD_CLUSTER = '{"spark_version": "no-such-version", "node_type_id": "no-such-node", "num_workers": 1}'

# (case, argv, what the message says)
CASES = [
    ("timeout not a number", [*TEST, "--timeout-minutes", "soon"], "--timeout-minutes must be a number"),
    ("timeout zero", [*TEST, "--timeout-minutes", "0"], "--timeout-minutes must be greater than 0"),
    ("retry budget negative", [*TEST, "--retry-timeout-seconds", "-1"], "--retry-timeout-seconds must be"),
    ("existing cluster without id", [*TEST, "--compute", "existingCluster"], "--existing-cluster-id is empty"),
    ("unknown cluster", [*TEST, "--existing-cluster-id", "0000-000000-nosuch"], "is not a cluster of this workspace"),
    ("new cluster JSON", [*TEST, "--compute", "newCluster", "--new-cluster-json", "{bad"], "is not valid JSON"),
    (
        "new cluster refused by Databricks",
        [*AT_COMMIT, "--compute", "newCluster", "--new-cluster-json", BAD_CLUSTER],
        "Databricks refused the run",
    ),
    ("parameters JSON", [*TEST, "--parameters", "{bad"], "--parameters is not valid JSON"),
    ("parameters twice", [*TEST, "--parameters", "{}", "-p", "a=1"], "not both"),
    ("variable without value", [*TEST, "--var", "novalue"], "--var 'novalue' is not NAME=VALUE"),
    ("job id unknown", ["run", "--job-id", "424242424242"], "Check --job-id"),
    ("job id not a number", ["run", "--job-id", "abc"], "--job-id 'abc' must be a number"),
    ("job name unknown", ["run", "--job-name", "no job has this name 7f3a"], "matches no job"),
    ("job id and name", ["run", "--job-id", "1", "--job-name", "x"], "Give exactly one of"),
    ("nothing to run", ["run", "--repo-path", "/Repos/a/b"], "Give exactly one of"),
    ("repo path missing", ["run", "--repo-path", "/Repos/nobody/missing", "-n", "x"], "does not exist"),
    ("repo path shape", ["repo", "--repo-path", "/Repos/onlyone", "--git-url", URL, "--branch", "main"], "exactly"),
    (
        "branch and tag",
        ["repo", "--repo-path", "/Repos/a/b", "--git-url", URL, "--branch", "a", "--tag", "b"],
        "not both",
    ),
    ("git provider", ["repo", "--repo-path", "/Repos/a/b", "--git-url", URL, "--git-provider", "svn"], "'svn' is not"),
    (
        "repository the workspace cannot clone",
        ["test", "--git-url", "https://github.com/dbcicd-no-such-org-7f3a/none.git", *TEST[3:]],
        "The workspace clones the repository itself",
    ),
    ("glob matching nothing", [*TEST[:-1], "no-such-folder/*"], "matches no notebook"),
    ("results folder", [*AT_COMMIT, "--notebook-results-dir", "/tmp/r"], "--notebook-results-dir '/tmp/r' must be"),
    ("temp folder relative", [*TEST[:5], "--temp-folder", "relative/x", "-n", "x"], "--temp-folder 'relative/x' must"),
    ("cleanup age", ["cleanup", "--older-than-hours", "abc"], "--older-than-hours must be a number"),
    ("report dir is a file", [*TEST, "--report-dir", "{file}"], "is a file, not a folder"),
    ("outputs file is a folder", [*TEST, "--outputs-json", "{folder}"], "--outputs-json"),
    ("publishing without Azure DevOps", [*TEST, "--publish-azure-devops"], "needs the organization URL"),
]


@pytest.mark.parametrize(("argv", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_configuration_errors_exit_2(
    argv: list[str],
    says: str,
    cli_env: Path,
    git_url: tuple[str, str | None],
    client: WorkspaceClient,
    target: Target,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each bad configuration exits 2 with a message saying what to fix, and leaves no temporary folder."""
    (cli_env / "a-file").write_text("x")
    url, provider = git_url
    temp = f"/Repos/{target.session}"  # the session sweep deletes it
    places = {"{url}": url, "{file}": str(cli_env / "a-file"), "{folder}": str(cli_env), "{temp}": temp}
    filled = [places.get(a, a) for a in argv]
    if provider and url in filled:
        filled += ["--git-provider", provider]
    before = _children(client, temp)

    code = main(filled)

    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    assert says in err
    assert _children(client, temp) == before  # no temporary folder left behind


def _children(client: WorkspaceClient, path: str) -> set[str]:
    try:
        return {o.path or "" for o in client.workspace.list(path)}
    except (NotFound, ResourceDoesNotExist):
        return set()


def test_every_mistake_is_reported_in_one_message(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two wrong flags and no workspace configured: one exit 2 naming all three, so one attempt finds them all."""
    monkeypatch.delenv("DATABRICKS_HOST")
    argv = ["test", "--git-url", "https://github.com/org/p", "--branch", "main", "-n", "tests/test_a"]
    code = main([*argv, "--timeout-minutes", "soon", "--export-notebooks", "some"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert err.startswith("dbcicd: error: 3 inputs need fixing; nothing was started:\n"), err
    assert "\n- --timeout-minutes must be a number, got 'soon'\n" in err
    assert "\n- --export-notebooks is 'some'; it must be one of failed, all, none\n" in err
    assert "\n- No Databricks workspace is configured (DATABRICKS_HOST is not set)." in err
