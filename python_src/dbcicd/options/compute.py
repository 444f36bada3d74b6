"""The `compute` inputs: where a run's tasks run — serverless (no cluster fields), an existing cluster, or a new job
cluster. Parsed here, before anything runs; steps/runs.py checks that an existing cluster exists."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from databricks.sdk.service import compute, jobs

from ..errors import ConfigurationError

COMPUTE_KINDS = ("serverless", "existingCluster", "newCluster")
NEW_CLUSTER_EXAMPLE = (
    'Give a cluster spec such as {"spark_version": "15.4.x-scala2.12", "node_type_id": "Standard_DS3_v2", '
    '"num_workers": 1}.'
)


@dataclass(frozen=True)
class Compute:
    """Where tasks run: serverless (no cluster fields), an existing cluster, or a new job cluster."""

    kind: str = "serverless"
    existing_cluster_id: str = ""
    new_cluster: compute.ClusterSpec | None = None

    @classmethod
    def from_inputs(
        cls, kind: str, existing_cluster_id: str, new_cluster_json: str, label: Callable[[str], str] = str
    ) -> Compute:
        """The `compute` inputs; `label` names an input in errors (its CLI flag on the command line)."""
        kind = kind.strip() or ("existingCluster" if existing_cluster_id.strip() else "serverless")
        if kind not in COMPUTE_KINDS:
            raise ConfigurationError(f"{label('compute')} '{kind}' is not one of: {', '.join(COMPUTE_KINDS)}")
        if kind == "existingCluster":
            if not existing_cluster_id.strip():
                raise ConfigurationError(
                    f"{label('existingClusterId')} is empty but {label('compute')} is existingCluster: give the "
                    f"cluster's id (e.g. 0123-456789-abcdefgh), or set {label('compute')} to serverless or newCluster."
                )
            return cls(kind, existing_cluster_id=existing_cluster_id.strip())
        if kind == "newCluster":
            try:
                spec = json.loads(new_cluster_json)
            except json.JSONDecodeError as err:
                raise ConfigurationError(
                    f"{label('newClusterJson')} is not valid JSON: {err.msg} at line {err.lineno}. "
                    + NEW_CLUSTER_EXAMPLE
                ) from None
            if not isinstance(spec, dict) or not spec:
                raise ConfigurationError(f"{label('newClusterJson')} must be a JSON object. {NEW_CLUSTER_EXAMPLE}")
            return cls(kind, new_cluster=compute.ClusterSpec.from_dict(spec))
        return cls(kind)

    def apply(self, task: jobs.SubmitTask) -> None:
        if self.kind == "existingCluster":
            task.existing_cluster_id = self.existing_cluster_id
        elif self.kind == "newCluster":
            task.new_cluster = self.new_cluster
