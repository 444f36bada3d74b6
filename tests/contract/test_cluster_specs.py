"""Spark versions and node types a workspace offers, and the cluster specs it refuses at jobs/create, runs/submit and
run-now: an unknown instance pool, node type or Spark version, and serverless compute where there is none."""

from __future__ import annotations

import re

import pytest
from contract_target import Target
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue
from databricks.sdk.service import compute, jobs
from jobs_helpers import ECHO, folder, upload, wait

from dbcicd_localworkspace import Tenant

POOL = "0727-104344-hauls13-pool-uftxk0r6"  # an instance pool id of another workspace


def test_spark_versions_and_node_types(client: WorkspaceClient) -> None:
    """The SDK's own selectors find an LTS runtime and a node type in what the workspace lists."""
    versions = {v.key: v.name for v in client.clusters.spark_versions().versions}
    lts = client.clusters.select_spark_version(latest=True, long_term_support=True)
    assert lts in versions and "LTS" in versions[lts]
    node_types = client.clusters.list_node_types().node_types
    assert node_types and all(n.node_type_id and n.num_cores is not None for n in node_types)
    assert client.clusters.select_node_type(min_cores=4) in {n.node_type_id for n in node_types}


def cluster_task(path: str, spec: compute.ClusterSpec) -> jobs.Task:
    return jobs.Task(task_key="t", notebook_task=jobs.NotebookTask(notebook_path=path), new_cluster=spec)


def valid_spec(client: WorkspaceClient) -> compute.ClusterSpec:
    return compute.ClusterSpec(
        spark_version=client.clusters.select_spark_version(long_term_support=True),
        node_type_id=client.clusters.select_node_type(min_cores=4),
        num_workers=1,
    )


def test_jobs_create_refuses_an_unknown_instance_pool(client: WorkspaceClient, target: Target) -> None:
    """An instance pool the workspace does not have, as databricks-demos/dbdemos#76 recorded the answer; and a node
    type beside a pool."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    spark = client.clusters.select_spark_version(long_term_support=True)
    pool_refusal = re.escape(f"Cluster validation error: Can't find an instance pool with id: {POOL}.")
    with pytest.raises(InvalidParameterValue, match=pool_refusal):
        pool_spec = compute.ClusterSpec(spark_version=spark, instance_pool_id=POOL, num_workers=1)
        client.jobs.create(name=f"{target.session}-pool", tasks=[cluster_task(path, pool_spec)])
    with pytest.raises(
        InvalidParameterValue, match=re.escape("The field 'node_type_id' cannot be supplied when an instance pool ID")
    ):
        both = compute.ClusterSpec(spark_version=spark, instance_pool_id=POOL, node_type_id="x", num_workers=1)
        client.jobs.create(name=f"{target.session}-pool", tasks=[cluster_task(path, both)])


def test_node_types_have_what_the_sdks_selection_reads(client: WorkspaceClient) -> None:
    """databricks-sdk's select_node_type sorts and filters on GPUs and local disks (mixins/compute.py): it picks the
    smallest type with a local disk, one of at least a size, and one without GPUs."""
    node_types = {n.node_type_id: n for n in client.clusters.list_node_types().node_types or []}
    assert all(n.num_gpus is not None and n.node_instance_type is not None for n in node_types.values())
    with_disk = client.clusters.select_node_type(local_disk=True, min_cores=4)
    assert (node_types[with_disk].node_instance_type.local_disks or 0) >= 1
    big_disk = client.clusters.select_node_type(local_disk_min_size=100, min_cores=4)
    assert (node_types[big_disk].node_instance_type.local_disk_size_gb or 0) >= 100
    assert node_types[client.clusters.select_node_type(min_gpus=0, min_cores=4)].num_gpus == 0


@pytest.mark.parametrize("field", ["node_type_id", "spark_version"])
def test_unknown_node_type_or_spark_version_is_refused(client: WorkspaceClient, target: Target, field: str) -> None:
    """At jobs/create (a job cluster) and runs/submit (a task's new_cluster), naming the field."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    spec = valid_spec(client)
    setattr(spec, field, "no-such-" + field)
    with pytest.raises(InvalidParameterValue, match=re.escape(f"{field} 'no-such-{field}'")):
        client.jobs.create(
            name=f"{target.session}-spec",
            job_clusters=[jobs.JobCluster("c", spec)],
            tasks=[jobs.Task(task_key="t", notebook_task=jobs.NotebookTask(notebook_path=path), job_cluster_key="c")],
        )
    with pytest.raises(InvalidParameterValue, match=re.escape(f"{field} 'no-such-{field}'")):
        task = jobs.SubmitTask(task_key="t", notebook_task=jobs.NotebookTask(notebook_path=path), new_cluster=spec)
        client.jobs.submit(run_name=f"{target.session}-spec", tasks=[task])


def test_a_valid_cluster_spec_is_accepted(client: WorkspaceClient, target: Target) -> None:
    path = upload(client, f"{folder(client)}/echo", ECHO)
    job_id = client.jobs.create(name=f"{target.session}-ok", tasks=[cluster_task(path, valid_spec(client))]).job_id
    assert client.jobs.get(job_id).settings.tasks[0].new_cluster.num_workers == 1


def test_serverless_in_a_workspace_without_it(isolated_client: WorkspaceClient, isolated_workspace: Tenant) -> None:
    """Without serverless compute, a task without a cluster is refused at runs/submit and jobs/create, and a job
    made while serverless was there is refused at run-now; a task on a cluster still runs."""
    client = isolated_client
    path = upload(client, f"{folder(client)}/echo", ECHO)
    serverless = jobs.Task(task_key="t", notebook_task=jobs.NotebookTask(notebook_path=path))
    job_id = client.jobs.create(name="serverless", tasks=[serverless]).job_id
    isolated_workspace.workspace.clusters.serverless_enabled = False
    refusal = "serverless compute is not enabled in this workspace"
    with pytest.raises(InvalidParameterValue, match=refusal):
        client.jobs.run_now(job_id)
    with pytest.raises(InvalidParameterValue, match=refusal):
        client.jobs.create(name="serverless", tasks=[serverless])
    with pytest.raises(InvalidParameterValue, match=refusal):
        client.jobs.submit(
            run_name="serverless", tasks=[jobs.SubmitTask(task_key="t", notebook_task=serverless.notebook_task)]
        )
    on_cluster = jobs.SubmitTask(task_key="t", notebook_task=serverless.notebook_task, existing_cluster_id="local")
    run = wait(client, client.jobs.submit(run_name="cluster", tasks=[on_cluster]).run_id)
    assert run.state.result_state == jobs.RunResultState.SUCCESS
