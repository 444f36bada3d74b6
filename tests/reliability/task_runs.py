"""Running the packaged task for the reliability suites: builds of a Git remote, agents on any local workspace, and
many task runs at once (each is a Node process with a Python child, so threads overlap them well on two cores)."""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Generic, TypeVar

import pytest

from dbcicd_localworkspace import LocalWorkspaceServer
from task_harness import Agent, PackagedTask

HEADER = "# Databricks notebook source\n"
PARALLEL_RUNS = 2
# How long a test waits for its own step. Measured: tests/reliability/test_faults.py's 74 steps, three at a time, took
# 790 s and 870 s on a 2-core machine whose load average stood near 20 (other suites beside it), about 35 s a step;
# the longest a test waited for its step was 45 s. Over six times that, for a machine busier still; the tests that
# wait set their own pytest timeout above it (STEP_TEST_TIMEOUT_S), so that a step that hangs fails its own test, by
# name, rather than by the timeout's thread dump.
STEP_WAIT_S = 300
STEP_TEST_TIMEOUT_S = STEP_WAIT_S + 60

Job = TypeVar("Job")
Result = TypeVar("Result")


def unique(name: str) -> str:
    """`name` with a suffix no other test run of this machine uses at the same time."""
    return f"{name}-{time.time_ns() % 10**12}"


def build_variables(repository_url: str, sha: str) -> dict[str, str]:
    """The variables of a CI build of `main` at `sha`."""
    return {"Build.Repository.Uri": repository_url, "Build.SourceBranch": "refs/heads/main", "Build.SourceVersion": sha}


class Agents:
    """Makes agents (one per task run, each with its own work folder) for any local workspace."""

    def __init__(self, task: PackagedTask, node: str, tools: Path, work: Path) -> None:
        self.task, self.node, self.tools, self.work = task, node, tools, work

    def new(self, workspace: LocalWorkspaceServer, name: str) -> Agent:
        return Agent(self.task, self.node, workspace, self.tools, self.work / unique(name))


def run_all(jobs: Iterable[Job], run: Callable[[Job], Result], workers: int = PARALLEL_RUNS) -> list[Result]:
    """`run` on every job, `workers` at a time; results in the jobs' order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, jobs))


class StepsInBackground(Generic[Job, Result]):
    """Task runs for the tests of one module, `workers` at a time, each test waiting for its own under its own timeout.

    A module fixture that ran every step before yielding put all of them under the first test's timeout (74 fault
    steps under 180 s: on a loaded machine, 74 errors). This one only starts them, in the order of the tests; by the
    time a test asks for its step, the steps of the tests before it are done, so it waits for one step at most."""

    def __init__(self, jobs: Mapping[str, Job], run: Callable[[Job], Result], workers: int = PARALLEL_RUNS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self.seconds: dict[str, float] = {}  # how long each finished step took, for the timeouts above
        self._futures: dict[str, Future[Result]] = {
            key: self._pool.submit(self._timed, key, run, job) for key, job in jobs.items()
        }

    def _timed(self, key: str, run: Callable[[Job], Result], job: Job) -> Result:
        started = time.monotonic()
        try:
            return run(job)
        finally:
            self.seconds[key] = time.monotonic() - started

    def result(self, key: str, wait_s: float = STEP_WAIT_S) -> Result:
        """The result of the step `key`; fails the calling test if it does not come within `wait_s`."""
        try:
            return self._futures[key].result(timeout=wait_s)
        except concurrent.futures.TimeoutError:
            raise AssertionError(f"the step {key} did not finish within {wait_s} s") from None

    def results(self, wait_s: float) -> dict[str, Result]:
        """Every step's result, in the order they were given, waiting at most `wait_s` for them all."""
        deadline = time.monotonic() + wait_s
        return {key: self.result(key, max(0.0, deadline - time.monotonic())) for key in self._futures}

    def save_seconds(self, path: Path) -> None:
        """How long each step took, slowest first, for the next look at STEP_WAIT_S."""
        path.parent.mkdir(parents=True, exist_ok=True)
        slowest = sorted(self.seconds.items(), key=lambda item: -item[1])
        path.write_text(json.dumps({key: round(seconds, 1) for key, seconds in slowest}, indent=1) + "\n")

    def close(self) -> None:
        """Steps not started are dropped (their tests failed first); running ones are waited for."""
        for future in self._futures.values():
            future.cancel()
        self._pool.shutdown(wait=True)


def selected(request: pytest.FixtureRequest, ids: Iterable[str]) -> list[str]:
    """Of `ids`, the parametrized ids of this module's tests that the session will run; all of them when a test of
    the module that is not parametrized uses the requesting fixture (it reads every result)."""
    ids = list(ids)
    mine = [item for item in request.session.items if getattr(item, "module", None) is request.module]
    if any(not hasattr(item, "callspec") and request.fixturename in getattr(item, "fixturenames", ()) for item in mine):
        return ids
    wanted = {item.callspec.id for item in mine if hasattr(item, "callspec")}  # type: ignore[attr-defined]
    return [case for case in ids if case in wanted]
