"""Prepare this machine's Spark server starts ahead, as CI does before the tests:

    python -m dbcicd_localworkspace.runtime.spark.prepare [COORDINATES ...]

1. Spark's resolver fetches Delta's jars, alone and with the given Maven coordinates (a task's libraries), into Ivy's
   cache, and the class paths are remembered (packages.class_path): no server start downloads or resolves them.
2. A server with Delta's class path starts, runs a little Spark and Delta (a table written, merged, read at a
   version) and stops, writing the JVM's class archive of that class path (class_archive.py) when none was
   written yet: every later server maps its classes from it, the first one of a test run included.

Exit code 0 when done, 2 (saying why) when Spark cannot run here or the packages cannot be had.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from .. import process_records
from .packages import MavenLibraries, class_path, delta
from .servers import LOG_FILE, SERVER_FILE, SparkUnavailable, attach, stop

# What the archive should hold: the classes of a first Spark job, of Delta's writes, merges and time travel.
WARM_UP = (
    "CREATE TABLE prepared (id BIGINT, n BIGINT)",
    "INSERT INTO prepared SELECT id, id % 3 FROM range(10)",
    "MERGE INTO prepared t USING (SELECT 1 AS id, 7 AS n) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET n = s.n",
    "SELECT n, count(*) FROM prepared VERSION AS OF 1 GROUP BY n",
    "DROP TABLE prepared",
)


def main(argv: list[str]) -> int:
    delta_package = delta()
    base = [delta_package] if delta_package else []
    try:
        with tempfile.TemporaryDirectory() as folder:
            log = Path(folder) / LOG_FILE
            for packages in [base, [*base, *argv]] if argv and base else [[*base, *argv]]:
                if packages:
                    jars = class_path(packages, MavenLibraries(), log)
                    print(f"{', '.join(packages)}: {len(jars)} jars besides Spark's own")
            _write_class_archive(Path(folder), bool(base))
    except SparkUnavailable as err:
        print(err, file=sys.stderr)
        return 2
    return 0


def _write_class_archive(folder: Path, with_delta: bool) -> None:
    from pyspark.sql import SparkSession

    server = folder / "prepare"
    remote, _ = attach(server, folder / "warehouse")
    writes = bool((process_records.read(server / SERVER_FILE) or {}).get("class_archive"))
    try:
        session = SparkSession.builder.remote(remote).getOrCreate()
        for statement in WARM_UP if with_delta else ("SELECT id % 3, count(*) FROM range(10) GROUP BY 1",):
            session.sql(statement).collect()
        session.stop()
    finally:
        stop(server)
    print("the Spark servers' class archive: " + ("written" if writes else "there already, or another writes it"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
