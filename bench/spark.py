"""How soon a serverless run gets its first Spark result with the warm pool, cold and warm, against a Spark server
per run; and the wall time of a run of Spark tasks on the shared `local` cluster against a server per task.

Against local workspaces in their own process (bench/_localserver.py), each on a fresh root:

1. First Spark result of a serverless run (the default compute). Each task's notebook notes `time.time()` at its
   first line and again after `spark.range(1).count()`, and hands both back through `dbutils.notebook.exit`. The
   task's process starts at the task's `start_time` plus its `setup_duration` (runs/get), so a task's figures are:
   process start to first line (the kernel), first line to first Spark result (Spark), and process start to first
   result; with the run's wall time seen by the client (runs/submit until runs/get says it ended, polled every
   0.25 s). All workspaces share a cache folder of their own (XDG_CACHE_HOME, spark/cache.py), empty at first. On a
   first workspace with the warm pool (spark/pool.py), one run starts a pool server with nothing cached (first
   start: Delta's class path resolved, the JVM's class archive written when the workspace stops). On a second, the
   first run starts a pool server, with Delta Lake when its jars are in reach, from the cache (cold), and --warm
   later runs, one at a time, attach to it (warm). The baseline is the same --warm runs on a workspace without the
   pool (DBCICD_LOCAL_WARM_SPARK=0): a server per run (from the cache too), started by the run and stopped when it
   ends.
2. A run of --tasks tasks, each a small Spark job (range, groupBy, count; a parquet write to dbfs:/tmp/<run>-<task>
   and a read back), on the shared `local` cluster (its server already up, as in steady use), against the same run
   with a `new_cluster` on every task on the workspace without the pool: one Spark server, one JVM, per task,
   started by the task and stopped when the run ends (the baseline). The local workspace runs at most 8 tasks at
   once. --tasks 0 leaves this part out.

Once each workspace has stopped, no Spark server of it may be left running (`ps`); the benchmark exits 1 when one
is. Without pyspark or Java it exits 2 and says what to install.

    python bench/spark.py [--tasks 20] [--warm 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import compute, jobs

from _localserver import local_workspace, upload_notebook
from dbcicd_localworkspace.runtime.spark.pool import SIZE_VARIABLE
from dbcicd_localworkspace.runtime.spark.servers import INSTALL_HINT, SERVER_CLASS

# `path` empty: the first result only; otherwise the small Spark job too, writing its parquet there.
NOTEBOOK = """# Databricks notebook source
import json, time

first_line = time.time()
spark.range(1).count()
first_result = time.time()
path = dbutils.widgets.get("path")
if path:
    df = spark.range(100_000).selectExpr("id % 10 AS k", "id")
    groups = df.groupBy("k").count().collect()
    df.write.mode("overwrite").parquet(path)
    rows = spark.read.parquet(path).count()
    assert len(groups) == 10 and rows == 100_000, (groups, rows)
delta = "Delta" in spark.conf.get("spark.sql.extensions", "")
dbutils.notebook.exit(json.dumps({"first_line": first_line, "first_result": first_result, "delta": delta}))
"""
# A single-node cluster as Databricks specifies one: no workers, the singleNode profile, Spark in local mode and
# the SingleNode resource class (the databricks_cluster resource of the Databricks Terraform provider,
# registry.terraform.io/providers/databricks/databricks/latest/docs/resources/cluster, "Single Node" clusters).
NEW_CLUSTER = compute.ClusterSpec(
    spark_version="15.4.x-scala2.12",
    node_type_id="Standard_DS3_v2",
    num_workers=0,
    spark_conf={"spark.databricks.cluster.profile": "singleNode", "spark.master": "local[*]"},
    custom_tags={"ResourceClass": "SingleNode"},
)
POLL_S = 0.25
RUN_TIMEOUT_S = 900.0
CACHE_VARIABLE = "XDG_CACHE_HOME"


@dataclass(frozen=True)
class TaskTimes:
    """Seconds from the task's process start to its notebook's first line, and from there to the first result;
    whether its Spark server has Delta Lake (without, the first start on a workspace root first tried Delta's jars
    and failed to have them, which the cold figure then includes)."""

    kernel: float
    spark: float
    delta: bool

    @property
    def first_result(self) -> float:
        return self.kernel + self.spark


@dataclass(frozen=True)
class RunTimes:
    wall: float
    tasks: list[TaskTimes]


def missing_requirement() -> str | None:
    """What the local workspace's Spark servers need and this machine lacks (it runs them with this Python)."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed"
    java_home = os.environ.get("JAVA_HOME")
    if not (Path(java_home, "bin", "java").exists() if java_home else shutil.which("java")):
        return "Java was not found (JAVA_HOME, PATH)"
    return None


def run(client: WorkspaceClient, name: str, tasks: list[jobs.SubmitTask]) -> RunTimes:
    """Submit one run and wait for it; its wall time seen from here and each task's times, or SystemExit naming the
    task that failed."""
    started = time.perf_counter()
    run_id = client.jobs.submit(run_name=name, tasks=tasks).run_id
    deadline = started + RUN_TIMEOUT_S
    while True:
        done = client.jobs.get_run(run_id)
        assert done.state is not None
        if done.state.life_cycle_state in (jobs.RunLifeCycleState.TERMINATED, jobs.RunLifeCycleState.INTERNAL_ERROR):
            break
        if time.perf_counter() > deadline:
            raise SystemExit(f"{name}: run {run_id} did not end within {RUN_TIMEOUT_S:g} s")
        time.sleep(POLL_S)
    wall = time.perf_counter() - started
    times = []
    for task in done.tasks or []:
        assert task.run_id is not None and task.start_time and task.setup_duration is not None
        output = client.jobs.get_run_output(task.run_id)
        result = output.notebook_output.result if output.notebook_output else None
        if not result:
            raise SystemExit(f"{name}: task {task.task_key} failed: {output.error or task.state}")
        noted = json.loads(result)
        process_start = (task.start_time + task.setup_duration) / 1000
        kernel, spark = noted["first_line"] - process_start, noted["first_result"] - noted["first_line"]
        times.append(TaskTimes(kernel, spark, noted["delta"]))
    return RunTimes(wall, times)


def servers_left(root: Path) -> list[str]:
    """The Spark Connect server processes of the workspace on `root` still running (`ps`: every process's command
    line; a server's names the warehouse under the root)."""
    listing = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    return [line.strip()[:160] for line in listing.splitlines() if SERVER_CLASS in line and str(root) in line]


def notebook_task(key: str, notebook: str, path: str, new_cluster: bool) -> jobs.SubmitTask:
    return jobs.SubmitTask(
        task_key=key,
        notebook_task=jobs.NotebookTask(notebook_path=notebook, base_parameters={"path": path}),
        **({"new_cluster": NEW_CLUSTER} if new_cluster else {"existing_cluster_id": "local"}),
    )


def spark_run(client: WorkspaceClient, notebook: str, label: str, count: int, new_cluster: bool) -> RunTimes:
    tasks = [
        notebook_task(f"t{i:02d}", notebook, f"dbfs:/tmp/bench-spark-{label}-t{i:02d}", new_cluster)
        for i in range(count)
    ]
    return run(client, f"bench spark {label}", tasks)


def first_result_line(label: str, times: RunTimes) -> str:
    (task,) = times.tasks
    return f"{label:<30}{task.kernel:>10.2f}{task.spark:>10.2f}{task.first_result:>14.2f}{times.wall:>12.2f}"


def job_line(label: str, times: RunTimes) -> str:
    first = [t.first_result for t in times.tasks]
    return f"{label:<34}{times.wall:>8.1f}{statistics.median(first):>14.2f}{max(first):>10.2f}"


def serverless_runs(client: WorkspaceClient, notebook: str, label: str, count: int) -> list[RunTimes]:
    """`count` single-task serverless runs, one after the other."""
    task = jobs.SubmitTask(
        task_key="first", notebook_task=jobs.NotebookTask(notebook_path=notebook, base_parameters={"path": ""})
    )
    return [run(client, f"bench spark {label} {i}", [task]) for i in range(count)]


def client_of(env: dict[str, str]) -> WorkspaceClient:
    return WorkspaceClient(host=env["DATABRICKS_HOST"], token=env["DATABRICKS_TOKEN"], auth_type="pat")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20, help="Spark tasks in each run of part 2 (0: no part 2)")
    parser.add_argument("--warm", type=int, default=3, help="serverless runs after the first, and in the baseline")
    args = parser.parse_args(argv)
    if args.tasks < 0 or args.warm < 1:
        parser.error("--tasks must be at least 0 and --warm at least 1")
    missing = missing_requirement()
    if missing:
        print(f"bench/spark.py: {missing}; {INSTALL_HINT}", file=sys.stderr)
        return 2

    left: list[str] = []
    shared = own = None
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as first_root, \
            tempfile.TemporaryDirectory() as pooled_root, tempfile.TemporaryDirectory() as per_run_root:  # fmt: skip
        cached = {CACHE_VARIABLE: cache}
        with local_workspace("--root", first_root, environment=cached) as env:
            client = client_of(env)
            notebook = f"/Users/{client.current_user.me().user_name}/bench/spark"
            upload_notebook(client, notebook, NOTEBOOK)
            (first,) = serverless_runs(client, notebook, "first", 1)
        left += servers_left(Path(first_root))  # the workspace has stopped: it should have stopped every server
        with local_workspace("--root", pooled_root, environment=cached) as env:
            client = client_of(env)
            upload_notebook(client, notebook, NOTEBOOK)
            cold, *warm = serverless_runs(client, notebook, "pool", 1 + args.warm)
            if args.tasks:
                run(client, "bench spark local up", [notebook_task("up", notebook, "", new_cluster=False)])
                shared = spark_run(client, notebook, "shared", args.tasks, new_cluster=False)
        left += servers_left(Path(pooled_root))
        with local_workspace("--root", per_run_root, environment={**cached, SIZE_VARIABLE: "0"}) as env:
            client = client_of(env)
            upload_notebook(client, notebook, NOTEBOOK)
            per_run = serverless_runs(client, notebook, "per-run", args.warm)
            if args.tasks:
                own = spark_run(client, notebook, "own", args.tasks, new_cluster=True)
        left += servers_left(Path(per_run_root))

    print("1. serverless run: task process start to first Spark result (spark.range(1).count()), seconds")
    print(f"{'':<30}{'kernel':>10}{'spark':>10}{'first result':>14}{'run wall':>12}")
    print(first_result_line("first start (nothing cached)", first))
    print(first_result_line("cold (pool server starts)", cold))
    for i, times in enumerate(warm, 1):
        print(first_result_line(f"warm {i} (attaches)", times))
    for i, times in enumerate(per_run, 1):
        print(first_result_line(f"server per run {i} (baseline)", times))
    print(f"the pool's server has Delta Lake: {'yes' if cold.tasks[0].delta else 'no'}")
    warm_first = statistics.median(t.tasks[0].first_result for t in warm)
    per_run_first = statistics.median(t.tasks[0].first_result for t in per_run)
    print(f"first result p50: warm {warm_first:.2f} s, server per run {per_run_first:.2f} s")
    print(f"ratio server per run / warm: {per_run_first / warm_first:.1f}x")
    if shared is not None and own is not None:
        print()
        print(f"2. a run of {args.tasks} Spark tasks (range, groupBy, count, parquet write, read), at most 8 at once")
        print(f"{'':<34}{'wall s':>8}{'first p50 s':>14}{'max s':>10}")
        print(job_line("shared local cluster (one server)", shared))
        print(job_line("new_cluster per task (baseline)", own))
        print(f"ratio shared / baseline wall: {shared.wall / own.wall:.2f} (saved {own.wall - shared.wall:.1f} s)")
    print(f"Spark servers left running after the workspaces stopped: {len(left)}")
    for line in left:
        print(f"  {line}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
