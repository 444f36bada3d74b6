"""How fast the end of a run is noticed, and how many runs/get calls that costs: dbcicd vs. two baselines.

Side by side on the local workspace, for runs of about 5 s and 30 s (and 120 s with --long):
- dbcicd's RunWatcher (what `dbcicd run`/`test` use);
- databricks-sdk's waiter, `jobs.submit(...).result()`;
- the blog's loop: legacy databricks-cli `JobsService.get_run` with a fixed 5 s sleep.
Detection delay = when the client returned minus the run's `end_time`; polls are counted by each client. Each
run sleeps the nominal length plus a random 0-5 s (seeded), so that a fixed polling period cannot lock onto the
runs' phase and flatter one client.

    python bench/wait_latency.py [--samples 6] [--long]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks_cli.sdk.api_client import ApiClient
from databricks_cli.sdk.service import JobsService

from _localserver import local_workspace, percentile, upload_notebook
from dbcicd.output import PlainOutput
from dbcicd.steps.waiting import RunWatcher

NOTEBOOK = """# Databricks notebook source
import time
time.sleep(float(dbutils.widgets.get("seconds")))
"""
TARGET_P50_S = 1.0
JITTER_S = 5.0  # one blog polling period: no client's polling can lock onto the runs' phase
TARGET_RATIO = 0.4


@dataclass
class Samples:
    delays: list[float] = field(default_factory=list)
    calls_per_minute: list[float] = field(default_factory=list)


class _Quiet(PlainOutput):
    def _print(self, text: str) -> None:
        pass


def _submit(client: WorkspaceClient, path: str, seconds: float, label: str) -> jobs.Wait:
    task = jobs.SubmitTask(
        task_key="sleep",
        existing_cluster_id="local",
        notebook_task=jobs.NotebookTask(notebook_path=path, base_parameters={"seconds": str(seconds)}),
    )
    return client.jobs.submit(run_name=f"{label} {seconds}s {time.time_ns()}", tasks=[task])


def via_dbcicd(client: WorkspaceClient, path: str, seconds: float) -> tuple[int, int]:
    run_id = _submit(client, path, seconds, "dbcicd").run_id
    watcher = RunWatcher(client, _Quiet())
    watcher.wait(run_id, timeout_s=seconds * 4 + 60)
    return run_id, watcher.polls


def via_sdk_waiter(client: WorkspaceClient, path: str, seconds: float) -> tuple[int, int]:
    polls = 0

    def count(_: jobs.Run) -> None:
        nonlocal polls
        polls += 1

    waiter = _submit(client, path, seconds, "sdk")
    waiter.result(timeout=timedelta(minutes=30), callback=count)
    return waiter.run_id, polls


def via_blog_loop(legacy: JobsService, path: str, seconds: float) -> tuple[int, int]:
    run_id = legacy.submit_run(
        run_name=f"blog {seconds}s",
        existing_cluster_id="local",
        notebook_task={"notebook_path": path, "base_parameters": {"seconds": str(seconds)}},
    )["run_id"]
    polls = 0
    while True:
        polls += 1
        state = legacy.get_run(run_id)["state"]
        if state["life_cycle_state"] in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"):
            return run_id, polls
        time.sleep(5)


_jitter = random.Random(20261126)
_jitter_lock = threading.Lock()


def jittered(seconds: float) -> float:
    with _jitter_lock:
        return round(seconds + _jitter.uniform(0, JITTER_S), 3)


def measure(client: WorkspaceClient, method: Callable[[], tuple[int, int]], out: Samples, lock: threading.Lock) -> None:
    run_id, polls = method()
    noticed_ms = time.time() * 1000
    run = client.jobs.get_run(run_id)
    assert run.end_time and run.start_time, run
    with lock:
        out.delays.append((noticed_ms - run.end_time) / 1000)
        out.calls_per_minute.append(polls / max((noticed_ms - run.start_time) / 60000, 1e-9))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=6, help="runs per method and length")
    parser.add_argument("--long", action="store_true", help="also 120 s runs")
    args = parser.parse_args(argv)
    lengths = [5.0, 30.0] + ([120.0] if args.long else [])

    with local_workspace() as env:
        client = WorkspaceClient(host=env["DATABRICKS_HOST"], token=env["DATABRICKS_TOKEN"], auth_type="pat")
        legacy_api = ApiClient(host=env["DATABRICKS_HOST"], token=env["DATABRICKS_TOKEN"])
        legacy_api.url = env["DATABRICKS_HOST"] + "/api/"  # databricks-cli drops the port from the host
        legacy = JobsService(legacy_api)
        path = f"/Users/{client.current_user.me().user_name}/bench/sleep"
        upload_notebook(client, path, NOTEBOOK)

        results: dict[tuple[float, str], Samples] = {}
        for seconds in lengths:
            methods: dict[str, Callable[[], tuple[int, int]]] = {
                "dbcicd": lambda s=seconds: via_dbcicd(client, path, jittered(s)),
                "sdk waiter": lambda s=seconds: via_sdk_waiter(client, path, jittered(s)),
                "blog 5 s loop": lambda s=seconds: via_blog_loop(legacy, path, jittered(s)),
            }
            lock = threading.Lock()
            # Two samples of each method at a time: 6 concurrent runs stay within the workspace's task pool.
            with ThreadPoolExecutor(max_workers=6) as pool:
                for _ in range((args.samples + 1) // 2):
                    futures = [
                        pool.submit(measure, client, method, results.setdefault((seconds, name), Samples()), lock)
                        for name, method in methods.items()
                        for _ in range(2)
                    ]
                    for future in futures:
                        future.result()  # a failed measurement fails the benchmark

    print(f"{'run length':>10}  {'client':<14}{'delay p50 s':>12}{'delay p95 s':>12}{'runs/get per min':>18}")
    ok = True
    for seconds in lengths:
        for name in ("dbcicd", "sdk waiter", "blog 5 s loop"):
            s = results[(seconds, name)]
            print(
                f"{seconds:>9.0f}s  {name:<14}{statistics.median(s.delays):>12.2f}"
                f"{percentile(s.delays, 0.95):>12.2f}{statistics.median(s.calls_per_minute):>18.1f}"
            )
        ours = statistics.median(results[(seconds, "dbcicd")].delays)
        better = min(statistics.median(results[(seconds, n)].delays) for n in ("sdk waiter", "blog 5 s loop"))
        ratio = ours / better if better > 0 else float("inf")
        ok &= ours <= TARGET_P50_S and ratio <= TARGET_RATIO
        print(
            f"{'':>11} dbcicd p50 delay = {ratio:.2f} x the better baseline "
            f"(targets: p50 <= {TARGET_P50_S} s, ratio <= {TARGET_RATIO})"
        )
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
