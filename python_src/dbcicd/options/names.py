"""Every input the core reads, declared once with the CLI flag that sets it, and how errors name it.

The task's inputs are task.json's (a test checks that the two lists agree); the CLI builds the same inputs from its
flags. An error about an input speaks the language of the entry that was used: `Input 'timeoutMinutes'` in a
pipeline, `--timeout-minutes` on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

# task input name -> the CLI flag that sets it ('' when only the pipeline task has it).
INPUT_FLAGS: dict[str, str] = {
    "command": "",  # the CLI's sub-command
    "connectionType": "",  # the CLI signs in from the environment
    "databricksConnection": "",
    "azureSubscription": "",
    "workspaceUrl": "",
    "workspaceResourceId": "",
    "gitUrl": "--git-url",
    "gitProvider": "--git-provider",
    "repoPath": "--repo-path",
    "branch": "--branch",
    "tag": "--tag",
    "commit": "--commit",
    "sparseCheckout": "--sparse-checkout",
    "tempFolder": "--temp-folder",
    "source": "--source",
    "sourceDir": "--source-dir",  # the CLI's only: a pipeline uploads Build.SourcesDirectory
    "olderThanHours": "--older-than-hours",
    "dryRun": "--dry-run",  # the CLI's only: cleanup lists what it would do, for a person to read
    "notebooks": "--notebooks",
    "jobId": "--job-id",
    "jobName": "--job-name",
    "parameters": "--parameters",
    "compute": "--compute",
    "existingClusterId": "--existing-cluster-id",
    "newClusterJson": "--new-cluster-json",
    "timeoutMinutes": "--timeout-minutes",
    "rerunFailedOnly": "--rerun-failed-only",
    "publishTestResults": "",
    "testRunTitle": "--test-run-title",
    "failOnTestFailure": "--no-fail-on-test-failure",
    "notebookResultsDir": "--notebook-results-dir",
    "exportNotebooks": "--export-notebooks",
    "pullRequestComment": "--pull-request-comment",
    "publishAzureDevOps": "--publish-azure-devops",  # the CLI's only: under an agent, results.publish does it
    "bundleDir": "--bundle-dir",
    "bundleTarget": "--target",
    "bundleVariables": "--bundle-var",
    "bundleJob": "--bundle-job",
    "bundleForceLock": "--force-lock",
    "cliPath": "--cli-path",
    "cliVersion": "--cli-version",
    "pythonPath": "",  # read by the Node entry point
    "retryTimeoutSeconds": "--retry-timeout-seconds",
    "cloneTimeoutSeconds": "--clone-timeout-seconds",
}
CLI_ONLY_INPUTS = frozenset({"publishAzureDevOps", "dryRun", "sourceDir"})


@dataclass(frozen=True)
class Names:
    """How messages name an input: the task's input name, or on the command line the flag that sets it."""

    cli: bool = False

    def label(self, name: str) -> str:
        """`timeoutMinutes`, or `--timeout-minutes` for the CLI (mid-sentence, as in "timeoutMinutes '0' ...")."""
        return (INPUT_FLAGS.get(name) or name) if self.cli else name

    def mention(self, name: str) -> str:
        """`input 'retryTimeoutSeconds'`, or `--retry-timeout-seconds` for the CLI (mid-sentence, as in "raise ...")."""
        flag = INPUT_FLAGS.get(name) if self.cli else ""
        return flag or f"input '{name}'"

    def input(self, name: str) -> str:
        """`Input 'timeoutMinutes'`, or `--timeout-minutes` for the CLI (to start a sentence)."""
        flag = INPUT_FLAGS.get(name) if self.cli else ""
        return flag or f"Input '{name}'"


TASK_NAMES = Names(cli=False)
CLI_NAMES = Names(cli=True)
