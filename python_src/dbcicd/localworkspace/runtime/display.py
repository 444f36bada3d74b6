"""display() and displayHTML() for a process without a notebook UI: they print what Databricks would render."""

from __future__ import annotations

from typing import Any


def display(value: Any = None, *args: Any, **kwargs: Any) -> None:
    """Spark DataFrames show() themselves; lists of records (dbutils.fs.ls) print as a table; the rest prints."""
    if value is None:
        return
    show = getattr(value, "show", None)
    if callable(show) and not isinstance(value, type):
        show()
    elif isinstance(value, list) and value and all(hasattr(row, "_fields") for row in value):
        print("\t".join(value[0]._fields))
        for row in value:
            print("\t".join(str(field) for field in row))
    else:
        print(value)


def displayHTML(html: str) -> None:
    print(html)
