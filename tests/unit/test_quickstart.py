"""The README's Quickstart is what it promises: two commands in one sh block under its heading — after one paragraph
of what they need (a virtual environment is advice to follow before running them) — the first running the demo
that tests/examples/test_demo.py runs, the second the suite `.ci/run` runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quickstart_commands() -> list[str]:
    readme = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Quickstart\n\n(?:(?!```|#)[^\n]+\n)+\n```sh\n(.*?)```", readme, re.MULTILINE | re.DOTALL)
    assert match, "README.md: a ```sh block must follow the '## Quickstart' heading and one paragraph of needs"
    return match.group(1).splitlines()


def test_two_commands_the_first_runs_the_demo() -> None:
    """Exactly two lines; the first installs the local workspace (a distribution of its own, which the demo extra
    requires) and the demo extra, and runs examples/lending-club/demo.py (which builds the task when needed)."""
    first, second = quickstart_commands()
    assert "-e ./localworkspace " in first
    assert '".[demo]"' in first
    assert first.endswith("python3 examples/lending-club/demo.py")
    assert second


def test_ci_runs_the_second_command() -> None:
    """.ci/run runs the second line as it is."""
    ci_lines = ROOT.joinpath(".ci", "run").read_text(encoding="utf-8").splitlines()
    assert quickstart_commands()[1] in ci_lines
