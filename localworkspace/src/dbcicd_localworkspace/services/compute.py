"""Identity (SCIM `Me`, the workspace's and account's ids) and compute: one always-running cluster, id `local`, the
Spark versions and node types a cluster spec may name, and the checks a workspace makes of the specs jobs ask for."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..http.errors import invalid_parameter
from ..http.request import Request, Response

LOCAL_CLUSTER_ID = "local"
LOCAL_SPARK_VERSION = "15.4.x-scala2.12"
# clusters/spark-versions: keys and display names in Databricks' form (databricks-sdk 0.162
# `ClustersExt.select_spark_version` reads "LTS" and "Apache Spark <version>" from the name and "-scala", "-ml-" ...
# from the key). A real workspace lists every runtime it offers; this is the LTS line, CPU and ML.
SPARK_VERSIONS = (
    ("13.3.x-scala2.12", "13.3 LTS (includes Apache Spark 3.4.1, Scala 2.12)"),
    ("13.3.x-cpu-ml-scala2.12", "13.3 LTS ML (includes Apache Spark 3.4.1, Scala 2.12)"),
    ("14.3.x-scala2.12", "14.3 LTS (includes Apache Spark 3.5.0, Scala 2.12)"),
    ("14.3.x-cpu-ml-scala2.12", "14.3 LTS ML (includes Apache Spark 3.5.0, Scala 2.12)"),
    (LOCAL_SPARK_VERSION, "15.4 LTS (includes Apache Spark 3.5.0, Scala 2.12)"),
    ("15.4.x-cpu-ml-scala2.12", "15.4 LTS ML (includes Apache Spark 3.5.0, Scala 2.12)"),
    ("16.4.x-scala2.12", "16.4 LTS (includes Apache Spark 3.5.2, Scala 2.12)"),
    ("16.4.x-cpu-ml-scala2.12", "16.4 LTS ML (includes Apache Spark 3.5.2, Scala 2.12)"),
)
# clusters/list-node-types: the local cluster's own type, and Azure VM sizes as Azure Databricks offers them (the
# product's docs and examples name Standard_DS3_v2); cores, memory and the local (temporary SSD) disk are Azure's
# published sizes (learn.microsoft.com/azure/virtual-machines/sizes: the Dsv2, Ddsv5, Edsv4 and Fs series: temp
# storage 28, 56, 112, 150, 300 and 16 GiB; none has NVMe disks). A real workspace lists its cloud's whole catalogue.
# (id, cores, memory MB, local disk GB, description)
NODE_TYPES = (
    ("local", 0, 0, 0, "The local workspace's own machine"),
    ("Standard_DS3_v2", 4, 14336, 28, "Standard_DS3_v2 (4 cores, 14 GB)"),
    ("Standard_DS4_v2", 8, 28672, 56, "Standard_DS4_v2 (8 cores, 28 GB)"),
    ("Standard_DS5_v2", 16, 57344, 112, "Standard_DS5_v2 (16 cores, 56 GB)"),
    ("Standard_D4ds_v5", 4, 16384, 150, "Standard_D4ds_v5 (4 cores, 16 GB)"),
    ("Standard_E8ds_v4", 8, 65536, 300, "Standard_E8ds_v4 (8 cores, 64 GB)"),
    ("Standard_F4s", 4, 8192, 16, "Standard_F4s (4 cores, 8 GB)"),
)
USER_NAME = "local-user@dbcicd.local"
USER_ID = "1000000000000001"
# Made-up ids, the same everywhere a real workspace shows its own: host metadata, SCIM Me's X-Databricks-Org-Id
# header and the `?o=` of run page URLs.
WORKSPACE_ID = 1000000000000000
ACCOUNT_ID = "00000000-0000-4000-8000-00000000dbcd"


class Identity:
    """The one user of the local workspace; per-user Git folders live under /Repos/{userName}."""

    user_name = USER_NAME

    def me(self, req: Request) -> Response:
        """SCIM Me, with the workspace's id in `X-Databricks-Org-Id`: `WorkspaceClient.get_workspace_id()` reads it
        from this answer when the id is not known otherwise (databricks-sdk 0.162 `__init__.py`)."""
        body = json.dumps(self._me()).encode()
        return Response(body, 200, "application/json", {"X-Databricks-Org-Id": str(WORKSPACE_ID)})

    def _me(self) -> dict[str, Any]:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": USER_ID,
            "userName": USER_NAME,
            "displayName": "Local workspace user",
            "active": True,
            "emails": [{"type": "work", "value": USER_NAME, "primary": True}],
            "groups": [{"display": "users", "value": "1", "type": "direct"}],
        }


class Clusters:
    """clusters/list, get, spark-versions and list-node-types over the single cluster that serves
    `existing_cluster_id`; and the checks of cluster specs at jobs/create, runs/submit and run-now
    (jobs/job_spec.py `ComputeRules`).

    `serverless_enabled = False` makes this a workspace without serverless compute for jobs (in-process only; a
    real workspace's enablement is an account setting no public API of the SDK turns on or off)."""

    def __init__(self) -> None:
        self._started_ms = int(time.time() * 1000)
        self.serverless_enabled = True

    def exists(self, cluster_id: str) -> bool:
        return cluster_id == LOCAL_CLUSTER_ID

    def require(self, cluster_id: str) -> None:
        """The error Databricks gives for an unknown cluster id."""
        if not self.exists(cluster_id):
            raise invalid_parameter(f"Cluster {cluster_id} does not exist")

    def info(self) -> dict[str, Any]:
        return {
            "cluster_id": LOCAL_CLUSTER_ID,
            "cluster_name": "local",
            "spark_version": LOCAL_SPARK_VERSION,
            "node_type_id": "local",
            "driver_node_type_id": "local",
            "num_workers": 0,
            "state": "RUNNING",
            "state_message": "",
            "start_time": self._started_ms,
            "last_state_loss_time": self._started_ms,
            "creator_user_name": USER_NAME,
            "cluster_source": "UI",
            "data_security_mode": "SINGLE_USER",
            "single_user_name": USER_NAME,
            "spark_conf": {"spark.master": "local[*]"},
            "autotermination_minutes": 0,
            "cluster_memory_mb": 0,
            "cluster_cores": 0,
            "default_tags": {"ClusterName": "local", "ClusterId": LOCAL_CLUSTER_ID, "Creator": USER_NAME},
        }

    def list(self, req: Request) -> dict[str, Any]:
        return {"clusters": [self.info()]}

    def get(self, req: Request) -> dict[str, Any]:
        cluster_id = req.arg("cluster_id")
        self.require(cluster_id)
        return self.info()

    def spark_versions(self, req: Request) -> dict[str, Any]:
        return {"versions": [{"key": key, "name": name} for key, name in SPARK_VERSIONS]}

    def list_node_types(self, req: Request) -> dict[str, Any]:
        """NodeType as databricks-sdk reads it (`service/compute.py`) and as recorded answers show it (databricks-cli
        tests/clusters/test_cli.py, a real AWS answer: num_gpus, node_instance_type with local_disks and
        local_disk_size_gb, is_hidden, support_port_forwarding, display_order, is_io_cache_enabled). The SDK's
        `select_node_type` (mixins/compute.py) sorts by is_deprecated, num_cores, memory_mb, the local and NVMe disks
        and num_gpus, and filters on them, so each is present. Not settled by a public source, and so our choice:
        Photon on every Azure type here (Azure Databricks says only that Photon supports "many instance types",
        learn.microsoft.com/azure/databricks/compute/photon), the disk cache on none (it is "enabled by default on
        certain node types", which the docs do not list), no Graviton (an AWS processor)."""
        return {
            "node_types": [
                {
                    "node_type_id": node_type,
                    "instance_type_id": node_type,
                    "num_cores": float(cores),
                    "memory_mb": memory,
                    "num_gpus": 0,
                    "description": description,
                    "category": "General Purpose",
                    "is_deprecated": False,
                    "is_hidden": False,
                    "is_graviton": False,
                    "is_io_cache_enabled": False,
                    "support_port_forwarding": True,
                    "photon_driver_capable": node_type != "local",
                    "photon_worker_capable": node_type != "local",
                    "display_order": order,
                    "node_instance_type": {
                        "instance_type_id": node_type,
                        "local_disks": 1 if disk else 0,
                        "local_disk_size_gb": disk,
                        "local_nvme_disks": 0,
                        "local_nvme_disk_size_gb": 0,
                    },
                }
                for order, (node_type, cores, memory, disk, description) in enumerate(NODE_TYPES)
            ]
        }

    # --- checks of the compute jobs ask for (jobs/job_spec.py ComputeRules) ------------------------------------
    def check_new_cluster(self, spec: Mapping[str, Any], where: str) -> None:
        """What a workspace refuses in a `new_cluster` before anything runs (400 INVALID_PARAMETER_VALUE):

        - an instance pool it does not have: "Cluster validation error: Can't find an instance pool with id: <id>."
          at jobs/create (databricks-demos/dbdemos#76, the recorded answer). The local workspace has no instance
          pools, so every pool id is unknown;
        - a node type beside a pool: "The field 'node_type_id' cannot be supplied when an instance pool ID is
          provided." (databricks/terraform-provider-databricks#2141, Nike-Inc/brickflow#43: at job create and update);
        - a node type or Spark version the workspace does not offer (clusters/list-node-types, spark-versions). No
          public source records the wording of these two answers; the message keeps the "Cluster validation error"
          form of the pool answer and names the list to pick from.
        """
        for pool_field in ("instance_pool_id", "driver_instance_pool_id"):
            pool = spec.get(pool_field)
            if pool is not None:
                if spec.get("node_type_id") is not None:
                    raise invalid_parameter(
                        "The field 'node_type_id' cannot be supplied when an instance pool ID is provided."
                    )
                raise invalid_parameter(f"Cluster validation error: Can't find an instance pool with id: {pool}.")
        known_nodes = {n[0] for n in NODE_TYPES}
        for node_field in ("node_type_id", "driver_node_type_id"):
            node = spec.get(node_field)
            if node is not None and node not in known_nodes:
                raise invalid_parameter(
                    f"Cluster validation error: {where}{node_field} '{node}' is not a node type of this workspace; "
                    "clusters/list-node-types lists the ones it offers"
                )
        version = spec.get("spark_version")
        if version is not None and version not in {v[0] for v in SPARK_VERSIONS}:
            raise invalid_parameter(
                f"Cluster validation error: {where}spark_version '{version}' is not a Databricks Runtime version of "
                "this workspace; clusters/spark-versions lists the ones it offers"
            )

    def check_serverless(self, where: str) -> None:
        """A task on serverless compute (no cluster, or an `environment_key`) in a workspace without serverless.
        The answer's wording is not recorded in a public source (databricks/databricks-vscode#1573 only says jobs
        "show clear errors if serverless is not supported"); this one names the task and the way out."""
        if not self.serverless_enabled:
            raise invalid_parameter(
                f"Invalid {where[:-1] or 'task'}: serverless compute is not enabled in this workspace; give the task "
                "existing_cluster_id, new_cluster or job_cluster_key"
            )
