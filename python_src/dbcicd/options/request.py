"""The request document: task inputs, service connections and pipeline variables, validated in one place.

`{"inputs": {<task input name>: <string>}, "endpoints": {<input name>: {"url", "scheme", "parameters"}},
"variables": {<pipeline variable name>: <value>}}` — what the Node entry point writes to stdin, and what the CLI
builds from its flags. Input names are task.json's; values are strings, as the agent hands them over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError

COMMANDS = ("repo", "run", "test", "cleanup")


@dataclass(frozen=True)
class TaskRequest:
    inputs: Mapping[str, str]
    endpoints: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> TaskRequest:
        """Parse the stdin document; any structural problem is a ConfigurationError naming the part."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigurationError(f"The request document is not valid JSON: {err.msg}") from None
        if not isinstance(doc, dict):
            raise ConfigurationError("The request document must be a JSON object with 'inputs'")
        parts: dict[str, dict[str, Any]] = {}
        for name in ("inputs", "endpoints", "variables"):
            value = doc.get(name) or {}
            if not isinstance(value, dict):
                raise ConfigurationError(f"The request document's '{name}' must be an object")
            parts[name] = value
        inputs = {str(k): "" if v is None else str(v) for k, v in parts["inputs"].items()}
        variables = {str(k): "" if v is None else str(v) for k, v in parts["variables"].items()}
        return cls(inputs, parts["endpoints"], variables)

    def text(self, name: str, default: str = "") -> str:
        return (self.inputs.get(name) or "").strip() or default

    def required(self, name: str, hint: str = "") -> str:
        value = self.text(name)
        if not value:
            raise ConfigurationError(f"Input '{name}' is required{': ' + hint if hint else ''}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name).lower()
        if not value:
            return default
        if value in ("true", "yes", "1", "on"):
            return True
        if value in ("false", "no", "0", "off"):
            return False
        raise ConfigurationError(f"Input '{name}' must be true or false, got '{self.text(name)}'")

    def number(self, name: str, default: float, minimum: float | None = None) -> float:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigurationError(f"Input '{name}' must be a number, got '{raw}'") from None
        if minimum is not None and value < minimum:
            raise ConfigurationError(f"Input '{name}' must be at least {minimum:g}, got '{raw}'")
        return value

    def lines(self, name: str) -> list[str]:
        return [line.strip() for line in self.text(name).splitlines() if line.strip()]

    @property
    def command(self) -> str:
        command = self.required("command", f"one of {', '.join(COMMANDS)}")
        if command not in COMMANDS:
            raise ConfigurationError(f"Input 'command' is '{command}'; it must be one of {', '.join(COMMANDS)}")
        return command
