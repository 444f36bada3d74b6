"""What an exported notebook page (runs/export, and the pages the step publishes) holds: the notebook model the page
carries as `var __DATABRICKS_NOTEBOOK_MODEL = '<base64>'`, decoded as the local workspace encodes it."""

from __future__ import annotations

import re

from dbcicd_localworkspace.render.export_page import decode_model

_MODEL = re.compile(r"__DATABRICKS_NOTEBOOK_MODEL = '([^']*)'")


def printed(page: str) -> list[str]:
    """The text each cell's output shows (its `ansi` results), cell by cell, output by output."""
    found = _MODEL.search(page)
    assert found, "the page carries no notebook model"
    model = decode_model(found.group(1))
    return [
        str(item.get("data", ""))
        for command in model.get("commands", [])
        for item in (command.get("results") or {}).get("data", [])
        if item.get("type") == "ansi"
    ]
