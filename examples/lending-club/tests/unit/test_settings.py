"""The notebooks' settings: widgets with defaults, typed values, errors naming the widget."""

from __future__ import annotations

import pytest

from lending_club.settings import Settings


class FakeWidgets:
    """dbutils.widgets as a notebook sees it: declared defaults, overridden by the values a job passes."""

    def __init__(self, given: dict[str, str]) -> None:
        self.given = given
        self.declared: dict[str, str] = {}

    def text(self, name: str, default: str) -> None:
        self.declared[name] = default

    def get(self, name: str) -> str:
        return self.given.get(name, self.declared[name])


class FakeDbutils:
    def __init__(self, given: dict[str, str]) -> None:
        self.widgets = FakeWidgets(given)


def test_widgets_are_declared_with_defaults_and_read_typed() -> None:
    """Every setting is a widget showing its default; given values are converted to the setting's type."""
    dbutils = FakeDbutils({"rows": "2000", "model": "ridge", "min_improvement": "0.02"})
    settings = Settings.from_widgets(dbutils)
    assert dbutils.widgets.declared["data_dir"] == "/dbfs/lending-club"
    assert (settings.rows, settings.model, settings.min_improvement, settings.batch) == (2000, "ridge", 0.02, 1)


def test_arguments_round_trip() -> None:
    """What a notebook passes on is what the next one reads back."""
    settings = Settings.parse({"batch": "3", "registry": "files"})
    assert Settings.parse(settings.as_arguments()) == settings
    assert settings.registry_dir == "/dbfs/lending-club/registry"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rows": "many"}, "widget rows must be int, got 'many'"),
        ({"rows": "10"}, "widget rows must be at least 100"),
        ({"batch": "0"}, "widget batch must be 1 or more"),
        ({"data_dir": " "}, "must not be empty"),
        ({"table_version": "latest"}, "widget table_version must be a version number or empty, got 'latest'"),
        ({"colour": "red"}, "unknown settings ['colour']"),
    ],
)
def test_bad_values_name_the_widget(values: dict[str, str], message: str) -> None:
    """A bad value fails before any work, naming the widget and what it must be."""
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Settings.parse(values)
