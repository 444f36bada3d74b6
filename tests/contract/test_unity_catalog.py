"""Unity Catalog catalogs, schemas and volumes through the real databricks-sdk client, and volume paths of the Files
API that must belong to a volume that exists."""

from __future__ import annotations

import contextlib
import io
import re
import uuid
from collections.abc import Iterator

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import AlreadyExists, DatabricksError, InvalidParameterValue, NotFound
from databricks.sdk.service.catalog import VolumeType


@pytest.fixture
def schema(client: WorkspaceClient) -> Iterator[str]:
    """A fresh schema in the catalog `main` for one test (full name), deleted with what it holds after it."""
    name = f"dbcicd_contract_{uuid.uuid4().hex[:10]}"
    client.schemas.create(name, "main")
    yield f"main.{name}"
    with contextlib.suppress(DatabricksError):
        client.schemas.delete(f"main.{name}", force=True)


def test_the_main_catalog_and_its_default_schema_exist(client: WorkspaceClient) -> None:
    assert "main" in {c.name for c in client.catalogs.list()}
    assert client.catalogs.get("main").name == "main"
    assert client.schemas.get("main.default").catalog_name == "main"


def test_schemas_create_get_list_delete(client: WorkspaceClient, schema: str) -> None:
    """A schema is got and listed once made; a second of that name is AlreadyExists; once deleted it is NotFound
    with Unity Catalog's wording."""
    info = client.schemas.get(schema)
    assert (info.full_name, info.catalog_name) == (schema, "main")
    assert schema in {s.full_name for s in client.schemas.list("main")}
    with pytest.raises(AlreadyExists):
        client.schemas.create(schema.split(".")[1], "main")
    client.schemas.delete(schema)
    with pytest.raises(NotFound, match=re.escape(f"Schema '{schema}' does not exist.")):
        client.schemas.get(schema)


def test_volumes_create_read_list_delete(client: WorkspaceClient, schema: str) -> None:
    """A managed volume is read and listed; its name is lowercased; once deleted it is NotFound."""
    catalog, name = schema.split(".")
    created = client.volumes.create(catalog, name, "Results", VolumeType.MANAGED)
    full = f"{schema}.results"
    assert (created.full_name, created.volume_type) == (full, VolumeType.MANAGED)
    assert client.volumes.read(full).name == "results"
    assert [v.full_name for v in client.volumes.list(catalog, name)] == [full]
    with pytest.raises(AlreadyExists):
        client.volumes.create(catalog, name, "results", VolumeType.MANAGED)
    client.volumes.delete(full)
    with pytest.raises(NotFound, match=re.escape(f"Volume '{full}' does not exist.")):
        client.volumes.read(full)


def test_a_volume_needs_its_schema_and_a_valid_name(client: WorkspaceClient) -> None:
    with pytest.raises(NotFound, match=re.escape("Schema 'main.no_such_schema' does not exist.")):
        client.volumes.create("main", "no_such_schema", "v", VolumeType.MANAGED)
    with pytest.raises(InvalidParameterValue):
        client.volumes.create("main", "default", "a.b", VolumeType.MANAGED)


def test_files_live_in_volumes_that_exist(client: WorkspaceClient, schema: str) -> None:
    """Files API paths belong to a volume: a volume that does not exist is NotFound; in a created one files are
    uploaded and read; deleting the volume deletes its files."""
    catalog, name = schema.split(".")
    missing = f"/Volumes/{catalog}/{name}/nothere/f.txt"
    with pytest.raises(NotFound, match=re.escape(f"Volume '{schema}.nothere' does not exist.")):
        client.files.upload(missing, io.BytesIO(b"x"))
    client.volumes.create(catalog, name, "data", VolumeType.MANAGED)
    path = f"/Volumes/{catalog}/{name}/data/in/f.txt"
    client.files.upload(path, io.BytesIO(b"payload"))
    assert client.files.download(path).contents.read() == b"payload"
    client.volumes.delete(f"{schema}.data")
    with pytest.raises(NotFound):
        client.files.get_metadata(path)


def test_deleting_a_schema_with_volumes_needs_force(client: WorkspaceClient, schema: str) -> None:
    catalog, name = schema.split(".")
    client.volumes.create(catalog, name, "kept", VolumeType.MANAGED)
    with pytest.raises(DatabricksError):
        client.schemas.delete(schema)
    client.schemas.delete(schema, force=True)
    with pytest.raises(NotFound):
        client.volumes.read(f"{schema}.kept")


def test_names_are_case_insensitive_and_kept_lower_case(client: WorkspaceClient) -> None:
    """ "Unity Catalog stores all object names as lowercase" (docs.databricks.com sql-ref-names): a catalog, schema
    and volume made with capitals are named in lower case, and found, listed and deleted by any spelling."""
    tag = uuid.uuid4().hex[:8]
    catalog = client.catalogs.create(f"Cat_{tag}")
    try:
        assert catalog.name == f"cat_{tag}"
        assert client.catalogs.get(f"CAT_{tag}").name == f"cat_{tag}"
        schema = client.schemas.create("MixedCase", f"Cat_{tag}")
        assert (schema.name, schema.full_name) == ("mixedcase", f"cat_{tag}.mixedcase")
        assert client.schemas.get(f"cat_{tag}.MIXEDCASE").full_name == f"cat_{tag}.mixedcase"
        with pytest.raises(AlreadyExists):
            client.schemas.create("mixedcase", f"cat_{tag}")
        volume = client.volumes.create(f"CAT_{tag}", "MixedCase", "Files", VolumeType.MANAGED)
        assert volume.full_name == f"cat_{tag}.mixedcase.files"
        assert client.volumes.read(f"Cat_{tag}.MixedCase.FILES").name == "files"
        assert [v.name for v in client.volumes.list(f"cat_{tag}", "MIXEDCASE")] == ["files"]
        client.volumes.delete(f"cat_{tag}.mixedcase.Files")
        with pytest.raises(NotFound):
            client.volumes.read(f"cat_{tag}.mixedcase.files")
    finally:
        client.catalogs.delete(f"Cat_{tag}", force=True)
    with pytest.raises(NotFound):
        client.catalogs.get(f"cat_{tag}")
