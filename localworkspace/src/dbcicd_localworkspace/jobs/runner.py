"""The run engine: runs go through their life cycle in the background, tasks in subprocesses.

Each run gets a coordinator thread that waits for its turn (`max_concurrent_runs` of its job), makes the
throw-away `git_source` checkout, then starts every task whose dependencies have ended and whose `run_if` holds,
and finally rolls the tasks' endings up into the run's. Task processes run on a pool shared by the whole
workspace, so at most `max_parallel_tasks` notebooks execute at once however many runs are active.

One lock guards every Run and TaskRun record; it is never held while a process runs, a checkout is made or files
are read, so runs/get answers at once whatever the runs are doing. Cancel and timeouts record the ending first
and then kill the process group, so the ending reported is the reason, not the signal.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..runtime.lifeline import kill_tree
from ..storage import git
from .job_spec import git_ref
from .repair import ended
from .run_model import (
    CANCELLED,
    SUCCEEDED,
    Outcome,
    Run,
    TaskRun,
    concurrency_skipped,
    dependency_verdict,
    internal_error,
    run_outcome,
    setup_failed,
    skipped,
    timed_out,
    workload_failed,
)
from .task_process import TaskPlaces, TaskSetupError, collect, launch, locate, record, write_spec

DEFAULT_MAX_PARALLEL_TASKS = 8
SHUTDOWN_GRACE_SECONDS = 5.0
_CHECKOUT = {"git_branch": git.checkout_branch, "git_tag": git.checkout_tag, "git_commit": git.checkout_commit}
# What a task that was still waiting for its dependencies becomes when its run is cancelled or times out.
UPSTREAM_STOPPED = skipped("UPSTREAM_CANCELED", "Upstream task was cancelled")


def now_ms() -> int:
    return int(time.time() * 1000)


class RunEngine:
    """Executes runs; `lock` guards every Run/TaskRun record (the Jobs service reads them under it too)."""

    def __init__(self, places: TaskPlaces, max_parallel_tasks: int = DEFAULT_MAX_PARALLEL_TASKS) -> None:
        self.places = places
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)  # any task or run changed: coordinators re-check
        self._pool = ThreadPoolExecutor(max_parallel_tasks, thread_name_prefix="task-run")
        self._active: dict[int, Run] = {}
        self._coordinators: dict[int, threading.Thread] = {}
        self._admitted_per_job: Counter[int] = Counter()

    # --- the API the Jobs service uses ------------------------------------------------------------------
    def start(self, run: Run) -> None:
        thread = threading.Thread(target=self._coordinate, args=(run,), name=f"run-{run.run_id}", daemon=True)
        with self.lock:
            self._active[run.run_id] = run
            self._coordinators[run.run_id] = thread
        thread.start()

    def cancel(self, run: Run, task: TaskRun | None = None) -> None:
        """Cancel a run, or one task of it (its dependents then end UPSTREAM_CANCELED); no-op once ended."""
        with self.lock:
            if run.done:
                return
            if task is None:
                doomed = self._stop_run(run, CANCELLED)
            else:
                doomed = self._stop_task(task, CANCELLED, if_blocked=CANCELLED)
            self._changed.notify_all()
        _kill(doomed)

    def shutdown(self) -> None:
        """Cancel every active run, kill its processes, and let the coordinators finish (briefly)."""
        with self.lock:
            doomed = [p for run in self._active.values() for p in self._stop_run(run, CANCELLED)]
            threads = list(self._coordinators.values())
            self._changed.notify_all()
        _kill(doomed)
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # --- coordinator ----------------------------------------------------------------------------------------
    def _coordinate(self, run: Run) -> None:
        checkout: Path | None = None
        try:
            if self._admit(run):
                checkout, checkout_failure = self._checkout(run)
                self._drive(run, checkout, checkout_failure)
                with self.lock:
                    run.phase = "TERMINATING"
                    self._changed.notify_all()
        except Exception as err:  # a bug must end the run visibly, never leave it active forever
            traceback.print_exc()
            with self.lock:
                doomed = self._stop_run(run, internal_error(err))
            _kill(doomed)
        finally:
            if checkout is not None:
                remove_tree(checkout)
            if self.places.spark is not None:
                # The run's own Spark servers (serverless, new and job clusters) end, or go back to the warm pool,
                # before the run is seen ended.
                self.places.spark.end_run(run.run_id)
            with self.lock:
                self._end_run(run)

    def _admit(self, run: Run) -> bool:
        """Wait for a slot under the job's max_concurrent_runs; False when the run ended without one."""
        with self.lock:
            limit = run.max_concurrent_runs
            full = limit is not None and self._admitted_per_job[run.job_id] >= limit
            if run.stop is None and full and not run.queue_enabled:
                skip = concurrency_skipped(limit or 0)
                self._stop_run(run, skip, if_blocked=skip)
                return False
            while limit is not None and self._admitted_per_job[run.job_id] >= limit and run.stop is None:
                run.phase = "QUEUED"
                self._changed.wait()
            if run.stop is not None:
                return False
            self._admitted_per_job[run.job_id] += 1
            run.admitted_ms = now_ms()
            run.phase = "PENDING"
            return True

    def _checkout(self, run: Run) -> tuple[Path | None, Outcome | None]:
        """The run's throw-away checkout of its git_source, made only when a task reads from it."""
        source = run.spec.git_source
        if source is None or not any(t.spec.body.get("source") == "GIT" for t in run.tasks):
            return None, None
        dest = run.folder / "checkout"
        ref, value = git_ref(source)
        try:
            git.clone(source["git_url"], dest)
            _CHECKOUT[ref](dest, value)
        except git.GitError as err:
            remove_tree(dest)
            return None, setup_failed(f"Failed to checkout Git repository: {err}", "REPOSITORY_CHECKOUT_FAILED")
        return dest, None

    def _drive(self, run: Run, checkout: Path | None, checkout_failure: Outcome | None) -> None:
        """Start tasks as their dependencies end, until every task has ended (or the run timed out)."""
        timeout = run.spec.timeout_seconds
        # The run's clock starts when it leaves the queue, so the checkout counts against its timeout.
        deadline = time.monotonic() + timeout - (now_ms() - run.admitted_ms) / 1000 if timeout else None
        while True:
            doomed: list[subprocess.Popen[bytes]] = []
            with self.lock:
                if deadline is not None and run.stop is None and time.monotonic() >= deadline:
                    doomed = self._stop_run(run, timed_out(timeout, "Run"))
                while self._advance(run, checkout, checkout_failure):
                    pass
                if all(t.done for t in run.tasks):
                    return
                if not doomed:
                    remaining = None if deadline is None or run.stop else max(0.0, deadline - time.monotonic())
                    self._changed.wait(timeout=remaining)
            _kill(doomed)

    def _advance(self, run: Run, checkout: Path | None, checkout_failure: Outcome | None) -> bool:
        """Settle every blocked task whose dependencies have all ended; True when something changed."""
        changed = False
        for task in run.tasks:
            if task.phase != "BLOCKED" or task.done:
                continue
            upstream = [run.task(key) for key in task.spec.depends_on]
            if not all(u.done for u in upstream):
                continue
            changed = True
            verdict = dependency_verdict(task, [u.outcome for u in upstream if u.outcome])
            if verdict is None and checkout_failure is not None and task.spec.body.get("source") == "GIT":
                task.output.error = checkout_failure.message
                verdict = checkout_failure
            if verdict is not None:
                task.finish(verdict, now_ms())
                continue
            task.phase = "PENDING"
            task.ready_ms = now_ms()
            self._pool.submit(self._execute, run, task, checkout)
        return changed

    def _end_run(self, run: Run) -> None:
        for task in run.tasks:  # only reached with tasks left when the coordinator itself failed
            if not task.done:
                task.finish(run.stop or workload_failed(), now_ms())
        run.outcome = run_outcome(run)
        run.phase = run.outcome.life_cycle_state
        run.end_ms = now_ms()
        ended(run)
        if run.admitted_ms:
            self._admitted_per_job[run.job_id] -= 1
        self._active.pop(run.run_id, None)
        self._coordinators.pop(run.run_id, None)
        self._changed.notify_all()

    # --- stopping ---------------------------------------------------------------------------------------------
    def _stop_run(
        self, run: Run, outcome: Outcome, if_blocked: Outcome = UPSTREAM_STOPPED
    ) -> list[subprocess.Popen[bytes]]:
        """Record the run's ending and end its tasks; returns the processes to kill (outside the lock)."""
        if run.stop is None:
            run.stop = outcome
        return [p for task in run.tasks for p in self._stop_task(task, outcome, if_blocked)]

    def _stop_task(self, task: TaskRun, outcome: Outcome, if_blocked: Outcome) -> list[subprocess.Popen[bytes]]:
        """End a task now (not started) or once its process is killed; a task waiting on others gets `if_blocked`."""
        if task.done:
            return []
        if task.phase == "BLOCKED":
            task.finish(if_blocked if task.spec.depends_on else outcome, now_ms())
        elif task.phase == "PENDING":
            task.finish(outcome, now_ms())  # the pool will find it ended and not start it
        elif task.phase == "RUNNING":  # (TERMINATING: the process has ended by itself, its result stands)
            task.stop = task.stop or outcome
            if task.process is not None:
                return [task.process]
        return []

    # --- one task in one process (pool thread) --------------------------------------------------------------
    def _execute(self, run: Run, task: TaskRun, checkout: Path | None) -> None:
        try:
            self._execute_task(run, task, checkout)
        except Exception as err:
            traceback.print_exc()
            with self.lock:
                if not task.done:
                    task.output.error = internal_error(err).message
                    task.finish(internal_error(err), now_ms())
                self._changed.notify_all()

    def _execute_task(self, run: Run, task: TaskRun, checkout: Path | None) -> None:
        with self.lock:
            if task.done:
                return
            task.phase = "RUNNING"
            task.running_ms = now_ms()
            if run.phase == "PENDING":
                run.phase = "RUNNING"
        try:
            target = locate(self.places, task, checkout)
            spec_path = write_spec(self.places, run.run_id, task, target)
            process = launch(spec_path, target.file.parent, task.folder, self.places.environment)
        except TaskSetupError as err:
            with self.lock:
                if not task.done:
                    task.output.error = err.message
                    task.finish(task.stop or setup_failed(err.message, err.code), now_ms())
                self._changed.notify_all()
            return
        recorded = record(self.places, process, run.run_id, task)
        with self.lock:
            task.process = process
            stop_now = task.stop is not None
        if stop_now:
            kill_tree(process)
        returncode = self._wait(task, process)
        kill_tree(process)  # whatever the notebook left running in its group
        if recorded is not None:
            recorded.unlink(missing_ok=True)
        with self.lock:
            task.phase = "TERMINATING"
            task.exited_ms = now_ms()
        succeeded, output = collect(task, returncode)
        with self.lock:
            if not task.done:  # a failing coordinator may have ended it already
                task.output = output
                task.finish(task.stop or (SUCCEEDED if succeeded else workload_failed()), now_ms())
            self._changed.notify_all()

    def _wait(self, task: TaskRun, process: subprocess.Popen[bytes]) -> int:
        timeout = task.spec.timeout_seconds
        try:
            return process.wait(timeout=timeout or None)
        except subprocess.TimeoutExpired:
            with self.lock:
                task.stop = task.stop or timed_out(timeout, "Task")
            kill_tree(process)
            return process.wait()


def _kill(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        kill_tree(process)


def remove_tree(path: Path) -> None:
    """Delete a folder, read-only files included (git makes its objects read-only on Windows)."""

    def force(func: Any, target: str, _exc: Any) -> None:
        try:
            os.chmod(target, stat.S_IWRITE)
            func(target)
        except OSError:
            pass

    if not path.exists():
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=force)
    else:
        shutil.rmtree(path, onerror=force)
