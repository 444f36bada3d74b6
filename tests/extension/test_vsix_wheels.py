"""The .vsix carries the product only: none of its wheels is or holds the local workspace, a program of its own
(`localworkspace/`, the distribution dbcicd-localworkspace) that agents never run."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

WHEELS = "tasks/databricks/wheels/"
# Where the local workspace lives in a wheel: its own package, or the folder it had inside dbcicd's.
LOCAL_WORKSPACE = ("dbcicd_localworkspace/", "dbcicd/localworkspace/")


def test_no_wheel_of_the_vsix_holds_the_local_workspace(vsix: Path) -> None:
    with zipfile.ZipFile(vsix) as archive:
        wheels = {n: archive.read(n) for n in archive.namelist() if n.startswith(WHEELS) and n.endswith(".whl")}
    names = sorted(Path(n).name for n in wheels)
    assert any(name.startswith("dbcicd-") for name in names), f"no dbcicd wheel in the .vsix: {names}"
    assert not [name for name in names if name.startswith("dbcicd_localworkspace-")], names
    carried = []
    for name, content in sorted(wheels.items()):
        with zipfile.ZipFile(io.BytesIO(content)) as wheel:
            carried += [f"{name}: {m}" for m in wheel.namelist() if m.startswith(LOCAL_WORKSPACE)]
    assert not carried, "the task's wheels carry the local workspace:\n" + "\n".join(carried[:10])
