"""Waiting for a run: noticed fast, polled gently, reported only when something changes.

Polls `runs/get` once per `interval` (1 s), measured from the start of each poll, so the end of a run is noticed
about half an interval after it happens (median ~0.5 s, worst ~1 s plus one call) at any run length, with at most
one call per second. The first poll comes FIRST_POLL_S after the start: a poll right after submitting only ever
sees a pending run, while a short one may already be over a moment later. A poll that takes longer than the
interval (the SDK waited out a 429's Retry-After, or retried a failure) doubles the interval up to 10 s; quick
polls bring it back down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.jobs import Run, RunLifeCycleState

from ..output import Output, task_state

TERMINAL = frozenset({RunLifeCycleState.TERMINATED, RunLifeCycleState.SKIPPED, RunLifeCycleState.INTERNAL_ERROR})
ACTIVE_TASK = frozenset({RunLifeCycleState.RUNNING, RunLifeCycleState.TERMINATING})
FIRST_POLL_S = 0.3
BASE_INTERVAL_S = 1.0
MAX_INTERVAL_S = 10.0


class WaitTimedOut(Exception):
    """The client-side timeout passed before the run ended (the caller cancels the run)."""

    def __init__(self, run: Run) -> None:
        super().__init__(f"run {run.run_id} still {task_state(run)}")
        self.run = run


@dataclass
class Clock:
    """Time as the watcher sees it; tests replace it."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass
class RunWatcher:
    client: WorkspaceClient
    output: Output
    clock: Clock = field(default_factory=Clock)
    interval: float = BASE_INTERVAL_S
    polls: int = 0

    def wait(self, run_id: int, timeout_s: float | None, check: Callable[[Run], None] | None = None) -> Run:
        """Poll until the run reaches a terminal life cycle state; returns it whatever its result.

        `check` sees the run first, before anything of it is reported (and may raise). Raises WaitTimedOut when
        `timeout_s` passes first.
        """
        deadline = self.clock.monotonic() + timeout_s if timeout_s else None
        previous: dict[str, str] = {}
        announced = False
        self.clock.sleep(FIRST_POLL_S)
        while True:
            started = self.clock.monotonic()
            run = self.client.jobs.get_run(run_id)
            self.polls += 1
            if not announced:
                if check is not None:
                    check(run)
                self.output.run_started(run)
                announced = True
            self._report_changes(run, previous)
            if run.state and run.state.life_cycle_state in TERMINAL:
                return run
            now = self.clock.monotonic()
            if deadline is not None and now >= deadline:
                raise WaitTimedOut(run)
            took = now - started
            self.interval = (
                min(self.interval * 2, MAX_INTERVAL_S)
                if took > self.interval
                else max(BASE_INTERVAL_S, self.interval / 2)
            )
            pause = max(0.0, self.interval - took)
            if deadline is not None:
                pause = min(pause, max(0.0, deadline - now))
            self.clock.sleep(pause)

    def _report_changes(self, run: Run, previous: dict[str, str]) -> None:
        for task in run.tasks or []:
            key = task.task_key or str(task.run_id)
            life = task.state.life_cycle_state if task.state else None
            phase = "done" if life in TERMINAL else "active" if life in ACTIVE_TASK else "waiting"
            before = previous.get(key, "waiting")
            if phase == before:
                continue
            if phase in ("active", "done") and before == "waiting" and life in ACTIVE_TASK:
                self.output.task_started(task)
            if phase == "done":
                self.output.task_finished(task)
            previous[key] = phase
