"""What the live (networked) sources share: the retry knobs and the clock tests replace."""

from __future__ import annotations

from pydantic import Field, PrivateAttr

from models import clock as utc_clock
from models.clock import Clock
from pipelines.sources.base import PriceSource
from pipelines.sources.retry import RetryPolicy


class LiveSource(PriceSource):
    """A ``PriceSource`` that calls a provider over the network, with retries and backoff."""

    max_attempts: int = Field(default=4, description="Attempts per request (retry policy).")
    backoff_base_s: float = Field(default=2.0, description="First retry backoff, doubling.")
    backoff_max_s: float = Field(default=60.0, description="Backoff ceiling in seconds.")
    _clock: Clock | None = PrivateAttr(default=None)

    @property
    def clock(self) -> Clock:
        """The clock this source reads and sleeps on: its own if a test set one, else FinScope's."""
        return self._clock or utc_clock.current()

    def retry_policy(self) -> RetryPolicy:
        """Exponential backoff with jitter, honouring Retry-After, sleeping on ``clock``."""
        return RetryPolicy(
            attempts=self.max_attempts,
            base_s=self.backoff_base_s,
            max_s=self.backoff_max_s,
            sleep=self.clock.sleep,
        )
