"""The request document: task inputs, service connections and pipeline variables, validated in one place.

`{"inputs": {<task input name>: <string>}, "endpoints": {<input name>: {"url", "scheme", "parameters"}},
"variables": {<pipeline variable name>: <value>}, "network": {"proxyUrl", "proxyUsername", "proxyPassword",
"proxyBypass": [<regex>], "caInfo"}, "secrets": [<value>]}` — what the Node entry point writes to stdin, and what
the CLI builds from its flags. Input names are task.json's; values are strings, as the agent hands them over.
`network` holds the agent's proxy and CA certificate (dbcicd.connect.network); the CLI leaves it empty. `secrets`
holds the values of the job's secret variables (a pipeline's `$(Storage.Key)` may reach a notebook as a parameter
and come back in its output): each is registered as a secret the moment the document is read, so it is masked in
everything the step prints or writes. A document without `secrets` (an older Node entry, the CLI) is valid.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigurationError
from ..secrets import register_secret
from .names import INPUT_FLAGS

COMMANDS = ("repo", "run", "test", "cleanup", "deploy", "destroy")


@dataclass(frozen=True)
class TaskRequest:
    inputs: Mapping[str, str]
    endpoints: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)
    network: Mapping[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

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
        for name in ("inputs", "endpoints", "variables", "network"):
            value = doc.get(name) or {}
            if not isinstance(value, dict):
                raise ConfigurationError(f"The request document's '{name}' must be an object")
            parts[name] = value
        secrets = doc.get("secrets") or []
        if not isinstance(secrets, list) or not all(isinstance(value, str) for value in secrets):
            raise ConfigurationError("The request document's 'secrets' must be a list of strings")
        for value in secrets:
            register_secret(value)
        inputs = {str(k): "" if v is None else str(v) for k, v in parts["inputs"].items()}
        variables = {str(k): "" if v is None else str(v) for k, v in parts["variables"].items()}
        return cls(inputs, parts["endpoints"], variables, parts["network"], tuple(secrets))

    def text(self, name: str, default: str = "") -> str:
        """The input's value, stripped; `default` when empty. Only inputs declared in options/names.py are read."""
        if name not in INPUT_FLAGS:
            raise KeyError(f"input {name!r} is read but not declared in dbcicd.options.names.INPUT_FLAGS")
        return (self.inputs.get(name) or "").strip() or default

    def lines(self, name: str) -> list[str]:
        return [line.strip() for line in self.text(name).splitlines() if line.strip()]
