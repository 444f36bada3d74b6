"""Requirement lines, and whether this interpreter certainly satisfies them already.

%pip install must not reach for the network when everything it asks for is installed (offline machines, CI), yet
it must never skip an install that was needed. So `installed_match` answers only when it can tell for sure: a name
with release-number specifiers (==, !=, <, <=, >, >=, ~=, ===, and ==/!= with `.*`) against an installed release.
Extras, markers, URLs, options, pre-, post- and local versions are left for pip to decide.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable

_LINE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\((.*)\)|(.*))$")
_CLAUSE = re.compile(r"^(~=|===|==|!=|<=|>=|<|>)\s*(\S+)$")
_RELEASE = re.compile(r"^\d+(?:\.\d+)*$")
_WILDCARD = re.compile(r"^(\d+(?:\.\d+)*)\.\*$")

Release = tuple[int, ...]
# What each operator asks of _compare(installed, wanted).
_ORDERED: dict[str, Callable[[int], bool]] = {
    "==": lambda c: c == 0,
    "!=": lambda c: c != 0,
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them: scikit_learn, Scikit.Learn and scikit-learn are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> dict[str, str]:
    """Normalized name -> version of every distribution importable here (the first on sys.path wins)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize(name), dist.version)
    return found


def installed_match(line: str, versions: dict[str, str]) -> str | None:
    """The installed version when it certainly satisfies requirement `line`; None when pip must decide."""
    match = _LINE.match(line.strip())
    if match is None:
        return None
    name, specifiers = match.group(1), (match.group(2) or match.group(3) or "").strip()
    version = versions.get(normalize(name))
    if version is None or not _RELEASE.match(version):
        return None
    clauses = [c.strip() for c in specifiers.split(",")] if specifiers else []
    checks = [_check(clause) for clause in clauses]
    if any(check is None for check in checks):
        return None
    release = _release(version)
    return version if all(check(release, version) for check in checks if check is not None) else None


def _check(clause: str) -> Callable[[Release, str], bool] | None:
    """A test of an installed release for one clause such as `>=1.3`; None for what this does not understand."""
    match = _CLAUSE.match(clause)
    if match is None:
        return None
    operator, text = match.groups()
    if operator == "===":
        return lambda _release, version: version == text
    wildcard = _WILDCARD.match(text)
    if wildcard and operator in ("==", "!="):
        prefix = _release(wildcard.group(1))
        expected = operator == "=="
        return lambda r, _v: _starts_with(r, prefix) == expected
    if not _RELEASE.match(text):
        return None
    wanted = _release(text)
    if operator == "~=":
        # ~=1.4.2 means >=1.4.2 and ==1.4.*
        return None if len(wanted) < 2 else lambda r, _v: _compare(r, wanted) >= 0 and _starts_with(r, wanted[:-1])
    test = _ORDERED[operator]
    return lambda r, _v: test(_compare(r, wanted))


def _release(text: str) -> Release:
    return tuple(int(part) for part in text.split("."))


def _padded(release: Release, length: int) -> Release:
    return release + (0,) * (length - len(release))


def _starts_with(release: Release, prefix: Release) -> bool:
    return _padded(release, len(prefix))[: len(prefix)] == prefix


def _compare(left: Release, right: Release) -> int:
    """-1, 0 or 1, comparing releases as PEP 440 does (1.0 == 1.0.0)."""
    length = max(len(left), len(right))
    a, b = _padded(left, length), _padded(right, length)
    return (a > b) - (a < b)
