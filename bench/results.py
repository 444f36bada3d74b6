"""What reporting a 200-task run costs after it ends, on the local workspace.

Cost = fetching every task's output (concurrently, as the commands do), reading back the JUnit and Cobertura files
each notebook wrote, exporting the rendered pages `--export` asks for (default `failed`, the task's default), and
publishing: JUnit files, pages, the merged coverage, summary, and the logging commands an agent would read (written
to a null stream). Exporting every page (`all`) is measured on its own too and printed.
The run itself (200 notebooks, 10 of them failing) is not counted; it is made once and reported --repeat times.

    python bench/results.py [--tasks 200] [--repeat 5] [--export failed|all|none]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from _localserver import local_workspace, upload_notebook
from dbcicd.azdo.logging_commands import CommandWriter
from dbcicd.options.results import EXPORT_CHOICES
from dbcicd.output import PlainOutput
from dbcicd.results.collect import collect
from dbcicd.results.rendered import export_pages
from dbcicd.results.report import ReportSettings, publish
from dbcicd.steps.commands import Outcome, _task_outputs

TARGET_S = 3.0
FOLDER = "/Shared/bench-results"
# Each notebook writes a small pytest-like JUnit file and exits with a JSON object, as a test notebook would.
PASSING = "# Databricks notebook source\n" + (
    "import json, os\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(out, exist_ok=True)\n"
    'cases = \'\'.join(f\'<testcase classname="checks" name="test_{i}" time="0.01"/>\' for i in range(20))\n'
    "open(f'{out}/pytest.xml', 'w').write(f'<testsuites><testsuite name=\"pytest\">{cases}</testsuite></testsuites>')\n"
    # and a Cobertura report of two files, as pytest-cov writes it
    "lines = ''.join(f'<line number=\"{n}\" hits=\"{n % 3}\"/>' for n in range(1, 200))\n"
    "classes = ''.join(f'<class filename=\"m{k}.py\"><lines>{lines}</lines></class>' for k in (1, 2))\n"
    "open(f'{out}/coverage.xml', 'w').write('<coverage><sources><source>/Workspace/Repos/ci/x/pkg</source>'\n"
    "    f'</sources><packages><package name=\"pkg\"><classes>{classes}</classes></package></packages></coverage>')\n"
    "dbutils.notebook.exit(json.dumps({'rows': 1000, 'ok': True}))\n"
)
FAILING = "# Databricks notebook source\nraise AssertionError('expected 1000 rows, got 999')\n"


def finished_run(client: WorkspaceClient, count: int) -> jobs.Run:
    """A multi-task run of `count` notebooks (one in twenty failing), waited for."""
    upload_notebook(client, f"{FOLDER}/passing", PASSING)
    upload_notebook(client, f"{FOLDER}/failing", FAILING)
    tasks = [
        jobs.SubmitTask(
            task_key=f"t{i:03d}",
            notebook_task=jobs.NotebookTask(
                f"{FOLDER}/{'failing' if i % 20 == 19 else 'passing'}",
                base_parameters={"dbcicd_results_dir": f"/Workspace{FOLDER}/results/t{i:03d}"},
            ),
        )
        for i in range(count)
    ]
    run_id = client.jobs.submit(run_name="bench results", tasks=tasks).run_id
    while True:
        run = client.jobs.get_run(run_id)  # type: ignore[arg-type]
        if run.state and run.state.life_cycle_state in (
            jobs.RunLifeCycleState.TERMINATED,
            jobs.RunLifeCycleState.INTERNAL_ERROR,
        ):
            return run
        time.sleep(0.5)


def report_once(client: WorkspaceClient, run: jobs.Run, directory: Path, export: str) -> tuple[float, int]:
    """Seconds to fetch outputs, collect the notebooks' files, export pages and publish; and how many test cases
    went out."""
    start = time.perf_counter()
    outcome = Outcome("run", success=False, message="bench", run=run, base_folder="/Repos/ci/x")
    outcome.task_outputs = _task_outputs(client, run, PlainOutput(io.StringIO()))
    outcome.result_files = collect(client, run)
    outcome.pages = export_pages(client, run, export)
    report = publish(outcome, ReportSettings(directory), CommandWriter(io.StringIO()), io.StringIO())
    assert report.coverage_file is not None, "the notebooks' coverage is merged and written"
    elapsed = time.perf_counter() - start
    return elapsed, report.task_tally.total + report.notebook_tally.total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--export", choices=EXPORT_CHOICES, default="failed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp, local_workspace() as env:
        client = WorkspaceClient(host=env["DATABRICKS_HOST"], token=env["DATABRICKS_TOKEN"], auth_type="pat")
        started = time.perf_counter()
        run = finished_run(client, args.tasks)
        made = time.perf_counter() - started
        timings, cases = [], 0
        for i in range(args.repeat):
            elapsed, cases = report_once(client, run, Path(tmp) / str(i), args.export)
            timings.append(elapsed)
        started = time.perf_counter()
        every = export_pages(client, run, "all")
        all_pages = time.perf_counter() - started

    p50 = statistics.median(timings)
    print(f"run of {len(run.tasks or [])} tasks made in {made:.1f} s (not counted)")
    print(f"test cases published per report:       {cases}")
    print(f"outputs + collection + export ({args.export}) + publishing: p50 {p50:.3f} s, max {max(timings):.3f} s")
    size = sum(page.kept_bytes for page in every) / 1e6
    print(f"exporting every page alone (all):      {all_pages:.3f} s for {len(every)} pages, {size:.1f} MB")
    worst = max(timings)
    verdict = "met" if worst <= TARGET_S else "MISSED"
    print(f"target every report <= {TARGET_S} s: ratio {worst / TARGET_S:.2f} -> {verdict}")
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
