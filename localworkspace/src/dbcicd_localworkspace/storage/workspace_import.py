"""workspace/import: read the request (JSON or multipart/form-data) and decide what lands where on disk.

Storage follows the workspace tree's rule: a notebook is a file named `<name><extension>` whose first line is the
notebook header (or an `.ipynb`), and its workspace name is the file name without the extension; anything else is
a workspace file under its own name.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..http.errors import ApiError, invalid_parameter
from ..http.form_data import is_form_data, parse_form_data
from ..http.request import Request
from ..runtime.notebook_files import JUPYTER_EXTENSION
from .notebook_convert import EXTENSION, LANGUAGES, has_header, parse_ipynb, with_header

# The JSON import's base64 `content` "is limited to 10 MB" (databricks-sdk WorkspaceAPI.import_); a multipart import
# (the SDK's workspace.upload) takes up to 500 MB (databricks/cli#1795, databricks/terraform-provider-databricks#5293;
# decimal or binary megabytes, no source says: decimal, the smaller).
MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_MULTIPART_IMPORT_BYTES = 500 * 1000 * 1000
IMPORT_FORMATS = ("AUTO", "DBC", "HTML", "JUPYTER", "RAW", "R_MARKDOWN", "SOURCE")
SUPPORTED_IMPORT_FORMATS = ("AUTO", "JUPYTER", "RAW", "SOURCE")


@dataclass(frozen=True)
class ImportRequest:
    path: str
    content: bytes
    format: str
    language: str
    overwrite: bool


@dataclass(frozen=True)
class ImportPlan:
    """The object to create: its workspace path, the disk file that holds it, and the bytes to write there."""

    path: str
    file_name: str
    content: bytes

    def disk_file(self, disk_path_of: Path) -> Path:
        """The disk file, given the disk location of the object's workspace path."""
        return disk_path_of.with_name(self.file_name)


def read_import_request(req: Request) -> ImportRequest:
    """The import parameters from a JSON body (`content` base64) or a form (`content` as a file part)."""
    content_type = req.headers.get("Content-Type", "") or ""
    if is_form_data(content_type):
        form = parse_form_data(req.body, content_type)
        if "path" not in form:
            raise invalid_parameter("Missing required field: path")
        text = {k: v.decode("utf-8", "replace") for k, v in form.items() if k != "content"}
        request = ImportRequest(
            path=text["path"],
            content=form.get("content", b""),
            format=text.get("format", "SOURCE"),
            language=text.get("language", ""),
            overwrite=text.get("overwrite", "false").lower() == "true",
        )
    else:
        request = ImportRequest(
            path=req.field("path", str),
            content=_base64(req.field("content", str, "")),
            format=req.field("format", str, "SOURCE"),
            language=req.field("language", str, ""),
            overwrite=req.field("overwrite", bool, False),
        )
    most = MAX_MULTIPART_IMPORT_BYTES if is_form_data(content_type) else MAX_IMPORT_BYTES
    if len(request.content) > most:
        limit = f"{most // 1_000_000} MB" if most == MAX_MULTIPART_IMPORT_BYTES else f"{most >> 20} MB"
        raise ApiError(400, "MAX_NOTEBOOK_SIZE_EXCEEDED", f"The content is larger than the {limit} import limit")
    return request


def plan_import(path: str, request: ImportRequest) -> ImportPlan:
    """What to write for an import at the clean workspace path `path`."""
    fmt = request.format
    if fmt not in IMPORT_FORMATS:
        raise invalid_parameter(f"Invalid format '{fmt}'. Supported formats: {', '.join(SUPPORTED_IMPORT_FORMATS)}")
    if fmt not in SUPPORTED_IMPORT_FORMATS:
        raise invalid_parameter(
            f"Import format {fmt} is not supported by the local workspace; use one of "
            f"{', '.join(SUPPORTED_IMPORT_FORMATS)}"
        )
    name = posixpath.basename(path)
    if fmt == "AUTO":
        return _auto(path, request.content)
    if fmt == "RAW":
        return ImportPlan(path, name, request.content)
    if fmt == "JUPYTER":
        _require_ipynb(request.content)
        return ImportPlan(path, name + JUPYTER_EXTENSION, request.content)
    language = _language(request.language)
    return ImportPlan(path, name + EXTENSION[language], with_header(request.content, language))


def _auto(path: str, content: bytes) -> ImportPlan:
    """AUTO: a notebook when the extension and content say so (the extension is then dropped), else a file."""
    suffix = PurePosixPath(path).suffix
    stem = path[: -len(suffix)] if suffix else path
    file_name = posixpath.basename(path)
    if suffix.lower() == JUPYTER_EXTENSION:
        try:
            parse_ipynb(content)
            return ImportPlan(stem, file_name, content)
        except ValueError:
            pass
    for language, extension in EXTENSION.items():
        if suffix.lower() == extension and has_header(content, language):
            return ImportPlan(stem, file_name, content)
    return ImportPlan(path, file_name, content)


def _language(value: str) -> str:
    if not value:
        raise invalid_parameter(
            "Missing required field: language (needed to import a notebook in SOURCE format; "
            f"one of {', '.join(LANGUAGES)})"
        )
    if value.upper() not in LANGUAGES:
        raise invalid_parameter(f"Invalid language '{value}'. Supported languages: {', '.join(LANGUAGES)}")
    return value.upper()


def _require_ipynb(content: bytes) -> None:
    try:
        parse_ipynb(content)
    except ValueError as err:
        raise invalid_parameter(f"Invalid content for format JUPYTER: {err}") from None


def _base64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_parameter("Invalid value for field content: expected base64-encoded bytes") from None
