"""The pipeline task's core does not outlive its Node entry point.

The agent cancels a step by signalling Node, which passes the signals on (tasks/databricks/child.js). Node itself
may be killed outright, though: the agent's last step of a cancel on Linux and macOS kills Node alone, not its
children (azure-pipelines-agent, src/Agent.Sdk/ProcessInvoker.cs: KillProcessTree calls NixKillProcessTree there,
which is `_proc.Kill()` of the one process it started; Windows kills the tree), and the out-of-memory killer or a
killed agent end it without a word. A core left running then waits on a Databricks run
nobody will read, for as long as the run's timeout.

So Node hands the core one end of a pipe it never writes to, on the descriptor the environment names in VARIABLE,
and keeps the other; when Node ends, however it ends, the operating system closes its end and a read of ours sees
end-of-file (pipe(7); a read on Windows fails with a broken pipe). The core then cancels as the agent's SIGTERM would
(the run is cancelled and the temporary Git folder deleted, within the clean-up budget: steps/teardown.py) and, should
that not end it, exits when the grace the agent itself would have given has passed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping

from ..errors import EXIT_CANCELLED

VARIABLE = "DBCICD_LIFELINE_FD"
# What the agent gives a cancelled step before killing it: SIGTERM 7.5 s after SIGINT, the kill 2.5 s later
# (azure-pipelines-agent, src/Agent.Sdk/ProcessInvoker.cs, SendSIGINT and SendSIGTERM timeouts).
GRACE_S = 10.0


def watch(environ: Mapping[str, str]) -> None:
    """When the environment names a lifeline, watch it in the background: once it closes, cancel, and exit at the
    latest GRACE_S later. Without one (the CLI, a hand-run `dbcicd task`), nothing."""
    value = environ.get(VARIABLE, "")
    if not value.isdigit():
        return
    fd = int(value)
    with contextlib.suppress(OSError):
        os.set_inheritable(fd, False)  # no process the core starts holds it: only Node's end counts
        threading.Thread(target=_cancel_when_closed, args=(fd,), name="lifeline", daemon=True).start()


def _cancel_when_closed(fd: int) -> None:
    with contextlib.suppress(OSError):
        while os.read(fd, 1):  # nothing is ever written: the read returns when Node's end is closed
            pass
    print("The task's entry point ended: cancelling the run and cleaning up.", file=sys.stderr, flush=True)
    if os.name == "posix":
        os.kill(os.getpid(), signal.SIGTERM)  # to the process: its main thread is interrupted wherever it waits
    else:
        signal.raise_signal(signal.SIGTERM)
    time.sleep(GRACE_S)
    print(f"Still running {GRACE_S:g} s after the entry point ended: stopping.", file=sys.stderr, flush=True)
    os._exit(EXIT_CANCELLED)
