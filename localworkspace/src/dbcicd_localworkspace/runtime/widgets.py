"""dbutils.widgets: a notebook's parameters, as Databricks serves them to a job run.

A value passed by the run (base_parameters, notebook_params, `%run ./x $name=value`) wins over the default a
widget declares; a parameter nobody declared is still readable, as on Databricks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from .exceptions import InputWidgetNotDefined


class Widgets:
    def __init__(self, parameters: Mapping[str, str]) -> None:
        self._parameters = dict(parameters)
        self._defaults: dict[str, str] = {}

    def get(self, name: str) -> str:
        """The widget's value: the run's parameter, else the declared default."""
        if name in self._parameters:
            return self._parameters[name]
        if name in self._defaults:
            return self._defaults[name]
        raise InputWidgetNotDefined(f"No input widget named {name} is defined")

    def getArgument(self, name: str, defaultValue: str | None = None) -> str | None:
        """Deprecated on Databricks but still common: get(), or `defaultValue` when nothing defines the name."""
        try:
            return self.get(name)
        except InputWidgetNotDefined:
            return defaultValue

    def getAll(self) -> dict[str, str]:
        return {**self._defaults, **self._parameters}

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:
        self._defaults[name] = str(defaultValue)

    def combobox(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:
        """A text widget with suggestions: the default need not be one of them."""
        self._defaults[name] = str(defaultValue)

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:
        self._declare_choice(name, defaultValue, choices)

    def multiselect(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:
        """Its value is the selected choices joined by commas; the default selects one."""
        self._declare_choice(name, defaultValue, choices)

    def remove(self, name: str) -> None:
        if self._defaults.pop(name, None) is None:
            raise InputWidgetNotDefined(f"No input widget named {name} is defined")

    def removeAll(self) -> None:
        self._defaults.clear()

    @contextlib.contextmanager
    def bound(self, arguments: Mapping[str, str]) -> Iterator[None]:
        """`%run ./x $name=value`: the values hold while the other notebook runs."""
        saved = self._parameters
        self._parameters = {**saved, **arguments}
        try:
            yield
        finally:
            self._parameters = saved

    def _declare_choice(self, name: str, default: str, choices: list[str]) -> None:
        if default not in choices:
            raise ValueError(f"dbutils.widgets: the default value {default!r} of widget {name!r} is not one of its "
                             f"choices {list(choices)!r}; pass one of them as defaultValue")  # fmt: skip
        self._defaults[name] = str(default)
