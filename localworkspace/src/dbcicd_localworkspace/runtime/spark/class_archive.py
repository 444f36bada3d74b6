"""A class data sharing archive per Spark server class path, so that later servers map Spark's classes from it
instead of loading and verifying them one by one.

`-XX:ArchiveClassesAtExit=<file>` makes a JVM write, when it exits, an archive of the classes it loaded from its
class path (a dynamic archive, on top of the JDK's own), and `-XX:SharedArchiveFile=<file>` makes a later JVM with
the same class path map them from it ("Application Class Data Sharing" in the `java` command's reference,
docs.oracle.com/en/java/javase/17/docs/specs/man/java.html; JEP 350). A JVM whose class path, jars or JDK differ from
an archive's does not use it and runs as without one (`-Xshare:auto`, the default), so a stale archive costs time,
never correctness; the archive's name is made of the JDK and of every jar's path, size and time, so a new JDK or
pyspark gets an archive of its own. Measured on 2 quiet cores (a Delta server, start to first result): 10 s
without, 5 s with.

The first server of a class path writes the archive when it stops: its stop is given the seconds that takes, and
the archive is put in place only when that server ended by itself, never after it was killed. One server at a time
writes an archive (a claim file; a claim over an hour old is taken to be of a server killed before it stopped).
Archives live in the local workspace's cache (cache.py), some 200 MB each; deleting them is always safe. Each use
touches its archive, and one unused for UNUSED_DAYS (another pyspark's, an old JDK's) is deleted when a new one is put
in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import cache

WRITE_GRACE_SECONDS = 180.0  # the stop of a server writing the archive: 12 s measured on 2 quiet cores
CLAIM_STALE_SECONDS = 3600.0
UNUSED_DAYS = 30
PREFIX = "spark-classes-"


def java_options(java: str, class_path: Sequence[Path]) -> tuple[list[str], dict[str, str] | None]:
    """The JVM options of a server start whose class path is `class_path` (in order), and, when this start is to
    write the archive, what `publish` needs once the server has stopped."""
    folder = cache.folder()
    if folder is None or os.name != "posix":  # Windows: servers stop by taskkill /F, never by themselves (servers.py)
        return [], None
    final = folder / f"{PREFIX}{_key(java, class_path)}.jsa"
    if final.is_file():
        with contextlib.suppress(OSError):
            os.utime(final)  # used now: kept by the pruning in `publish`
        return [f"-XX:SharedArchiveFile={final}"], None
    partial = final.with_suffix(".partial")
    if not _claim(partial):
        return [], None
    # The JVM says, as warnings, each class it leaves out of the archive (hundreds of them): errors only.
    return [f"-XX:ArchiveClassesAtExit={partial}", "-Xlog:cds=error"], {"partial": str(partial), "final": str(final)}


def publish(archive: object, ended_by_itself: bool) -> None:
    """Put in place the `archive` (what `java_options` gave, as the server's record keeps it) a stopped server wrote
    when it ended by itself; drop what it left otherwise."""
    if not isinstance(archive, Mapping):
        return
    partial, final = Path(archive["partial"]), Path(archive["final"])
    with contextlib.suppress(OSError):
        if not (ended_by_itself and partial.stat().st_size > 0):
            partial.unlink()
            return
        os.replace(partial, final)
        for unused in final.parent.glob(f"{PREFIX}*.jsa"):
            if time.time() - unused.stat().st_mtime > UNUSED_DAYS * 86400:
                unused.unlink()


def _claim(partial: Path) -> bool:
    """Whether this start may write the archive: it made the claim (the partial file), or took over a stale one."""
    for _ in range(2):
        try:
            os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return True
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - partial.stat().st_mtime < CLAIM_STALE_SECONDS:
                    return False
                partial.unlink()
        except OSError:
            return False
    return False


def _key(java: str, class_path: Sequence[Path]) -> str:
    """What an archive is good for: the JDK (its binary and its module image, which a JDK update replaces) and each
    jar of the class path, in order."""
    java_home = Path(java).resolve().parents[1]
    files = [Path(java).resolve(), java_home / "lib" / "modules", *class_path]
    parts = []
    for path in files:
        with contextlib.suppress(OSError):
            stat = path.stat()
            parts.append([str(path), stat.st_size, stat.st_mtime_ns])
            continue
        parts.append([str(path)])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
