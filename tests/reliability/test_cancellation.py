"""Cancelling a `test` step as the agent cancels it (SIGINT to the packaged task's Node process, SIGTERM 7.5 s later,
then a kill 2.5 s after that: tools/localagent.py `cancel`), at random points.

Each phase of a step gets the same number of trials: while Node and the core start (before the folder exists),
while the folder is created (with `source: upload`, while the checkout is uploaded) and checked out, just before
and while the run is submitted, while it runs, while its outputs and result files are read, and while the folder is
looked up and deleted. A latency fault on the phase's
endpoint widens its window; the signal comes at a seeded random moment after that endpoint's first call arrives
(the seed is printed; DBCICD_CANCEL_SEED=<seed> replays it).

Each trial must end before the agent's SIGTERM (7.5 s after SIGINT), the step Canceled with no logging command the
agent could not process (the task's own task.complete, if it got to write one, says Canceled), no run of its build
active or left to run on (a run it started ends CANCELED unless it had already finished), and no Git folder. One
other end is accepted: a signal in the first tenth of a second, while Node itself starts and before the entry point's
first line runs, ends Node with no output at all; the agent records the step as Canceled, and nothing started.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from faulty_steps import ENDPOINTS, LATENCY_MS, REPOSITORY, UPLOAD_ENDPOINTS, WorkspacePool, rule, step_inputs
from leftovers import Leftovers
from task_runs import STEP_TEST_TIMEOUT_S, STEP_WAIT_S, Agents, StepsInBackground, build_variables, selected, unique

import process_tree
from dbcicd_localworkspace import LocalWorkspaceServer
from git_remote import GitRemote, git
from localagent import SIGINT_TIMEOUT_S
from server_calls import arrivals
from task_harness import PackagedTask, TaskRun, cancel, finish

AGENT_SIGTERM_AFTER_S = SIGINT_TIMEOUT_S  # the agent sends SIGTERM this long after SIGINT
TRIALS_PER_PHASE = int(os.environ.get("DBCICD_CANCEL_TRIALS_PER_PHASE") or 5)  # fewer for a quick look
WORKERS = 3
SEED = int(os.environ.get("DBCICD_CANCEL_SEED") or random.SystemRandom().randrange(10**6))
REACH_TIMEOUT_S = 60
LATENCY_S = LATENCY_MS / 1000


@dataclass(frozen=True)
class Phase:
    """A part of the step: the signal comes `window_s` or less after the first call to `trigger` (an ENDPOINTS or
    UPLOAD_ENDPOINTS name; None: the start of the process); `slow` endpoints answer LATENCY_MS late."""

    name: str
    trigger: str | None
    window_s: float
    slow: tuple[str, ...] = ()
    run_ends_cancelled: bool = False  # a run of the build can only have ended CANCELED
    inputs: dict[str, str] = field(default_factory=dict)


PHASES = [
    Phase("starting", None, 1.5),
    Phase("creating-folder", "repos-create", LATENCY_S, slow=("repos-create",)),
    Phase("uploading", "workspace-import", LATENCY_S, slow=("workspace-import",), inputs={"source": "upload"}),
    Phase("checking-out", "repos-update", LATENCY_S, slow=("repos-update",)),
    Phase("before-submit", "workspace-list", LATENCY_S, slow=("workspace-list",)),
    Phase("submitting", "runs-submit", LATENCY_S, slow=("runs-submit",), run_ends_cancelled=True),
    Phase("waiting", "runs-get", 3.0, run_ends_cancelled=True, inputs={"parameters": "sleep_s=5"}),
    Phase("reading-outputs", "runs-get-output", LATENCY_S, slow=("runs-get-output",)),
    Phase("reading-results", "workspace-export", LATENCY_S, slow=("workspace-export",)),
    Phase("finding-folder", "workspace-get-status", LATENCY_S, slow=("workspace-get-status",)),
    Phase("deleting-folder", "repos-delete", LATENCY_S, slow=("repos-delete",)),
]


@dataclass(frozen=True)
class Plan:
    index: int
    phase: Phase
    delay_s: float

    @property
    def id(self) -> str:
        return f"{self.index:02d}-{self.phase.name}"


_random = random.Random(SEED)
PLANS = [
    Plan(index, PHASES[index % len(PHASES)], round(_random.uniform(0, PHASES[index % len(PHASES)].window_s), 3))
    for index in range(TRIALS_PER_PHASE * len(PHASES))
]


@dataclass
class Trial:
    plan: Plan
    signalled: bool
    exit_s: float | None  # from SIGINT to the process's exit; None: still running at AGENT_SIGTERM_AFTER_S
    run: TaskRun
    left: Leftovers

    @property
    def result(self) -> str:
        """The step's result as the agent records it."""
        return self.run.result

    @property
    def ended_before_the_task_ran(self) -> bool:
        """Node ended by the signal with no output: before the entry point's first line (see the module docstring)."""
        return self.run.returncode == -signal.SIGINT and not self.run.stdout.strip()


def wait_for(times: list[float], process: subprocess.Popen[str]) -> bool:
    """Whether a first arrival came before the process ended (polled every 20 ms, at most REACH_TIMEOUT_S)."""
    deadline = time.monotonic() + REACH_TIMEOUT_S
    while not times:
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def interrupted_exit(process: subprocess.Popen[str]) -> float | None:
    """The agent cancels the step: the seconds from SIGINT to the process's exit; None if the agent had to go on to
    SIGTERM."""
    cancelled = cancel(process)
    return cancelled.exited_s if cancelled.by_sigint else None


def run_trial(agents: Agents, pool: WorkspacePool, build: tuple[str, str], plan: Plan) -> Trial:
    phase = plan.phase
    uploading = phase.inputs.get("source") == "upload"
    parent = f"/Workspace/Shared/{unique('cancel')}" if uploading else f"/Repos/{unique('cancel')}"
    with pool.lease() as server:
        server.faults.replace([rule(endpoint, "latency") for endpoint in phase.slow])
        agent = agents.new(server, f"cancel-{plan.id}")
        if uploading:  # the job's checkout, which the step uploads
            git("clone", "--quiet", build[0], ".", cwd=agent.sources)
        trigger = {**ENDPOINTS, **UPLOAD_ENDPOINTS}[phase.trigger] if phase.trigger else "* *"
        with arrivals(server, trigger) as times:
            started = time.monotonic()
            process = agent.start(step_inputs(parent, **phase.inputs), build_variables(*build))
            reached = phase.trigger is None or wait_for(times, process)
            time.sleep(max(0.0, (times[0] if phase.trigger and times else started) + plan.delay_s - time.monotonic()))
            signalled = reached and process.poll() is None
            exit_s = interrupted_exit(process) if signalled else None
            run = finish(process, started)
            # A call still in flight when the process ended (the server keeps acting on it) is answered at most
            # LATENCY_S after it arrived: only then is what the step left behind final.
            time.sleep(max(0.0, max(times, default=0.0) + LATENCY_S + 0.2 - time.monotonic()))
        server.faults.replace([])
        left = Leftovers.of(pool.client(server), agent.build_id, parent, uploaded=uploading)
        settle_runs(pool.client(server), left)
    return Trial(plan, signalled, exit_s, run, left)


def settle_runs(client: WorkspaceClient, left: Leftovers) -> None:
    """Reads the runs again until none is still stopping (a cancelled task is killed within a second)."""
    deadline = time.monotonic() + 10
    for index, run in enumerate(left.runs):
        while time.monotonic() < deadline:
            left.runs[index] = client.jobs.get_run(run.run_id or 0)
            if left.runs[index].state and left.runs[index].state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED:
                break
            time.sleep(0.1)


@pytest.fixture(scope="module")
def trials(
    packaged_task: PackagedTask,
    node: str,
    tools_directory: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[StepsInBackground[Plan, Trial]]:
    """Every selected trial, WORKERS at a time, in the background (each test waits for its own)."""
    print(f"\ncancellation trials: seed {SEED} (replay with DBCICD_CANCEL_SEED={SEED})")
    remote = GitRemote(tmp_path_factory.mktemp("git"))
    build = (remote.url, remote.commit(REPOSITORY, "build"))
    agents = Agents(packaged_task, node, tools_directory, tmp_path_factory.mktemp("cancel"))
    plans = {plan.id: plan for plan in PLANS}
    with WorkspacePool(WORKERS) as pool:
        wanted = {key: plans[key] for key in selected(request, plans)}
        steps = StepsInBackground(wanted, lambda plan: run_trial(agents, pool, build, plan), WORKERS)
        try:
            yield steps
        finally:
            steps.close()


@pytest.mark.timeout(STEP_TEST_TIMEOUT_S)
@pytest.mark.parametrize("plan", PLANS, ids=[plan.id for plan in PLANS])
def test_sigint(plan: Plan, trials: StepsInBackground[Plan, Trial]) -> None:
    """SIGINT in this phase: the task exits in time, Cancelled, no run going on, no Git folder."""
    trial = trials.result(plan.id)
    log = f"seed {SEED}, signal {plan.delay_s} s into {plan.phase.name}\n{trial.run.stdout}{trial.run.stderr}"

    assert trial.signalled, f"the step ended before the signal\n{log}"
    assert trial.exit_s is not None, f"still running {AGENT_SIGTERM_AFTER_S} s after SIGINT\n{log}"
    assert trial.result == "Canceled", log
    assert trial.run.failed_commands == [], log
    assert set(trial.run.completes) <= {"Canceled"} and (trial.run.completes or trial.ended_before_the_task_ran), log
    trial.left.assert_none(log)
    if plan.phase.run_ends_cancelled:
        states = [run.state.result_state if run.state else None for run in trial.left.runs]
        assert set(states) <= {jobs.RunResultState.CANCELED}, f"runs went on after the cancel: {states}\n{log}"


@pytest.mark.timeout(len(PLANS) * STEP_WAIT_S // WORKERS + 60)
def test_exit_times(trials: StepsInBackground[Plan, Trial], capsys: pytest.CaptureFixture[str]) -> None:
    """Every trial exits before the agent's SIGTERM; the distribution of exit times is printed."""
    done = trials.results(len(PLANS) * STEP_WAIT_S / WORKERS)
    times = sorted(trial.exit_s for trial in done.values() if trial.exit_s is not None)
    assert len(times) == len(done)
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    slowest = {phase.name: max(t.exit_s or 0 for t in done.values() if t.plan.phase == phase) for phase in PHASES}
    with capsys.disabled():
        print(
            f"\nSIGINT to exit over {len(times)} trials (seed {SEED}): median {statistics.median(times):.2f} s, "
            f"p95 {p95:.2f} s, max {times[-1]:.2f} s (the agent's SIGTERM comes at {AGENT_SIGTERM_AFTER_S} s)\n"
            "slowest per phase: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in slowest.items())
        )
    assert times[-1] < AGENT_SIGTERM_AFTER_S


def core_of(node_pid: int) -> process_tree.Process:
    """The Python core the task's Node process started."""
    started = process_tree.children(node_pid)
    assert len(started) == 1, f"Node ({node_pid}) runs {process_tree.describe(started)}"
    return started.pop()


@pytest.mark.skipif(not process_tree.supported(), reason="finds the core's process in Linux /proc")
def test_a_killed_entry_point_leaves_nothing_running(
    packaged_task: PackagedTask, node: str, tools_directory: Path, tmp_path: Path
) -> None:
    """Node killed outright while the run goes on (the agent's kill on Linux ends Node alone; the out-of-memory
    killer): the core cancels the run, deletes its Git folder and exits in the time a cancelled step has."""
    (tmp_path / "git").mkdir()
    remote = GitRemote(tmp_path / "git")
    build = (remote.url, remote.commit(REPOSITORY, "build"))
    agents = Agents(packaged_task, node, tools_directory, tmp_path / "agents")
    parent = f"/Repos/{unique('killed-entry')}"
    with LocalWorkspaceServer() as server, arrivals(server, ENDPOINTS["runs-get"]) as polls:
        agent = agents.new(server, "killed-entry")
        process = agent.start(step_inputs(parent, parameters="sleep_s=120"), build_variables(*build))
        assert wait_for(polls, process), f"the step ended before its run was polled\n{process.communicate()}"
        core = core_of(process.pid)
        process.kill()
        exited = not process_tree.left_after({core}, AGENT_SIGTERM_AFTER_S)
        if not exited:
            os.kill(core[0], signal.SIGKILL)  # it holds the step's output open: the failure is reported below
        out, err = process.communicate(timeout=REACH_TIMEOUT_S)
        assert exited, f"the core still ran {AGENT_SIGTERM_AFTER_S} s after Node was killed\n{out}{err}"
        client = WorkspaceClient(host=server.host, token=server.token, auth_type="pat")
        left = Leftovers.of(client, agent.build_id, parent)
        settle_runs(client, left)
    left.assert_none(out + err)
    states = [run.state.result_state if run.state else None for run in left.runs]
    assert states and set(states) <= {jobs.RunResultState.CANCELED}, f"the run was not cancelled: {states}\n{out}{err}"
