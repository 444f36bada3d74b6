"""Leaving nothing behind: cancellation by signal, and clean-up that runs on every way out of a command.

The first SIGINT/SIGTERM raises `Cancelled` in the main thread, which interrupts whatever call is under way; the
`finally` blocks then cancel the Databricks run and delete the temporary Git folder. Later signals are ignored so
they cannot interrupt that clean-up, which has a short time budget of its own (the agent sends SIGTERM 7.5 s after
SIGINT and kills the process 2.5 s later).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from databricks.sdk import WorkspaceClient

from .apicalls import name_calls
from .errors import Cancelled
from .output import Output

CLEANUP_BUDGET_S = 4.0
_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)


class Interrupts:
    """While active, the first SIGINT/SIGTERM raises `Cancelled`; the ones after it are only noted."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            return
        self.received = signal.Signals(signum).name
        raise Cancelled(f"Cancelled ({self.received}): stopping the run and cleaning up")

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def cleanup_client(client: WorkspaceClient) -> WorkspaceClient:
    """A client for clean-up calls: same credentials, short timeouts, so clean-up fits in the agent's grace time."""
    config = client.config.copy()
    config.http_timeout_seconds = 3
    config.retry_timeout_seconds = int(CLEANUP_BUDGET_S)
    return name_calls(WorkspaceClient(config=config))


class Teardown:
    """Clean-up actions registered as resources are made, run last-in-first-out, each at most once.

    Actions run in threads and are waited for at most CLEANUP_BUDGET_S in total, so a hanging API cannot keep the
    step alive past the agent's kill; failures become warnings naming what may be left behind.
    """

    def __init__(self, output: Output) -> None:
        self.output = output
        self._actions: list[tuple[str, Callable[[], None]]] = []

    def add(self, description: str, action: Callable[[], None]) -> Callable[[], None]:
        """Register an action; returns a function that unregisters it (when the resource is gone anyway)."""
        entry = (description, action)
        self._actions.append(entry)
        return lambda: self._actions.remove(entry) if entry in self._actions else None

    def run(self) -> None:
        deadline = time.monotonic() + CLEANUP_BUDGET_S
        while self._actions:
            description, action = self._actions.pop()
            errors: list[BaseException] = []

            def attempt(action: Callable[[], None] = action, errors: list[BaseException] = errors) -> None:
                try:
                    action()
                except BaseException as err:  # reported below; clean-up must go on
                    errors.append(err)

            worker = threading.Thread(target=attempt, name=f"cleanup: {description}", daemon=True)
            worker.start()
            worker.join(max(0.1, deadline - time.monotonic()))
            if worker.is_alive():
                self.output.warning(f"Clean-up did not finish in time: {description}. Check it by hand.")
            elif errors:
                self.output.warning(f"Clean-up failed: {description}: {errors[0]}")
