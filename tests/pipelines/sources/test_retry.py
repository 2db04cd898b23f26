"""The shared retry policy: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import errno

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from models.clock import FrozenClock
from pipelines.sources.retry import (
    Deadline,
    DeadlineExceeded,
    RetryPolicy,
    TransientError,
    is_local_fault,
    is_transient,
    parse_retry_after,
    retry_after_of,
)
from tests.pipelines.sources.live_payloads import block_network, utc


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    block_network(monkeypatch)


def http_error(status: int, headers: dict[str, str] | None = None) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    return requests.HTTPError(f"HTTP {status}", response=response)


class Flaky:
    """Fails with the given exceptions in turn, then returns ``"ok"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(slept: list[float], **kw: float) -> RetryPolicy:
    return RetryPolicy(**{"jitter_s": 0.0, **kw}, sleep=slept.append)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Sat, 15 Jun 2024 12:02:00 GMT", 120.0),
        ("Sat, 15 Jun 2024 11:00:00 GMT", 0.0),  # already past
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=utc(2024, 6, 15, 12)) == seconds


def test_exponential_backoff_until_success() -> None:
    slept: list[float] = []
    fn = Flaky(TransientError("a"), TimeoutError("b"), ConnectionError("c"))

    assert policy(slept, attempts=4, base_s=1.0, max_s=3.0).call(fn) == "ok"

    assert fn.calls == 4
    assert slept == [1.0, 2.0, 3.0]  # 1, 2, 4 capped at max_s


def test_gives_up_after_the_attempts_with_the_last_error() -> None:
    slept: list[float] = []
    fn = Flaky(*(TransientError(f"try {i}") for i in range(5)))

    with pytest.raises(TransientError, match="try 2"):
        policy(slept, attempts=3).call(fn)

    assert fn.calls == 3 and len(slept) == 2


def test_a_permanent_error_is_not_retried() -> None:
    slept: list[float] = []
    fn = Flaky(ValueError("bad id"))

    with pytest.raises(ValueError, match="bad id"):
        policy(slept).call(fn)

    assert fn.calls == 1 and slept == []


def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    slept: list[float] = []
    fn = Flaky(TransientError("429", retry_after=30.0), TransientError("429", retry_after=0.5))

    policy(slept, base_s=1.0).call(fn)

    assert slept == [30.0, 2.0]  # max(30, 1), then max(0.5, 2)


def test_retry_after_beyond_the_cap_stops_at_once() -> None:
    slept: list[float] = []
    fn = Flaky(TransientError("429", retry_after=3600.0))

    with pytest.raises(TransientError):
        policy(slept, max_retry_after_s=300.0).call(fn)

    assert fn.calls == 1 and slept == []


def test_http_errors_retry_after_header() -> None:
    slept: list[float] = []
    fn = Flaky(http_error(503, {"retry-after": "7"}))

    assert policy(slept).call(fn) == "ok"

    assert slept == [7.0]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (http_error(429), True),
        (http_error(500), True),
        (http_error(504), True),
        (http_error(404), False),
        (http_error(422), False),
        (requests.exceptions.ReadTimeout("slow"), True),
        (requests.exceptions.ConnectionError("down"), True),
        (TimeoutError(), True),
        (ValueError("garbled"), False),
    ],
)
def test_what_is_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_retry_after_of_reads_headers_case_insensitively() -> None:
    assert retry_after_of(http_error(429, {"RETRY-AFTER": "119"})) == 119.0
    assert retry_after_of(http_error(429)) is None
    assert retry_after_of(ValueError()) is None


def test_decorator_form() -> None:
    slept: list[float] = []
    fn = Flaky(TransientError("once"))

    @policy(slept)
    def wrapped() -> str:
        """Docs survive."""
        return fn()

    assert wrapped() == "ok" and wrapped.__doc__ == "Docs survive." and slept == [1.0]


@given(
    failures=st.integers(1, 20),
    base=st.floats(0.01, 10),
    jitter=st.floats(0, 5),
    retry_after=st.none() | st.floats(0, 200),
)
def test_wait_is_bounded_and_never_shorter_than_asked(
    failures: int, base: float, jitter: float, retry_after: float | None
) -> None:
    p = RetryPolicy(base_s=base, max_s=30.0, jitter_s=jitter)

    wait = p.wait_s(failures, TransientError("x", retry_after=retry_after))

    assert min(30.0, base * 2 ** (failures - 1)) <= wait
    assert wait <= max(30.0, retry_after or 0.0)
    assert retry_after is None or wait >= retry_after


LOCAL_FAULTS = [
    OSError(errno.ENOSPC, "No space left on device"),
    PermissionError(errno.EACCES, "Permission denied"),
    PermissionError(errno.EPERM, "Operation not permitted"),
    OSError(errno.EROFS, "Read-only file system"),
]


@pytest.mark.parametrize("fault", LOCAL_FAULTS, ids=["ENOSPC", "EACCES", "EPERM", "EROFS"])
def test_local_faults_fail_at_once(fault: OSError) -> None:
    slept: list[float] = []
    fn = Flaky(fault)

    with pytest.raises(OSError) as raised:
        policy(slept).call(fn)

    assert raised.value is fault and fn.calls == 1 and slept == []
    assert is_local_fault(fault) and not is_transient(fault)


def test_a_local_fault_is_found_under_a_wrapper() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("cache write failed") from inner
    except RuntimeError as outer:
        assert is_local_fault(outer) and not is_transient(outer)


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError("timed out"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        requests.exceptions.ConnectTimeout("slow"),
    ],
)
def test_network_errors_stay_transient(error: BaseException) -> None:
    assert not is_local_fault(error) and is_transient(error)


def test_the_deadline_stops_a_wait_that_would_outlast_it() -> None:
    clock = FrozenClock(utc(2024, 6, 1))
    deadline = Deadline(10.0, clock)
    retry = RetryPolicy(attempts=5, base_s=4.0, jitter_s=0.0, sleep=clock.sleep, deadline=deadline)
    fn = Flaky(*(TransientError(f"try {i}") for i in range(5)))

    with pytest.raises(DeadlineExceeded, match=r"deadline of 10 s reached.*2 attempt.*try 1"):
        retry.call(fn)

    assert clock.slept == [4.0]  # 4 s fitted; the next 8 s would not, so it was not started
    assert fn.calls == 2


def test_a_spent_deadline_makes_no_attempt() -> None:
    clock = FrozenClock(utc(2024, 6, 1))
    deadline = Deadline(5.0, clock)
    clock.advance(5.0)
    fn = Flaky()

    with pytest.raises(DeadlineExceeded, match="no attempt made"):
        RetryPolicy(deadline=deadline, sleep=clock.sleep).call(fn)

    assert fn.calls == 0 and deadline.remaining() == 0.0 and not is_transient(DeadlineExceeded())
