"""The one clock: every "now", "today" and "yesterday" in FinScope is UTC and comes from here.

No FinScope code reads the local date (``date.today()``) or calls ``datetime.now()`` itself, so
the whole stack agrees on what "yesterday" is in any time zone. Tests freeze time::

    with clock.frozen(datetime(2027, 3, 1, 0, 30, tzinfo=UTC)):
        build(...)              # every asset, check and source sees 2027-03-01 00:30 UTC

``Clock`` is also what the networked sources and the retry policy sleep on, so a frozen clock
makes retries take no time (``FrozenClock.sleep`` records the wait and advances time).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta


class Clock:
    """Wall clock (UTC), monotonic clock and sleep in one injectable object."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)

    def today(self) -> date:
        """The current UTC date."""
        return self.now().date()

    def yesterday(self) -> date:
        """The last complete UTC day."""
        return self.today() - timedelta(days=1)

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        time.sleep(seconds)


class FrozenClock(Clock):
    """A clock that stands still until told otherwise; ``sleep`` records and advances time."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self.current = at.astimezone(UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.current.timestamp()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self.current += timedelta(seconds=seconds)


_system = Clock()
_current: Clock = _system


def current() -> Clock:
    """The clock in force (the system clock unless a test froze it)."""
    return _current


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _current.now()


def today() -> date:
    """The current UTC date."""
    return _current.today()


def yesterday() -> date:
    """The last complete UTC day."""
    return _current.yesterday()


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` the clock in force for the block."""
    global _current
    previous, _current = _current, clock
    try:
        yield clock
    finally:
        _current = previous


@contextmanager
def frozen(at: datetime) -> Iterator[FrozenClock]:
    """Freeze the clock in force at ``at`` (timezone-aware) for the block."""
    with use(FrozenClock(at)) as clock:
        assert isinstance(clock, FrozenClock)
        yield clock
