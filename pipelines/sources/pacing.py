"""Pacing per host: a minimum interval between calls to one host, shared by the process."""

from __future__ import annotations

import threading

from models.clock import Clock
from pipelines.sources.deadline import Deadline, DeadlineExceeded

__all__ = ["HOSTS", "HostPacer"]


class HostPacer:
    """At least ``min_interval_s`` between calls to one host, across every thread and client.

    A caller reserves the next free slot under a lock and sleeps outside it, so concurrent
    callers queue up ``min_interval_s`` apart instead of all waking at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def wait(
        self, host: str, min_interval_s: float, clock: Clock, deadline: Deadline | None = None
    ) -> float:
        """Sleep until ``host`` may be called again, and mark the call.

        Returns:
            The seconds slept.

        Raises:
            DeadlineExceeded: the wait would outlast ``deadline`` (nothing is reserved).
        """
        key = host.lower()
        with self._lock:
            now = clock.monotonic()
            last = self._last.get(key)
            if last is None or min_interval_s <= 0:  # unpaced calls are marked, never held
                slot = now if last is None else max(now, last)
                wait = 0.0
            else:
                slot = max(now, last + min_interval_s)
                wait = slot - now
            if wait > 0 and deadline is not None and wait >= deadline.remaining():
                raise DeadlineExceeded(deadline.message(f"{host} may be called in {wait:.1f} s"))
            self._last[key] = slot
        if wait > 0:
            clock.sleep(wait)
        return wait

    def reset(self) -> None:
        """Forget every host (tests)."""
        with self._lock:
            self._last.clear()


HOSTS = HostPacer()
"""The pacer every client of this process shares."""
