"""The request turned into typed, immutable options, before anything touches the network.

Every input is read here and nowhere else, whichever command uses it, so a wrong value — `publishTestResults:
maybe`, a timeout of zero, a glob where no Git folder can be searched — is refused with exit code 2 before a Git
folder is made or a run submitted, never found out after the run has finished. What can only be known by asking the
workspace (does the cluster exist, which notebooks match a glob) is checked by the steps, before they start anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from ..connect.auth import DEFAULT_RETRY_TIMEOUT_SECONDS
from ..errors import ConfigurationError, every_problem
from .build import BuildContext, GitRef, parse_ref
from .bundle import BundleOptions, parse_bundle
from .compute import Compute
from .git import DEFAULT_CLONE_TIMEOUT_SECONDS, check_folder_path, check_temp_parent, https_url, provider_for
from .names import Names
from .notebooks import check_relative, split_patterns
from .parameters import parse_parameters
from .request import COMMANDS, TaskRequest
from .results import DEFAULT_EXPORT, EXPORT_CHOICES, notebook_results_root

DEFAULT_TEMP_FOLDER = ""  # the caller's home folder's dbcicd-temp, known once signed in (default_temp_parent)
DEFAULT_TIMEOUT_MINUTES = 60.0
DEFAULT_OLDER_THAN_HOURS = 24.0
SOURCES = ("gitFolder", "upload")
ANY_COMMIT = "any"  # the `commit` input that runs whatever a Git folder holds, without checking its head
_COMMIT_ID = re.compile(r"[0-9a-fA-F]{7,64}")
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


@dataclass(frozen=True)
class GitSource:
    """The repository and the ref a Git folder (or a run at a commit) checks out, and the commit it must be at."""

    url: str
    provider: str
    ref: GitRef
    expected_commit: str  # '' when unknown
    sparse_checkout: tuple[str, ...] = ()
    note: str = ""  # how the URL was chosen, for the log ('' when it is the one given)


@dataclass(frozen=True)
class FolderHead:
    """The commit a Git folder that `run` finds (`repoPath`) must be at before its code runs: the `commit` input, else
    in a pipeline the commit being built. Another build may have pointed a shared folder at its own commit since this
    build's `repo` step, and a run there would go green on that build's code.

    `repository_url`: the build's repository, to which the build's commit belongs; a folder of another repository is
    not held to it ('' for an explicit `commit`, which binds any folder). `waived`: `commit: any`."""

    commit: str  # '' when there is nothing to check against (the CLI outside a pipeline, without --commit)
    repository_url: str = ""
    waived: bool = False

    @property
    def by_build(self) -> bool:
        """Whether the commit is the build's rather than the `commit` input's."""
        return bool(self.repository_url)


@dataclass(frozen=True)
class Options:
    """Everything one invocation was asked to do, validated. `names` words errors for the entry that was used."""

    command: str
    names: Names
    build: BuildContext
    retry_timeout_seconds: int
    clone_timeout_seconds: int
    git: GitSource | None  # repo, test, and run without a Git folder
    repo_path: str  # repo, and run in a Git folder
    temp_folder: str  # test and cleanup
    source: str  # test and run: "gitFolder" (a Git folder, or a run at a commit), or "upload" (see steps/upload.py)
    source_dir: str  # the checkout `upload` uploads
    older_than_hours: float
    dry_run: bool  # cleanup: say what would be done, do nothing
    notebooks: tuple[str, ...]
    job_id: int | None
    job_name: str
    parameters: Mapping[str, str]
    compute: Compute
    timeout_seconds: int
    notebook_results_dir: str  # '' for the default
    publish_test_results: bool
    test_run_title: str
    fail_on_test_failure: bool
    publish_azure_devops: bool
    pull_request_comment: bool
    rerun_failed_only: bool = True  # run and test: on a re-run of the step, re-run only what did not succeed
    export_notebooks: str = DEFAULT_EXPORT  # run and test: whose rendered pages to save (results/rendered.py)
    folder_head: FolderHead | None = None  # run in a Git folder (repoPath): the commit it must be at
    bundle: BundleOptions | None = None  # deploy, destroy, and run of a bundle's job (bundleJob)


def parse_options(request: TaskRequest, names: Names) -> Options:
    """Read and check every input of `request`; raises one ConfigurationError naming every input (or flag) that is
    wrong and the fix for each, so that one attempt shows all there is to fix."""
    reader = _Reader(request, names)
    command = reader.command()  # which inputs count depends on it: nothing more is judged without it
    problems = _Problems()
    check = problems.check
    build = check("", lambda: BuildContext.from_variables(request.variables), BuildContext.from_variables({}))
    notebooks = tuple(split_patterns(request.text("notebooks")))
    for pattern in notebooks:
        check("notebooks", lambda p=pattern: check_relative(p, names.label("notebooks")), None)
    repo_path = request.text("repoPath")
    bundle_job = request.text("bundleJob")
    if (
        command == "run"
        and sum(map(bool, (notebooks, request.text("jobId"), request.text("jobName"), bundle_job))) != 1
    ):
        problems.add(
            "notebooks",
            f"Give exactly one of {names.label('notebooks')}, {names.label('jobId')}, {names.label('jobName')} or "
            f"{names.label('bundleJob')} for the run command",
        )
    source = check("source", lambda: reader.choice("source", SOURCES, "gitFolder"), "gitFolder")
    # repo and test make a Git folder; run without one checks out at a commit through `git_source`; an upload
    # needs no Git server at all.
    bundle_test = command == "test" and bool(bundle_job)  # a bundle deployed for this build alone: no Git folder
    needs_git = source != "upload" and (
        command == "repo"
        or (command == "test" and not bundle_test)
        or (command == "run" and bool(notebooks) and not repo_path)
    )
    label = names.label
    options = Options(
        command=command,
        names=names,
        build=build,
        retry_timeout_seconds=check(
            "retryTimeoutSeconds",
            lambda: reader.whole_seconds("retryTimeoutSeconds", DEFAULT_RETRY_TIMEOUT_SECONDS),
            DEFAULT_RETRY_TIMEOUT_SECONDS,
        ),
        clone_timeout_seconds=check(
            "cloneTimeoutSeconds",
            lambda: reader.whole_seconds("cloneTimeoutSeconds", DEFAULT_CLONE_TIMEOUT_SECONDS),
            DEFAULT_CLONE_TIMEOUT_SECONDS,
        ),
        git=check("gitUrl", lambda: reader.git(build), None) if needs_git else None,
        repo_path=check("repoPath", lambda: check_folder_path(repo_path, label("repoPath")), "") if repo_path else "",
        source=source,
        source_dir=request.text("sourceDir") or build.sources_directory,
        temp_folder=check(
            "tempFolder",
            lambda: check_temp_parent(request.text("tempFolder", DEFAULT_TEMP_FOLDER), label("tempFolder")),
            DEFAULT_TEMP_FOLDER,
        ),
        older_than_hours=check(
            "olderThanHours",
            lambda: reader.number("olderThanHours", DEFAULT_OLDER_THAN_HOURS, minimum=0),
            DEFAULT_OLDER_THAN_HOURS,
        ),
        dry_run=check("dryRun", lambda: reader.flag("dryRun", False), False),
        notebooks=notebooks,
        job_id=check("jobId", lambda: reader.job_id(request.text("jobId")), None),
        job_name=request.text("jobName"),
        parameters=MappingProxyType(
            check("parameters", lambda: parse_parameters(request.text("parameters"), label("parameters")), {})
        ),
        compute=check(
            "compute",
            lambda: Compute.from_inputs(
                request.text("compute"), request.text("existingClusterId"), request.text("newClusterJson"), label
            ),
            Compute("serverless"),
        ),
        timeout_seconds=check("timeoutMinutes", reader.timeout_seconds, round(DEFAULT_TIMEOUT_MINUTES * 60)),
        notebook_results_dir=check(
            "notebookResultsDir", lambda: notebook_results_root(request.text("notebookResultsDir"), names), ""
        ),
        publish_test_results=check("publishTestResults", lambda: reader.flag("publishTestResults", True), True),
        test_run_title=request.text("testRunTitle"),
        fail_on_test_failure=check("failOnTestFailure", lambda: reader.flag("failOnTestFailure", True), True),
        publish_azure_devops=check("publishAzureDevOps", lambda: reader.flag("publishAzureDevOps", False), False),
        pull_request_comment=check("pullRequestComment", lambda: reader.flag("pullRequestComment", False), False),
        rerun_failed_only=check("rerunFailedOnly", lambda: reader.flag("rerunFailedOnly", True), True),
        export_notebooks=check(
            "exportNotebooks", lambda: reader.choice("exportNotebooks", EXPORT_CHOICES, DEFAULT_EXPORT), DEFAULT_EXPORT
        ),
        folder_head=check("commit", lambda: reader.folder_head(build), None)
        if command == "run" and repo_path and source != "upload"
        else None,
        bundle=check(
            "bundleDir",
            lambda: parse_bundle(request, names, request.text("sourceDir") or build.sources_directory),
            None,
        )
        if command in ("deploy", "destroy") or (command in ("run", "test") and bundle_job)
        else None,
    )
    reader.check_command(options, problems)
    problems.raise_any()
    return options


_Value = TypeVar("_Value")


class _Problems:
    """Every input found wrong, in the order read: one message for all of them at the end, so that a pipeline is not
    run again and again to find the next mistake. Checks that depend on an input found wrong are skipped (`failed`):
    a second message about the same mistake would only mislead."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.failed: set[str] = set()

    def add(self, name: str, message: str) -> None:
        self.messages.append(message)
        self.failed.add(name)

    def check(self, name: str, read: Callable[[], _Value], fallback: _Value) -> _Value:
        """`read()`, or `fallback` with its error noted against the input `name`."""
        try:
            return read()
        except ConfigurationError as err:
            for problem in err.problems:
                self.add(name, problem)
            return fallback

    def raise_any(self) -> None:
        if self.messages:
            raise every_problem(self.messages)


@dataclass(frozen=True)
class _Reader:
    """Typed reads of one request's inputs, with errors worded by `names`."""

    request: TaskRequest
    names: Names

    def command(self) -> str:
        command = self.request.text("command")
        if not command:
            raise ConfigurationError(f"{self.names.input('command')} is required: one of {', '.join(COMMANDS)}")
        if command not in COMMANDS:
            raise ConfigurationError(
                f"{self.names.input('command')} is '{command}'; it must be one of {', '.join(COMMANDS)}"
            )
        return command

    def flag(self, name: str, default: bool) -> bool:
        raw = self.request.text(name)
        if not raw:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ConfigurationError(f"{self.names.input(name)} must be true or false, got '{raw}'")

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        raw = self.request.text(name)
        if not raw:
            return default
        for value in allowed:
            if raw.lower() == value.lower():
                return value
        raise ConfigurationError(f"{self.names.input(name)} is '{raw}'; it must be one of {', '.join(allowed)}")

    def number(self, name: str, default: float, minimum: float | None = None) -> float:
        raw = self.request.text(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigurationError(f"{self.names.input(name)} must be a number, got '{raw}'") from None
        if value != value or value in (float("inf"), float("-inf")):  # NaN, inf: not a duration anyone means
            raise ConfigurationError(f"{self.names.input(name)} must be a finite number, got '{raw}'")
        if minimum is not None and value < minimum:
            raise ConfigurationError(f"{self.names.input(name)} must be at least {minimum:g}, got '{raw}'")
        return value

    def whole_seconds(self, name: str, default: int) -> int:
        raw = self.request.text(name)
        if not raw:
            return default
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ConfigurationError(
                f"{self.names.input(name)} must be a whole number of seconds (1 or more), got '{raw}'"
            )
        return int(raw)

    def timeout_seconds(self) -> int:
        minutes = self.number("timeoutMinutes", DEFAULT_TIMEOUT_MINUTES)
        if minutes <= 0:
            raw = self.request.text("timeoutMinutes")
            raise ConfigurationError(f"{self.names.input('timeoutMinutes')} must be greater than 0, got '{raw}'")
        return max(1, round(minutes * 60))

    def job_id(self, raw: str) -> int | None:
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit()):
            raise ConfigurationError(
                f"{self.names.label('jobId')} '{raw}' must be a number (the job's id in its URL), "
                f"or give {self.names.label('jobName')} instead"
            )
        return int(raw)

    def git(self, build: BuildContext) -> GitSource:
        """The repository, ref and expected commit; outside a pipeline, URL and ref must be given."""
        names = self.names
        url = self.request.text("gitUrl") or build.repository_url
        if not url:
            raise ConfigurationError(
                f"{names.input('gitUrl')} is required outside a pipeline (the repository to check out), "
                "or run from a clone of it"
            )
        url, note = https_url(url, names.label("gitUrl"))
        provider = provider_for(url, self.request.text("gitProvider"), names.label("gitProvider"))
        branch, tag = self.request.text("branch"), self.request.text("tag")
        if branch and tag:
            raise ConfigurationError(f"Give either {names.label('branch')} or {names.label('tag')}, not both")
        expected = self.commit()
        waived = expected == ANY_COMMIT
        if tag:
            ref = GitRef("tag", tag.removeprefix("refs/tags/"))
        elif branch:
            ref = parse_ref(branch, names.label("branch"))
            if not expected and ref == build.source_ref:
                expected = build.source_commit
        elif build.source_ref is None:
            raise ConfigurationError(
                f"{names.label('branch')} or {names.label('tag')} is required outside a pipeline "
                "(which one to check out)"
            )
        else:
            ref, expected = build.source_ref, expected or build.source_commit
        if waived:
            expected, note = "", "; ".join(filter(None, (note, self._waived())))
        return GitSource(url, provider, ref, expected, tuple(self.request.lines("sparseCheckout")), note)

    def commit(self) -> str:
        """The `commit` input: a commit id (7 or more hex digits, lower case), `any`, or ''."""
        raw = self.request.text("commit")
        if raw.lower() == ANY_COMMIT:
            return ANY_COMMIT
        if raw and not _COMMIT_ID.fullmatch(raw):
            raise ConfigurationError(
                f"{self.names.input('commit')} is '{raw}'; it must be a commit id (7 or more hex digits, e.g. "
                f"3f2a9c1), or {ANY_COMMIT} to run whatever the Git folder holds"
            )
        return raw.lower()

    def _waived(self) -> str:
        return f"{self.names.label('commit')} {ANY_COMMIT}: the Git folder's head is not checked against a commit"

    def folder_head(self, build: BuildContext) -> FolderHead:
        """What `run` holds a Git folder it finds to: the `commit` input, else in a pipeline the build's commit (on
        the CLI outside one, the checkout's HEAD is not a build: only --commit is checked)."""
        commit = self.commit()
        if commit == ANY_COMMIT:
            return FolderHead("", waived=True)
        if commit:
            return FolderHead(commit)
        in_pipeline = not self.names.cli or bool(build.build_id)
        if not in_pipeline or not build.repository_url:  # a commit of no known repository binds no folder
            return FolderHead("")
        return FolderHead(build.source_commit, build.repository_url)

    def check_command(self, options: Options, problems: _Problems) -> None:
        """What each command needs besides well-formed values; inputs already found wrong are not judged again."""
        names = self.names
        if options.command == "repo" and not options.repo_path and "repoPath" not in problems.failed:
            example = "e.g. /Repos/ci/my-project"
            problems.add("repoPath", f"{names.input('repoPath')} is required: the Git folder to update, {example}")
        bundle_test = options.bundle is not None or "bundleDir" in problems.failed
        if options.command == "test" and not options.notebooks and not bundle_test:
            problems.add("notebooks", f"{names.input('notebooks')} is required: the test notebooks, e.g. tests/test_*")
        if options.command == "test" and options.notebooks and bundle_test:
            problems.add(
                "notebooks",
                f"Give {names.label('notebooks')} or {names.label('bundleJob')} for the test command, not both",
            )
        if options.source == "upload":
            for message in self._upload_problems(options):
                problems.add("source", message)
        at_commit = options.command == "run" and options.git is not None
        if at_commit and any(c in p for p in options.notebooks for c in "*?["):
            problems.add(
                "notebooks",
                f"{names.label('notebooks')} globs need a Git folder to search: give {names.label('repoPath')}, "
                "or list the notebooks without wildcards",
            )

    def _upload_problems(self, options: Options) -> list[str]:
        names = self.names
        if options.command not in ("test", "run"):
            return [f"{names.label('source')} upload is for the test and run commands"]
        problems = []
        if options.command == "run" and (options.repo_path or not options.notebooks):
            problems.append(
                f"{names.label('source')} upload runs notebooks from the uploaded files: give "
                f"{names.label('notebooks')}, and no {names.label('repoPath')}, {names.label('jobId')} or "
                f"{names.label('jobName')}"
            )
        if not options.source_dir:
            where = names.label("sourceDir") if names.cli else "the agent's Build.SourcesDirectory"
            problems.append(
                f"{names.label('source')} upload needs a checkout to upload: {where} is not set (check out the "
                "repository in an earlier step: `- checkout: self`)"
            )
        if options.temp_folder.startswith(("/Repos/", "/Workspace/Repos/")):
            problems.append(
                f"{names.input('tempFolder')} {options.temp_folder} is under /Repos, which holds only Git folders: "
                f"an upload needs a workspace folder, e.g. {names.label('tempFolder')} /Workspace/Shared/dbcicd"
            )
        return problems
