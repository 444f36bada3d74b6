"""The Maven packages a Spark server of the local workspace loads, resolved by Spark's own resolver.

Spark resolves `--packages` (`spark.jars.packages`) with Ivy: the local Maven repository (`~/.m2`) first, then
Ivy's cache, then Maven Central ("Advanced Dependency Management", spark.apache.org/docs/latest/submitting-
applications.html), and copies what it found into Ivy's cache, where later starts find it without the network.
Resolving takes Ivy a second on every start (its report: "resolve 1101ms" for Delta's 33 jars, all in Ivy's cache);
so a set of packages is resolved once (`class_path`, spark-submit --packages on a script that prints the answer),
the answer kept in the local workspace's cache, and the servers start with those jars on the driver's class path
(`--driver-class-path`), where the executors of a local-mode server (threads of the driver's JVM) see them too.
(Databricks Runtime has Delta built in, docs.databricks.com/delta/; how its class path is laid out is not public.)

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
`MavenLibrary`, databricks-sdk `service/compute.py`) are resolved the same way, with Delta's, for the task's own
server: `coordinates` to `--packages`, `repo` to `spark.jars.repositories` ("If omitted, both Maven Central
Repository and Spark Packages are searched", as Spark's resolver does) and `exclusions` to `spark.jars.excludes`.

`python -m dbcicd_localworkspace.runtime.spark.prepare` resolves them ahead (prepare.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cache

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


def class_path(packages: Sequence[str], libraries: MavenLibraries, log: Path) -> list[str]:
    """The jars a Spark server with the Maven `packages` needs besides Spark's own, `libraries`' repositories and
    exclusions applied; [] for no packages. Spark's resolver finds them once (spark-submit --packages, its report
    appended to `log`); the answer is kept in the cache (cache.py) and used while its jars are all there.
    SparkUnavailable (its `output` the resolver's report) when they cannot be had."""
    from .servers import SparkUnavailable, spark_submit, submit_environment

    if not packages:
        return []
    key = json.dumps([importlib.metadata.version("pyspark"), list(packages), libraries.to_json()])
    remembered = _remembered_class_path(key)
    if remembered is not None:
        return remembered
    command = [str(spark_submit()), "--packages", ",".join(packages)]
    for setting, value in libraries.conf().items():
        command += ["--conf", f"{setting}={value}"]
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "class_path.py"
        script.write_text(_PRINT_CLASS_PATH, encoding="utf-8")
        done = subprocess.run(
            [*command, str(script)], env=submit_environment(), capture_output=True, text=True, check=False
        )
    with log.open("a", encoding="utf-8") as out:
        out.write(done.stderr)
    jars = [json.loads(line[len(_MARKER) :]) for line in done.stdout.splitlines() if line.startswith(_MARKER)]
    if done.returncode != 0 or not jars:
        raise SparkUnavailable(
            f"Spark's resolver could not have the Maven packages {', '.join(packages)} (exit code "
            f"{done.returncode}); the end of {log}:\n" + "\n".join(done.stderr.splitlines()[-20:]),
            done.stderr,
        )
    own = {_artifact(jar.name) for jar in (spark_submit().parents[1] / "jars").glob("*.jar")}
    needed = [jar for jar in jars[0] if _artifact(Path(jar).name, retrieved=True) not in own]
    _remember_class_path(key, needed)
    return needed


# spark-submit hands a Python application the jars it resolved in its PYTHONPATH (SparkSubmit.scala: "args.pyFiles =
# mergeFileLists(args.pyFiles, resolvedMavenCoordinates)" when the application is Python, and PythonRunner.scala puts
# the pyFiles first in the PYTHONPATH of the Python process it starts), so a script that prints them reads the
# resolver's answer without starting Spark.
_MARKER = "dbcicd-class-path:"
_PRINT_CLASS_PATH = f"""import json, os
jars = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p.endswith(".jar")]
print({_MARKER!r} + json.dumps(jars))
"""
# Spark's resolver copies each jar to `[organization]_[artifact]-[revision](-[classifier]).[ext]` (MavenUtils.scala,
# the retrieve pattern); Spark's own jars are `[artifact]-[revision].jar`.
_RETRIEVED = re.compile(r"^[^_]+_(?P<artifact>.+?)-\d[^/]*\.jar$")
_OWN = re.compile(r"^(?P<artifact>.+?)-\d[^/]*\.jar$")


def _artifact(name: str, retrieved: bool = False) -> str:
    """The artifact a jar file is of: a resolved jar Spark's own jars already have another version of is dropped,
    since Spark's classes come first (`spark.driver.userClassPathFirst` is false by default,
    spark.apache.org/docs/latest/configuration.html) as they do when `--packages` loads the jars; on the driver's
    class path, which comes before Spark's jars ("Extra classpath entries to prepend to the classpath of the
    driver", `spark.driver.extraClassPath` there), the older copy would shadow Spark's instead."""
    match = (_RETRIEVED if retrieved else _OWN).match(name)
    return match["artifact"] if match else name


def _cache_file(key: str) -> Path | None:
    folder = cache.folder()
    return folder / f"class-path-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json" if folder else None


def _remembered_class_path(key: str) -> list[str] | None:
    path = _cache_file(key)
    with contextlib.suppress(OSError, ValueError, TypeError):
        if path is not None:
            record = json.loads(path.read_text(encoding="utf-8"))
            if record["key"] == key and all(Path(jar).is_file() for jar in record["jars"]):
                return [str(jar) for jar in record["jars"]]
    return None


def _remember_class_path(key: str, jars: list[str]) -> None:
    path = _cache_file(key)
    if path is None:
        return
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        partial.write_text(json.dumps({"key": key, "jars": jars}), encoding="utf-8")
        os.replace(partial, path)
