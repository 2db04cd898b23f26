"""HttpClient against ``responses``: retries, Retry-After, timeouts, 4xx, pacing, deadline."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests
import responses

from models.clock import FrozenClock
from pipelines.sources.http import HOSTS, FetchError, HostPacer, HttpClient, HttpPolicy, redact_url
from tests.pipelines.sources.live_payloads import block_network, utc

FEED = "https://feeds.example.com/rss/markets"
RPC = "https://rpc.example.com/v3/abcdef0123456789abcdef0123456789"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    block_network(monkeypatch)


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(utc(2024, 6, 3, 12))


def client(clock: FrozenClock, **policy: float) -> HttpClient:
    knobs = {"jitter_s": 0.0, "backoff_base_s": 1.0, **policy}
    return HttpClient("test-feed", HttpPolicy(**knobs), clock=clock)  # type: ignore[arg-type]


def test_429_waits_as_told_then_succeeds(api: responses.RequestsMock, clock: FrozenClock) -> None:
    api.get(FEED, status=429, headers={"Retry-After": "42"})
    api.get(FEED, body="<rss/>")

    assert client(clock).get(FEED).text == "<rss/>"

    assert clock.slept == [42.0] and len(api.calls) == 2


def test_503_then_200_backs_off_once(api: responses.RequestsMock, clock: FrozenClock) -> None:
    api.get(FEED, status=503)
    api.get(FEED, json={"ok": True})

    assert client(clock, backoff_base_s=3.0).get_json(FEED) == {"ok": True}

    assert clock.slept == [3.0]


def test_timeouts_are_retried_then_named(api: responses.RequestsMock, clock: FrozenClock) -> None:
    for _ in range(3):
        api.get(FEED, body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(FetchError) as raised:
        client(clock, attempts=3, timeout_s=7.0).get(FEED, params={"page": 2})

    error = raised.value
    assert str(error) == (f"test-feed: GET {FEED}: ReadTimeout: read timed out (after 3 attempts)")
    assert error.status is None and clock.slept == [1.0, 2.0]
    assert [c.request.req_kwargs["timeout"] for c in api.calls] == [7.0] * 3


def test_a_404_fails_at_once_naming_source_url_and_status(
    api: responses.RequestsMock, clock: FrozenClock
) -> None:
    api.get(FEED, status=404, body="no such feed")

    with pytest.raises(FetchError) as raised:
        client(clock).get(FEED, params={"apikey": "s3cret"})

    assert str(raised.value) == f"test-feed: GET {FEED}: HTTP 404 Not Found: no such feed"
    assert raised.value.status == 404 and raised.value.source == "test-feed"
    assert len(api.calls) == 1 and clock.slept == []
    assert "s3cret" in str(api.calls[0].request.url) and "s3cret" not in str(raised.value)


def test_post_json_sends_the_body_and_keeps_keys_out_of_errors(
    api: responses.RequestsMock, clock: FrozenClock
) -> None:
    api.post(RPC, json={"jsonrpc": "2.0", "id": 1, "result": "0x10"})
    api.post(RPC, status=403, body=f"bad key for {RPC}")
    call = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
    rpc = client(clock)

    assert rpc.post_json(RPC, call)["result"] == "0x10"
    with pytest.raises(FetchError) as raised:
        rpc.post_json(RPC, call)

    assert json.loads(api.calls[0].request.body or b"") == call
    assert str(raised.value).startswith("test-feed: POST https://rpc.example.com/v3/***: HTTP 403")
    assert "abcdef0123456789" not in str(raised.value)


def test_an_answer_that_is_not_json_fails_at_once(
    api: responses.RequestsMock, clock: FrozenClock
) -> None:
    api.get(FEED, body="<html>maintenance</html>")

    with pytest.raises(FetchError, match="answer is not JSON: '<html>maintenance</html>'"):
        client(clock).get_json(FEED)

    assert len(api.calls) == 1


def test_the_deadline_stops_retries_and_later_requests(
    api: responses.RequestsMock, clock: FrozenClock
) -> None:
    api.get(FEED, status=503)
    feeds = client(clock, deadline_s=10.0, backoff_base_s=4.0, attempts=5, timeout_s=30.0)

    with pytest.raises(FetchError, match=r"deadline of 10 s reached \(after 2 attempt"):
        feeds.get(FEED)
    clock.advance(6.0)  # 4 + 6: the budget is spent
    with pytest.raises(FetchError, match=r"deadline of 10 s reached \(no attempt made"):
        feeds.get(FEED)

    assert len(api.calls) == 2 and clock.slept == [4.0]
    assert api.calls[0].request.req_kwargs["timeout"] == 10.0  # cut to what the deadline left
    assert api.calls[1].request.req_kwargs["timeout"] == 6.0


def test_calls_to_one_host_are_paced_across_clients(
    api: responses.RequestsMock, clock: FrozenClock
) -> None:
    other = "https://other.example.org/feed"
    api.get(FEED, body="a")
    api.get(FEED.replace("markets", "crypto"), body="b")
    api.get(other, body="c")
    first, second = client(clock, min_interval_s=5.0), client(clock, min_interval_s=5.0)

    first.get(FEED)
    clock.advance(2.0)
    second.get(FEED.replace("markets", "crypto"))  # same host, another client: waits 3 s
    second.get(other)  # another host: no wait

    assert clock.slept == [3.0]


def test_the_host_pacer_spaces_concurrent_callers() -> None:
    class StillClock(FrozenClock):
        def sleep(self, seconds: float) -> None:  # record only: all threads start at t0
            with lock:
                self.slept.append(seconds)

    lock = threading.Lock()
    clock, pacer = StillClock(utc(2024, 6, 3)), HostPacer()
    threads = [
        threading.Thread(target=pacer.wait, args=("api.example.com", 2.0, clock)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(clock.slept) == [2.0 * i for i in range(1, 8)]  # one caller goes at once


def test_shared_pacer_is_the_default() -> None:
    assert HttpClient("x").pacer is HOSTS


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@api.example.com/v1/q?apikey=k&x=1#f", "https://api.example.com/v1/q"),
        ("http://localhost:8545", "http://localhost:8545"),
        (
            "https://eth-mainnet.g.alchemy.com/v2/AbCdEf0123456789AbCdEf0123",
            "https://eth-mainnet.g.alchemy.com/v2/***",
        ),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_the_default_worst_case() -> None:
    policy = HttpPolicy()

    assert policy.worst_case_request_s == 4 * 30 + 3 * 120 == 480
    assert policy.deadline_s == 600
