"""The one HTTP policy for every external client: timeouts, retries, pacing per host, a deadline.

``HttpPolicy`` holds the knobs; ``HttpClient`` applies them to ``requests`` (RSS feeds, JSON
APIs, JSON-RPC endpoints); the library-backed price sources (yfinance, pycoingecko) apply the
same ``RetryPolicy``, ``HostPacer`` and ``Deadline`` around their library's calls::

    client = HttpClient("coindesk-rss", HttpPolicy(min_interval_s=1.0))
    feed = client.get("https://www.coindesk.com/arc/outboundfeeds/rss/").text
    block = client.post_json(rpc_url, {"jsonrpc": "2.0", "method": "eth_blockNumber", ...})

- Timeouts: every request has one (``timeout_s``, cut to what the deadline leaves).
- Retries: transient failures only (timeouts, connection errors, HTTP 408/429/5xx), with
  exponential backoff and jitter, honouring ``Retry-After`` up to ``max_retry_after_s``. A 4xx,
  an answer that is not JSON, a local fault (disk full, permission denied) fail at once.
- Pacing: at least ``min_interval_s`` between calls to the same host, shared by every client in
  the process (``HOSTS``), thread-safe.
- Errors: ``FetchError`` names the source, the request (method and URL, without query string,
  credentials or key-like path segments) and the reason (``HTTP 404 Not Found``, ...).

Worst case. One request whose every attempt fails slowly takes at most::

    attempts * timeout_s + (attempts - 1) * max(backoff_max_s, max_retry_after_s)

plus its pacing wait. A whole fetch takes at most ``deadline_s``: no request or pause starts
once the deadline is spent, no wait that would outlast it starts, and each timeout is cut to
the time left. (``requests`` applies a timeout to the connect and to each read, so a server
that trickles bytes can stretch the request in flight; yfinance may make two or three HTTP
calls per symbol, each with the timeout.) With the defaults (4 attempts, 30 s timeout,
backoff up to 60 s, ``Retry-After`` up to 120 s): 4 * 30 + 3 * 120 = 480 s per request,
600 s per fetch; before, a fetch had no bound at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from models import clock as utc_clock
from models.clock import Clock
from pipelines.sources.deadline import Deadline, DeadlineExceeded
from pipelines.sources.pacing import HOSTS, HostPacer
from pipelines.sources.retry import RetryPolicy, is_local_fault

__all__ = ["HOSTS", "FetchError", "HostPacer", "HttpClient", "HttpPolicy", "redact_url"]

_KEYLIKE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-]{24,}$")
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{24,}")
_QUERY = re.compile(r"\?[^\s'\")]+")


class FetchError(RuntimeError):
    """A request to a provider failed for good: names the source, what was asked and why.

    Attributes:
        source: the provenance name (``yahoo``, ``coindesk-rss`` ...).
        request: what was asked, free of secrets (``GET https://host/path``, or a symbol and
            window).
        reason: why it failed (``HTTP 404 Not Found``, ``ReadTimeout: ...``, a deadline).
        status: the HTTP status, if an answer came.
    """

    def __init__(self, source: str, request: str, reason: str, status: int | None = None) -> None:
        self.source, self.request, self.reason, self.status = source, request, reason, status
        super().__init__(f"{source}: {request}: {reason}")


@dataclass(frozen=True)
class HttpPolicy:
    """Timeout, retries, pacing per host and the total deadline of one client's fetch."""

    timeout_s: float = 30.0
    attempts: int = 4
    backoff_base_s: float = 2.0
    backoff_max_s: float = 60.0
    jitter_s: float = 1.0
    max_retry_after_s: float = 120.0
    min_interval_s: float = 0.0
    deadline_s: float = 600.0

    @property
    def worst_case_request_s(self) -> float:
        """The longest one request can take, pacing aside (see the module docstring)."""
        waits = (self.attempts - 1) * max(self.backoff_max_s, self.max_retry_after_s)
        return self.attempts * self.timeout_s + waits

    def retry(self, clock: Clock, deadline: Deadline | None = None) -> RetryPolicy:
        """The ``RetryPolicy`` of these knobs, sleeping on ``clock``, bounded by ``deadline``."""
        return RetryPolicy(
            attempts=self.attempts,
            base_s=self.backoff_base_s,
            max_s=self.backoff_max_s,
            jitter_s=self.jitter_s,
            max_retry_after_s=self.max_retry_after_s,
            sleep=clock.sleep,
            deadline=deadline,
        )


def redact_url(url: str, secrets: Sequence[str] = ()) -> str:
    """``url`` fit for logs and messages: no credentials, query or fragment; key-like path
    segments (24+ letters and digits, as in ``/v3/<key>``) and ``secrets`` shown as ``***``."""
    parts = urlsplit(url)
    path = "/".join("***" if _KEYLIKE.match(seg) else seg for seg in parts.path.split("/"))
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{parts.port}" if parts.port else host
    return _mask(urlunsplit((parts.scheme, netloc, path, "", "")), secrets)


def _mask(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _scrub(text: str, secrets: Sequence[str], limit: int = 200) -> str:
    """An error text with query strings, key-like words and secrets masked, whitespace
    collapsed, cut to ``limit`` characters."""
    text = _QUERY.sub("?***", _mask(text, secrets))
    text = _TOKEN.sub(lambda m: "***" if _KEYLIKE.match(m.group()) else m.group(), text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class HttpClient:
    """A ``requests`` client that applies an ``HttpPolicy`` to every call.

    One client serves one fetch: its ``deadline`` starts when it is made (or pass one).

    Args:
        source: the name failures carry (``coindesk-rss``, ``ethereum-rpc`` ...).
        policy: timeouts, retries, pacing and deadline.
        session: a ``requests.Session`` to use (default: a new one with no retries of its own).
        clock: what to sleep and measure on (default: FinScope's clock in force).
        pacer: the per-host pacer (default: ``HOSTS``, shared by the process).
        headers: headers for every request (an API key belongs here, never in the URL).
        secrets: strings never to show in errors (keys inside an RPC URL, say).
        deadline: the fetch's budget (default: ``policy.deadline_s`` from now).
    """

    def __init__(
        self,
        source: str,
        policy: HttpPolicy | None = None,
        *,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        pacer: HostPacer | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        deadline: Deadline | None = None,
    ) -> None:
        self.source = source
        self.policy = policy or HttpPolicy()
        self.clock = clock or utc_clock.current()
        self.pacer = pacer or HOSTS
        self.secrets = tuple(s for s in secrets if s)
        self.deadline = deadline or Deadline(self.policy.deadline_s, self.clock)
        if session is None:
            session = requests.Session()
            for prefix in ("https://", "http://"):  # the policy is the only retry layer
                session.mount(prefix, HTTPAdapter(max_retries=0))
        self.session = session
        self.session.headers.update(headers or {})

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One call under the policy; returns the 2xx/3xx response.

        Raises:
            FetchError: a 4xx (at once), retries spent on a transient failure, the deadline
                reached, or a local fault; the message names source, request and reason.
        """
        what = f"{method.upper()} {redact_url(url, self.secrets)}"
        host = urlsplit(url).netloc.rpartition("@")[2]
        tries = 0

        def attempt() -> requests.Response:
            nonlocal tries
            self.deadline.check(f"before attempt {tries + 1}")
            self.pacer.wait(host, self.policy.min_interval_s, self.clock, self.deadline)
            tries += 1
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                headers=headers,
                timeout=min(self.policy.timeout_s, self.deadline.remaining()),
            )
            response.raise_for_status()
            return response

        try:
            return self.policy.retry(self.clock, self.deadline).call(attempt)
        except DeadlineExceeded as exc:
            raise FetchError(self.source, what, _scrub(str(exc), self.secrets)) from exc
        except requests.HTTPError as exc:
            answer = exc.response
            status = answer.status_code if answer is not None else None
            reason = f"HTTP {status} {answer.reason if answer is not None else ''}".strip()
            body = _scrub(answer.text, self.secrets, 120) if answer is not None else ""
            reason += (f": {body}" if body else "") + _after(tries)
            raise FetchError(self.source, what, reason, status) from exc
        except (requests.RequestException, OSError) as exc:
            kind = "local fault, not retried: " if is_local_fault(exc) else ""
            reason = f"{kind}{type(exc).__name__}: {_scrub(str(exc), self.secrets)}{_after(tries)}"
            raise FetchError(self.source, what, reason) from exc

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """``GET url`` under the policy (see ``request``)."""
        return self.request("GET", url, params=params, headers=headers)

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """``GET url`` and decode its JSON body.

        Raises:
            FetchError: as ``request``, or the body is not JSON (not retried).
        """
        return self._json("GET", url, self.get(url, params=params, headers=headers))

    def post_json(self, url: str, payload: Any, *, headers: Mapping[str, str] | None = None) -> Any:
        """``POST`` ``payload`` as JSON (a JSON-RPC call, say) and decode the JSON answer.

        Raises:
            FetchError: as ``request``, or the body is not JSON (not retried).
        """
        return self._json("POST", url, self.request("POST", url, json=payload, headers=headers))

    def _json(self, method: str, url: str, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            what = f"{method} {redact_url(url, self.secrets)}"
            body = _scrub(response.text, self.secrets, 80)
            raise FetchError(self.source, what, f"answer is not JSON: {body!r}") from exc

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _after(tries: int) -> str:
    return f" (after {tries} attempts)" if tries > 1 else ""
