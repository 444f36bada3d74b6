"""The run watcher: notices the end within about a second, polls at most once a second, slows down under load."""

from __future__ import annotations

import base64
import time

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs, workspace

from dbcicd.output import PlainOutput
from dbcicd.steps.waiting import BASE_INTERVAL_S, MAX_INTERVAL_S, Clock, RunWatcher, WaitTimedOut
from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer

SLEEPER = "# Databricks notebook source\nimport time\ntime.sleep(float(dbutils.widgets.get('s')))\n"


class Recorder(PlainOutput):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def _print(self, text: str) -> None:
        self.lines.append(text)


def submit_sleeper(client: WorkspaceClient, seconds: float) -> int:
    path = f"/Users/{client.current_user.me().user_name}/waiting/sleeper"
    client.workspace.mkdirs(path.rsplit("/", 1)[0])
    client.workspace.import_(
        path,
        content=base64.b64encode(SLEEPER.encode()).decode(),
        format=workspace.ImportFormat.SOURCE,
        language=workspace.Language.PYTHON,
        overwrite=True,
    )
    tasks = [
        jobs.SubmitTask(
            task_key=f"sleep_{i}",
            notebook_task=jobs.NotebookTask(notebook_path=path, base_parameters={"s": str(seconds * (i + 1) / 2)}),
        )
        for i in range(2)
    ]
    return int(client.jobs.submit(run_name="watcher", tasks=tasks).run_id)


def test_end_noticed_quickly_with_few_polls(client: WorkspaceClient) -> None:
    """A 2.5 s run: the end is noticed within ~1 s of end_time, with about one poll per second."""
    run_id = submit_sleeper(client, 2.5)
    out = Recorder()
    watcher = RunWatcher(client, out)
    run = watcher.wait(run_id, timeout_s=60)
    noticed = time.time() * 1000
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED
    assert noticed - run.end_time < 1500
    assert watcher.polls <= (run.end_time - run.start_time) / 1000 / BASE_INTERVAL_S + 2
    assert out.lines[0].startswith(f"Run {run_id}: http")  # the run page first
    assert any("sleep_0: SUCCESS" in line for line in out.lines)
    assert any("sleep_1: SUCCESS" in line for line in out.lines)
    assert len(out.lines) <= 5  # only changes are reported


def test_slow_polls_back_off(faults: LocalWorkspaceServer, client: WorkspaceClient) -> None:
    """Polls that take longer than the interval double it, up to the cap. The interval is read at each pause: a
    quick poll halves it again, so the one it ends with depends on how many polls the run lasted."""
    run_id = submit_sleeper(client, 3)
    faults.faults.replace([FaultRule.parse({"route": "GET /api/2.2/jobs/runs/get", "latency_ms": 1200})])
    watcher = RunWatcher(client, Recorder())
    intervals: list[float] = []

    def sleep(seconds: float) -> None:
        intervals.append(watcher.interval)
        time.sleep(seconds)

    watcher.clock = Clock(sleep=sleep)
    watcher.wait(run_id, timeout_s=60)
    assert max(intervals) >= 2 * BASE_INTERVAL_S, intervals
    assert max(intervals) <= MAX_INTERVAL_S


def test_timeout_raises_with_the_run(client: WorkspaceClient) -> None:
    """The client-side deadline ends the wait; the caller gets the still-running run."""
    run_id = submit_sleeper(client, 10)
    started = time.monotonic()
    try:
        RunWatcher(client, Recorder()).wait(run_id, timeout_s=1.5)
    except WaitTimedOut as err:
        assert err.run.run_id == run_id
    else:
        raise AssertionError("expected a timeout")
    assert time.monotonic() - started < 3
    client.jobs.cancel_run(run_id)
