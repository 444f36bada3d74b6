"""A minimal Unity Catalog: catalogs, schemas and volumes (create, get, list, delete), so that a
`/Volumes/<catalog>/<schema>/<volume>/...` path belongs to a volume the workspace knows; and the tables notebooks
wrote with Spark (list, get, exists, delete), which are folders of the Spark warehouse (spark/catalog.py), as are
schemas a notebook made with `CREATE SCHEMA catalog.schema`.

Shapes are databricks-sdk 0.162's (`service/catalog.py`: CatalogInfo, SchemaInfo, VolumeInfo, paths under
/api/2.1/unity-catalog). The "does not exist" wording ("Volume 'main.s.v' does not exist.") is recorded from a real
workspace in databricks/cli `acceptance/selftest/record_cloud/volume-io/output.txt`, which also shows the catalog
`main` there. Names are case-insensitive and kept lower-case: "Unity Catalog stores all object names as lowercase"
(docs.databricks.com/aws/en/sql/language-manual/sql-ref-names), so every catalog, schema, volume and table name a
request gives, to create or to find, is lower-cased first (cli `libs/testserver/volumes.go` lowercases schema and
volume names too); the Spark databases behind schemas are lower-case as well (spark/catalog.py). The error codes
of these answers are not in those sources: NOT_FOUND (404) and ALREADY_EXISTS (409) are the codes the SDK maps to
NotFound and AlreadyExists, chosen for that reason.

The catalog `main` with its schema `default` exists from the start, so volume paths under it need only their volume.
Volume folders a notebook made directly under `/Volumes` (the local workspace does not check notebook file access)
count as volumes for the Files API too, though volumes/list shows only created ones.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ..http.errors import ApiError, invalid_parameter
from ..http.request import Request
from ..runtime.spark import catalog as spark_catalog
from ..storage.disk import atomic_write, confined

STATE_FILE = "unity_catalog.json"
DEFAULT_CATALOG, DEFAULT_SCHEMA = "main", "default"
VOLUME_TYPES = ("MANAGED", "EXTERNAL")
# "Valid names cannot contain spaces, periods, forward slashes, or control characters." (UC's message for an invalid
# catalog name, quoted in databricks/cli libs/testserver/catalogs.go)
_INVALID_NAME = re.compile(r"[\s./\x00-\x1f\x7f]")


def not_found(kind: str, full_name: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{kind} '{full_name}' does not exist.")


def _already_exists(kind: str, full_name: str) -> ApiError:
    # Wording as users report it ("Schema 'xyz_refined' already exists", databricks/bundle-examples#51).
    return ApiError(409, "ALREADY_EXISTS", f"{kind} '{full_name}' already exists")


class UnityCatalog:
    """The handlers of /api/2.1/unity-catalog/{catalogs,schemas,volumes}; volumes are folders under `volumes_root`."""

    def __init__(self, state_root: Path, volumes_root: Path, user_name: str, warehouse: Path) -> None:
        self._file = state_root / STATE_FILE
        self._volumes_root = volumes_root
        self._warehouse = warehouse
        self._user = user_name
        self._lock = threading.Lock()
        self._state = self._load()

    # --- what other services ask ----------------------------------------------------------------------------------
    def volume_exists(self, catalog: str, schema: str, volume: str) -> bool:
        """Whether `/Volumes/<catalog>/<schema>/<volume>` is a volume: a created one, named in any case, or a folder
        of exactly that name. Whether Databricks matches the path's parts ignoring case no public source says; the
        files of a volume are under its lower-case names."""
        with self._lock:
            if _full(catalog, schema, volume) in self._state["volumes"]:
                return True
        return (self._volumes_root / catalog / schema / volume).is_dir()

    # --- catalogs -----------------------------------------------------------------------------------------------
    def create_catalog(self, req: Request) -> dict[str, Any]:
        name = _name(req.field("name", str), "name")
        info = {**self._stamp(), "name": name, "full_name": name, "catalog_type": "MANAGED_CATALOG", "id": _id()}
        info.update(_optional(req, "comment", "properties"))
        return self._insert("catalogs", "Catalog", name, info)

    def get_catalog(self, req: Request) -> dict[str, Any]:
        return self._get("catalogs", "Catalog", _full(req.params["name"]))

    def list_catalogs(self, req: Request) -> dict[str, Any]:
        with self._lock:
            return {"catalogs": [self._state["catalogs"][n] for n in sorted(self._state["catalogs"])]}

    def delete_catalog(self, req: Request) -> dict[str, Any]:
        name = _full(req.params["name"])
        with self._lock:
            self._require("catalogs", "Catalog", name)
            schemas = self._children("schemas", name, req, "Catalog")
            for schema in schemas:
                self._drop_schema(schema)
            del self._state["catalogs"][name]
            self._save()
        shutil.rmtree(self._volumes_root / name, ignore_errors=True)
        return {}

    def _children(self, table: str, parent: str, req: Request, kind: str) -> list[str]:
        """The full names in `table` directly under `parent`; refused unless `force` when there are any. The wording
        of the refusal is not in the sources read; the condition and `force` are the SDK's (CatalogsAPI.delete and
        SchemasAPI.delete: "Force deletion even if the catalog/schema is not empty")."""
        children = [full for full in self._state[table] if full.startswith(f"{parent}.")]
        if children and not req.arg("force", bool, False):
            raise ApiError(400, "INVALID_STATE", f"{kind} '{parent}' is not empty: it holds {len(children)} {table}")
        return children

    # --- schemas ------------------------------------------------------------------------------------------------
    def create_schema(self, req: Request) -> dict[str, Any]:
        catalog = _full(req.field("catalog_name", str))
        name = _name(req.field("name", str), "name")
        full = f"{catalog}.{name}"
        info = {**self._stamp(), "name": name, "catalog_name": catalog, "full_name": full, "schema_id": _id()}
        info.update(_optional(req, "comment", "properties"))
        return self._insert("schemas", "Schema", full, info, ("catalogs", "Catalog", catalog))

    def get_schema(self, req: Request) -> dict[str, Any]:
        full = _full(req.params["full_name"])
        catalog, _, name = full.partition(".")
        with self._lock:
            known = self._state["schemas"].get(full)
        if known is not None:
            return known
        if (catalog, name) in spark_catalog.schemas(self._warehouse):  # made by a notebook's CREATE SCHEMA
            return _notebook_schema(catalog, name)
        raise not_found("Schema", full)

    def list_schemas(self, req: Request) -> dict[str, Any]:
        catalog = _full(req.arg("catalog_name"))
        with self._lock:
            self._require("catalogs", "Catalog", catalog)
            known = {k: i for k, i in self._state["schemas"].items() if i["catalog_name"] == catalog}
        for parent, name in spark_catalog.schemas(self._warehouse):
            full = f"{parent}.{name}"
            if parent == catalog and full not in known:  # made by a notebook's CREATE SCHEMA
                known[full] = _notebook_schema(catalog, name)
        return {"schemas": [known[k] for k in sorted(known)]}

    def delete_schema(self, req: Request) -> dict[str, Any]:
        full = _full(req.params["full_name"])
        with self._lock:
            self._require("schemas", "Schema", full)
            self._children("volumes", full, req, "Schema")
            self._drop_schema(full)
            self._save()
        return {}

    # --- volumes ------------------------------------------------------------------------------------------------
    def create_volume(self, req: Request) -> dict[str, Any]:
        catalog = _full(req.field("catalog_name", str))
        schema = _full(req.field("schema_name", str))
        name = _name(req.field("name", str), "name")
        volume_type = req.field("volume_type", str, "MANAGED")
        if volume_type not in VOLUME_TYPES:
            raise invalid_parameter(f"Invalid volume_type {volume_type}: expected MANAGED or EXTERNAL")
        location = req.field("storage_location", str, "")
        if location and volume_type != "EXTERNAL":
            # cli libs/testserver/volumes.go, UC's own message for this case.
            raise invalid_parameter("CreateVolume storage_location can not be provided.")
        if volume_type == "EXTERNAL":
            raise invalid_parameter("EXTERNAL volumes need cloud storage, which the local workspace does not have")
        full = f"{catalog}.{schema}.{name}"
        folder = confined(self._volumes_root, [catalog, schema, name], full, "volume name")
        volume_id = _id()
        info = {
            **self._stamp(),
            "catalog_name": catalog,
            "schema_name": schema,
            "name": name,
            "full_name": full,
            "volume_type": volume_type,
            "volume_id": volume_id,
            "storage_location": folder.resolve().as_uri(),
        }
        info.update(_optional(req, "comment"))
        parents = (("catalogs", "Catalog", catalog), ("schemas", "Schema", f"{catalog}.{schema}"))
        return self._insert("volumes", "Volume", full, info, *parents, folder=folder)

    def get_volume(self, req: Request) -> dict[str, Any]:
        return self._get("volumes", "Volume", _full(req.params["name"]))

    def list_volumes(self, req: Request) -> dict[str, Any]:
        catalog, schema = _full(req.arg("catalog_name")), _full(req.arg("schema_name"))
        with self._lock:
            self._require("schemas", "Schema", f"{catalog}.{schema}")
            prefix = f"{catalog}.{schema}."
            found = [i for k, i in sorted(self._state["volumes"].items()) if k.startswith(prefix)]
        return {"volumes": found}

    def delete_volume(self, req: Request) -> dict[str, Any]:
        full = _full(req.params["name"])
        with self._lock:
            info = self._require("volumes", "Volume", full)
            del self._state["volumes"][full]
            self._save()
        folder = self._volumes_root / info["catalog_name"] / info["schema_name"] / info["name"]
        shutil.rmtree(folder, ignore_errors=True)
        return {}

    # --- tables (folders of the Spark warehouse) --------------------------------------------------------------------
    # Paths and shapes are databricks-sdk 0.162's TablesAPI (`service/catalog.py`): GET /tables?catalog_name&
    # schema_name -> {"tables": [TableInfo]}, GET and DELETE /tables/{full_name}, GET /tables/{full_name}/exists ->
    # TableExistsResponse {"table_exists"}. The "does not exist" wording follows the other kinds' (module docstring);
    # no source read quotes it for a table.
    def list_tables(self, req: Request) -> dict[str, Any]:
        catalog, schema = _full(req.arg("catalog_name")), _full(req.arg("schema_name"))
        self._require_schema(catalog, schema)
        return {"tables": [self._table_info(t) for t in spark_catalog.tables(self._warehouse, catalog, schema)]}

    def get_table(self, req: Request) -> dict[str, Any]:
        return self._table_info(self._table(req.params["full_name"]))

    def table_exists(self, req: Request) -> dict[str, Any]:
        try:
            self._table(req.params["full_name"])
        except ApiError:
            return {"table_exists": False}
        return {"table_exists": True}

    def delete_table(self, req: Request) -> dict[str, Any]:
        shutil.rmtree(self._table(req.params["full_name"]).path, ignore_errors=True)
        return {}

    def _table(self, full_name: str) -> spark_catalog.TableFolder:
        parts = _full(full_name).split(".")
        if len(parts) == 3:
            for table in spark_catalog.tables(self._warehouse, parts[0], parts[1]):
                if table.name == parts[2]:
                    return table
        raise not_found("Table", full_name)

    def _require_schema(self, catalog: str, schema: str) -> None:
        full = f"{catalog}.{schema}"
        with self._lock:
            if full in self._state["schemas"]:
                return
        if (catalog, schema) not in spark_catalog.schemas(self._warehouse):
            raise not_found("Schema", full)

    def _table_info(self, table: spark_catalog.TableFolder) -> dict[str, Any]:
        """TableInfo (databricks-sdk `service/catalog.py`): a table a notebook saved is MANAGED, in its schema's
        storage; its columns are not read here."""
        modified = int(table.path.stat().st_mtime * 1000)
        return {
            "name": table.name,
            "catalog_name": table.catalog,
            "schema_name": table.schema,
            "full_name": table.full_name,
            "table_type": "MANAGED",
            "data_source_format": table.data_source_format,
            "storage_location": table.path.as_uri(),
            "owner": self._user,
            "created_by": self._user,
            "created_at": modified,
            "updated_at": modified,
        }

    # --- state --------------------------------------------------------------------------------------------------
    def _insert(
        self,
        table: str,
        kind: str,
        key: str,
        info: dict[str, Any],
        *parents: tuple[str, str, str],
        folder: Path | None = None,
    ) -> dict[str, Any]:
        """Add an object whose parents exist (table, kind, key each) and whose name is free; a volume's `folder` is
        made with it."""
        with self._lock:
            for parent in parents:
                self._require(*parent)
            if key in self._state[table]:
                raise _already_exists(kind, key)
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
            self._state[table][key] = info
            self._save()
        return info

    def _drop_schema(self, full: str) -> None:
        """Forget a schema and its volumes, and delete their files (caller holds the lock and saves)."""
        catalog, schema = full.split(".", 1)
        for volume in [v for v in self._state["volumes"] if v.startswith(f"{full}.")]:
            del self._state["volumes"][volume]
        del self._state["schemas"][full]
        shutil.rmtree(self._volumes_root / catalog / schema, ignore_errors=True)
        with contextlib.suppress(spark_catalog.CatalogNameError):
            shutil.rmtree(spark_catalog.schema_folder(self._warehouse, catalog, schema), ignore_errors=True)

    def _get(self, table: str, kind: str, key: str) -> dict[str, Any]:
        with self._lock:
            return self._require(table, kind, key)

    def _require(self, table: str, kind: str, key: str) -> dict[str, Any]:
        found = self._state[table].get(key)
        if found is None:
            raise not_found(kind, key)
        return found

    def _stamp(self) -> dict[str, Any]:
        now = int(time.time() * 1000)
        return {"owner": self._user, "created_by": self._user, "created_at": now, "updated_at": now}

    def _load(self) -> dict[str, Any]:
        try:
            state = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        fresh = "catalogs" not in state
        for table in ("catalogs", "schemas", "volumes"):
            state.setdefault(table, {})
        if fresh:
            stamp = self._stamp()
            state["catalogs"][DEFAULT_CATALOG] = {
                **stamp, "name": DEFAULT_CATALOG, "full_name": DEFAULT_CATALOG, "catalog_type": "MANAGED_CATALOG",
                "id": _id(),
            }  # fmt: skip
            full = f"{DEFAULT_CATALOG}.{DEFAULT_SCHEMA}"
            state["schemas"][full] = {
                **stamp, "name": DEFAULT_SCHEMA, "catalog_name": DEFAULT_CATALOG, "full_name": full, "schema_id": _id(),
            }  # fmt: skip
        return state

    def _save(self) -> None:
        atomic_write(self._file, json.dumps(self._state, indent=1).encode())


def _name(value: str, field: str) -> str:
    """A new object's name, as Unity Catalog keeps it: lower-case (module docstring)."""
    if not value or _INVALID_NAME.search(value):
        raise invalid_parameter(
            f'Invalid {field} "{value}": valid names cannot contain spaces, periods, forward slashes, or control '
            "characters."
        )
    return value.lower()


def _notebook_schema(catalog: str, name: str) -> dict[str, Any]:
    """SchemaInfo of a schema a notebook made with SQL: its names only (its folder in the warehouse has no more)."""
    return {"name": name, "catalog_name": catalog, "full_name": f"{catalog}.{name}"}


def _full(*names: str) -> str:
    """The key of an object named in a request, in any case: its lower-case full name."""
    return ".".join(names).lower()


def _optional(req: Request, *names: str) -> dict[str, Any]:
    return {n: req.json()[n] for n in names if req.json().get(n) is not None}


def _id() -> str:
    return str(uuid.uuid4())
