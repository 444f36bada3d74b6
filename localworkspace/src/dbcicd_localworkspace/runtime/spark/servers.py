"""The Spark application behind a cluster of the local workspace: one Spark Connect server per cluster.

On Databricks the notebooks of every task on a cluster share one Spark application (its driver); here a cluster is a
Spark Connect server (`org.apache.spark.sql.connect.service.SparkConnectServer`, started as Spark's own
`sbin/start-connect-server.sh` starts it: spark-submit with that class) whose folder holds `server.json` (pid, port).
The first notebook that touches `spark` starts it; later ones, of any task and any run on the same cluster, attach to
it. It runs in a session of its own, so a task's end (which kills the task's process group) leaves it running; the
local workspace stops it: the `local` cluster's when the workspace stops, a run's own (serverless, a new or job
cluster) when that run ends. It is started on the workspace's lifeline (runtime/lifeline.py), so it also ends when the
workspace is killed outright.

Delta Lake: when delta-spark is installed, the server has Delta's jars (spark/packages.py) and is configured as
Delta's quickstart starts PySpark (docs.delta.io/quick-start.html, "PySpark Shell": `spark.sql.extensions` the
DeltaSparkSessionExtension, `spark.sql.catalog.spark_catalog` the DeltaCatalog), with `delta` the default table
format, as on Databricks ("Unless otherwise specified, all tables on Databricks are Delta tables",
docs.databricks.com/delta/). Spark's resolver finds the jars in the local Maven repository, Ivy's cache or Maven
Central; where none has them, the server is started without Delta (tables are then parquet), the reason kept in
`delta-unavailable` beside the server folders so that later starts do not try again and notebooks can say why. Only
Ivy's failures to resolve or download a package count as that: a resolution that failed otherwise fails the start.

A server's JVM maps the classes it needs from a class data archive when an earlier server with the same class path
left one (class_archive.py), which halves its start.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from .. import lifeline, process_records
from ..locks import exclusive
from . import class_archive
from .packages import MavenLibraries, class_path
from .packages import delta as delta_packages

NO_LIBRARIES = MavenLibraries()
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
SERVER_FILE, LOG_FILE, LOCK_FILE = "server.json", "server.log", "server.lock"
DELTA_UNAVAILABLE_FILE = "delta-unavailable"
START_TIMEOUT_SECONDS = 180.0
# What spark-submit ends with when Ivy (the resolver in Spark's jars) cannot have a --packages coordinate:
# `java.lang.RuntimeException: [unresolved dependency: io.delta#…: not found]`, or `[download failed: …!….jar]`
# when a repository has the package's pom but not its jar; the failures that mean Delta's jars cannot be had here.
UNRESOLVED = ("unresolved dependency", "download failed")
# What the server ends with when its port was taken (Utils.startServiceOnPort), and how often a start tries another.
PORT_TAKEN = "java.net.BindException"
BIND_ATTEMPTS = 3
PORT_FLOOR = 20000
STOP_GRACE_SECONDS = 10.0
DRIVER_MEMORY = "1g"  # spark.driver.memory's default (spark.apache.org/docs/latest/configuration.html)
# Delta's session settings (docs.delta.io/quick-start.html) and Delta as the default format, as on Databricks. A
# table's state (its log) is rebuilt in 2 tasks rather than Delta's default 50, as Delta's own build configures Spark
# "for running well locally" (delta-io/delta build.sbt, Test javaOptions): each time-travel read (`VERSION AS OF`)
# rebuilds a state, and 50 tasks of a few log files each took 25 s on a busy 2-core machine.
DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.sources.default": "delta",
    "spark.databricks.delta.snapshotPartitions": "2",
}
INSTALL_HINT = (
    "install the local workspace's Spark extra into the Python environment that runs it: "
    "pip install './localworkspace[spark]' in a clone of dbcicd (pyspark and delta-spark), "
    "with Java 17 on the machine (Debian/Ubuntu: apt-get install openjdk-17-jre-headless)"
)


class SparkUnavailable(Exception):
    """Spark cannot run here: pyspark or Java is missing, or the server did not start; the message says what to do,
    `output` is what the failed server wrote."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


def attach(folder: Path, warehouse: Path, libraries: MavenLibraries = NO_LIBRARIES) -> tuple[str, bool]:
    """(`sc://` address, whether the server has Delta Lake) of the Spark Connect server of `folder`, started (with
    the Maven `libraries`) when none runs there. Concurrent callers (tasks starting at once) wait for the one that
    starts it. A running server without all of `libraries` is SparkUnavailable: a JVM's class path is set when it
    starts."""
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive(str(folder / LOCK_FILE)):
        running = _record(folder)
        if running is not None:
            missing = [p for p in libraries.packages if p not in (running.get("libraries") or [])]
            if missing:
                raise SparkUnavailable(
                    f"the Spark server of {folder.name} runs without the Maven libraries {', '.join(missing)}, and "
                    "Spark loads packages when it starts: give the task a new_cluster or a job cluster, whose server "
                    "starts with them, or start the local workspace again"
                )
            # Listening, or still starting for a task that was killed meanwhile (a cancel): wait for it.
            port, pid = int(running["port"]), int(running["pid"])
            if _wait_listening(port, pid, None, time.monotonic() + START_TIMEOUT_SECONDS):
                return f"sc://127.0.0.1:{running['port']}", bool(running.get("delta"))
            _terminate(int(running["pid"]))
        spark_home = _spark_home()
        java = _java()
        log = folder / LOG_FILE
        delta_marker = folder.parent / DELTA_UNAVAILABLE_FILE
        delta = delta_packages() if not delta_marker.exists() else None
        jars = None
        if delta is not None:
            try:
                jars = class_path([delta, *libraries.packages], libraries, log)
            except SparkUnavailable as err:
                if not _delta_unresolved(delta, libraries, err, log):
                    raise  # not Delta's jars: a resolution that failed otherwise (killed, a library)
                delta_marker.write_text(
                    f"Delta Lake's jars ({delta}) could not be loaded, so tables are parquet; delete "
                    f"{delta_marker} to try again.\n{err}\n",
                    encoding="utf-8",
                )
                delta = None
        if jars is None:
            jars = class_path(libraries.packages, libraries, log)
        conf = {**_base_conf(warehouse), **(DELTA_CONF if delta else {})}
        start = _start(lambda port: _start_on(port, folder, spark_home, java, conf, jars, bool(delta), libraries))
        return start, bool(delta)


def _delta_unresolved(delta: str, libraries: MavenLibraries, failed: SparkUnavailable, log: Path) -> bool:
    """Whether the resolution of Delta's package with the task's `libraries` `failed` for want of Delta's jars: Ivy
    could not have a package, and it is not only a library's (Delta's package alone fails so too). Which package
    Ivy names is no answer: Delta's own dependencies are packages of their own."""
    if not _ivy_could_not_have(failed.output):
        return False
    if not libraries:
        return True
    try:
        class_path([delta], NO_LIBRARIES, log)
    except SparkUnavailable as alone:
        return _ivy_could_not_have(alone.output)
    return False


def _ivy_could_not_have(output: str) -> bool:
    return any(failure in output for failure in UNRESOLVED)


def delta_unavailable_reason(folder: Path) -> str | None:
    """Why the servers beside `folder` run without Delta Lake, when a start with it failed."""
    marker = folder.parent / DELTA_UNAVAILABLE_FILE
    with contextlib.suppress(OSError):
        return marker.read_text(encoding="utf-8").strip()
    return None


def stop(folder: Path) -> None:
    """Stop the server of `folder` (SIGTERM to its process group, SIGKILL after a grace period); harmless when
    none runs."""
    running = _record(folder)
    if running is not None:
        archive = running.get("class_archive")
        grace = class_archive.WRITE_GRACE_SECONDS if archive else STOP_GRACE_SECONDS
        class_archive.publish(archive, _terminate(int(running["pid"]), grace))
    with contextlib.suppress(OSError):
        (folder / SERVER_FILE).unlink()


def stop_all(root: Path, prefix: str = "") -> None:
    """Stop every server under `root` whose folder name starts with `prefix`."""
    for folder in sorted(root.glob(f"{prefix}*")) if root.is_dir() else []:
        if (folder / SERVER_FILE).exists():
            stop(folder)


def _base_conf(warehouse: Path) -> dict[str, str]:
    return {
        "spark.master": "local[*]",
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        # Each server's JVM heap is capped at Spark's default, whatever a spark-defaults.conf says, so that the
        # servers a workspace keeps running (the warm pool, spark/pool.py) are bounded in memory too.
        "spark.driver.memory": DRIVER_MEMORY,
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.log.level": "WARN",
    }


def _start(start_on: Callable[[int], str]) -> str:
    """`start_on` a free port; again on another when the port was taken before the JVM bound it."""
    for attempt in range(1, BIND_ATTEMPTS + 1):
        try:
            return start_on(_free_port())
        except SparkUnavailable as err:
            if PORT_TAKEN not in err.output or attempt == BIND_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _start_on(
    port: int,
    folder: Path,
    spark_home: Path,
    java: str,
    conf: Mapping[str, str],
    jars: list[str],
    delta: bool,
    libraries: MavenLibraries,
) -> str:
    command = [str(spark_submit(spark_home)), "--class", SERVER_CLASS, "--name", folder.name]
    if jars:
        command += ["--driver-class-path", os.pathsep.join(jars)]
    # The files of the driver's class path, which Spark's launcher makes of the extra class path, the conf folder and
    # Spark's jars (AbstractCommandBuilder.buildClassPath, in apache/spark's launcher/).
    spark_jars = sorted((spark_home / "jars").glob("*.jar"))
    java_options, archive = class_archive.java_options(java, [*map(Path, jars), spark_home / "conf", *spark_jars])
    if java_options:
        command += ["--driver-java-options", " ".join(map(_quoted_option, java_options))]
    for key, value in {**conf, "spark.connect.grpc.binding.port": str(port)}.items():
        command += ["--conf", f"{key}={value}"]
    env = submit_environment(spark_home, java)
    log = folder / LOG_FILE
    start_of_attempt = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        process = lifeline.start(
            command, cwd=folder, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    # Recorded before it listens, so that whoever stops this folder's server (the run's end, the workspace's) finds
    # a server whose starter was killed while it started.
    record = process_records.of(process.pid, f"the Spark Connect server of {folder.name}")
    extra = {"port": port, "delta": delta, "libraries": list(libraries.packages), "class_archive": archive}
    process_records.write(folder / SERVER_FILE, {**record, **extra})
    if not _wait_listening(port, process.pid, process, time.monotonic() + START_TIMEOUT_SECONDS):
        _terminate(process.pid)
        class_archive.publish(archive, ended_by_itself=False)
        with contextlib.suppress(OSError):
            (folder / SERVER_FILE).unlink()
        raise SparkUnavailable(
            f"the Spark Connect server did not start (exit code {process.poll()}); the end of {log}:\n" + _tail(log),
            _read_from(log, start_of_attempt),
        )
    return f"sc://127.0.0.1:{port}"


def _wait_listening(port: int, pid: int, process: subprocess.Popen[bytes] | None, deadline: float) -> bool:
    """Whether the server `pid` listens on `port` before `deadline`; False at once when its `process` has ended.

    Listening on the port is not enough: when another program took the port before the JVM bound it, the server
    fails (`java.net.BindException`) while the port answers, and a client would wait on that other program forever.
    Where /proc tells (Linux), the listening socket must be one of the server's own."""
    while not (_listening(port) and _listens_itself(pid, port)):
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return process is None or process.poll() is None


def _listens_itself(pid: int, port: int) -> bool:
    """Whether a listening socket of process `pid` has `port` (True where /proc cannot tell)."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    fds = Path(f"/proc/{pid}/fd")
    if not tables[0].exists():
        return True
    listening = set()
    for table in tables:
        with contextlib.suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    listening.add(f"socket:[{fields[9]}]")
    with contextlib.suppress(OSError):
        return any(os.readlink(fd) in listening for fd in fds.iterdir())
    return False


def _record(folder: Path) -> dict[str, object] | None:
    """The server record of `folder` when its process still runs (listening or starting); None otherwise."""
    record = process_records.read(folder / SERVER_FILE)
    if record is None or not isinstance(record.get("port"), int):
        return None
    return record if process_records.running(record) else None


def records(root: Path) -> list[Path]:
    """The record files of the servers under `root`."""
    return sorted(root.glob(f"*/{SERVER_FILE}")) if root.is_dir() else []


def _terminate(pid: int, grace: float = STOP_GRACE_SECONDS) -> bool:
    """Stop the process group of `pid`: SIGTERM, then SIGKILL after `grace` seconds; whether it ended by itself."""
    if os.name != "posix":
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(pid)], capture_output=True, check=False)
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    ended = not _alive(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    return ended


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child: reap it
            return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _spark_home() -> Path:
    if importlib.util.find_spec("pyspark") is None:
        raise SparkUnavailable(f"spark needs pyspark, which is not installed: {INSTALL_HINT}")
    home = os.environ.get("SPARK_HOME")
    if home:
        return Path(home)
    spec = importlib.util.find_spec("pyspark")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / _script("java", ".exe")) if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise SparkUnavailable(f"spark needs Java 17, which was not found (JAVA_HOME, PATH): {INSTALL_HINT}")
    return java


def spark_submit(spark_home: Path | None = None) -> Path:
    """The spark-submit of the installed pyspark (SparkUnavailable without pyspark)."""
    return (spark_home or _spark_home()) / "bin" / _script("spark-submit")


def submit_environment(spark_home: Path | None = None, java: str | None = None) -> dict[str, str]:
    """The environment spark-submit runs in (SparkUnavailable without pyspark or Java)."""
    java = java or _java()
    return {
        **os.environ,
        "SPARK_HOME": str(spark_home or _spark_home()),
        "JAVA_HOME": os.environ.get("JAVA_HOME") or str(Path(java).resolve().parents[1]),
        # Python UDFs run in workers of the same Python as the notebooks, with the same packages.
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        # Everything the server opens listens on loopback only (Spark otherwise binds its block manager and RPC to
        # the address the host name resolves to).
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def _quoted_option(option: str) -> str:
    """`option` as one word of --driver-java-options, which Spark's launcher splits as a shell would, honouring
    double quotes and backslash escapes (CommandBuilderUtils.parseOptionString): paths with spaces stay whole."""
    return '"' + option.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _script(name: str, windows_suffix: str = ".cmd") -> str:
    return name + windows_suffix if os.name == "nt" else name


def _free_port() -> int:
    """A port free now, below the range the system hands out to port-0 binds where it says which that is (Linux):
    the JVM binds its own port only seconds later, and Spark's other services bind port 0 meanwhile."""
    low = _ephemeral_low()
    for _ in range(50) if low > PORT_FLOOR else ():
        port = random.randrange(PORT_FLOOR, low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ephemeral_low() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return 0


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _read_from(path: Path, offset: int) -> str:
    with contextlib.suppress(OSError), path.open("rb") as fh:
        fh.seek(offset)
        return fh.read().decode("utf-8", "replace")
    return ""


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    return ""
