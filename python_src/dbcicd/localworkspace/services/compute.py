"""Identity (SCIM `Me`, the workspace's and account's ids) and compute (one always-running cluster, id `local`)."""

from __future__ import annotations

import json
import time
from typing import Any

from ..http.errors import invalid_parameter
from ..http.request import Request, Response

LOCAL_CLUSTER_ID = "local"
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
    """clusters/list and clusters/get over the single cluster that serves `existing_cluster_id`."""

    def __init__(self) -> None:
        self._started_ms = int(time.time() * 1000)

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
            "spark_version": "15.4.x-scala2.12",
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
