"""Benchmark of the local workspace on loopback, through the real databricks-sdk client.

Prints per-call latency (p50/p95) of the calls a CI step makes, submit-to-TERMINATED time of a trivial notebook,
and the wall time of one 100-task run, each against its target:

    python bench/localworkspace.py [--calls 300] [--runs 20] [--tasks 100]

The server runs in its own process (`dbcicd local serve`), as users run it, so client and server do not share
an interpreter.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from _localserver import local_workspace, percentile, upload_notebook

NOTEBOOK = "# Databricks notebook source\nx = 1 + 1\n"
TARGET_RUNS_GET_P50_MS = 5.0
TARGET_SUBMIT_TO_END_P50_S = 0.5


def time_calls(call: Callable[[], object], n: int) -> list[float]:
    call()  # warm the connection
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def wait_terminated(client: WorkspaceClient, run_id: int, poll_s: float = 0.005) -> jobs.Run:
    while True:
        run = client.jobs.get_run(run_id)
        if run.state and run.state.life_cycle_state in (
            jobs.RunLifeCycleState.TERMINATED,
            jobs.RunLifeCycleState.SKIPPED,
            jobs.RunLifeCycleState.INTERNAL_ERROR,
        ):
            return run
        time.sleep(poll_s)


def notebook_task(key: str, path: str) -> jobs.SubmitTask:
    return jobs.SubmitTask(
        task_key=key, existing_cluster_id="local", notebook_task=jobs.NotebookTask(notebook_path=path)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per endpoint for latency")
    parser.add_argument("--runs", type=int, default=20, help="trivial runs for submit-to-TERMINATED")
    parser.add_argument("--tasks", type=int, default=100, help="tasks in the wide run")
    args = parser.parse_args(argv)

    with local_workspace() as env:
        client = WorkspaceClient(host=env["DATABRICKS_HOST"], token=env["DATABRICKS_TOKEN"], auth_type="pat")
        path = f"/Users/{client.current_user.me().user_name}/bench/trivial"
        upload_notebook(client, path, NOTEBOOK)
        first = client.jobs.submit(run_name="warm-up", tasks=[notebook_task("t", path)]).run_id
        wait_terminated(client, first)

        latency = {
            "jobs/runs/get": time_calls(lambda: client.jobs.get_run(first), args.calls),
            "workspace/get-status": time_calls(lambda: client.workspace.get_status(path), args.calls),
            "clusters/get": time_calls(lambda: client.clusters.get("local"), args.calls),
            "scim/Me": time_calls(lambda: client.current_user.me(), args.calls),
        }

        to_end = []
        for i in range(args.runs):
            start = time.perf_counter()
            run_id = client.jobs.submit(run_name=f"trivial-{i}", tasks=[notebook_task("t", path)]).run_id
            run = wait_terminated(client, run_id)
            to_end.append(time.perf_counter() - start)
            assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state

        start = time.perf_counter()
        wide = client.jobs.submit(
            run_name="wide", tasks=[notebook_task(f"t{i:03d}", path) for i in range(args.tasks)]
        ).run_id
        wide_run = wait_terminated(client, wide, poll_s=0.05)
        wide_s = time.perf_counter() - start
        assert wide_run.state.result_state == jobs.RunResultState.SUCCESS, wide_run.state

    print(f"{'call':<24}{'p50 ms':>9}{'p95 ms':>9}")
    for name, samples in latency.items():
        print(f"{name:<24}{statistics.median(samples):>9.2f}{percentile(samples, 0.95):>9.2f}")
    runs_get_p50 = statistics.median(latency["jobs/runs/get"])
    end_p50 = statistics.median(to_end)
    print()
    print(
        f"runs/get p50: {runs_get_p50:.2f} ms (target <= {TARGET_RUNS_GET_P50_MS} ms, "
        f"ratio {runs_get_p50 / TARGET_RUNS_GET_P50_MS:.2f})"
    )
    print(
        f"submit-to-TERMINATED of a trivial notebook: p50 {end_p50:.3f} s, p95 {percentile(to_end, 0.95):.3f} s "
        f"(target p50 <= {TARGET_SUBMIT_TO_END_P50_S} s, ratio {end_p50 / TARGET_SUBMIT_TO_END_P50_S:.2f})"
    )
    print(f"{args.tasks}-task run: {wide_s:.2f} s wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
