"""Warm Spark servers for the compute a run brings up for itself (serverless, a `new_cluster`, a job cluster).

Starting a Spark Connect server is a JVM start plus Delta's jars: seconds on a quiet machine, a minute on a busy one,
while attaching to a running one takes about a second. So the run-scoped compute of a run does not start a server of
its own when a warm one is free: the run leases it, and when the run ends the server is handed back, running, for
the next run. The pool is small and bounded: at most `size` servers (each a JVM whose heap Spark's
`spark.driver.memory` caps, servers.py), leased by one run's compute at a time; when all are leased, a run gets a
server of its own, stopped when it ends, as before. The pool's servers stop with the workspace.

Databricks' serverless compute likewise "automatically allocates and manages the necessary compute resources. This
speeds up start-up" (docs.databricks.com/compute/serverless/); which machine serves which run is not public, so the
pool's size and its reuse across runs are this workspace's choices, not a model of Databricks'. What a run sees is
the same either way: a Spark session of its own (Spark Connect gives each client a session of its own) and the
workspace's tables.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

FOLDER_PREFIX = "warm-"
DEFAULT_SIZE = 2
SIZE_VARIABLE = "DBCICD_LOCAL_WARM_SPARK"


def warm_pool_size() -> int:
    """The pool's size: `DBCICD_LOCAL_WARM_SPARK` (0 gives every run a server of its own), else DEFAULT_SIZE."""
    value = os.environ.get(SIZE_VARIABLE, "").strip()
    if not value:
        return DEFAULT_SIZE
    if not value.isdigit():
        raise ValueError(
            f"{SIZE_VARIABLE}={value!r} is no count of warm Spark servers: give a whole number such as 2 (0: a "
            "Spark server per run)"
        )
    return int(value)


class WarmPool:
    """Which run-scoped compute holds which warm server folder (`warm-0`, `warm-1`, ... under `servers`)."""

    def __init__(self, servers: Path, size: int = DEFAULT_SIZE) -> None:
        self._servers = servers
        self._size = size
        self._lock = threading.Lock()
        self._holders: dict[str, str] = {}  # folder name -> holder (the folder name the compute would have had)

    def lease(self, holder: str) -> Path | None:
        """The warm server folder `holder` holds, leased now when one is free; None when none is."""
        with self._lock:
            for name, held_by in self._holders.items():
                if held_by == holder:
                    return self._servers / name
            for index in range(self._size):
                name = f"{FOLDER_PREFIX}{index}"
                if name not in self._holders:
                    self._holders[name] = holder
                    return self._servers / name
        return None

    def release(self, holder_prefix: str) -> None:
        """Hand back every server a holder whose name starts with `holder_prefix` (a run's) leased; they keep
        running for the next run."""
        with self._lock:
            for name in [n for n, held_by in self._holders.items() if held_by.startswith(holder_prefix)]:
                del self._holders[name]
