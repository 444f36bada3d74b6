"""The `parameters` input: the notebooks' widget values, as `key=value` lines or one JSON object."""

from __future__ import annotations

import json

from ..errors import ConfigurationError


def parse_parameters(text: str, what: str = "parameters") -> dict[str, str]:
    """`key=value` lines, or one JSON object; values become strings as Databricks widgets hold them."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigurationError(
                f"{what} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}. Give one JSON object, "
                'e.g. {"env": "staging"}, or key=value lines.'
            ) from None
        if not isinstance(loaded, dict):
            raise ConfigurationError(f"{what} must be a JSON object or key=value lines")
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in loaded.items()}
    params: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"{what} line {number} '{line.strip()}' is not key=value (or give a JSON object)")
        params[key.strip()] = value.strip()
    return params
