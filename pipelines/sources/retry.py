"""The one retry policy for external I/O: bounded attempts, exponential backoff with jitter.

Transient failures (timeouts, dropped connections, HTTP 408/429/5xx, or an explicit
``TransientError``) are retried; anything else fails at once. Local faults (disk full, quota,
permission denied, read-only filesystem: ``is_local_fault``) are never transient, even when a
library reports them as the ``OSError`` it also uses for network trouble. When the provider
says how long to wait (``Retry-After``, in seconds or as an HTTP date) the wait is
``max(retry_after, backoff)``; a ``Retry-After`` longer than ``max_retry_after_s`` stops the
retries instead of stalling a run.

A ``Deadline`` bounds a whole fetch: once spent, no further attempt is made and no wait that
would outlast it is started; ``DeadlineExceeded`` (never retried) says so.

Time is injectable: ``RetryPolicy.sleep`` and ``Clock`` (``now``/``monotonic``/``sleep``) let
tests run without sleeping::

    policy = RetryPolicy(attempts=4, base_s=1.0, max_s=30.0, sleep=fake_sleep)
    payload = policy.call(client.get_thing, "id")
"""

from __future__ import annotations

import errno
import functools
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import ParamSpec, TypeVar

import requests
import tenacity

from models import clock as utc_clock
from models.clock import Clock
from pipelines.sources.deadline import Deadline, DeadlineExceeded

__all__ = [
    "Clock",
    "Deadline",
    "DeadlineExceeded",
    "RetryPolicy",
    "TransientError",
    "is_local_fault",
    "is_transient",
    "parse_retry_after",
]

P = ParamSpec("P")
T = TypeVar("T")

logger = logging.getLogger(__name__)

RETRYABLE_STATUS: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth another attempt."""
LOCAL_FAULT_ERRNOS: frozenset[int] = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS}
)
"""``OSError`` numbers of this machine's faults (disk full, quota, permission, read-only)."""


class TransientError(RuntimeError):
    """A failure worth retrying; ``retry_after`` is the provider's requested wait in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header value.

    Args:
        value: the header value: delta-seconds (``"120"``) or an HTTP date.
        now: the current UTC time for HTTP dates (default: the system clock).

    Returns:
        Seconds (never negative), or ``None`` if the value is absent or unparseable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or utc_clock.now())).total_seconds())


def retry_after_from_headers(headers: Mapping[str, str] | None) -> float | None:
    """The ``Retry-After`` of a (case-insensitive) header mapping, in seconds, or ``None``."""
    if not headers:
        return None
    value = headers.get("Retry-After")
    if value is None:  # plain dicts are case-sensitive
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    return parse_retry_after(value)


def is_local_fault(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is this machine's fault: disk full, quota, permission
    denied, read-only filesystem. Retrying cannot help; the whole fetch should stop."""
    seen: BaseException | None = exc
    for _ in range(8):  # libraries wrap; follow a few causes, never a cycle
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in LOCAL_FAULT_ERRNOS:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth another attempt (timeout, connection, HTTP 408/429/5xx).

    Never a ``DeadlineExceeded`` or a local fault (``is_local_fault``).
    """
    if isinstance(exc, DeadlineExceeded) or is_local_fault(exc):
        return False
    if isinstance(exc, TransientError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, requests.Timeout | requests.ConnectionError):
        return True
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return exc.response.status_code in RETRYABLE_STATUS
    return False


def retry_after_of(exc: BaseException | None) -> float | None:
    """The wait a failure asks for: ``TransientError.retry_after`` or an HTTP ``Retry-After``."""
    if isinstance(exc, TransientError):
        return exc.retry_after
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return retry_after_from_headers(exc.response.headers)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter, honouring ``Retry-After``.

    Attributes:
        attempts: total attempts including the first (1 = no retry).
        base_s: backoff after the first failure; doubles after each further one.
        max_s: ceiling of the backoff (jitter included).
        jitter_s: a uniform random ``0..jitter_s`` added to each backoff.
        max_retry_after_s: a ``Retry-After`` longer than this stops retrying.
        sleep: how to wait (``time.sleep``; tests pass a recorder).
        retry_if: which exceptions are retried (default ``is_transient``).
        deadline: the fetch's total budget: no attempt starts once it is spent, and no wait
            that would outlast it is started (``DeadlineExceeded`` is raised instead).
    """

    attempts: int = 4
    base_s: float = 1.0
    max_s: float = 60.0
    jitter_s: float = 1.0
    max_retry_after_s: float = 300.0
    sleep: Callable[[float], None] = time.sleep
    retry_if: Callable[[BaseException], bool] = is_transient
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    deadline: Deadline | None = None

    def backoff_s(self, failures: int) -> float:
        """The wait after ``failures`` consecutive failures, before any ``Retry-After``."""
        raw = self.base_s * 2 ** max(0, failures - 1) + self.rng.uniform(0.0, self.jitter_s)
        return min(self.max_s, raw)

    def wait_s(self, failures: int, exc: BaseException | None) -> float:
        """The wait before the next attempt: ``max(Retry-After, backoff)``."""
        backoff = self.backoff_s(failures)
        retry_after = retry_after_of(exc)
        return backoff if retry_after is None else max(retry_after, backoff)

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= self.attempts:
            return True
        exc = state.outcome.exception() if state.outcome else None
        retry_after = retry_after_of(exc)
        return retry_after is not None and retry_after > self.max_retry_after_s

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return self.wait_s(state.attempt_number, exc)

    @staticmethod
    def _log(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "attempt %d failed (%s); retrying in %.1f s", state.attempt_number, exc, wait
        )

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``fn(*args, **kwargs)``, retrying transient failures.

        Returns:
            What ``fn`` returns.

        Raises:
            DeadlineExceeded: the deadline was spent before an attempt, or the next wait would
                outlast it (chained to the last failure).
            The last exception once attempts are exhausted, at once if it is not transient.
        """
        deadline = self.deadline
        if deadline is not None:
            deadline.check("no attempt made")
        out_of_time = False

        def stop(state: tenacity.RetryCallState) -> bool:
            nonlocal out_of_time
            if self._stop(state):
                return True
            # tenacity computes the wait before asking whether to stop
            out_of_time = deadline is not None and state.upcoming_sleep >= deadline.remaining()
            return out_of_time

        retrying = tenacity.Retrying(
            stop=stop,
            wait=self._wait,
            retry=tenacity.retry_if_exception(self.retry_if),
            sleep=self.sleep,
            before_sleep=self._log,
            reraise=True,
        )
        try:
            return retrying(fn, *args, **kwargs)
        except Exception as exc:
            if out_of_time and deadline is not None:
                tries = retrying.statistics.get("attempt_number", 1)
                detail = f"after {tries} attempt(s); last error {type(exc).__name__}: {exc}"
                raise DeadlineExceeded(deadline.message(detail)) from exc
            raise

    def __call__(self, fn: Callable[P, T]) -> Callable[P, T]:
        """Use the policy as a decorator: ``@RetryPolicy(attempts=3)``."""

        @functools.wraps(fn)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
            return self.call(fn, *args, **kwargs)

        return wrapped
