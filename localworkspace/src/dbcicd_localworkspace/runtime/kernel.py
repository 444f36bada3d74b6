"""The notebook kernel: `python kernel.py spec.json` runs one notebook or Python file in this process.

The run engine starts it with the spec's `cwd` as working directory, output going to log files, in a process group
of its own. spec.json (UTF-8 JSON object):
  kind            "notebook" | "python_file"
  file            disk path of the notebook (.py source format, plain .py, .ipynb) or Python file
  workspace_path  the notebook's workspace path, e.g. /Repos/ci/demo/nb/hello (for `%run` and notebook.run)
  parameters      {name: value} widget values;  argv: [str] sys.argv[1:] of a Python file
  cwd, sys_path   working directory; folders put first on sys.path, in order
  workspace_root, dbfs_root, volumes_root   the folders behind /Workspace (and absolute workspace paths),
                  dbfs:/ and /dbfs, /Volumes
  dbfs_root_disabled  (optional) true when the workspace refuses the DBFS root (runtime/dbfs.py)
  result_file     where {"exit_value", "error", "error_trace"} is written (atomically) unless the process is killed
  libraries_root  (optional) where `%pip install` keeps its environments, one per set of requirements
  secrets_file    (optional) the workspace's secret scopes (runtime/secret_store.py), for dbutils.secrets
  spark_server, spark_remote, spark_warehouse, catalog_file   (optional) for `spark`: the folder of the cluster's
                  Spark Connect server or the sc:// address of one, the table warehouse, the Unity Catalog state
Exit status: 0 success (dbutils.notebook.exit included), 1 failure (result_file says why), 2 unusable spec.

Standard library only, so a notebook starts in a few tens of milliseconds.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

PACKAGE = "_dbcicd_kernel"


def _load_runtime_package() -> None:
    """Import this folder as a package of a private name: run as a script, its modules must not be importable under
    names a notebook may use for its own (`paths`, `cells`), and importing it through dbcicd would load the server."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        PACKAGE, os.path.join(here, "__init__.py"), submodule_search_locations=[here]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)


if __name__ == "__main__":
    del sys.path[0]  # this folder: the notebook's sys.path is the spec's
    _load_runtime_package()
    sys.exit(importlib.import_module(f"{PACKAGE}.session").main(sys.argv[1:]))
