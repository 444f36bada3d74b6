"""The Maven packages a Spark server of the local workspace loads, resolved by Spark's own resolver.

Spark resolves `--packages` (`spark.jars.packages`) with Ivy: the local Maven repository (`~/.m2`) first, then
Ivy's cache, then Maven Central ("Advanced Dependency Management", spark.apache.org/docs/latest/submitting-
applications.html), and copies what it found into Ivy's cache, where later starts find it without the network.

Delta Lake: `io.delta:delta-spark_<Spark major.minor>_2.13:<delta-spark's version>`, the coordinates Delta's own
`configure_spark_with_delta_pip` asks for (delta-spark's `delta/pip_utils.py`): since Delta 4.1 its Spark-dependent
artifacts carry the Spark version they were built for (delta-io/delta `project/CrossSparkVersions.scala`). So the
installed pyspark, whose jars the server runs, picks the artifact and delta-spark picks its version. Delta's
compatibility table (docs.delta.io/releases) pairs 4.1 to 4.3 with Spark 4.0 and 4.1 and does not list 4.4 yet;
delta-spark 4.4 itself requires pyspark 4.0.1 to 4.2.0 (its Requires-Dist), and Maven Central serves its jars for
Spark 4.0, 4.1 and 4.2 (delta-spark_4.0_2.13 ... delta-spark_4.2_2.13), which is the pairing the `spark` extra pins.

Delta's Spark Connect plugins (`io.delta:delta-connect-server`, docs.delta.io/delta-spark-connect.html), which the
`DeltaTable` Python API needs over Spark Connect, are not loaded: Maven Central, as this project's machines reach it,
serves no version of them (it serves delta-spark), so every server start would fail on them.

Maven libraries of a task (`libraries: [{"maven": {"coordinates", "repo", "exclusions"}}]`, the Jobs API's
`MavenLibrary`, databricks-sdk `service/compute.py`) are loaded the same way, on the task's own server:
`coordinates` to `--packages`, `repo` to `spark.jars.repositories` ("If omitted, both Maven Central Repository and
Spark Packages are searched", as Spark's resolver does) and `exclusions` to `spark.jars.excludes`.

`python -m dbcicd_localworkspace.runtime.spark.packages [COORDINATES ...]` resolves Delta's package and the given ones
once, as a server start would, so that the tests' servers start from Ivy's cache (CI runs it before the tests).
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCALA = "2.13"  # the Scala version of pyspark 4's jars
# groupId:artifactId:version, as MavenLibrary.coordinates gives them ("Gradle-style maven coordinates").
_COORDINATES = re.compile(r"^[\w.\-]+:[\w.\-]+:[\w.\-+]+$")


class LibraryError(ValueError):
    """A task's `libraries` entry the local workspace cannot load; the message names it and the fix."""


@dataclass(frozen=True)
class MavenLibraries:
    """The Maven libraries of a task, as Spark's resolver takes them."""

    packages: tuple[str, ...] = ()
    repositories: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.packages)

    def to_json(self) -> dict[str, list[str]]:
        return {"packages": list(self.packages), "repositories": list(self.repositories),
                "exclusions": list(self.exclusions)}  # fmt: skip

    @classmethod
    def from_json(cls, value: Any) -> MavenLibraries:
        value = value if isinstance(value, dict) else {}
        return cls(*(tuple(str(v) for v in value.get(key) or ()) for key in ("packages", "repositories", "exclusions")))

    def conf(self) -> dict[str, str]:
        """The Spark settings besides `--packages`."""
        settings = {}
        if self.repositories:
            settings["spark.jars.repositories"] = ",".join(self.repositories)
        if self.exclusions:
            settings["spark.jars.excludes"] = ",".join(self.exclusions)
        return settings


def maven_libraries(libraries: Any, task_key: str) -> MavenLibraries:
    """The `maven` entries of a task's `libraries`; LibraryError naming a malformed one. Other kinds (pypi, whl,
    jar ...) are not loaded, as before."""
    packages: list[str] = []
    repositories: list[str] = []
    exclusions: list[str] = []
    for entry in libraries if isinstance(libraries, list) else []:
        maven = entry.get("maven") if isinstance(entry, dict) else None
        if maven is None:
            continue
        coordinates = maven.get("coordinates") if isinstance(maven, dict) else None
        if not isinstance(coordinates, str) or not _COORDINATES.match(coordinates):
            raise LibraryError(
                f"task {task_key}: libraries maven.coordinates must be groupId:artifactId:version (for example "
                f"com.h2database:h2:2.5.252), got {coordinates!r}"
            )
        packages.append(coordinates)
        repo = maven.get("repo")
        if repo and repo not in repositories:
            repositories.append(str(repo))
        exclusions += [str(e) for e in maven.get("exclusions") or () if str(e) not in exclusions]
    return MavenLibraries(tuple(packages), tuple(repositories), tuple(exclusions))


def delta() -> str | None:
    """Delta Lake's Maven coordinates for the installed pyspark and delta-spark; None without delta-spark."""
    try:
        version = importlib.metadata.version("delta-spark")
        spark = importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:
        return None
    major_minor = ".".join(spark.split(".")[:2])
    return f"io.delta:delta-spark_{major_minor}_{SCALA}:{version}"


def fetch(packages: str) -> int:
    """Resolve `packages` with Spark's resolver (spark-submit running an empty Python file), printing its report;
    spark-submit's exit code. SparkUnavailable without pyspark or Java."""
    from .servers import spark_submit, submit_environment

    with tempfile.TemporaryDirectory() as folder:
        empty = Path(folder) / "resolve.py"
        empty.write_text("", encoding="utf-8")
        command = [str(spark_submit()), "--packages", packages, str(empty)]
        return subprocess.run(command, env=submit_environment(), check=False).returncode


def main(argv: list[str]) -> int:
    from .servers import SparkUnavailable

    packages = [p for p in [delta(), *argv] if p]
    if not packages:
        print("delta-spark is not installed and no coordinates were given: no Maven package to fetch", file=sys.stderr)
        return 0
    try:
        return fetch(",".join(packages))
    except SparkUnavailable as err:
        print(err, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
