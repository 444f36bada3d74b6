"""%pip install: notebook-scoped libraries, from an environment cached by the requirements asked for.

As on Databricks, what %pip installs is seen by this notebook and by the processes it starts, not by other tasks.
Each distinct set of requirement lines and pip options (for this interpreter) gets one environment in the
workspace's libraries folder, built once by `pip install --prefix` and then reused by every later task and run. pip
run that way installs only what the local workspace's own environment lacks, so the server's packages stay visible
and are not installed twice. A lock file keeps concurrent tasks from building one environment twice, and a build
killed halfway is started afresh by the next task. When this interpreter already satisfies every requirement,
nothing is built and the network is never touched.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shlex
import shutil
import site
import subprocess
import sys
from collections.abc import Iterator

from . import locks, paths, processes
from .exceptions import UnsupportedCommand

MANIFEST = "environment.json"
_SCRIPT_FOLDERS = ("bin", "Scripts", os.path.join("local", "bin"))  # pip's prefix schemes: POSIX, Windows, Debian
_REQUIREMENT = ("-r", "--requirement")
_CONSTRAINT = ("-c", "--constraint")
# pip options followed by a value, so that the value is not read as a requirement.
_WITH_VALUE = frozenset(("-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links",
                        "--trusted-host", "-e", "--editable", "--upgrade-strategy", "--no-binary", "--only-binary",
                        "--config-settings", "-C", "--progress-bar", "--timeout", "--retries", "--proxy", "--cache-dir",
                        "--log"))  # fmt: skip
# Options that choose where packages go: the environment decides that here.
_PLACEMENT = frozenset({"-t", "--target", "--prefix", "--root", "--user"})
# Options that leave "already satisfied" meaning what it says (unlike --upgrade or another index).
_QUIET = frozenset({"-q", "--quiet", "-qq", "-qqq", "-v", "--verbose"})


class Libraries:
    """The %pip command of one kernel process."""

    def __init__(self, root: str, leading_paths: int) -> None:
        self._root = root  # "" when the kernel's spec named no libraries folder
        self._leading = leading_paths  # sys.path entries that stay first: the notebook's folder, the Git folder
        self._started_pythonpath = os.environ.get("PYTHONPATH")

    def pip(self, text: str) -> None:
        """`%pip install ...`: install, or find installed, what the arguments and requirement files name."""
        lines, options = parse_install(text)
        if self._already_satisfied(lines, options):
            return
        environment = self._environment(lines, options)
        self._activate(environment)

    def _already_satisfied(self, lines: list[str], options: list[str]) -> bool:
        if not lines or any(option not in _QUIET for option in options):
            return False
        # Imported here: importlib.metadata would add tens of milliseconds to every kernel's start.
        from .requirements import installed, installed_match

        versions = installed()
        found = [installed_match(line, versions) for line in lines]
        if any(version is None for version in found):
            return False
        for line, version in zip(lines, found, strict=True):
            print(f"Requirement already satisfied: {line} ({version})")
        return True

    def _environment(self, lines: list[str], options: list[str]) -> str:
        """The environment's folder, built unless a task built it before."""
        if not self._root:
            raise UnsupportedCommand(
                "%pip install needs a folder for its environments: the kernel spec has no 'libraries_root'"
            )
        key = json.dumps([sys.version, sys.executable, lines, options])
        folder = os.path.join(self._root, hashlib.sha256(key.encode()).hexdigest()[:24])
        if os.path.isdir(folder):
            print(f"Using the environment built before for: {' '.join([*options, *lines])}")
            return folder
        os.makedirs(self._root, exist_ok=True)
        with locks.exclusive(folder + ".lock"):
            if not os.path.isdir(folder):  # another task may have built it while this one waited
                self._build(folder, lines, options)
        return folder

    def _build(self, folder: str, lines: list[str], options: list[str]) -> None:
        """pip installs into a staging folder, which becomes the environment in one rename once pip succeeded."""
        staging = folder + ".partial"
        shutil.rmtree(staging, ignore_errors=True)  # what a killed build left
        os.makedirs(staging)
        requirements = os.path.join(staging, "requirements.txt")
        with open(requirements, "w", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
        command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-warn-script-location",
                   "--prefix", staging, "-r", requirements, *options]  # fmt: skip
        environ = dict(os.environ)  # environments activated earlier must not count as installed for this one
        environ.pop("PYTHONPATH", None)
        if self._started_pythonpath is not None:
            environ["PYTHONPATH"] = self._started_pythonpath
        with processes.started(command, cwd=os.getcwd(), env=environ) as process:
            code = process.wait()
        if code != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise subprocess.CalledProcessError(code, "pip install " + " ".join(map(shlex.quote, [*options, *lines])))
        scripts = [name for name in _SCRIPT_FOLDERS if os.path.isdir(os.path.join(staging, name))]
        manifest = {"site_packages": list(_site_folders(staging)), "scripts": scripts}
        with open(os.path.join(staging, MANIFEST), "w", encoding="utf-8") as fh:
            json.dump(manifest, fh)
        os.replace(staging, folder)

    def _activate(self, folder: str) -> None:
        """Put the environment's packages on sys.path (after the notebook's own folders), PYTHONPATH and PATH."""
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as fh:
            manifest = json.load(fh)
        site_folders = [os.path.join(folder, relative) for relative in manifest["site_packages"]]
        for site_folder in reversed(site_folders):
            before = set(sys.path)
            site.addsitedir(site_folder)  # also runs the .pth files packages put there
            added = [entry for entry in sys.path if entry not in before]
            sys.path[:] = [entry for entry in sys.path if entry not in added]
            sys.path[self._leading : self._leading] = added
        _prepend("PYTHONPATH", site_folders)
        _prepend("PATH", [os.path.join(folder, relative) for relative in manifest["scripts"]])
        importlib.invalidate_caches()


def _prepend(variable: str, folders: list[str]) -> None:
    current = os.environ.get(variable)
    os.environ[variable] = os.pathsep.join([*folders, *([current] if current else [])])


def parse_install(text: str) -> tuple[list[str], list[str]]:
    """(requirement lines, pip options) of `install ...`, with requirement files read in place of `-r FILE`."""
    words = shlex.split(text.replace("\\\n", " "))
    if not words or words[0] != "install":
        given = f"%pip {words[0]}" if words else "%pip without a command"
        raise UnsupportedCommand(
            f"{given} is not supported by the local workspace: it runs `%pip install PACKAGE ...` and "
            "`%pip install -r requirements.txt`"
        )
    lines: list[str] = []
    options: list[str] = []
    args = iter(words[1:])
    for word in args:
        name, value = _option(word, args)
        if name in _REQUIREMENT:
            lines.extend(read_requirements(value, os.getcwd()))
        elif name in _PLACEMENT:
            raise UnsupportedCommand(
                f"%pip install {name} is not supported: the local workspace chooses where packages go"
            )
        elif name:
            options.extend([name] if value is None else [name, value])
        else:
            lines.append(word)
    if not lines and not options:
        raise ValueError("%pip install needs packages or a requirements file, e.g. %pip install -r requirements.txt")
    return lines, options


def _option(word: str, rest: Iterator[str]) -> tuple[str, str | None]:
    """('', None) for a requirement; else the option's name and its value (`-r x`, `-rx`, `--requirement=x`)."""
    if not word.startswith("-"):
        return "", None
    if word.startswith("--") and "=" in word:
        name, _, value = word.partition("=")
        return name, value
    if not word.startswith("--") and len(word) > 2 and word[:2] in _WITH_VALUE | set(_REQUIREMENT):
        return word[:2], word[2:]
    if word in _WITH_VALUE or word in _REQUIREMENT:
        value = next(rest, None)
        if value is None:
            raise ValueError(f"%pip install {word} needs a value, e.g. %pip install -r requirements.txt")
        return word, value
    return word, None


def read_requirements(given: str, base: str, seen: tuple[str, ...] = ()) -> list[str]:
    """The lines of a requirements file (`/Workspace/...` or relative to `base`), nested -r files in place and -c
    files made absolute, since the lines are handed to pip from another folder."""
    path = os.path.normpath(os.path.join(base, paths.translate(given)))
    if path in seen:
        raise ValueError(f"requirements file {given} includes itself: {' -> '.join([*seen, path])}")
    try:
        with open(path, encoding="utf-8-sig") as fh:
            text = fh.read()
    except OSError as err:
        raise FileNotFoundError(f"Could not open requirements file {given}: {err.strerror} ({path})") from None
    lines: list[str] = []
    words: Iterator[str]
    for line in _logical_lines(text):
        words = iter(line.split(None, 1)[1:])
        name, value = _option(line.split(None, 1)[0], words)
        if name in _REQUIREMENT and value is not None:
            lines.extend(read_requirements(value.strip(), os.path.dirname(path), (*seen, path)))
        elif name in _CONSTRAINT and value is not None:
            lines.append(f"{name} {os.path.join(os.path.dirname(path), paths.translate(value.strip()))}")
        else:
            lines.append(line)
    return lines


def _logical_lines(text: str) -> Iterator[str]:
    """Lines with `\\` continuations joined and comments (`#` at the start or after a space) removed."""
    pending = ""
    for raw in text.splitlines():
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        line = pending + raw
        pending = ""
        comment = line.find("#")
        while comment > 0 and not line[comment - 1].isspace():
            comment = line.find("#", comment + 1)
        line = (line if comment < 0 else line[:comment]).strip()
        if line:
            yield line


def _site_folders(root: str) -> Iterator[str]:
    """The site-packages folders pip made under `root` (lib/pythonX.Y/site-packages, Lib/site-packages, Debian's
    local/lib/pythonX.Y/dist-packages, lib64/...), relative to it."""
    for current, subfolders, _files in os.walk(root):
        if os.path.basename(current) in ("site-packages", "dist-packages"):
            subfolders.clear()
            yield os.path.relpath(current, root)
        elif os.path.relpath(current, root).count(os.sep) >= 3:
            subfolders.clear()
