"""Which earlier run a step continues, and which tasks it runs again (steps/rerun.py), without a workspace."""

from __future__ import annotations

from dataclasses import replace

from databricks.sdk.service import jobs

from dbcicd.steps.rerun import Earlier, KeptTask, RerunPlan, RunMark, commit_difference, rerun_keys

SHA = "0123456789abcdef0123456789abcdef01234567"


def mark(attempt: str = "2", step_id: str = "step-a", tag: str = "a1b2c3d4e5", source: str = "https://x/r.git"):
    return RunMark.of("12", attempt, step_id, tag, source, "test", SHA)


def test_the_mark_reads_back_from_the_run_name() -> None:
    made = replace(mark(), after=987654321)
    name = f"dbcicd r build 12{made.suffix()}"
    assert name.startswith("dbcicd r build 12 attempt 2 [a1b2c3d4e5 step ")
    assert RunMark.parse(name) == made
    assert RunMark.parse("dbcicd r build 12 [a1b2c3d4e5]") is None
    assert RunMark.parse(f"dbcicd r{replace(made, commit='').suffix()}").commit == ""


def test_a_step_continues_an_earlier_attempt_or_its_own_retry_only() -> None:
    now = mark("2", tag="ffffffffff")
    assert now.may_continue(mark("1", step_id="another instance"))  # a new job attempt: any instance
    assert now.may_continue(mark("2"))  # the agent's retry: the same task instance
    assert not now.may_continue(mark("2", step_id="another step in the same attempt"))
    assert not now.may_continue(mark("3"))
    assert not now.may_continue(mark("1", source="https://x/other.git"))
    assert not now.may_continue(replace(now, attempt=1))  # its own tag: this very invocation


def _task(key: str, state: str, depends_on: tuple[str, ...] = (), seconds: int = 5) -> KeptTask:
    task = jobs.RunTask(
        task_key=key,
        state=jobs.RunState(result_state=jobs.RunResultState(state)),
        depends_on=[jobs.TaskDependency(d) for d in depends_on] or None,
        run_duration=seconds * 1000,
    )
    return KeptTask(task, 1, 100)


def test_failed_tasks_and_everything_downstream_run_again() -> None:
    tasks = {
        "ingest": _task("ingest", "FAILED"),
        "clean": _task("clean", "UPSTREAM_FAILED", ("ingest",)),
        "report": _task("report", "SUCCESS", ("clean",)),
        "other": _task("other", "SUCCESS"),
        "timeout": _task("timeout", "TIMEDOUT"),
        "excluded": _task("excluded", "EXCLUDED"),
    }
    earlier = Earlier(jobs.Run(run_id=100), mark("1"), tasks)
    keys = rerun_keys(earlier)
    assert keys == ["ingest", "clean", "report", "timeout"]
    plan = RerunPlan(earlier, keys, 2)
    assert [k.task.task_key for k in plan.kept] == ["other", "excluded"] and plan.saved_seconds() == 10
    merged = plan.merged(jobs.Run(run_id=200, tasks=[jobs.RunTask(task_key=k, run_id=1) for k in keys]))
    assert [t.task_key for t in merged.tasks] == list(tasks) and merged.run_id == 200
    assert plan.attempts(200)["other"] == (1, 100) and plan.attempts(200)["ingest"] == (2, 200)


def test_another_commit_is_never_continued() -> None:
    earlier = Earlier(jobs.Run(run_id=1), mark("1"))
    assert commit_difference(earlier, SHA) == ""
    assert "this one is at fedcba987654" in commit_difference(earlier, "fedcba9876543210")
    assert "not known" in commit_difference(earlier, "")
