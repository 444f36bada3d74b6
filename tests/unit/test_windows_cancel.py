"""Cancellation on Windows agents, checked on any platform: the agent sends CTRL_C, then CTRL_BREAK, then kills the
process tree (azure-pipelines-agent, src/Agent.Sdk/ProcessInvoker.Windows.cs), so SIGBREAK cancels like SIGTERM; and
Ctrl+C cannot interrupt a wait without a timeout there before Python 3.14 (python/cpython#74157), so the main
thread's waits are bounded slices."""

from __future__ import annotations

import signal
import threading
import time
from types import SimpleNamespace

import pytest

from dbcicd.steps import teardown
from dbcicd.steps.teardown import WAIT_SLICE_S, InFlight, cancel_signals


def test_sigbreak_cancels_where_it_exists() -> None:
    windows = SimpleNamespace(SIGINT=2, SIGTERM=15, SIGBREAK=21)
    posix = SimpleNamespace(SIGINT=2, SIGTERM=15)
    assert cancel_signals(windows) == (2, 15, 21)
    assert cancel_signals(posix) == (2, 15)
    assert set(cancel_signals()) >= {signal.SIGINT, signal.SIGTERM}


class RecordingEvent(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        return super().wait(timeout)


@pytest.mark.parametrize("how", ["result", "finished"])
def test_waits_for_a_call_in_flight_are_bounded_slices(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow create or submit: the main thread never blocks in one wait longer than WAIT_SLICE_S, so a Ctrl+C on
    Windows is handled within that, and clean-up starts while the agent still waits for the step."""
    monkeypatch.setattr(teardown.threading, "Event", RecordingEvent)
    release = threading.Event()
    call = InFlight(lambda: release.wait(5) and "made")
    threading.Timer(0.7, release.set).start()
    assert (call.result() if how == "result" else call.finished(10)) in ("made", True)
    event = call._done
    assert isinstance(event, RecordingEvent)
    assert len(event.timeouts) >= 3
    assert all(t is not None and t <= WAIT_SLICE_S for t in event.timeouts), event.timeouts


def test_a_bounded_wait_still_ends_at_its_timeout() -> None:
    call = InFlight(lambda: time.sleep(2))
    started = time.monotonic()
    assert call.finished(0.5) is False
    assert 0.45 <= time.monotonic() - started < 1.0
