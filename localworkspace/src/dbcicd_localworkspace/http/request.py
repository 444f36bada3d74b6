"""What a handler sees of an HTTP request (validating accessors whose errors name the field) and may return."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs

from .errors import bad_request, invalid_parameter

T = TypeVar("T")

_MISSING: Any = object()
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "an array"}


@dataclass
class Request:
    """One request: method, path (without query), route parameters, query, headers and raw body."""

    method: str
    path: str
    query_string: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    work_delay: float = 0.0  # seconds a fault rule adds to the handler's own work (see `take_work_delay`)
    _json: Any = field(default=_MISSING, repr=False)

    def take_work_delay(self) -> float:
        """The delay a `latency_at: during` fault rule gave this request, once: a handler doing long work (a clone)
        spends it inside that work; whatever is left the server spends after the handler, before answering."""
        delay, self.work_delay = self.work_delay, 0.0
        return delay

    @property
    def api_version(self) -> str:
        """`2.0`, `2.1` or `2.2` for `/api/2.x/...` paths; shapes differ between Jobs API versions."""
        parts = self.path.split("/")
        return parts[2] if len(parts) > 2 and parts[1] == "api" else ""

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; an empty body is `{}` (as Databricks treats it)."""
        if self._json is _MISSING:
            if not self.body.strip():
                self._json = {}
            else:
                try:
                    self._json = json.loads(self.body)
                except (UnicodeDecodeError, json.JSONDecodeError) as err:
                    raise bad_request(f"Malformed request: the body is not valid JSON ({err})") from None
            if not isinstance(self._json, dict):
                raise bad_request("Malformed request: the body must be a JSON object")
        return self._json

    def field(self, name: str, kind: type[T], default: Any = _MISSING) -> T:
        """A JSON body field of the given type; missing without a default or wrongly typed -> 400 naming it."""
        return _typed(self.json(), name, kind, default)

    def arg(self, name: str, kind: type[T] = str, default: Any = _MISSING) -> T:  # type: ignore[assignment]
        """A query-string parameter (or, for GETs sent by old clients with a JSON body, a body field)."""
        values = self.query.get(name)
        if not values:
            body = self.json() if self.method == "GET" and self.body.strip() else {}
            return _typed(body, name, kind, default)
        raw = values[-1]
        if kind is str:
            return raw  # type: ignore[return-value]
        if kind is int:
            try:
                return int(raw)  # type: ignore[return-value]
            except ValueError:
                raise invalid_parameter(f"Parameter '{name}' must be an integer, got '{raw}'") from None
        if kind is bool:
            if raw.lower() in ("true", "1"):
                return True  # type: ignore[return-value]
            if raw.lower() in ("false", "0", ""):
                return False  # type: ignore[return-value]
            raise invalid_parameter(f"Parameter '{name}' must be true or false, got '{raw}'")
        raise TypeError(kind)


def typed_field(obj: Mapping[str, Any], name: str, kind: type[T], default: Any = _MISSING, where: str = "") -> T:
    """Like `Request.field` for a nested object; `where` prefixes the field name in errors (e.g. 'tasks[0].')."""
    return _typed(obj, name, kind, default, where)


def _typed(obj: Mapping[str, Any], name: str, kind: type, default: Any, where: str = "") -> Any:
    value = obj.get(name)
    if value is None:
        if default is _MISSING:
            raise invalid_parameter(f"Missing required field: {where}{name}")
        return default
    if kind is int and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)  # Databricks accepts int64 ids sent as strings.
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise invalid_parameter(
            f"Invalid value for field {where}{name}: expected {_TYPE_NAMES.get(kind, kind.__name__)}, "
            f"got {json.dumps(value)[:80]}"
        )
    return value


@dataclass
class Response:
    """A non-JSON answer (raw bytes, custom status or headers). Handlers may also return a dict: JSON 200."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)
