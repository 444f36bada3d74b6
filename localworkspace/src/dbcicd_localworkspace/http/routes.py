"""The routing tables: every endpoint the local workspace answers, one line each.

Paths, methods and API versions are Databricks' own; the logic lives in one module per service. The public table
(discovery and OAuth, answered without a token) is the server's; the workspace table is built for each tenant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..services.oauth import DISCOVERY_PATH, HOST_METADATA_PATH, TOKEN_PATH
from .router import Router

if TYPE_CHECKING:
    from ..services.oauth import OAuth
    from ..workspace import LocalWorkspace

PUBLIC_PATHS = frozenset({HOST_METADATA_PATH, DISCOVERY_PATH, TOKEN_PATH})  # answered without a token

JOBS_API_VERSIONS = ("2.0", "2.1", "2.2")


def build_public_router(oauth: OAuth) -> Router:
    r = Router()
    r.add("GET", HOST_METADATA_PATH, oauth.host_metadata)
    r.add("GET", DISCOVERY_PATH, oauth.authorization_server)
    r.add("POST", TOKEN_PATH, oauth.token)
    return r


def build_router(ws: LocalWorkspace) -> Router:
    r = Router()
    r.add("GET", "/api/2.0/preview/scim/v2/Me", ws.identity.me)

    r.add("GET", "/api/2.0/clusters/list", ws.clusters.list)
    r.add("GET", "/api/2.0/clusters/get", ws.clusters.get)
    r.add("GET", "/api/2.1/clusters/list", ws.clusters.list)
    r.add("GET", "/api/2.1/clusters/get", ws.clusters.get)
    for v in ("2.0", "2.1"):
        r.add("GET", f"/api/{v}/clusters/spark-versions", ws.clusters.spark_versions)
        r.add("GET", f"/api/{v}/clusters/list-node-types", ws.clusters.list_node_types)

    r.add("POST", "/api/2.0/repos", ws.repos.create)
    r.add("GET", "/api/2.0/repos", ws.repos.list)
    r.add("GET", "/api/2.0/repos/{repo_id}", ws.repos.get)
    r.add("PATCH", "/api/2.0/repos/{repo_id}", ws.repos.update)
    r.add("DELETE", "/api/2.0/repos/{repo_id}", ws.repos.delete)

    r.add("POST", "/api/2.0/git-credentials", ws.git_credentials.create)
    r.add("GET", "/api/2.0/git-credentials", ws.git_credentials.list)
    r.add("GET", "/api/2.0/git-credentials/{credential_id}", ws.git_credentials.get)
    r.add("PATCH", "/api/2.0/git-credentials/{credential_id}", ws.git_credentials.update)
    r.add("DELETE", "/api/2.0/git-credentials/{credential_id}", ws.git_credentials.delete)

    r.add("GET", "/api/2.0/workspace/get-status", ws.workspace_api.get_status)
    r.add("GET", "/api/2.0/workspace/list", ws.workspace_api.list)
    r.add("GET", "/api/2.0/workspace/export", ws.workspace_api.export)
    r.add("POST", "/api/2.0/workspace/import", ws.workspace_api.import_)
    r.add("POST", "/api/2.0/workspace/mkdirs", ws.workspace_api.mkdirs)
    r.add("POST", "/api/2.0/workspace/delete", ws.workspace_api.delete)
    r.add("POST", "/api/2.0/workspace-files/import-file{path*}", ws.workspace_api.import_file)

    r.add("POST", "/api/2.0/fs/create-download-url", ws.files.create_download_url)
    r.add("GET", "/api/2.0/fs/endpoints", ws.files.transfer_endpoints)
    r.add("HEAD", "/api/2.0/fs/files{path*}", ws.files.head)
    r.add("GET", "/api/2.0/fs/files{path*}", ws.files.download)
    r.add("PUT", "/api/2.0/fs/files{path*}", ws.files.upload)
    r.add("DELETE", "/api/2.0/fs/files{path*}", ws.files.delete)
    r.add("HEAD", "/api/2.0/fs/directories{path*}", ws.files.directory_metadata)
    r.add("GET", "/api/2.0/fs/directories{path*}", ws.files.list_directory)
    r.add("PUT", "/api/2.0/fs/directories{path*}", ws.files.create_directory)
    r.add("DELETE", "/api/2.0/fs/directories{path*}", ws.files.delete_directory)

    r.add("GET", "/api/2.0/dbfs/get-status", ws.dbfs.get_status)
    r.add("GET", "/api/2.0/dbfs/list", ws.dbfs.list)
    r.add("GET", "/api/2.0/dbfs/read", ws.dbfs.read)
    r.add("POST", "/api/2.0/dbfs/put", ws.dbfs.put)
    r.add("POST", "/api/2.0/dbfs/create", ws.dbfs.create)
    r.add("POST", "/api/2.0/dbfs/add-block", ws.dbfs.add_block)
    r.add("POST", "/api/2.0/dbfs/close", ws.dbfs.close)
    r.add("POST", "/api/2.0/dbfs/mkdirs", ws.dbfs.mkdirs)
    r.add("POST", "/api/2.0/dbfs/delete", ws.dbfs.delete)
    r.add("POST", "/api/2.0/dbfs/move", ws.dbfs.move)

    r.add("POST", "/api/2.0/secrets/scopes/create", ws.secrets.create_scope)
    r.add("GET", "/api/2.0/secrets/scopes/list", ws.secrets.list_scopes)
    r.add("POST", "/api/2.0/secrets/scopes/delete", ws.secrets.delete_scope)
    r.add("POST", "/api/2.0/secrets/put", ws.secrets.put)
    r.add("GET", "/api/2.0/secrets/list", ws.secrets.list)
    r.add("GET", "/api/2.0/secrets/get", ws.secrets.get)
    r.add("POST", "/api/2.0/secrets/delete", ws.secrets.delete)
    r.add("POST", "/api/2.0/secrets/acls/put", ws.secrets.put_acl)
    r.add("GET", "/api/2.0/secrets/acls/list", ws.secrets.list_acls)
    r.add("GET", "/api/2.0/secrets/acls/get", ws.secrets.get_acl)
    r.add("POST", "/api/2.0/secrets/acls/delete", ws.secrets.delete_acl)

    uc = "/api/2.1/unity-catalog"
    r.add("POST", f"{uc}/catalogs", ws.unity_catalog.create_catalog)
    r.add("GET", f"{uc}/catalogs", ws.unity_catalog.list_catalogs)
    r.add("GET", f"{uc}/catalogs/{{name}}", ws.unity_catalog.get_catalog)
    r.add("DELETE", f"{uc}/catalogs/{{name}}", ws.unity_catalog.delete_catalog)
    r.add("POST", f"{uc}/schemas", ws.unity_catalog.create_schema)
    r.add("GET", f"{uc}/schemas", ws.unity_catalog.list_schemas)
    r.add("GET", f"{uc}/schemas/{{full_name}}", ws.unity_catalog.get_schema)
    r.add("DELETE", f"{uc}/schemas/{{full_name}}", ws.unity_catalog.delete_schema)
    r.add("POST", f"{uc}/volumes", ws.unity_catalog.create_volume)
    r.add("GET", f"{uc}/volumes", ws.unity_catalog.list_volumes)
    r.add("GET", f"{uc}/volumes/{{name}}", ws.unity_catalog.get_volume)
    r.add("DELETE", f"{uc}/volumes/{{name}}", ws.unity_catalog.delete_volume)
    r.add("GET", f"{uc}/tables", ws.unity_catalog.list_tables)
    r.add("GET", f"{uc}/tables/{{full_name}}", ws.unity_catalog.get_table)
    r.add("GET", f"{uc}/tables/{{full_name}}/exists", ws.unity_catalog.table_exists)
    r.add("DELETE", f"{uc}/tables/{{full_name}}", ws.unity_catalog.delete_table)

    r.guard("/api/2.0/dbfs/", ws.settings.refuse_dbfs_root)  # every DBFS route above

    setting = "/api/2.0/settings/types/disable_legacy_dbfs/names/default"
    r.add("GET", setting, ws.settings.get_disable_legacy_dbfs)
    r.add("PATCH", setting, ws.settings.update_disable_legacy_dbfs)
    r.add("DELETE", setting, ws.settings.delete_disable_legacy_dbfs)

    for v in JOBS_API_VERSIONS:
        r.add("POST", f"/api/{v}/jobs/create", ws.jobs.create)
        r.add("POST", f"/api/{v}/jobs/reset", ws.jobs.reset)
        r.add("GET", f"/api/{v}/jobs/get", ws.jobs.get)
        r.add("GET", f"/api/{v}/jobs/list", ws.jobs.list)
        r.add("POST", f"/api/{v}/jobs/delete", ws.jobs.delete)
        r.add("POST", f"/api/{v}/jobs/run-now", ws.jobs.run_now)
        r.add("POST", f"/api/{v}/jobs/runs/submit", ws.jobs.submit)
        r.add("GET", f"/api/{v}/jobs/runs/get", ws.jobs.get_run)
        r.add("GET", f"/api/{v}/jobs/runs/get-output", ws.jobs.get_run_output)
        r.add("GET", f"/api/{v}/jobs/runs/export", ws.jobs.export_run)
        r.add("GET", f"/api/{v}/jobs/runs/list", ws.jobs.list_runs)
        r.add("POST", f"/api/{v}/jobs/runs/cancel", ws.jobs.cancel_run)
        r.add("POST", f"/api/{v}/jobs/runs/delete", ws.jobs.delete_run)
        if v != "2.0":  # repair came with multi-task runs: Jobs API 2.1 and 2.2 (docs.databricks.com jobs_21/repairrun)
            r.add("POST", f"/api/{v}/jobs/runs/repair", ws.jobs.repair_run)
    # A job's permissions (jobs/permissions.py): Permissions API 2.0 only (databricks-sdk JobsAPI.*_permissions).
    r.add("GET", "/api/2.0/permissions/jobs/{job_id}", ws.jobs.get_permissions)
    r.add("PUT", "/api/2.0/permissions/jobs/{job_id}", ws.jobs.set_permissions)
    r.add("PATCH", "/api/2.0/permissions/jobs/{job_id}", ws.jobs.update_permissions)
    return r
