"""Leaving nothing behind: cancellation by signal, and clean-up that runs on every way out of a command.

The first SIGINT/SIGTERM (SIGBREAK on Windows) raises `Cancelled` in the main thread, which interrupts whatever call
is under way; the `finally` blocks then cancel the Databricks run and delete the temporary Git folder. Later signals
are ignored so they cannot interrupt that clean-up, which has a short time budget of its own (the agent sends
SIGTERM 7.5 s after SIGINT and kills the process 2.5 s later). A call that makes something (a Git folder, a run) is
made `InFlight`, so that clean-up can wait for what it made instead of looking for it before the server has made it
— or learn that it made nothing, because Databricks refused it or the host was never reached, and touch nothing.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from functools import partial
from types import FrameType
from typing import Generic, TypeVar

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, PermissionDenied, Unauthenticated

from ..connect.apicalls import named_like, refused
from ..connect.reach import NeverReached
from ..errors import Cancelled
from ..output import Output

CLEANUP_BUDGET_S = 4.0  # a cancelled step's: the agent sends SIGTERM 7.5 s after SIGINT
UNHURRIED_BUDGET_S = 60.0  # a step that ends by itself
RETRY_PAUSE_S = 0.5
Made = TypeVar("Made")
WAIT_SLICE_S = 0.2
"""The longest a wait of the main thread blocks at once. On Windows before Python 3.14 a signal cannot interrupt a
lock's acquire, so `threading.Event.wait()` without a timeout outlives Ctrl+C (python/cpython#74157, fixed in 3.14):
the handler runs only once the wait returns. Waits are therefore made of slices, each ending so that a pending
handler runs and raises `Cancelled`."""


def cancel_signals(module: object = signal) -> tuple[int, ...]:
    """The signals that cancel a step: SIGINT and SIGTERM, and SIGBREAK where it exists (Windows). On cancel the
    Windows agent sends CTRL_C, then CTRL_BREAK 7.5 s later, then kills the process tree (azure-pipelines-agent,
    src/Agent.Sdk/ProcessInvoker.cs, SendSIGINT and SendSIGTERM; ProcessInvoker.Windows.cs, SendCtrlSignal); Python
    receives CTRL_BREAK as SIGBREAK, whose default ends the process at once, cutting clean-up short."""
    names = ("SIGINT", "SIGTERM", "SIGBREAK")
    return tuple(getattr(module, name) for name in names if getattr(module, name, None) is not None)


def wait_interruptibly(event: threading.Event, timeout: float | None = None) -> bool:
    """`event.wait(timeout)` in slices of WAIT_SLICE_S, so that a signal interrupts it on Windows too."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        remaining = WAIT_SLICE_S if deadline is None else min(WAIT_SLICE_S, deadline - time.monotonic())
        if event.wait(max(0.0, remaining)):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False


_SIGNALS = cancel_signals()


class Interrupts:
    """While active, the first SIGINT/SIGTERM (or SIGBREAK on Windows) raises `Cancelled`; the ones after it are only
    noted, and passed to `on_repeat` (by signal name) so that the user who presses Ctrl+C again learns why nothing
    more happens."""

    def __init__(self, on_repeat: Callable[[str], None] | None = None) -> None:
        self.received: str | None = None
        self._previous: dict[int, object] = {}
        self._on_repeat = on_repeat

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:
            if self._on_repeat is not None:
                self._on_repeat(signal.Signals(signum).name)
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


class NothingMade(Exception):
    """Raised to a clean-up action by `InFlight.settled`: the call it was to undo made nothing, so it has nothing to
    do. `Teardown` ends the action quietly."""


class InFlight(Generic[Made]):
    """A call that makes something remotely (a Git folder, a run), made in a thread of its own.

    A signal interrupts the main thread waiting in `result()`, not the call: its request has been sent and the server
    acts on it whether or not the answer is read. Clean-up waits for that answer (`settled`) and removes what the
    call made; had the request been cut off, the folder or run would appear after clean-up had looked for it.
    """

    def __init__(self, call: Callable[[], Made]) -> None:
        self._done = threading.Event()
        self._made: Made | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(call,), name="in flight", daemon=True).start()

    def _run(self, call: Callable[[], Made]) -> None:
        try:
            self._made = call()
        except BaseException as err:  # raised again by result()
            self._error = err
        finally:
            self._done.set()

    def result(self) -> Made:
        """What the call made, or its error; a signal interrupts the wait."""
        wait_interruptibly(self._done)
        if self._error is not None:
            raise self._error
        return self._made  # type: ignore[return-value]

    def finished(self, timeout: float) -> bool:
        """Whether the call has ended, waiting up to `timeout` (an Event, not Thread.join: a signal that interrupts
        join() makes Python 3.11 take the thread for stopped while it still runs)."""
        return wait_interruptibly(self._done, timeout)

    @property
    def error(self) -> BaseException | None:
        return self._error

    def settled(self, timeout: float) -> Made | None:
        """What the call made once it has answered; None if it has not answered within `timeout` or failed in a way
        that may still have made something (an answer lost, a 5xx). Raises NothingMade if it made nothing for sure:
        Databricks refused it (a 4xx answers the request as a whole; a create retried after a lost answer meets the
        step's own 409, which `GitFolders.ensure` resolves) or no connection to the host could ever be opened."""
        self.finished(timeout)
        if self._error is not None and _made_nothing(self._error):
            raise NothingMade() from self._error
        return self._made


def cleanup_client(client: WorkspaceClient) -> WorkspaceClient:
    """A client for clean-up calls: same credentials, short timeouts, so clean-up fits in the agent's grace time."""
    config = client.config.copy()
    config.http_timeout_seconds = 3
    config.retry_timeout_seconds = int(CLEANUP_BUDGET_S)
    return named_like(WorkspaceClient(config=config), client)


class Teardown:
    """Clean-up actions registered as resources are made, run last-in-first-out, each until it succeeds.

    Actions run in threads. A cancelled step waits for them at most CLEANUP_BUDGET_S in total, so a hanging API
    cannot keep it alive past the agent's kill; a step that ends by itself may wait UNHURRIED_BUDGET_S for a slow
    workspace. Every action is safe to repeat (cancel a run, delete a folder), and the SDK retries neither a 500 nor
    anything once its own short budget is spent, so a failed action is tried again while the budget lasts; what
    still fails becomes a warning naming what may be left behind. Retrying cannot change a refusal of the step's
    credentials or permissions (401, 403) nor reach a host never reached: those fail the action at once.
    """

    def __init__(self, output: Output) -> None:
        self.output = output
        self._actions: list[tuple[str, Callable[[], None], float | None]] = []
        self._deadline = 0.0

    def add(
        self, description: str, action: Callable[[], None], hurried_budget: float | None = None
    ) -> Callable[[], None]:
        """Register an action; returns a function that unregisters it (when the resource is gone anyway).
        `hurried_budget`: the most a cancelled step waits for this action, keeping the rest of CLEANUP_BUDGET_S for
        the actions after it (reading what a run left must not cost the deletion of a folder)."""
        entry = (description, action, hurried_budget)
        self._actions.append(entry)
        return lambda: self._actions.remove(entry) if entry in self._actions else None

    def run(self, *, hurry: bool) -> None:
        """Run every action within the budget (`hurry`: the step is being cancelled). A signal that comes meanwhile
        hurries clean-up but must not cut it short: it is raised once clean-up is done."""
        self._deadline = time.monotonic() + (CLEANUP_BUDGET_S if hurry else UNHURRIED_BUDGET_S)
        cancelled: Cancelled | None = None
        while self._actions:
            description, action, hurried_budget = self._actions.pop()
            attempt = InFlight(partial(self._until_done, description, action))
            while True:
                hurried = hurry or cancelled is not None
                limit = self._deadline - time.monotonic()
                if hurried and hurried_budget is not None:
                    limit = min(limit, hurried_budget)
                try:
                    finished = attempt.finished(max(0.1, limit))
                    break
                except Cancelled as err:
                    cancelled = err
                    self._deadline = min(self._deadline, time.monotonic() + CLEANUP_BUDGET_S)
            if not finished:
                self.output.warning(f"Clean-up did not finish in time: {description}. Check it by hand.")
            elif attempt.error is not None:
                self.output.warning(f"Clean-up failed: {description}: {attempt.error}")
        if cancelled is not None:
            raise cancelled

    def _until_done(self, description: str, action: Callable[[], None]) -> None:
        """Run `action`, again after RETRY_PAUSE_S while it fails and the deadline allows; raises the last error."""
        while True:
            try:
                action()
                return
            except NothingMade:
                return
            except Exception as err:
                if _lasting(err) or time.monotonic() + RETRY_PAUSE_S >= self._deadline:
                    raise
                self.output.warning(f"Clean-up: {description} failed ({err}); trying again")
                time.sleep(RETRY_PAUSE_S)


def _made_nothing(err: BaseException) -> bool:
    """Whether a failed call certainly made nothing: refused by Databricks, or its host never reached."""
    return isinstance(err, NeverReached) or any(refused(e) for e in _chain(err) if isinstance(e, DatabricksError))


def _lasting(err: BaseException) -> bool:
    """Whether retrying within seconds cannot help: credentials or a permission refused, the host never reached."""
    return isinstance(err, NeverReached) or any(isinstance(e, (Unauthenticated, PermissionDenied)) for e in _chain(err))


def _chain(err: BaseException | None) -> list[BaseException]:
    """`err` and its causes (our errors wrap the SDK's: `raise RunFailed(...) from err`)."""
    chain = []
    while err is not None and err not in chain:
        chain.append(err)
        err = err.__cause__
    return chain
