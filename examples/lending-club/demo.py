"""The lending-club pipeline, end to end on this machine: what the README's Quickstart runs.

It starts a local workspace, publishes this example to a local Git remote as a project's repository, and then runs
the jobs of `azure-pipelines.yml` through the packaged Databricks@1 task, started as the Azure Pipelines agent
starts it (Node, inputs and a service connection in the environment, logging commands read from its output):

1. the pull-request job: `test` of the integration-test notebook in a temporary Git folder;
2. staging: `repo` points /Repos/staging/lending-club at main, `run` of notebooks/train_and_evaluate, and the
   gated `promote` when the evaluation says so;
3. the next batch, with a deliberately weak model (`model=baseline`), which must not be promoted.

It prints where the JUnit files and the summary are, each promotion decision with the metrics it follows from, and
which engine prepared each batch (Spark where pyspark and Java are installed, else pandas) in how many seconds.
Everything goes under ./dbcicd-demo, replaced on every run but for the agent's tool cache (tools/, where the task
prepares its Python core once, as on a real agent). Exit code 0 when every step did what it should. The
task is the one `npm run build` stages in build/extension; the demo runs that build first when the staged task is
missing or older than its sources. Ctrl+C cancels the running step as the agent would and stops the workspace.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))  # the agent emulation
try:
    from dbcicd_localworkspace import LocalWorkspaceServer
    from localagent import (
        PackagedTask,
        ServiceConnection,
        commands,
        interrupt,
        lines,
        newest_source,
        step_variables,
    )
except ModuleNotFoundError as missing:
    sys.exit(
        f"The demo needs {missing.name}, which {sys.executable} lacks: run "
        f'`python3 -m pip install -e ./localworkspace -e ".[demo]"` in {Path(__file__).resolve().parents[2]} first'
    )

EXAMPLE = Path(__file__).resolve().parent
REPOSITORY = EXAMPLE.parents[1]
STAGED_TASK = REPOSITORY / "build" / "extension" / "tasks" / "databricks"
BUILD_TIMEOUT_S = 600
CANCEL_WAIT_S = 60  # for a cancelled step to stop its run and delete its temporary Git folder
NOT_PUBLISHED = {"__pycache__", ".pytest_cache", ".ruff_cache", "demo.py"}
STAGING_FOLDER = "/Repos/staging/lending-club"
ROWS = "2000"  # applications per batch: enough for the models to differ clearly, small enough to train in seconds
# Settings of the process environment that would point the task somewhere else than the local workspace.
FOREIGN_SETTINGS = ("DATABRICKS_", "ARM_", "AZURE_", "BUILD_", "SYSTEM_", "AGENT_", "ENDPOINT_", "INPUT_", "SECRET_")


class DemoFailed(Exception):
    """A step did not do what it should; the message says which and why."""


@dataclass(frozen=True)
class StepResult:
    """What the agent learned from one run of the task."""

    result: str
    variables: dict[str, str]
    junit_files: list[Path]
    summary: Path | None
    pages: list[Path]  # the rendered notebooks the step uploaded as an artifact (exportNotebooks)
    coverage: Path | None  # the merged Cobertura report it published for the Code Coverage tab


class LocalAgent:
    """Runs the task folder with the agent's environment for one build of `main` at `commit` of `git_url`."""

    def __init__(self, task: PackagedTask, node: str, workspace: LocalWorkspaceServer, work: Path, tools: Path) -> None:
        self.task, self.node, self.work, self.tools = task, node, work, tools
        self.temp = work / "agent-temp"
        self.temp.mkdir(parents=True)
        self.connection = ServiceConnection(
            str(uuid.uuid4()), f"{workspace.host}/", "Token", {"apitoken": workspace.token}
        )
        self.access_token = uuid.uuid4().hex

    def variables(self, git_url: str, commit: str) -> dict[str, str]:
        """A CI build of main at `commit`, as the agent describes it to each step."""
        return {
            **step_variables("1", self.work, self.temp, self.tools),
            "Build.Repository.Uri": git_url,
            "Build.SourceBranch": "refs/heads/main",
            "Build.SourceVersion": commit,
        }

    def run(self, inputs: Mapping[str, str], git_url: str, commit: str) -> StepResult:
        """One step: its log shown as the agent would show it, its result and what it published."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_SETTINGS) and k != "TF_BUILD"}
        env = self.task.environment(
            {**inputs, "pythonPath": sys.executable},
            {"databricksConnection": self.connection},
            self.variables(git_url, commit),
            self.access_token,
            base,
        )
        process = subprocess.Popen(
            self.task.command_line(self.node),
            env=env,
            cwd=self.work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert process.stdout is not None
        log = []
        try:
            for line in process.stdout:
                log.append(line)
                show(line.rstrip("\n"))
        except KeyboardInterrupt:
            cancel(process)
            raise
        process.wait()
        stdout = "".join(log)
        [complete] = commands(stdout, "task.complete") or [None]
        published = [c.properties["resultfiles"] for c in commands(stdout, "results.publish")]
        summaries = [c.data for c in commands(stdout, "task.uploadsummary")]
        uploaded = [Path(c.data) for c in commands(stdout, "artifact.upload")]
        coverage = [Path(c.properties["summaryfile"]) for c in commands(stdout, "codecoverage.publish")]
        return StepResult(
            result=complete.properties.get("result", "?") if complete else f"exited {process.returncode}",
            variables={c.properties["variable"]: c.data for c in commands(stdout, "task.setvariable")},
            junit_files=[Path(p) for files in published for p in files.split(",") if p],
            summary=Path(summaries[-1]) if summaries else None,
            pages=sorted(page for folder in uploaded for page in folder.glob("*.html")),
            coverage=coverage[-1] if coverage else None,
        )


def cancel(process: subprocess.Popen[str]) -> None:
    """Ctrl+C: cancel the step as the agent does (SIGINT; the task then cancels its run and deletes its temporary Git
    folder) and wait for it while the local workspace still answers; killed if it does not end in time."""
    interrupt(process)
    try:
        stdout, _ = process.communicate(timeout=CANCEL_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, _ = process.communicate()
    for line in lines(stdout):
        show(line)


def show(line: str) -> None:
    """A line of the task's log as the pipeline's log view shows it: logging commands hidden, issues and groups
    marked."""
    if "##vso[task.logissue" in line:
        kind = "error" if "type=error" in line else "warning"
        print(f"    {kind}: {line.partition(']')[2]}")
    elif line.startswith("##[group]"):
        print(f"    ▸ {line[len('##[group]') :]}")
    elif "##vso[" in line or line.startswith(("##[endgroup]", "##[debug]")):
        return
    else:
        print(f"    │ {line.removeprefix('##[warning]').removeprefix('##[error]').removeprefix('##[section]')}")


def heading(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def project_files() -> dict[Path, Path]:
    """The example as a project commits it: relative path in the repository -> file here."""
    files = {}
    for path in sorted(EXAMPLE.rglob("*")):
        relative = path.relative_to(EXAMPLE)
        if path.is_file() and not NOT_PUBLISHED & set(relative.parts):
            files[relative] = path
    return files


def git(*args: str, cwd: Path) -> str:
    identity = ["-c", "user.name=dbcicd demo", "-c", "user.email=demo@dbcicd.invalid", "-c", "commit.gpgsign=false"]
    done = subprocess.run(["git", *identity, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise DemoFailed(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def publish_example(where: Path) -> tuple[str, str]:
    """A bare repository holding the example on main, as a team's Git server would; its URL and main's commit."""
    bare, work = where / "lending-club.git", where / "checkout"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=where)
    git("init", "--quiet", "--initial-branch=main", str(work), cwd=where)
    for relative, source in project_files().items():
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, work / relative)
    git("add", "--all", cwd=work)
    git("commit", "--quiet", "-m", "Lending Club income model", cwd=work)
    git("push", "--quiet", bare.as_uri(), "main", cwd=work)
    return bare.as_uri(), git("rev-parse", "HEAD", cwd=work)


def test_cases(files: list[Path]) -> dict[str, int]:
    """Outcome -> number of test cases in JUnit files, as the Tests tab counts them."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for file in files:
        for case in ElementTree.parse(file).getroot().iter("testcase"):
            outcome = "failed" if case.find("failure") is not None or case.find("error") is not None else None
            counts[outcome or ("skipped" if case.find("skipped") is not None else "passed")] += 1
    return counts


def check_succeeded(step: str, outcome: StepResult) -> None:
    if outcome.result != "Succeeded":
        raise DemoFailed(f"{step} ended {outcome.result}; its log is above")


def decision(outcome: StepResult) -> bool:
    """The evaluation's decision, checked against its own metrics: promote exactly when the candidate's RMSE is
    lower than production's by more than `min_improvement` (or nothing is in production yet)."""
    found = outcome.variables
    rmse, production = float(found["notebookOutput_rmse"]), found["notebookOutput_production_rmse"]
    promote = found["notebookOutput_promote"] == "true"
    expected = production == "" or rmse < float(production)  # min_improvement is 0 here
    versus = f"production RMSE {float(production):,.0f}" if production else "no model in production yet"
    verdict = "PROMOTE" if promote else "KEEP PRODUCTION"
    print(
        f"\n  Decision: {verdict} — candidate v{found['notebookOutput_candidate_version']} RMSE {rmse:,.0f}, {versus}"
    )
    if promote != expected:
        raise DemoFailed(f"the decision promote={promote} does not follow from the metrics {found}")
    return promote


def preparation(outcome: StepResult) -> None:
    """Which engine prepared the batch, how long notebooks/prepare_data took for it (its Spark session included),
    and on Spark the version of the Delta table its merge made, which the candidate was trained on; from the output
    variables of the run's exit value."""
    found = outcome.variables
    engine, seconds = found["notebookOutput_engine"], float(found["notebookOutput_prepare_seconds"])
    merged = f", merged into table version {found['notebookOutput_table_version']}" if engine == "spark" else ""
    rows = found["notebookOutput_prepared_rows"]
    print(f"\n  Data preparation: {engine} in {seconds:.1f} s ({rows} applications{merged})")


def staging(agent: LocalAgent, url: str, commit: str, batch: str, model: str) -> tuple[bool, StepResult]:
    """One main build on staging: the new batch, a candidate, its evaluation, and the gated promotion."""
    heading(f"Staging, batch {batch}: train a {model} candidate and evaluate it (run notebooks/train_and_evaluate)")
    parameters = f"batch={batch}\nrows={ROWS}\nmodel={model}"
    evaluated = agent.run(
        {
            "command": "run",
            "repoPath": STAGING_FOLDER,
            "notebooks": "notebooks/train_and_evaluate",
            "parameters": parameters,
            "testRunTitle": f"Staging batch {batch}",
            "exportNotebooks": "all",  # the evaluation's page, with its plot, for the reviewer of the build
        },
        url,
        commit,
    )
    check_succeeded("The staging run", evaluated)
    preparation(evaluated)
    if not decision(evaluated):
        print("  The Promote stage is skipped: its condition reads notebookOutput_promote, which is false.")
        return False, evaluated
    heading("Promote (the stage gated on notebookOutput_promote)")
    version = evaluated.variables["notebookOutput_candidate_version"]
    promoted = agent.run(
        {
            "command": "run",
            "repoPath": STAGING_FOLDER,
            "notebooks": "notebooks/promote",
            "parameters": f"version={version}",
            "publishTestResults": "false",
        },
        url,
        commit,
    )
    check_succeeded("The promotion", promoted)
    print(f"\n  Production is now version {promoted.variables['notebookOutput_now_in_production']}")
    return True, evaluated


def run_demo(task: PackagedTask, node: str, out: Path, tools: Path) -> None:
    with LocalWorkspaceServer(root=out / "workspace") as workspace:
        heading(f"Local workspace at {workspace.host}")
        url, commit = publish_example(out)
        print(f"  examples/lending-club published to {url} (main at {commit[:12]})")
        agent = LocalAgent(task, node, workspace, out / "agent", tools)

        heading("Pull request: integration tests in a temporary Git folder (test, notebooks tests/test_*)")
        tested = agent.run(
            {
                "command": "test",
                "gitProvider": "gitHub",
                "notebooks": "tests/test_*",
                "testRunTitle": "Lending Club integration tests",
            },
            url,
            commit,
        )
        check_succeeded("The test step", tested)
        counts = test_cases(tested.junit_files)
        if counts["passed"] < 2 or counts["failed"]:
            raise DemoFailed(f"the integration tests published {counts}; expected individual passing cases")

        heading(f"Main: the staging Git folder follows main (repo {STAGING_FOLDER})")
        check_succeeded(
            "The repo step",
            agent.run({"command": "repo", "gitProvider": "gitHub", "repoPath": STAGING_FOLDER}, url, commit),
        )
        first, evaluation = staging(agent, url, commit, batch="1", model="gradient_boosting")
        second, _ = staging(agent, url, commit, batch="2", model="baseline")
        if not first or second:
            raise DemoFailed("expected the first model promoted and the weak baseline kept out of production")

        heading("What the pipeline published")
        print(
            f"  Test results: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
            "(one per notebook task, and each pytest case the notebook wrote as JUnit)"
        )
        for file in tested.junit_files:
            print(f"  JUnit:   {file}")
        if tested.coverage is not None:
            print(f"  Coverage: {tested.coverage} (Cobertura, for the Code Coverage tab)")
        for page in evaluation.pages:
            print(f"  Rendered notebook: {page} (artifact of the staging step; open it in a browser)")
        if tested.summary is not None:
            print(f"  Summary: {tested.summary}")
            for line in lines(tested.summary.read_text(encoding="utf-8"))[:12]:
                print(f"    {line}")


def task_folder(given: Path | None) -> PackagedTask:
    """The task folder given, else the staged one, built first when missing or older than its sources."""
    if given is not None:
        if not (given / "task.json").is_file():
            raise DemoFailed(f"--task-folder {given} holds no task.json: give the Databricks@1 task's folder")
        return PackagedTask.from_folder(given)
    built = STAGED_TASK / "wheels" / "manifest.json"  # written last by `npm run build`
    if not built.is_file() or built.stat().st_mtime < newest_source(REPOSITORY):
        build_task()
    return PackagedTask.from_folder(STAGED_TASK)


def build_task() -> None:
    """`npm run build`: the task folder as the extension ships it (Node entry point, the core's wheels)."""
    npm = shutil.which("npm")
    if npm is None:
        raise DemoFailed("npm is not on the PATH: it builds the task (it comes with Node, https://nodejs.org)")
    heading(f"Building the task: npm run build (staged in {STAGED_TASK.relative_to(REPOSITORY)})")
    # The wheels are built by this Python's pip.
    env = {**os.environ, "PYTHON": sys.executable}
    try:
        done = subprocess.run(
            [npm, "run", "build"], cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise DemoFailed(f"npm run build did not finish within {BUILD_TIMEOUT_S} s") from None
    if done.returncode != 0:
        raise DemoFailed(f"npm run build failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    print(*(f"  {line}" for line in lines(done.stdout)[-2:]), sep="\n")


def clear(out: Path, keep: Path) -> None:
    """An empty `out`, but for `keep` when it is inside."""
    out.mkdir(parents=True, exist_ok=True)
    for child in out.iterdir():
        if child == keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task-folder", type=Path, help="the Databricks@1 task folder (default: npm run build's)")
    parser.add_argument("--out", type=Path, default=Path("dbcicd-demo"), help="where everything goes (replaced)")
    parser.add_argument("--tools", type=Path, help="Agent.ToolsDirectory, kept between runs (default: --out/tools)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    # One OpenMP thread per notebook process: the local workspace runs the notebooks on this machine, beside each
    # other and whatever else runs, and scikit-learn's gradient boosting with a thread per core then spends its time
    # waiting for busy cores (the whole demo took twice as long on two busy cores).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        node = shutil.which("node")
        if node is None:
            raise DemoFailed("node is not on the PATH: the task runs on Node 20 or later (https://nodejs.org)")
        task = task_folder(args.task_folder)
        out = args.out.resolve()
        tools = (args.tools or out / "tools").resolve()
        clear(out, keep=tools)
        run_demo(task, node, out, tools)
    except DemoFailed as failure:
        print(f"\nThe demo failed: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    print(f"\nDone in {time.monotonic() - started:.0f} s. Everything is in {args.out}/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
