"""How the Azure Pipelines agent reads a task's stdout: the reference the logging-command writer is tested against.

A line is a command when it holds `##vso[` anywhere: the text up to the next `]` is `area.event` and `;`-separated
`key=value` properties, the rest of the line is the data; values and data are unescaped by replacing `%3B`, `%0D`,
`%0A`, `%5D` and then `%AZP25` (the agent's Command.TryParse and CommandStringConvertor.Unescape, with percent
decoding on, its default). Lines are split at `\\r` and `\\n` only, as .NET's ReadLine does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PREFIX = "##vso["
_UNESCAPES = ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D"))


@dataclass
class AgentCommand:
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    data: str = ""


def unescape(text: str) -> str:
    for token, replacement in _UNESCAPES:
        text = text.replace(replacement, token)
    return text.replace("%AZP25", "%")


def parse(line: str) -> AgentCommand | None:
    start = line.find(PREFIX)
    if start < 0:
        return None
    end = line.find("]", start)
    if end < 0:
        return None
    name, _, properties_text = line[start + len(PREFIX) : end].partition(" ")
    area_event = [part for part in name.split(".") if part]
    if len(area_event) != 2:
        return None
    properties = {}
    for item in (p for p in properties_text.split(";") if p):
        pair = [part for part in item.split("=", 1) if part]
        if len(pair) == 2:
            properties[pair[0].lower()] = unescape(pair[1])
    return AgentCommand(".".join(area_event).lower(), properties, unescape(line[end + 1 :]))


def lines(stdout: str) -> list[str]:
    return [line for line in re.split(r"\r\n|\r|\n", stdout) if line]


def commands(stdout: str, name: str | None = None) -> list[AgentCommand]:
    """Every command the agent would run, in order (only those called `name` when given)."""
    found = [c for c in (parse(line) for line in lines(stdout)) if c is not None]
    return [c for c in found if name is None or c.name == name]


def groups(stdout: str) -> dict[str, list[str]]:
    """`##[group]title` -> the lines up to its `##[endgroup]`."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines(stdout):
        if line.startswith("##[group]"):
            current = out.setdefault(line[len("##[group]") :], [])
        elif line == "##[endgroup]":
            current = None
        elif current is not None:
            current.append(line)
    return out
