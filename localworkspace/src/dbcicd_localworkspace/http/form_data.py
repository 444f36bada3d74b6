"""multipart/form-data request bodies (RFC 7578), as databricks-sdk's `workspace.upload` sends workspace/import.

Parsed by hand rather than with the `email` package so that file parts come back byte for byte.
"""

from __future__ import annotations

import re

from .errors import bad_request

_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_PART_NAME = re.compile(rb'\bname="([^"]*)"', re.IGNORECASE)


def is_form_data(content_type: str) -> bool:
    return content_type.lower().startswith("multipart/form-data")


def parse_form_data(body: bytes, content_type: str) -> dict[str, bytes]:
    """The parts of a form by field name (the last one wins when a name repeats)."""
    match = _BOUNDARY.search(content_type)
    if not match:
        raise bad_request("Malformed request: multipart/form-data without a boundary")
    delimiter = b"--" + (match.group(1) or match.group(2)).encode("latin-1")
    sections = body.split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise bad_request("Malformed request: the multipart/form-data body is not terminated by its boundary")
    fields: dict[str, bytes] = {}
    for section in sections[1:-1]:
        head, sep, content = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        name = _PART_NAME.search(head)
        if not sep or not name or not content.endswith(b"\r\n"):
            raise bad_request("Malformed request: a multipart/form-data part has no name or no body")
        fields[name.group(1).decode("utf-8", "replace")] = content[:-2]
    return fields
