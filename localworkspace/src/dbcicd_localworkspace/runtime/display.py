"""display() and displayHTML(): what Databricks renders in a cell's output goes into the cell record (tables, HTML,
images; cell_record.py), and a plain-text form of it into the log, as there is no notebook UI to show it.

Matplotlib figures appear as images as they do in a Databricks notebook: `display(fig)` shows one at once, and the
figures a cell leaves open (`plt.plot(...)`, `plt.show()`) are shown when the cell ends, then closed, as IPython's
inline backend does. The kernel runs matplotlib with the non-interactive Agg backend, so no window ever opens.
"""

from __future__ import annotations

import base64
import io
import os
import sys
import warnings
from typing import Any

from . import cell_record

MAX_TABLE_ROWS = 1000  # rows of one table kept in the record (a bound of the local workspace, not Databricks')
MAX_CELL_CHARS = 1000  # characters of one table value


def display(value: Any = None, *args: Any, **kwargs: Any) -> None:
    """DataFrames (Spark, pandas) and lists of records (dbutils.fs.ls) as tables; figures as images; the rest
    printed."""
    if value is None:
        return
    record = cell_record.active()
    if record is not None and _is_figure(value):
        record.display("image", mime="image/png", data=_png(value))
        record.displayed()
        return
    table = _table(value) if record is not None else None
    if record is not None and table is not None:
        record.display("table", **table)
    _print_for_log(value)
    if record is not None and table is not None:
        record.displayed()


def displayHTML(html: str) -> None:
    record = cell_record.active()
    if record is not None:
        record.display("html", html=str(html))
    print(html)
    if record is not None:
        record.displayed()


def prepare_figures() -> None:
    """Agg for matplotlib in this process and what it starts (unless the environment chose a backend), and no
    warning from plt.show() that Agg cannot show a window: the figure is shown in the cell instead."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    warnings.filterwarnings("ignore", message=".*non-interactive, and thus cannot be shown")


def show_open_figures() -> None:
    """At the end of a cell: every figure still open becomes an image of the cell, and is closed."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    record = cell_record.active()
    numbers = pyplot.get_fignums() if pyplot is not None else []
    if record is None or not numbers:
        return
    for number in numbers:
        record.display("image", mime="image/png", data=_png(pyplot.figure(number)))
    pyplot.close("all")


def _print_for_log(value: Any) -> None:
    show = getattr(value, "show", None)
    if callable(show) and not isinstance(value, type) and not _is_figure(value):
        show()
    elif _is_records(value):
        print("\t".join(value[0]._fields))
        for row in value:
            print("\t".join(str(field) for field in row))
    else:
        print(value)


def _table(value: Any) -> dict[str, Any] | None:
    """`{"columns", "rows", "total"}` of a Spark or pandas DataFrame or a list of records, else None."""
    module = type(value).__module__
    if module.startswith("pyspark") and hasattr(value, "columns") and hasattr(value, "take"):
        rows = value.take(MAX_TABLE_ROWS + 1)
        return _shaped(list(value.columns), [list(row) for row in rows], len(rows))
    if module.startswith("pandas") and hasattr(value, "columns") and hasattr(value, "itertuples"):
        rows = [list(row) for row in value.head(MAX_TABLE_ROWS).itertuples(index=False, name=None)]
        return _shaped([str(c) for c in value.columns], rows, len(value))
    if _is_records(value):
        return _shaped(list(value[0]._fields), [list(row) for row in value], len(value))
    return None


def _shaped(columns: list[Any], rows: list[list[Any]], total: int) -> dict[str, Any]:
    def cell(v: Any) -> str:
        text = str(v)
        return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"

    return {
        "columns": [cell(c) for c in columns],
        "rows": [[cell(v) for v in row] for row in rows[:MAX_TABLE_ROWS]],
        "total": total,
    }


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(hasattr(row, "_fields") for row in value)


def _is_figure(value: Any) -> bool:
    return type(value).__module__.startswith("matplotlib") and callable(getattr(value, "savefig", None))


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
