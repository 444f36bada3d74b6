"""A bundle's configuration as the Databricks CLI resolves it, for the CLI stand-in (databricks_cli.py).

Modelled on databricks/cli v1.13.0 (the file named at each step) and the bundle docs
(docs.databricks.com/dev-tools/bundles/settings, /variables, /deployment-modes). Only what the tests need: the
root file and its `include` globs, one target merged over the top level, variables, `${...}` references to the
configuration, development mode's name prefix and lock, workspace paths, notebook and Python file paths made
workspace paths, and diagnostics carrying their YAML file:line:col. Everything else the CLI does (artifacts,
permissions, presets other than the name prefix, `sync` rules, Python-defined resources, resources other than
jobs) is not modelled.
"""

from __future__ import annotations

import copy
import glob
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from databricks.sdk.service.jobs import JobSettings

# databricks/cli bundle/config/filename.go: the names a bundle's root file may have, in the order they are looked for.
ROOT_FILE_NAMES = ("databricks.yml", "databricks.yaml", "bundle.yml", "bundle.yaml")
# databricks/cli bundle/env/root.go: DATABRICKS_BUNDLE_ROOT, and BUNDLE_ROOT, its name until v0.204.0.
ROOT_VARIABLES = ("DATABRICKS_BUNDLE_ROOT", "BUNDLE_ROOT")
# databricks/cli bundle/env/target.go: the target when -t is not given (DATABRICKS_BUNDLE_ENV is its older name).
TARGET_VARIABLES = ("DATABRICKS_BUNDLE_TARGET", "DATABRICKS_BUNDLE_ENV")
# databricks/cli bundle/config/mutator/set_variables.go: a variable's value from the environment.
VARIABLE_PREFIX = "BUNDLE_VAR_"
# databricks/cli libs/dyn/dynvar/ref.go: `${a.b[0].c}` references (its pattern, in Python's syntax).
_WORD = r"[a-zA-Z]+(?:[-_]*[a-zA-Z0-9]+)*"
REFERENCE = re.compile(r"\$\{(" + _WORD + r"(?:\." + _WORD + r"(?:\[[0-9]+\])*)*(?:\[[0-9]+\])*)\}")
# databricks/cli libs/notebook: the extensions a local notebook may have; the workspace drops them on import.
NOTEBOOK_EXTENSIONS = (".py", ".r", ".scala", ".sql", ".ipynb")
_NOTEBOOK_HEADERS = {
    ".py": "# Databricks notebook source",
    ".sql": "-- Databricks notebook source",
    ".scala": "// Databricks notebook source",
    ".r": "# Databricks notebook source",
}
# The fields of a job's settings (databricks-sdk JobSettings), plus what a bundle adds to a job resource
# (`permissions`, docs.databricks.com/dev-tools/bundles/resources#job): anything else is an unknown field.
JOB_FIELDS = frozenset({*JobSettings.__dataclass_fields__, "permissions"})


@dataclass(frozen=True)
class Location:
    """Where a value was written: databricks/cli libs/dyn/location.go prints `file:line:column` (1-based), the
    file relative to the bundle root (libs/logdiag/logdiag.go, LogDiag)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic, printed as databricks/cli libs/cmdio/render.go's errorTemplate and warningTemplate print it:
    `Error: <summary>`, then `  at <path>` and `  in <file:line:col>` when known, then a blank line and the detail."""

    severity: str  # "Error" or "Warning"
    summary: str
    path: str = ""
    location: Location | None = None
    detail: str = ""

    def render(self) -> str:
        lines = [f"{self.severity}: {self.summary}"]
        if self.path:
            lines.append(f"  at {self.path}")
        if self.location is not None:
            lines.append(f"  in {self.location}")
        text = "\n".join(lines)
        if self.detail:
            text += f"\n\n{self.detail}"
        return text + "\n\n"


class BundleError(Exception):
    """The configuration cannot be used: the diagnostics say why (at least one is an error)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.summary for d in diagnostics))
        self.diagnostics = diagnostics


def error(summary: str, detail: str = "") -> BundleError:
    return BundleError([Diagnostic("Error", summary, detail=detail)])


@dataclass
class Bundle:
    """The resolved configuration (`config`, what `bundle validate -o json` prints) and where it came from."""

    root: Path
    config: dict[str, Any]
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config["bundle"]["name"]

    @property
    def target(self) -> str:
        return self.config["bundle"]["target"]

    @property
    def workspace(self) -> dict[str, Any]:
        return self.config["workspace"]

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return self.config.get("resources", {}).get("jobs", {}) or {}

    @property
    def lock_enabled(self) -> bool:
        """bundle.deployment.lock.enabled (docs: bundles/settings#bundle), on unless development mode turned it off."""
        lock = self.config["bundle"].get("deployment", {}).get("lock", {})
        return lock.get("enabled", True) is not False


def find_root(cwd: Path, environ: Mapping[str, str]) -> Path:
    """The bundle root: DATABRICKS_BUNDLE_ROOT (or BUNDLE_ROOT) when set, else the nearest folder from the working
    directory up holding a root file (databricks/cli bundle/root.go, mustGetRoot; messages from there)."""
    for name in ROOT_VARIABLES:
        value = environ.get(name)
        if value:
            path = Path(value)
            if not path.is_dir() or _root_file(path) is None:
                raise error(
                    f'Invalid bundle root {ROOT_VARIABLES[0]}="{value}": no bundle configuration file in it',
                    f"The {ROOT_VARIABLES[0]} environment variable must point to an existing directory that "
                    "contains a bundle configuration file.",
                )
            return path.resolve()
    for folder in (cwd, *cwd.parents):
        if _root_file(folder) is not None:
            return folder
    raise error(
        f"Unable to locate the bundle root: {ROOT_FILE_NAMES[0]} not found.",
        "Run this command from a directory that contains a bundle, or set the DATABRICKS_BUNDLE_ROOT environment "
        "variable to the bundle root directory.\nAlternatively, create a new bundle with 'databricks bundle init'.",
    )


def _root_file(folder: Path) -> Path | None:
    return next((folder / n for n in ROOT_FILE_NAMES if (folder / n).is_file()), None)


# --- reading YAML with locations ----------------------------------------------------------------------------------
class Located:
    """Values read from YAML files with the location of each, keyed by configuration path (`resources.jobs.a`,
    `tasks[0]`: databricks/cli libs/dyn/path.go's notation); `keys` holds where each mapping key was written."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.values: dict[str, Location] = {}
        self.keys: dict[str, Location] = {}

    def read(self, file: Path) -> Any:
        loader = yaml.SafeLoader(file.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as err:
            raise error(f"failed to load {file}: {err}") from None
        finally:
            loader.dispose()
        if node is None:
            return {}
        name = file.relative_to(self.root).as_posix()
        return self._value(node, "", name, loader)

    def _value(self, node: yaml.Node, path: str, file: str, loader: yaml.SafeLoader) -> Any:
        self.values[path] = _location(node, file)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = str(loader.construct_object(key_node))
                child = f"{path}.{key}" if path else key
                self.keys[child] = _location(key_node, file)
                out[key] = self._value(value_node, child, file, loader)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._value(n, f"{path}[{i}]", file, loader) for i, n in enumerate(node.value)]
        return loader.construct_object(node)

    def move(self, source: str, destination: str) -> None:
        """A target's section merged over the top level keeps its locations under the merged path."""
        for table in (self.values, self.keys):
            for path, location in list(table.items()):
                if path == source or path.startswith((source + ".", source + "[")):
                    table[destination + path[len(source) :]] = location


def _location(node: yaml.Node, file: str) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


# --- loading -------------------------------------------------------------------------------------------------------
def load(
    root: Path,
    target: str | None,
    variables: list[str],
    environ: Mapping[str, str],
    current_user: Callable[[], dict[str, Any]],
) -> Bundle:
    """The configuration of the bundle at `root` for a target, with `--var` assignments; `current_user` gives SCIM
    Me of the workspace (asked only once the configuration reads well). Raises BundleError."""
    located = Located(root)
    root_file = _root_file(root)
    assert root_file is not None
    config = located.read(root_file)
    if not isinstance(config, dict):
        raise error(f"{root_file.name}: expected a mapping at the top level")
    for included in _includes(root, config.get("include") or []):
        _merge_include(config, located.read(included))
    config.pop("include", None)
    name = (config.get("bundle") or {}).get("name")
    if not name:
        # docs.databricks.com/dev-tools/bundles/settings#bundle: bundle.name is required.
        raise BundleError([Diagnostic("Error", "bundle.name is required", "bundle", located.values.get("bundle"))])
    target = _select_target(config, target or _first(environ, TARGET_VARIABLES))
    _apply_target(config, target, located)
    _assign_variables(config, variables, environ, target)
    warnings = _unknown_job_fields(config, located)
    user = current_user()
    _workspace_paths(config, target, user)
    _development_mode(config, user)
    _resolve_references(config)
    _apply_name_prefix(config)
    errors = _tasks_without_compute(config, located) + _translate_paths(root, config, located)
    if errors:
        raise BundleError(warnings + errors)
    return Bundle(root, config, warnings)


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((environ[n] for n in names if environ.get(n)), None)


def _includes(root: Path, patterns: list[str]) -> list[Path]:
    """`include`: glob patterns relative to the bundle root, each file loaded once, in sorted order (databricks/cli
    bundle/config/loader/process_root_includes.go)."""
    seen: list[Path] = []
    for pattern in patterns:
        for match in sorted(glob.glob(pattern, root_dir=root, recursive=True)):
            path = root / match
            if path.is_file() and path not in seen and path.name not in ROOT_FILE_NAMES:
                seen.append(path)
    return seen


def _merge_include(config: dict[str, Any], included: Any) -> None:
    """An included file's sections merged into the root's (databricks/cli bundle/config/root.go, Merge)."""
    if isinstance(included, dict):
        _deep_merge(config, included)


def _deep_merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def _select_target(config: dict[str, Any], asked: str | None) -> str:
    """The target: the one asked for, else the only one, else the one marked `default: true`; without targets, one
    named "default" (databricks/cli bundle/config/mutator/select_default_target.go, select_target.go,
    default_target.go; their messages)."""
    targets = config.setdefault("targets", {}) or {}
    config["targets"] = targets
    if not targets:
        targets["default"] = {}
    if asked:
        if asked not in targets:
            raise error(f"{asked}: no such target. Available targets: {', '.join(targets)}")
        return asked
    if len(targets) == 1:
        return next(iter(targets))
    defaults = [name for name, t in targets.items() if (t or {}).get("default")]
    if len(defaults) > 1:
        raise error(f"multiple targets are marked as default ({', '.join(defaults)})")
    if not defaults:
        raise error("please specify target")
    return defaults[0]


def _apply_target(config: dict[str, Any], target: str, located: Located) -> None:
    """Merge the target's sections over the top level and drop `targets` (databricks/cli bundle/config/root.go,
    MergeTargetOverrides). A target's `variables` give values (`name: value`), not definitions (docs:
    bundles/variables#set-a-variables-value)."""
    chosen = config.pop("targets").get(target) or {}
    for section, value in chosen.items():
        if section in ("default", "variables"):
            continue
        if isinstance(value, dict) and isinstance(config.get(section), dict):
            _deep_merge(config[section], value)
        else:
            config[section] = copy.deepcopy(value)
        located.move(f"targets.{target}.{section}", section)
    definitions = config.setdefault("variables", {}) or {}
    for name, value in (chosen.get("variables") or {}).items():
        if name not in definitions:
            raise error(f"variable {name} is not defined but is assigned a value")
        definitions[name]["value"] = value
    bundle = config.setdefault("bundle", {})
    bundle["target"] = target
    if chosen.get("mode"):
        bundle["mode"] = chosen["mode"]


def _assign_variables(config: dict[str, Any], assignments: list[str], environ: Mapping[str, str], target: str) -> None:
    """Each variable's value: `--var name=value`, else BUNDLE_VAR_<name>, else the target's value, else its default
    (databricks/cli bundle/config/root.go InitializeVariables, bundle/config/mutator/set_variables.go; messages from
    there). `lookup` variables are not modelled."""
    definitions = config.get("variables") or {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep:
            raise error(f"unexpected flag value for variable assignment: {assignment}")
        if name not in definitions:
            raise error(f"variable {name} has not been defined")
        definitions[name]["value"] = value
    for name, definition in definitions.items():
        if definition is None:
            definitions[name] = definition = {}
        if "value" in definition:
            continue
        if VARIABLE_PREFIX + name in environ:
            definition["value"] = environ[VARIABLE_PREFIX + name]
        elif "default" in definition:
            definition["value"] = definition["default"]
        else:
            raise error(
                f"no value assigned to required variable {name}. Variables are usually assigned in databricks.yml, "
                f'and they can be overridden using "--var", the {VARIABLE_PREFIX}{name} environment variable, or '
                f".databricks/bundle/{target}/variable-overrides.json"
            )


def _unknown_job_fields(config: dict[str, Any], located: Located) -> list[Diagnostic]:
    """A job field that JobSettings does not have: a warning at the job, in the key's place (databricks/cli
    libs/dyn/convert/normalize.go: "unknown field: <name>")."""
    out = []
    for key, job in (config.get("resources", {}).get("jobs") or {}).items():
        for name in job or {}:
            if name not in JOB_FIELDS:
                path = f"resources.jobs.{key}"
                out.append(Diagnostic("Warning", f"unknown field: {name}", path, located.keys.get(f"{path}.{name}")))
    return out


# databricks/cli bundle/config/validate/job_task_cluster_spec.go: the task types that need compute, and its fields.
COMPUTE_TASK_TYPES = ("python_wheel_task", "dbt_task", "spark_jar_task", "spark_submit_task", "spark_python_task")
COMPUTE_FIELDS = ("job_cluster_key", "environment_key", "existing_cluster_id", "new_cluster")


def _tasks_without_compute(config: dict[str, Any], located: Located) -> list[Diagnostic]:
    """A task that runs on compute but names none: an error at the task (job_task_cluster_spec.go; its text)."""
    out = []
    for key, job in (config.get("resources", {}).get("jobs") or {}).items():
        for i, task in enumerate(job.get("tasks") or []):
            if not any(t in task for t in COMPUTE_TASK_TYPES) or any(task.get(f) for f in COMPUTE_FIELDS):
                continue
            path = f"resources.jobs.{key}.tasks[{i}]"
            detail = (
                f'Task "{task.get("task_key", "")}" requires a cluster or an environment to run.\n'
                f"Specify one of the following fields: {', '.join(COMPUTE_FIELDS)}."
            )
            summary = "Missing required cluster or environment settings"
            out.append(Diagnostic("Error", summary, path, located.values.get(path), detail))
    return out


def short_name(user: Mapping[str, Any]) -> str:
    """workspace.current_user.short_name: the user name before `@` (a service principal's display name), lower case,
    each run of other characters than letters and digits one `_`, trimmed (databricks/cli libs/iamutil/user.go
    GetShortUserName, libs/textutil/textutil.go NormalizeString)."""
    name = user.get("userName", "")
    if re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", name):
        name = user.get("displayName") or name
    local = name.split("@", 1)[0].lower()
    return re.sub(r"_+", "_", "".join(c if c.isalnum() else "_" for c in local)).strip("_")


def _workspace_paths(config: dict[str, Any], target: str, user: dict[str, Any]) -> None:
    """workspace.current_user, root_path (default `~/.bundle/<name>/<target>`, `~` the user's home
    `/Workspace/Users/<userName>`) and the paths under it (databricks/cli bundle/config/mutator/
    default_workspace_root.go, expand_workspace_root.go, default_workspace_paths.go)."""
    workspace = config.setdefault("workspace", {})
    workspace["current_user"] = {**user, "short_name": short_name(user)}
    root = workspace.get("root_path") or f"~/.bundle/{config['bundle']['name']}/{target}"
    if root.startswith("~/"):
        root = f"/Workspace/Users/{user['userName']}/{root[2:]}"
    workspace["root_path"] = root
    for name, leaf in (
        ("file_path", "files"),
        ("resource_path", "resources"),
        ("artifact_path", "artifacts"),
        ("state_path", "state"),
    ):
        workspace.setdefault(name, f"{root}/{leaf}")


def _development_mode(config: dict[str, Any], user: dict[str, Any]) -> None:
    """`mode: development`: names prefixed `[dev <short_name>] ` unless presets.name_prefix is set, and the deploy
    lock off unless bundle.deployment.lock.enabled is true (databricks/cli bundle/config/mutator/resourcemutator/
    apply_target_mode.go; docs: bundles/deployment-modes). Its tags, paused triggers and concurrent runs are not
    modelled."""
    if config["bundle"].get("mode") != "development":
        return
    presets = config.setdefault("presets", {})
    presets.setdefault("name_prefix", f"[dev {short_name(user)}] ")
    lock = config["bundle"].setdefault("deployment", {}).setdefault("lock", {})
    if lock.get("enabled") is not True:
        lock["enabled"] = False


def _apply_name_prefix(config: dict[str, Any]) -> None:
    """presets.name_prefix before each job's name (databricks/cli bundle/config/mutator/resourcemutator/
    apply_presets.go)."""
    prefix = (config.get("presets") or {}).get("name_prefix") or ""
    for key, job in (config.get("resources", {}).get("jobs") or {}).items():
        job["name"] = prefix + (job.get("name") or key)


def _resolve_references(config: dict[str, Any]) -> None:
    """`${...}` references to the configuration, `${var.x}` short for `${variables.x.value}`, resolved until none is
    left (databricks/cli bundle/config/mutator/resolve_variable_references.go; libs/dyn/dynvar). A reference that is
    the whole string keeps the referenced value's type. `${resources...}` is left as is: the CLI resolves it at
    deploy, which the stand-in does not model. An unknown reference fails: "reference does not exist: ${x}"."""
    for _ in range(11):  # the CLI's bound on resolution rounds
        changed = False

        def resolve(value: Any) -> Any:
            nonlocal changed
            if isinstance(value, dict):
                return {k: resolve(v) for k, v in value.items()}
            if isinstance(value, list):
                return [resolve(v) for v in value]
            if not isinstance(value, str) or "${" not in value:
                return value
            whole = REFERENCE.fullmatch(value)
            if whole and not whole.group(1).startswith("resources."):
                changed = True
                return _lookup(config, whole.group(1))

            def text(m: re.Match[str]) -> str:
                nonlocal changed
                if m.group(1).startswith("resources."):
                    return m.group(0)
                changed = True
                found = _lookup(config, m.group(1))
                return found if isinstance(found, str) else yaml.safe_dump(found, default_flow_style=True).strip()

            return REFERENCE.sub(text, value)

        resolved = resolve(config)
        config.clear()
        config.update(resolved)
        if not changed:
            return


def _lookup(config: dict[str, Any], reference: str) -> Any:
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", reference)
    if parts[0] == "var":
        parts = ["variables", parts[1], "value", *parts[2:]]
    value: Any = config
    for part in parts:
        if part.startswith("[") and isinstance(value, list) and int(part[1:-1]) < len(value):
            value = value[int(part[1:-1])]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise error(f"reference does not exist: ${{{reference}}}")
    return value


def _translate_paths(root: Path, config: dict[str, Any], located: Located) -> list[Diagnostic]:
    """A task's relative `notebook_task.notebook_path` or `spark_python_task.python_file` becomes the workspace path
    of the uploaded file under workspace.file_path, relative to the folder of the file that named it; a notebook loses
    its extension (databricks/cli bundle/config/mutator/translate_paths.go, translate_paths_jobs.go; messages from
    there). Absolute paths and URLs are left as they are."""
    file_path = config["workspace"]["file_path"]
    errors = []
    for key, job in (config.get("resources", {}).get("jobs") or {}).items():
        for i, task in enumerate(job.get("tasks") or []):
            where = located.values.get(f"resources.jobs.{key}.tasks[{i}]")
            folder = root / Path(where.file).parent if where else root
            for kind, name, notebook in (
                ("notebook_task", "notebook_path", True),
                ("spark_python_task", "python_file", False),
            ):
                spec = task.get(kind)
                if not isinstance(spec, dict) or not isinstance(spec.get(name), str):
                    continue
                literal = spec[name]
                if literal.startswith("/") or re.match(r"^[a-zA-Z][\w+.-]*:", literal):
                    continue
                local = (folder / literal).resolve()
                if not local.is_relative_to(root):
                    errors.append(Diagnostic("Error", f"path {local} is not contained in sync root path"))
                    continue
                if not local.is_file():
                    errors.append(Diagnostic("Error", f"{'notebook' if notebook else 'file'} {literal} not found"))
                    continue
                relative = local.relative_to(root).as_posix()
                if notebook and is_notebook(local):
                    relative = relative[: -len(local.suffix)]
                spec[name] = f"{file_path}/{relative}"
    return errors


def is_notebook(path: Path) -> bool:
    """A local file the workspace imports as a notebook: an `.ipynb`, or a source file whose first line is the
    notebook header (databricks/cli libs/notebook/detect.go)."""
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        return True
    header = _NOTEBOOK_HEADERS.get(suffix)
    if header is None:
        return False
    with path.open("rb") as handle:
        return handle.readline().decode("utf-8", "replace").strip() == header
