"""The notebooks' settings, as widgets: one definition, so every notebook reads and passes on the same names.

A job or pipeline sets them as notebook parameters (`dbcicd run -p rows=2000`); a notebook that runs others passes
them on with `as_arguments()`. Standard library only: a notebook can read its settings before any %pip install.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Settings:
    data_dir: str = "/dbfs/lending-club"  # on Unity Catalog, a volume: /Volumes/<catalog>/<schema>/<volume>
    model_name: str = "lending_club_income"  # on Unity Catalog: <catalog>.<schema>.lending_club_income
    experiment: str = "/Shared/lending-club"
    registry: str = "auto"  # auto (MLflow when installed) | mlflow | files (in <data_dir>/registry)
    engine: str = "auto"  # auto (Spark when a session can be made, else pandas) | spark | pandas
    table: str = "main.default.lending_club_prepared"  # the prepared batches, a Delta table, on the Spark engine
    table_version: str = ""  # the version of `table` training reads; empty: the newest (Spark engine only)
    model: str = "gradient_boosting"  # gradient_boosting | ridge | baseline
    batch: int = 1  # the batch of applications that arrived, 1, 2, ...
    rows: int = 5000  # applications per batch
    seed: int = 42
    version: str = ""  # the candidate to evaluate or promote; empty: the version of the challenger alias
    min_improvement: float = 0.0  # promote only when RMSE is lower by more than this fraction

    @classmethod
    def from_widgets(cls, dbutils: Any) -> Settings:
        """Declare every setting as a text widget (its default shown) and read the values given to the notebook."""
        values = {}
        for field in fields(cls):
            dbutils.widgets.text(field.name, str(field.default))
            values[field.name] = dbutils.widgets.get(field.name)
        return cls.parse(values)

    @classmethod
    def parse(cls, values: dict[str, str]) -> Settings:
        """Settings from text values (missing ones take their defaults); a bad value names its widget."""
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown settings {unknown}; known: {', '.join(f.name for f in fields(cls))}")
        typed: dict[str, Any] = {}
        for field in fields(cls):
            if field.name not in values:
                continue
            text = values[field.name].strip()
            kind = type(field.default)
            try:
                typed[field.name] = kind(text)
            except ValueError:
                raise ValueError(f"widget {field.name} must be {kind.__name__}, got {text!r}") from None
        settings = cls(**typed)
        settings.check()
        return settings

    def check(self) -> None:
        if self.rows < 100:
            raise ValueError(f"widget rows must be at least 100, got {self.rows}")
        if self.batch < 1:
            raise ValueError(f"widget batch must be 1 or more, got {self.batch}")
        if not self.data_dir or not self.model_name or not self.table:
            raise ValueError("widgets data_dir, model_name and table must not be empty")
        if self.table_version and not self.table_version.isdigit():
            raise ValueError(f"widget table_version must be a version number or empty, got {self.table_version!r}")

    def as_arguments(self) -> dict[str, str]:
        """The widget values to hand to another notebook (dbutils.notebook.run)."""
        return {field.name: str(getattr(self, field.name)) for field in fields(self)}

    @property
    def registry_dir(self) -> str:
        """Where the file registry keeps models when MLflow is not used."""
        return f"{self.data_dir.rstrip('/')}/registry"
