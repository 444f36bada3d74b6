"""Running the packaged task for the reliability suites: builds of a Git remote, agents on any local workspace, and
many task runs at once (each is a Node process with a Python child, so threads overlap them well on two cores)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from dbcicd_localworkspace import LocalWorkspaceServer
from task_harness import Agent, PackagedTask

HEADER = "# Databricks notebook source\n"
PARALLEL_RUNS = 2

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
