"""The magic commands a notebook cell may start with, other than %python, %md, %run (see interpreter.py) and %pip
(libraries.py).

%sh runs in a shell in the notebook's working directory (bash where there is one, as on Databricks), its output
streaming into the notebook's; %fs is dbutils.fs in command form; %sql runs through spark. Anything else fails the
task with a message naming the magic.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
from typing import Any

from . import processes
from .dbfs import FsUtils
from .display import display
from .exceptions import UnsupportedCommand
from .spark.servers import INSTALL_HINT

FS_COMMANDS = ("ls", "head", "put", "mkdirs", "cp", "mv", "rm")
FS_FLAGS = {"-r": "recurse", "--recurse": "recurse", "-f": "overwrite", "--overwrite": "overwrite"}


def shell(script: str) -> None:
    """%sh: a non-zero exit status fails the cell (CalledProcessError, as Databricks raises it)."""
    bash = shutil.which("bash") if os.name == "posix" else None
    command, use_shell = ([bash, "-c", script], False) if bash else (script, True)
    with processes.started(command, shell=use_shell, cwd=os.getcwd()) as process:
        code = process.wait()
    if code != 0:
        raise subprocess.CalledProcessError(code, script.strip())


def fs(utils: FsUtils, command_line: str) -> None:
    """%fs ls /x, %fs cp -r a b, %fs rm -r x, %fs head /x 100, %fs put -f /x text, %fs mkdirs /x."""
    words = shlex.split(command_line)
    if not words or words[0] not in FS_COMMANDS:
        given = f"%fs {words[0]}" if words else "%fs without a command"
        raise UnsupportedCommand(f"{given} is not supported; use one of: {', '.join(FS_COMMANDS)}")
    name, args = words[0], words[1:]
    flags = {FS_FLAGS[a]: True for a in args if a in FS_FLAGS}
    positional: list[Any] = [a for a in args if a not in FS_FLAGS]
    if name == "head" and len(positional) > 1:
        positional[1] = int(positional[1])
    display(getattr(utils, name)(*positional, **flags))


def sql(text: str, namespace: dict[str, Any]) -> None:
    """%sql: each statement through spark.sql(), displaying the last result."""
    if importlib.util.find_spec("pyspark") is None:
        raise UnsupportedCommand(f"%sql cells need pyspark, which is not installed: {INSTALL_HINT}")
    result = None
    for statement in split_statements(text):
        result = namespace["spark"].sql(statement)
    display(result)


def refuse(magic: str) -> None:
    raise UnsupportedCommand(
        f"%{magic} is not supported by the local workspace: it runs Python cells and the %md, %run, %sh, %fs, "
        "%sql, %pip and %python magics"
    )


def split_statements(text: str) -> list[str]:
    """SQL statements separated by `;`, ignoring those inside quotes and `--` comments."""
    statements, current, quote, index = [], [], "", 0
    while index < len(text):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif text.startswith("--", index):
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        elif char == ";":
            statements.append("".join(current))
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]
