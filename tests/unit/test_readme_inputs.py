"""The README's pipeline examples name each input of the task one way: by the key the task reference and the YAML
schema use (an input's first alias, else its name — scripts/task-reference.mjs), so a reader copying two examples
does not end up with `connection:` in one step and `databricksConnection:` in the next."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def yaml_keys() -> dict[str, str]:
    """Every name an input answers to -> the key the reference documents it by."""
    task = json.loads(ROOT.joinpath("task.json").read_text(encoding="utf-8"))
    keys: dict[str, str] = {}
    for item in task["inputs"]:
        documented = (item.get("aliases") or [item["name"]])[0]
        for name in (item["name"], *(item.get("aliases") or [])):
            keys[name] = documented
    return keys


def task_steps(node: object) -> Iterator[dict[str, object]]:
    """Every `- task: Databricks@1` step anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        if str(node.get("task", "")).startswith("Databricks@"):
            yield node
        for value in node.values():
            yield from task_steps(value)
    elif isinstance(node, list):
        for value in node:
            yield from task_steps(value)


def test_readme_examples_use_the_documented_input_keys() -> None:
    readme = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    keys = yaml_keys()
    used: list[str] = []
    for block in re.findall(r"^( *)```yaml\n(.*?)^\1```", readme, re.MULTILINE | re.DOTALL):
        for step in task_steps(yaml.safe_load(textwrap.dedent(block[1]))):
            used.extend(str(name) for name in dict(step.get("inputs") or {}))  # type: ignore[call-overload]
    assert used, "README.md: no Databricks@1 step found in its yaml blocks"
    assert [name for name in used if keys.get(name) != name] == []
