"""The state of one local workspace: its folders on disk and the services that answer the API."""

from __future__ import annotations

from pathlib import Path

from .jobs.api import Jobs, JobsContext
from .jobs.task_process import LIBRARIES_FOLDER, SparkPlaces, TaskPlaces
from .runtime import process_records
from .runtime.notebook_env import notebook_environment
from .runtime.spark import servers
from .runtime.spark.pool import WarmPool, warm_pool_size
from .services.compute import USER_ID, Clusters, Identity
from .services.dbfs_api import Dbfs
from .services.files_api import Files
from .services.git_credentials import GitCredentials
from .services.repos import Repos
from .services.secrets import Secrets
from .services.settings_api import WorkspaceSettings
from .services.unity_catalog import STATE_FILE as CATALOG_STATE_FILE
from .services.unity_catalog import UnityCatalog
from .services.workspace_api import WorkspaceApi
from .storage.workspace_fs import WorkspaceTree

PROCESSES_FOLDER = "processes"  # in state/: the records of the processes of running tasks


class LocalWorkspace:
    """Everything behind the HTTP layer. `root` holds:

    - `workspace/`  the workspace tree (`/Repos/...`, `/Users/...`, `/Shared/...`); Git folders are git checkouts
    - `dbfs/`       the DBFS root (`dbfs:/x` and, in notebooks, `/dbfs/x`)
    - `volumes/`    Unity Catalog volumes (`/Volumes/catalog/schema/volume/...`)
    - `runs/`       per-run working folders: logs, results, throw-away `git_source` checkouts
    - `state/`      what must survive a restart (the server's token, the Git folder and job registries, %pip
                    environments, the records of running tasks' processes)
    - `mlflow/`     MLflow tracking and model registry of the notebooks (notebook_env.py), made on first use
    - `spark/`      `servers/`: a folder per Spark Connect server (spark/servers.py); `warehouse/`: the tables of
                    Unity Catalog schemas (spark/catalog.py)

    `spark_remote` (`sc://host:port`) points the `local` cluster at a Spark Connect server of the caller's instead
    of one of its own. `DBCICD_LOCAL_WARM_SPARK` sets how many warm Spark servers serverless and new-cluster runs share
    (spark/pool.py; 0: a server per run).
    """

    def __init__(self, root: Path, host: str = "http://127.0.0.1", spark_remote: str = "") -> None:
        self.root = root
        self.host = host
        self.tree = WorkspaceTree(root / "workspace")
        self.dbfs_root = root / "dbfs"
        self.volumes_root = root / "volumes"
        self.runs_root = root / "runs"
        self.state_root = root / "state"
        spark_servers = root / "spark" / "servers"
        self.spark = SparkPlaces(
            spark_servers,
            root / "spark" / "warehouse",
            self.state_root / CATALOG_STATE_FILE,
            spark_remote,
            WarmPool(spark_servers, warm_pool_size()),
        )
        for folder in (self.dbfs_root, self.volumes_root, self.runs_root, self.state_root, self.spark.warehouse):
            folder.mkdir(parents=True, exist_ok=True)
        self.process_records = self.state_root / PROCESSES_FOLDER
        # What a workspace on this root that was killed left running (it all ends with it, but for a lifeline cut).
        process_records.stop_leftovers(
            [*sorted(self.process_records.glob("*.json")), *servers.records(self.spark.servers)]
        )

        self.identity = Identity()
        self.clusters = Clusters()
        (self.tree.root / "Repos" / self.identity.user_name).mkdir(parents=True, exist_ok=True)
        (self.tree.root / "Users" / self.identity.user_name).mkdir(parents=True, exist_ok=True)
        (self.tree.root / "Shared").mkdir(parents=True, exist_ok=True)

        self.git_credentials = GitCredentials(int(USER_ID))
        self.repos = Repos(self.tree, self.state_root, self.identity.user_name)
        self.repos.check_git_access = self.git_credentials.check_access  # private remotes need a Git credential
        self.workspace_api = WorkspaceApi(self.tree, self.repos)
        self.unity_catalog = UnityCatalog(
            self.state_root, self.volumes_root, self.identity.user_name, self.spark.warehouse
        )
        self.files = Files(self.volumes_root, self.unity_catalog.volume_exists)
        self.secrets = Secrets(self.state_root, self.identity.user_name)
        self.dbfs = Dbfs(self.dbfs_root)
        self.settings = WorkspaceSettings(self.state_root / "settings.json")
        places = TaskPlaces(
            self.tree,
            self.dbfs_root,
            self.volumes_root,
            self.state_root / LIBRARIES_FOLDER,
            notebook_environment(root),
            dbfs_root_disabled=lambda: self.settings.dbfs_root_disabled,
            secrets_file=self.secrets.file,
            spark=self.spark,
            process_records=self.process_records,
        )
        self.jobs = Jobs(
            JobsContext(host, self.identity.user_name, self.clusters, self.runs_root, places, self.state_root)
        )

    def close(self) -> None:
        """Stop every active run (killing its processes) and the Spark servers, and release resources."""
        self.jobs.shutdown()
        servers.stop_all(self.spark.servers)
