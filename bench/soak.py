"""Many `test` steps through the packaged Databricks@1 task, run as the agent runs it, with a share of all API calls
faulted: what a long stretch of CI does against a flaky workspace.

Every call of every endpoint a `test` step makes meets a fault with probability --fault-rate (default 0.10), the six
kinds equally likely: 429 with a 1 s Retry-After, 503, 500, the connection dropped before or after the server acted,
a 1 s latency spike. Step i's faults come from generators seeded with (--seed, i), so a step can be replayed. Steps
run --workers at a time, each on a local workspace of its own (`--seed S --start I --steps 1` replays step I).
Printed, with their targets:

- correct outcomes: each step's result, errors, warnings, test results and output variables as
  tests/reliability/expectations.py predicts them from the faults its calls met (a 500 on a call the step cannot do
  without fails it, naming the call; every other fault is retried to success);
- duplicate runs: runs of a step's build beyond one;
- leaked folders: Git folders (and active runs) a step left behind;
- leaked secrets: the PAT or System.AccessToken, whole or in pieces, in a step's output, errors or written files;
- step overhead: the step's wall time minus its Databricks run's duration, for the steps that met no fault (target)
  and for all steps with a run.

    python bench/soak.py [--steps 200] [--seed N] [--start I] [--workers 2] [--fault-rate 0.1]

It runs the newest dist/*.vsix (`npm run package` makes it) with the test harness under tests/.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "reliability"), str(REPO / "tools")]

from expectations import Expected, expected_after, problems  # noqa: E402
from faulty_steps import ENDPOINTS, FAULT_KINDS, REPOSITORY, StepResult, WorkspacePool, rule, run_step  # noqa: E402
from task_runs import Agents, run_all  # noqa: E402

from _localserver import percentile  # noqa: E402
from dbcicd_localworkspace import FaultRule  # noqa: E402
from git_remote import GitRemote  # noqa: E402
from leaks import Secret, files_since, leaks  # noqa: E402
from localagent import PackagedTask  # noqa: E402

LATENCY_MS = 1000
OVERHEAD_TARGET_S = 3.5  # bench/overhead.py's 2.0 s for `dbcicd test`, plus the task's 1.5 s start-up (Node, Python)
SETSECRET = "##vso[task.setsecret]"


def fault_rules(rate: float, seed: int, step: int) -> list[FaultRule]:
    """Every fault kind on every endpoint, so that a call meets some fault with probability `rate`, each kind as
    likely: the k-th of K rules a call reaches fires with rate / (K - k * rate), so none fires with (1 - rate)."""
    draw = random.Random(f"{seed}-{step}")
    rules = []
    for endpoint in ENDPOINTS:
        for k, kind in enumerate(FAULT_KINDS):
            options = {"latency_ms": LATENCY_MS} if kind == "latency" else {}
            probability = rate / (len(FAULT_KINDS) - k * rate)
            rules.append(rule(endpoint, kind, probability=probability, seed=draw.randrange(2**32), **options))
    return rules


@dataclass
class Soaked:
    """One step and how it fared."""

    index: int
    step: StepResult
    expected: Expected
    problems: list[str]
    secrets: list[str]

    @property
    def faults(self) -> list[str]:
        return [call.kind for call in self.step.calls if call.kind]

    @property
    def overhead_s(self) -> float | None:
        """Wall time minus the run's own duration; None when the step made no (finished) run."""
        finished = [(run.start_time, run.end_time) for run in self.step.left.runs if run.start_time and run.end_time]
        if not finished:
            return None
        start, end = finished[0]
        return self.step.run.seconds - (end - start) / 1000


def soak_step(
    agents: Agents, pool: WorkspacePool, build: tuple[str, str], args: argparse.Namespace, index: int
) -> Soaked:
    started = time.time()
    step = run_step(agents, pool, build, f"soak-{index}", fault_rules(args.fault_rate, args.seed, index))
    expected = expected_after(step.calls)
    agent = step.agent
    shown = "\n".join(line for line in step.run.stdout.splitlines() if not line.startswith(SETSECRET))
    texts = [("stdout", shown.encode()), ("stderr", step.run.stderr.encode()), *files_since([agent.work], started)]
    secrets = [Secret("the PAT", agent.workspace.token), Secret("System.AccessToken", agent.access_token)]
    return Soaked(index, step, expected, problems(step, expected), leaks(secrets, texts))


def report(soaked: list[Soaked], args: argparse.Namespace, wall_s: float) -> bool:
    """Prints the figures; whether every target was met."""
    calls = sum(len(s.step.calls) for s in soaked)
    kinds = Counter(kind for s in soaked for kind in s.faults)
    wrong = [s for s in soaked if s.problems]
    duplicates = sum(max(0, len(s.step.left.runs) - 1) for s in soaked)
    folders = sum(len(s.step.left.folders) for s in soaked)
    active = sum(len(s.step.left.active) for s in soaked)
    secrets = sum(len(s.secrets) for s in soaked)
    clean = [o for s in soaked if not s.faults and (o := s.overhead_s) is not None]
    everything = [o for s in soaked if (o := s.overhead_s) is not None]
    failing = sum(s.expected.result == "Failed" for s in soaked)

    for s in wrong[:10]:
        print(f"step {s.index} (seed {args.seed}): faults {s.faults}: " + "; ".join(s.problems))
    for s in [s for s in soaked if s.secrets][:10]:
        print(f"step {s.index}: " + ", ".join(s.secrets))
    for s in [s for s in soaked if s.step.left.folders or s.step.left.active or len(s.step.left.runs) > 1][:10]:
        left = s.step.left
        print(f"step {s.index}: faults {s.faults}: left {left.folders}, active {left.active}, {len(left.runs)} runs")
        print("\n".join(f"  {line}" for line in s.step.run.stdout.splitlines() if "logissue" in line))
    print(
        f"\n{len(soaked)} test steps, {args.workers} at a time, {args.fault_rate:.0%} of API calls faulted "
        f"(seed {args.seed}): {calls} calls, {sum(kinds.values())} faults ("
        + ", ".join(f"{kind} {kinds[kind]}" for kind in FAULT_KINDS)
        + f"), {wall_s / 60:.1f} min"
    )
    met = {
        "correct": not wrong,
        "duplicates": duplicates == 0,
        "folders": folders == active == 0,
        "secrets": secrets == 0,
        "overhead": bool(clean) and percentile(clean, 0.5) <= OVERHEAD_TARGET_S,
    }
    verdict = {True: "met", False: "MISSED"}
    right = len(soaked) - len(wrong)
    print(
        f"correct outcomes:   {right}/{len(soaked)} ({len(soaked) - failing} to succeed, {failing} to fail "
        f"naming the call)  target all: ratio {right / len(soaked):.2f} -> {verdict[met['correct']]}"
    )
    print(f"duplicate runs:     {duplicates}  target 0 -> {verdict[met['duplicates']]}")
    print(f"leaked folders:     {folders} (active runs left: {active})  target 0 -> {verdict[met['folders']]}")
    print(f"leaked secrets:     {secrets}  target 0 -> {verdict[met['secrets']]}")
    if clean:
        p50 = percentile(clean, 0.5)
        print(
            f"step overhead, no fault met ({len(clean)} steps): p50 {p50:.2f} s, p95 {percentile(clean, 0.95):.2f} s"
            f"  target p50 <= {OVERHEAD_TARGET_S} s: ratio {p50 / OVERHEAD_TARGET_S:.2f} -> {verdict[met['overhead']]}"
        )
    if everything:
        print(
            f"step overhead, all steps with a run ({len(everything)}): p50 {percentile(everything, 0.5):.2f} s, "
            f"p95 {percentile(everything, 0.95):.2f} s"
        )
    return all(met.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--start", type=int, default=0, help="index of the first step (replays from the same seed)")
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(10**6))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fault-rate", type=float, default=0.10)
    args = parser.parse_args(argv)
    vsix = sorted((REPO / "dist").glob("*.vsix"), key=lambda path: path.stat().st_mtime)
    node = shutil.which("node")
    if not vsix or node is None:
        raise SystemExit("needs node on the PATH and a packaged task in dist/: run `npm ci && npm run package`")

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dbcicd-soak-") as tmp, WorkspacePool(args.workers) as pool:
        work = Path(tmp)
        task = PackagedTask.from_vsix(vsix[-1], work / "vsix")
        (work / "tools").mkdir()
        agents = Agents(task, node, work / "tools", work / "agents")
        (work / "git").mkdir()
        remote = GitRemote(work / "git")
        build = (remote.url, remote.commit(REPOSITORY, "build"))
        print(f"soak: {args.steps} steps of {vsix[-1].name}, seed {args.seed}", flush=True)
        steps = range(args.start, args.start + args.steps)
        soaked = run_all(steps, lambda i: soak_step(agents, pool, build, args, i), args.workers)
    return 0 if report(soaked, args, time.monotonic() - started) else 1


if __name__ == "__main__":
    sys.exit(main())
