"""The routing table's machinery: `METHOD /path/{param}` patterns matched to handlers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, endpoint_not_found
from .request import Request

Handler = Callable[[Request], Any]

# `{name}` matches one path segment, `{name:regex}` a constrained one, `{name*}` the rest of the path.
_PLACEHOLDER = re.compile(r"\{(\w+)(\*|:[^}]+)?\}")


class NoRoute(ApiError):
    """No route answers this method and path. Answered as Databricks answers an endpoint it lacks (404
    ENDPOINT_NOT_FOUND, or 405 for a known path), and recorded by the server: a client calling an endpoint the local
    workspace does not model must not pass for one that found nothing."""

    def __init__(self, answer: ApiError) -> None:
        super().__init__(answer.status, answer.error_code, answer.message, answer.headers)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler


def _compile(pattern: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        name, modifier = m.group(1), m.group(2)
        if modifier == "*":
            out.append(f"(?P<{name}>/.*|)")
        elif modifier:
            out.append(f"(?P<{name}>{modifier[1:]})")
        else:
            out.append(f"(?P<{name}>[^/]+)")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("".join(out) + "$")


class Router:
    """Ordered routes; the first match wins. No match raises NoRoute."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append(Route(method, pattern, _compile(pattern), handler))

    def guard(self, prefix: str, wrap: Callable[[Handler], Handler]) -> None:
        """Pass every route added so far whose pattern starts with `prefix` through `wrap` (a check that runs before
        the handler, e.g. the DBFS API refusing the DBFS root)."""
        self._routes = [
            Route(r.method, r.pattern, r.regex, wrap(r.handler)) if r.pattern.startswith(prefix) else r
            for r in self._routes
        ]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        path_matched = False
        for route in self._routes:
            m = route.regex.match(path)
            if not m:
                continue
            path_matched = True
            if route.method == method or (
                method == "HEAD" and route.method == "GET" and "HEAD" not in self._methods_for(path)
            ):
                return route, m.groupdict()
        if path_matched:
            raise NoRoute(ApiError(405, "BAD_REQUEST", f"Method {method} is not allowed for {path}"))
        raise NoRoute(endpoint_not_found(method, path))

    def _methods_for(self, path: str) -> set[str]:
        return {r.method for r in self._routes if r.regex.match(path)}

    def __iter__(self):
        return iter(self._routes)
