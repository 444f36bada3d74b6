"""Which pipelines the agent runs a logging command in: `System.HostType` is build, release or deployment (a
classic release, a deployment group job).

The agent checks a command's area against the host types its extension supports before running it, and fails the
step when it does not (microsoft/azure-pipelines-agent, src/Agent.Worker/WorkerCommandManager.cs, TryProcessCommand:
"{0} commands are not supported for {1} flow", then `context.CommandResult = TaskResult.Failed`); a command that
throws fails the step the same way ("Unable to process command ... successfully"). Of what dbcicd sends:

- `codecoverage.publish`: the extension supports Build only (src/Agent.Worker/CodeCoverage/CodeCoverageCommands.cs,
  CodeCoverageCommandExtension: `SupportedHostTypes = HostTypes.Build`);
- `artifact.upload`: the extension supports Build and Release, but the command throws "Uploading server artifact is
  not supported in {0}." outside Build (src/Agent.Worker/Build/ArtifactCommandExtension.cs, ArtifactUploadCommand;
  only a UNC share path is exempt, which the agent's temp folder never is);
- `task.*` and `results.publish` are accepted everywhere (TaskCommandExtension.cs, ResultsCommandExtension.cs:
  `HostTypes.All`).
"""

from __future__ import annotations

BUILD = "build"
BUILD_ONLY = frozenset({"codecoverage.publish", "artifact.upload"})


def accepts(command: str, host_type: str) -> bool:
    """Whether the agent runs `command` in a pipeline of `host_type` (System.HostType, any case). An empty host type
    is a run outside the agent with logging commands forced on (the agent always sets the variable): taken as build,
    whose commands a reader of the output expects."""
    return command not in BUILD_ONLY or host_type.lower() in ("", BUILD)
