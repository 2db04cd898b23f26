"""A total time budget for one source fetch, measured on FinScope's clock.

Every live fetch starts one ``Deadline``; the retry policy, the pacing per host and the
sources consult it, so that a slow or dead provider costs at most ``deadline_s`` per fetch:
once spent, the remaining requests are not made and their symbols fail at once with a reason
saying the deadline was reached.
"""

from __future__ import annotations

from models.clock import Clock

__all__ = ["Deadline", "DeadlineExceeded"]


class DeadlineExceeded(RuntimeError):
    """A fetch spent its total time budget; the request named was not (fully) made."""


class Deadline:
    """A total time budget of ``seconds`` on ``clock``, started when it is made."""

    def __init__(self, seconds: float, clock: Clock) -> None:
        self.seconds, self.clock = seconds, clock
        self._until = clock.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self._until - self.clock.monotonic())

    def expired(self) -> bool:
        """Whether the budget is spent."""
        return self.remaining() <= 0.0

    def message(self, detail: str = "") -> str:
        """``deadline of N s reached`` plus ``detail``: the reason failures report."""
        return f"deadline of {self.seconds:g} s reached" + (f" ({detail})" if detail else "")

    def check(self, detail: str = "") -> None:
        """Raise ``DeadlineExceeded`` if the budget is spent."""
        if self.expired():
            raise DeadlineExceeded(self.message(detail))
