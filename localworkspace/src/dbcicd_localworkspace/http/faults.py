"""Fault injection: rules that make matching requests fail, hang or lose their connection.

A rule matches `"METHOD /path"` with `*` wildcards (e.g. `"POST /api/*/jobs/runs/submit"`, `"* /api/2.0/repos*"`).
It fires for the next `times` matching calls (after skipping `offset`), or with `probability` drawn from its own
seeded generator so a failing test can be replayed. What it does: add `latency_ms` (`latency_at` `before` the
handler sees the request, or `during` its work: a clone that takes that much longer, its path already taken), answer
`status` (403 stands for a permission the caller lacks, 429 carries `Retry-After`), or `drop` the connection `before`
the handler runs or `after` it (the state change is kept, the response is lost) — the case that makes idempotency
necessary.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import invalid_parameter
from .request import typed_field

_STATUS_ERRORS = {
    403: ("PERMISSION_DENIED", "You do not have permission for this request (injected fault)."),
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests. Please wait a moment and try again."),
    500: ("INTERNAL_ERROR", "Internal error (injected fault)."),
    502: ("BAD_GATEWAY", "Bad gateway (injected fault)."),
    503: ("TEMPORARILY_UNAVAILABLE", "The service is temporarily unavailable (injected fault)."),
    504: ("DEADLINE_EXCEEDED", "Gateway timeout (injected fault)."),
}
DROP_POINTS = ("before", "after")
LATENCY_POINTS = ("before", "during")


@dataclass
class FaultRule:
    route: str
    status: int | None = None
    retry_after: int | None = None
    drop: str | None = None
    latency_ms: int = 0
    latency_at: str = "before"
    probability: float = 1.0
    times: int | None = None
    offset: int = 0
    seed: int | None = None
    matched: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    @classmethod
    def parse(cls, spec: dict[str, Any]) -> FaultRule:
        """A rule from its JSON form; errors name the offending field."""
        if not isinstance(spec, dict):
            raise invalid_parameter('A fault rule must be a JSON object, e.g. {"route": "GET /api/*", ...}')
        unknown = set(spec) - {f for f in cls.__dataclass_fields__ if not f.startswith("_")} - {"matched", "fired"}
        if unknown:
            raise invalid_parameter(f"Unknown fault rule field(s): {', '.join(sorted(unknown))}")
        route = typed_field(spec, "route", str)
        if " " not in route:
            raise invalid_parameter(f"Fault rule route must be 'METHOD /path', got '{route}'")
        rule = cls(
            route=route,
            status=typed_field(spec, "status", int, None),
            retry_after=typed_field(spec, "retry_after", int, None),
            drop=typed_field(spec, "drop", str, None),
            latency_ms=typed_field(spec, "latency_ms", int, 0),
            latency_at=typed_field(spec, "latency_at", str, "before"),
            probability=_probability(spec),
            times=typed_field(spec, "times", int, None),
            offset=typed_field(spec, "offset", int, 0),
            seed=typed_field(spec, "seed", int, None),
        )
        if rule.status is not None and rule.status not in _STATUS_ERRORS:
            raise invalid_parameter(f"Fault rule status must be one of {sorted(_STATUS_ERRORS)}, got {rule.status}")
        if rule.drop is not None and rule.drop not in DROP_POINTS:
            raise invalid_parameter(f"Fault rule drop must be 'before' or 'after', got '{rule.drop}'")
        if rule.latency_at not in LATENCY_POINTS:
            raise invalid_parameter(f"Fault rule latency_at must be 'before' or 'during', got '{rule.latency_at}'")
        if rule.status is not None and rule.drop is not None:
            raise invalid_parameter("A fault rule either answers a status or drops the connection, not both")
        if rule.status is None and rule.drop is None and rule.latency_ms <= 0:
            raise invalid_parameter("A fault rule needs one of: status, drop, latency_ms")
        if not 0.0 <= rule.probability <= 1.0:
            raise invalid_parameter(f"Fault rule probability must be between 0 and 1, got {rule.probability}")
        if rule.latency_ms < 0 or rule.offset < 0 or (rule.times is not None and rule.times < 0):
            raise invalid_parameter("Fault rule latency_ms, offset and times must not be negative")
        if rule.status == 429 and rule.retry_after is None:
            rule.retry_after = 1
        rule._random = random.Random(rule.seed)
        return rule

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_") and v is not None}

    def error(self) -> tuple[str, str]:
        assert self.status is not None
        return _STATUS_ERRORS[self.status]

    def _matches(self, method: str, path: str) -> bool:
        return fnmatch.fnmatchcase(f"{method} {path}", self.route)

    def _fires(self) -> bool:
        self.matched += 1
        if self.matched <= self.offset or (self.times is not None and self.fired >= self.times):
            return False
        if self.probability < 1.0 and self._random.random() >= self.probability:
            return False
        self.fired += 1
        return True


class FaultInjector:
    """The rule set of one server; thread-safe, as requests arrive on many threads."""

    def __init__(self, rules: list[FaultRule] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = list(rules or [])

    def replace(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)

    def add(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules.extend(rules)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.describe() for r in self._rules]

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The first matching rule that fires for this call; rules after it do not see the call."""
        with self._lock:
            for rule in self._rules:
                if rule._matches(method, path) and rule._fires():
                    return rule
        return None


def _probability(spec: dict[str, Any]) -> float:
    value = spec.get("probability", 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_parameter(f"Invalid value for field probability: expected a number, got {value!r}")
    return float(value)
