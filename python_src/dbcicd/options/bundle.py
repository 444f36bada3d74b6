"""The bundle inputs (`bundleDir`, `bundleTarget`, `bundleVariables`, `bundleJob`, `cliPath`, `cliVersion`), read and
checked before anything starts: the folder must hold a bundle's configuration file, the CLI must exist where it is
said to, and every value that reaches the Databricks CLI's command line must be one it cannot read as a flag.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import every_problem
from .names import Names
from .notebooks import split_patterns
from .request import TaskRequest

# The release the task installs when no CLI is on PATH and cliVersion is not given: the one whose documented bundle
# interface the task was tested against.
DEFAULT_CLI_VERSION = "1.13.0"
_VERSION = re.compile(r"\d+\.\d+\.\d+")
# databricks/cli package bundle/config, FileNames ("allowed names of root bundle configuration files"; in root.go in
# older releases): the names a bundle's root configuration file may have.
CONFIG_FILES = ("databricks.yml", "databricks.yaml", "bundle.yml", "bundle.yaml")
# Variable and resource keys as databricks/cli accepts them in `${var.<name>}` and `${resources.jobs.<key>...}`
# references (libs/dyn/dynvar/ref.go, baseVarDef: `[a-zA-Z]+([-_]*[a-zA-Z0-9]+)*`).
_KEY = re.compile(r"[a-zA-Z]+([-_]*[a-zA-Z0-9]+)*")
# A target is any YAML key; these are the characters a name given on a command line is checked to hold, so that
# no value can be read as a flag or split into two arguments.
_TARGET = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class BundleOptions:
    """Where the bundle is and how to call the Databricks CLI on it."""

    directory: Path  # the folder holding databricks.yml
    target: str  # '' for the bundle's default target
    variables: tuple[tuple[str, str], ...]  # bundleVariables, in the order given
    cli_path: str  # '' to look on PATH, then install
    cli_version: str
    cli_version_given: bool  # cliVersion was set: a CLI on PATH of another version is not used
    job_keys: tuple[str, ...] = ()  # run, test: the resource keys of the jobs to run (resources.jobs.<key>)
    force_lock: bool = False  # deploy and destroy: take the deploy lock over (the CLI's --force-lock)


def parse_bundle(request: TaskRequest, names: Names, checkout: str) -> BundleOptions:
    """The bundle inputs, or one ConfigurationError naming every one that is wrong and how to fix it."""
    problems: list[str] = []
    text = {
        "bundleDir": request.text("bundleDir"),
        "bundleTarget": request.text("bundleTarget"),
        "bundleVariables": request.text("bundleVariables"),
        "bundleJob": request.text("bundleJob"),
        "bundleForceLock": request.text("bundleForceLock"),
        "cliPath": request.text("cliPath"),
        "cliVersion": request.text("cliVersion"),
    }
    directory = _directory(text["bundleDir"], checkout, names, problems)
    target = text["bundleTarget"]
    if target and not _TARGET.fullmatch(target):
        problems.append(
            f"{names.input('bundleTarget')} '{target}' is not a target name: letters, digits, '_', '-' and '.', "
            "as under `targets:` in databricks.yml"
        )
    variables = _variables(text["bundleVariables"], names, problems)
    version = text["cliVersion"] or DEFAULT_CLI_VERSION
    if not _VERSION.fullmatch(version.removeprefix("v")):
        problems.append(
            f"{names.input('cliVersion')} '{version}' is not a release number: give one like {DEFAULT_CLI_VERSION} "
            "(github.com/databricks/cli/releases)"
        )
    cli_path = text["cliPath"]
    if cli_path and not (os.path.isfile(cli_path) and os.access(cli_path, os.X_OK)):
        problems.append(
            f"{names.input('cliPath')} {cli_path} is not an executable file: give the path of the databricks "
            "program, or leave it empty to use the one on PATH (or install cliVersion)"
        )
    job_keys = _job_keys(text["bundleJob"], names, problems)
    force = text["bundleForceLock"].lower()
    if force not in ("", "true", "false"):
        problems.append(f"{names.input('bundleForceLock')} must be true or false, got '{text['bundleForceLock']}'")
    if problems:
        raise every_problem(problems)
    return BundleOptions(
        directory,
        target,
        variables,
        cli_path,
        version.removeprefix("v"),
        bool(text["cliVersion"]),
        job_keys,
        force == "true",
    )


def _directory(raw: str, checkout: str, names: Names, problems: list[str]) -> Path:
    """bundleDir, relative to the checkout (default: the checkout itself); it must hold a configuration file."""
    base = Path(checkout or os.getcwd())
    directory = (base / raw).resolve() if raw else base.resolve()
    if not any((directory / name).is_file() for name in CONFIG_FILES):
        where = f"{names.input('bundleDir')} {raw}" if raw else f"The checkout {directory}"
        problems.append(
            f"{where} holds no databricks.yml: give {names.label('bundleDir')}, the folder of the bundle's "
            "databricks.yml, relative to the checkout"
        )
    return directory


def _job_keys(raw: str, names: Names, problems: list[str]) -> tuple[str, ...]:
    """bundleJob: one resource key per line (commas also separate, as in `notebooks`), each named once."""
    keys = split_patterns(raw)
    for key in keys:
        if not _KEY.fullmatch(key):
            problems.append(
                f"{names.input('bundleJob')} '{key}' is not a resource key: the name under resources.jobs in the "
                "bundle, e.g. nightly_tests"
            )
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        problems.append(f"{names.input('bundleJob')} names {', '.join(twice)} more than once: name each job once")
    return tuple(keys)


def _variables(raw: str, names: Names, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """key=value lines; a key as a bundle variable's name must be."""
    found = []
    for line in (line.strip() for line in raw.splitlines()):
        if not line:
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            problems.append(
                f"{names.input('bundleVariables')} line '{key if sep else line[:40]}' is not name=value with the name "
                "of a variable of the bundle (letters, digits, '-' and '_'), e.g. catalog=dev"
            )
            continue
        found.append((key, value.strip()))
    return tuple(found)
