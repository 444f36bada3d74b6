"""Batches arriving in the data folder: raw and prepared files, the curated set made once, training reads all."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lending_club.datasets import issue_month, load_curated, load_training, prepare_batch


def test_a_batch_is_stored_raw_and_prepared(tmp_path: Path) -> None:
    """The first batch writes its raw and prepared files and the curated set; row counts say what was written."""
    summary = prepare_batch(str(tmp_path), batch=1, rows=300, seed=3)
    assert summary == {"batch": 1, "raw_rows": 300, "prepared_rows": 300, "curated_rows": summary["curated_rows"]}
    assert pd.read_csv(tmp_path / "raw" / "batch-0001.csv")["issue_d"].eq("Jan-2016").all()
    assert len(pd.read_csv(tmp_path / "prepared" / "batch-0001.csv")) == 300
    assert summary["curated_rows"] == len(load_curated(str(tmp_path))) > 100


def test_training_reads_every_batch_and_the_curated_set_stays(tmp_path: Path) -> None:
    """A later batch adds rows for training (issued a month later) and leaves the evaluation set as it was."""
    prepare_batch(str(tmp_path), batch=1, rows=200, seed=3)
    curated = load_curated(str(tmp_path))
    prepare_batch(str(tmp_path), batch=2, rows=250, seed=3)
    training = load_training(str(tmp_path))
    assert len(training) == 450 and training["id"].is_unique
    assert pd.read_csv(tmp_path / "raw" / "batch-0002.csv")["issue_d"].eq("Feb-2016").all()
    pd.testing.assert_frame_equal(load_curated(str(tmp_path)), curated)


def test_the_same_batch_again_gives_the_same_rows(tmp_path: Path) -> None:
    """Re-running a batch (a retried job) rewrites the same data instead of adding to it."""
    prepare_batch(str(tmp_path), batch=1, rows=200, seed=3)
    first = load_training(str(tmp_path))
    prepare_batch(str(tmp_path), batch=1, rows=200, seed=3)
    pd.testing.assert_frame_equal(load_training(str(tmp_path)), first)


def test_missing_data_says_which_notebook_to_run(tmp_path: Path) -> None:
    """Training or evaluating before any data was prepared fails naming the prepare_data notebook."""
    with pytest.raises(FileNotFoundError, match="prepare_data"):
        load_training(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="prepare_data"):
        load_curated(str(tmp_path))


def test_batches_arrive_monthly() -> None:
    """Batch 1 is issued in January 2016, batch 13 a year later."""
    assert issue_month(1) == "Jan-2016" and issue_month(13) == "Jan-2017"
