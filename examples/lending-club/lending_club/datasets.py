"""Where the data lives under the data folder, and how a batch of new applications gets there (with pandas).

    <data_dir>/raw/batch-0001.csv        applications as they arrived
    <data_dir>/prepared/batch-0001.csv   the same, cleaned: what training reads (every batch so far)
    <data_dir>/curated/evaluation.csv    a fixed set of verified applications that every model is judged on

This is the pandas engine: CSV, no Spark or Parquet dependency, so the example runs on a machine without Java. The
Spark engine (spark_prepare.py) keeps the raw batches as parquet beside these and the prepared ones in a Delta
table; the curated set is this module's on both. On a cluster the same layout fits a Unity Catalog volume
(`/Volumes/<catalog>/<schema>/<volume>/...`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .features import clean_applications, curate
from .generate import generate_applications

CURATED_SEED = 1_000_003  # never a batch's seed: the evaluation set shares no application with training
CURATED_ROWS = 2_000


def batch_name(batch: int, kind: str = "csv") -> str:
    return f"batch-{batch:04d}.{kind}"


def issue_month(batch: int) -> str:
    """Batches arrive monthly, the first in January 2016."""
    return (pd.Period("2016-01", freq="M") + (batch - 1)).strftime("%b-%Y")


def arriving_batch(batch: int, rows: int, seed: int) -> pd.DataFrame:
    """Batch number `batch` as it arrives: made by the generator, seeded by `seed` and the batch (both engines)."""
    if batch < 1:
        raise ValueError(f"batch must be 1 or more, got {batch}")
    return generate_applications(rows, seed=seed * 1_000 + batch, issued=issue_month(batch))


def prepare_batch(data_dir: str, batch: int, rows: int, seed: int) -> dict[str, int]:
    """Receive batch number `batch`, clean it, and make the curated evaluation set if it does not exist yet. Row
    counts of each."""
    root = Path(data_dir)
    raw = arriving_batch(batch, rows, seed)
    _write(raw, root / "raw" / batch_name(batch))
    prepared = clean_applications(raw)
    _write(prepared, root / "prepared" / batch_name(batch))
    return {
        "batch": batch,
        "raw_rows": len(raw),
        "prepared_rows": len(prepared),
        "curated_rows": make_curated(data_dir),
    }


def make_curated(data_dir: str) -> int:
    """Make the curated evaluation set unless it exists (it never changes, so every model meets the same rows); its
    row count."""
    curated_file = Path(data_dir) / "curated" / "evaluation.csv"
    if not curated_file.exists():
        fresh = generate_applications(CURATED_ROWS, seed=CURATED_SEED, issued=issue_month(1))
        _write(curate(clean_applications(fresh)), curated_file)
    return len(load_curated(data_dir))


def prepared_files(data_dir: str) -> list[Path]:
    """The prepared batches so far, oldest first."""
    files = sorted((Path(data_dir) / "prepared").glob("batch-*.csv"))
    if not files:
        raise FileNotFoundError(f"no prepared batches in {data_dir}/prepared: run the prepare_data notebook first")
    return files


def load_training(data_dir: str) -> pd.DataFrame:
    """Every prepared batch so far, oldest first."""
    return pd.concat([pd.read_csv(f) for f in prepared_files(data_dir)], ignore_index=True)


def load_curated(data_dir: str) -> pd.DataFrame:
    path = Path(data_dir) / "curated" / "evaluation.csv"
    if not path.exists():
        raise FileNotFoundError(f"no curated evaluation set at {path}: run the prepare_data notebook first")
    return pd.read_csv(path)


def _write(frame: pd.DataFrame, path: Path) -> None:
    """Write through a temporary file, so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    frame.to_csv(partial, index=False)
    os.replace(partial, path)
