"""jobs/reset, which `databricks bundle deploy` calls for a job it deployed before: all settings are overwritten
(Jobs API jobs/reset; databricks-sdk JobsAPI.reset), with the real databricks-sdk over HTTP."""

from __future__ import annotations

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
from databricks.sdk.service import jobs
from jobs_helpers import ECHO, folder, upload, wait


def _task(key: str, path: str, name: str) -> jobs.Task:
    return jobs.Task(
        task_key=key,
        notebook_task=jobs.NotebookTask(notebook_path=path, base_parameters={"name": name}),
        existing_cluster_id="local",
    )


def test_reset_replaces_every_setting_and_keeps_the_bundle_deployment(client: WorkspaceClient) -> None:
    echo = upload(client, f"{folder(client)}/echo", ECHO)
    job_id = client.jobs.create(
        name="before",
        tasks=[_task("a", echo, "a"), _task("b", echo, "b")],
        parameters=[jobs.JobParameterDefinition(name="env", default="dev")],
    ).job_id
    # What a bundle deploy sends: the job's settings with the deployment that ties it to the bundle's state
    # (JobDeployment: kind BUNDLE, metadata_file_path).
    deployment = jobs.JobDeployment(
        kind=jobs.JobDeploymentKind.BUNDLE,
        metadata_file_path="/Workspace/Users/me/.bundle/demo/dev/state/metadata.json",
    )
    client.jobs.reset(job_id, jobs.JobSettings(name="after", tasks=[_task("c", echo, "c")], deployment=deployment))

    settings = client.jobs.get(job_id).settings
    assert settings is not None
    assert settings.name == "after"
    assert [t.task_key for t in settings.tasks or []] == ["c"]
    assert not settings.parameters, "settings left out of new_settings are gone"
    assert settings.deployment == deployment
    run = wait(client, client.jobs.run_now(job_id).run_id)
    assert [t.task_key for t in run.tasks or []] == ["c"]


def test_reset_of_a_missing_job_or_with_wrong_settings_changes_nothing(client: WorkspaceClient) -> None:
    echo = upload(client, f"{folder(client)}/echo", ECHO)
    job_id = client.jobs.create(name="kept", tasks=[_task("a", echo, "a")]).job_id
    with pytest.raises(DatabricksError, match="does not exist"):
        client.jobs.reset(10**12, jobs.JobSettings(name="x", tasks=[_task("a", echo, "a")]))
    with pytest.raises(DatabricksError):
        client.jobs.reset(job_id, jobs.JobSettings(name="broken", max_concurrent_runs=-1))
    settings = client.jobs.get(job_id).settings
    assert settings is not None and settings.name == "kept"
