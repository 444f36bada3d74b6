"""How the Azure Pipelines agent reads a task's stdout, for the tests: the reader of `dbcicd.localagent` (the
reference the logging-command writer is tested against; it shares no code with the writer) plus log groups."""

from __future__ import annotations

from localagent import AgentCommand, commands, lines, parse, unescape

__all__ = ["AgentCommand", "commands", "groups", "lines", "parse", "unescape"]


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
