"""What the live (networked) sources share: the HTTP policy's knobs and the clock tests replace.

The knobs are the fields below (validated, with bounds); ``http_policy()`` turns them into the
one ``HttpPolicy`` (see ``pipelines.sources.http`` for the worst case they imply).
"""

from __future__ import annotations

from pydantic import Field, PrivateAttr

from models import clock as utc_clock
from models.clock import Clock
from pipelines.sources.base import PriceSource
from pipelines.sources.deadline import Deadline
from pipelines.sources.http import HttpPolicy
from pipelines.sources.retry import RetryPolicy


class LiveSource(PriceSource):
    """A ``PriceSource`` that calls a provider over the network, under the one HTTP policy."""

    max_attempts: int = Field(default=4, ge=1, le=10, description="Attempts per request.")
    backoff_base_s: float = Field(
        default=2.0, ge=0.0, le=60.0, description="First retry backoff in seconds, doubling."
    )
    backoff_max_s: float = Field(
        default=60.0, ge=0.0, le=600.0, description="Backoff ceiling in seconds."
    )
    max_retry_after_s: float = Field(
        default=120.0,
        ge=0.0,
        le=600.0,
        description="Longest Retry-After honoured, in seconds; a longer one fails the request.",
    )
    timeout_s: float = Field(
        default=30.0, gt=0.0, le=300.0, description="Per-request timeout in seconds."
    )
    min_interval_s: float = Field(
        default=0.0,
        ge=0.0,
        le=300.0,
        description="Least seconds between calls to the provider's host (shared by the process).",
    )
    deadline_s: float = Field(
        default=600.0,
        ge=1.0,
        le=3600.0,
        description="Total seconds one fetch may take; then the remaining symbols fail at once.",
    )
    _clock: Clock | None = PrivateAttr(default=None)

    @property
    def clock(self) -> Clock:
        """The clock this source reads and sleeps on: its own if a test set one, else FinScope's."""
        return self._clock or utc_clock.current()

    def http_policy(self) -> HttpPolicy:
        """The ``HttpPolicy`` of this source's fields."""
        return HttpPolicy(
            timeout_s=self.timeout_s,
            attempts=self.max_attempts,
            backoff_base_s=self.backoff_base_s,
            backoff_max_s=self.backoff_max_s,
            max_retry_after_s=self.max_retry_after_s,
            min_interval_s=self.min_interval_s,
            deadline_s=self.deadline_s,
        )

    def start_deadline(self) -> Deadline:
        """The total budget of one fetch, starting now on ``clock``."""
        return Deadline(self.deadline_s, self.clock)

    def retry_policy(self, deadline: Deadline | None = None) -> RetryPolicy:
        """Exponential backoff with jitter, honouring Retry-After, sleeping on ``clock``."""
        return self.http_policy().retry(self.clock, deadline)
