"""Closing messages that agree with themselves: counts in the right number, and a headline led by what decided it."""

from __future__ import annotations

from databricks.sdk.service import jobs

from dbcicd.output import counted, duration_words
from dbcicd.steps.commands import _verdict


def run_of(*keys: str) -> jobs.Run:
    done = {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}
    tasks = [{"task_key": key, "run_id": number, "state": done} for number, key in enumerate(keys, 2)]
    return jobs.Run.from_dict({"run_id": 1, "state": done, "tasks": tasks})


def test_counts_agree_with_their_nouns() -> None:
    assert [counted(n, "task") for n in (0, 1, 2)] == ["0 tasks", "1 task", "2 tasks"]


def test_a_timeout_of_one_minute_is_not_one_minutes() -> None:
    words = [duration_words(s) for s in (1, 3, 60, 90, 120)]
    assert words == ["1 second", "3 seconds", "1 minute", "1.5 minutes", "2 minutes"]


def test_a_run_of_one_task_is_not_one_tasks() -> None:
    assert _verdict(run_of("only"), {}) == (True, "Run 1 succeeded (1 task)")
    assert _verdict(run_of("a", "b"), {}) == (True, "Run 1 succeeded (2 tasks)")
