"""`dbutils.notebook.entry_point.getDbutils().notebook().getContext()`: the running notebook's context, as far as
notebooks read it to find their own path.

No docs.databricks.com page we found documents a Python API for a notebook's own path; this chain through the
JVM gateway is what public notebooks use (e.g. in GitHub repositories, `f"/Workspace{notebooks_dir}/personas"` or
`"/Workspace/" + path.rsplit("/", 2)[0]` from it). `notebookPath()` returns a Scala Option whose `get()` is the
notebook's workspace path without the `/Workspace` prefix (`/Repos/ci/proj/tests/test_unit`,
`/Users/x/proj/tests/run_tests`), which is why those notebooks prepend it to reach the files. Methods keep the JVM's
camelCase names. Only the path is modelled; any other method of the context raises an AttributeError naming it.
"""

from __future__ import annotations


class ScalaOption:
    """scala.Option as py4j hands it to Python: the value comes out with get()."""

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value


class NotebookContext:
    def __init__(self, workspace_path: str) -> None:
        self._workspace_path = workspace_path

    def notebookPath(self) -> ScalaOption:
        return ScalaOption(self._workspace_path)

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"getContext().{name} is not available in the local workspace; it offers getContext().notebookPath()"
        )


class _ContextNotebook:
    def __init__(self, workspace_path: str) -> None:
        self._workspace_path = workspace_path

    def getContext(self) -> NotebookContext:
        return NotebookContext(self._workspace_path)


class _GatewayDbutils:
    def __init__(self, workspace_path: str) -> None:
        self._workspace_path = workspace_path

    def notebook(self) -> _ContextNotebook:
        return _ContextNotebook(self._workspace_path)


class EntryPoint:
    """`dbutils.notebook.entry_point`: getDbutils().notebook().getContext() of the notebook this kernel runs."""

    def __init__(self, workspace_path: str) -> None:
        self._workspace_path = workspace_path

    def getDbutils(self) -> _GatewayDbutils:
        return _GatewayDbutils(self._workspace_path)
