"""Where the data lives under the data folder, and how a batch of new applications gets there.

    <data_dir>/raw/batch-0001.csv        applications as they arrived
    <data_dir>/prepared/batch-0001.csv   the same, cleaned: what training reads (every batch so far)
    <data_dir>/curated/evaluation.csv    a fixed set of verified applications that every model is judged on

CSV keeps the example free of a Spark or Parquet dependency; on a cluster the same layout fits a Unity Catalog
volume (`/Volumes/<catalog>/<schema>/<volume>/...`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .features import clean_applications, curate
from .generate import generate_applications

CURATED_SEED = 1_000_003  # never a batch's seed: the evaluation set shares no application with training
CURATED_ROWS = 2_000


def batch_name(batch: int) -> str:
    return f"batch-{batch:04d}.csv"


def issue_month(batch: int) -> str:
    """Batches arrive monthly, the first in January 2016."""
    return (pd.Period("2016-01", freq="M") + (batch - 1)).strftime("%b-%Y")


def prepare_batch(data_dir: str, batch: int, rows: int, seed: int) -> dict[str, int]:
    """Receive batch number `batch` (made by the generator, seeded by `seed` and the batch), clean it, and make
    the curated evaluation set if it does not exist yet. Row counts of each."""
    if batch < 1:
        raise ValueError(f"batch must be 1 or more, got {batch}")
    root = Path(data_dir)
    raw = generate_applications(rows, seed=seed * 1_000 + batch, issued=issue_month(batch))
    _write(raw, root / "raw" / batch_name(batch))
    prepared = clean_applications(raw)
    _write(prepared, root / "prepared" / batch_name(batch))
    curated_file = root / "curated" / "evaluation.csv"
    if not curated_file.exists():
        fresh = generate_applications(CURATED_ROWS, seed=CURATED_SEED, issued=issue_month(1))
        _write(curate(clean_applications(fresh)), curated_file)
    return {
        "batch": batch,
        "raw_rows": len(raw),
        "prepared_rows": len(prepared),
        "curated_rows": len(load_curated(data_dir)),
    }


def load_training(data_dir: str) -> pd.DataFrame:
    """Every prepared batch so far, oldest first."""
    files = sorted((Path(data_dir) / "prepared").glob("batch-*.csv"))
    if not files:
        raise FileNotFoundError(f"no prepared batches in {data_dir}/prepared: run the prepare_data notebook first")
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


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
