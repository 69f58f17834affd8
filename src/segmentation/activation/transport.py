"""POSTing one batch with retries (stdlib urllib only).

Retried: 429, 5xx, connection errors and timeouts, with exponential backoff (base * 2^(n-1),
no jitter, so runs are reproducible) or the server's Retry-After when it gives one. Any
other status, redirects included, fails at once: a redirect is not followed, so the bearer
token never goes to a host it was not configured for. Error messages never carry headers.
"""

from __future__ import annotations

import http.client
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MAX_ATTEMPTS_ENV = "SEGMENTATION_SYNC_MAX_ATTEMPTS"
BACKOFF_ENV = "SEGMENTATION_SYNC_BACKOFF_SECONDS"
TIMEOUT_ENV = "SEGMENTATION_SYNC_TIMEOUT_SECONDS"
MAX_WAIT_SECONDS = 300.0  # a Retry-After beyond this is capped: the job must end some day


class DeliveryFailed(Exception):
    """A batch was not confirmed: a permanent error, or retries exhausted."""

    def __init__(self, message: str, attempts: int, waited: float) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.waited = waited


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    timeout_seconds: float = 30.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        return cls(
            max_attempts=max(1, int(os.environ.get(MAX_ATTEMPTS_ENV, "5"))),
            backoff_seconds=max(0.0, float(os.environ.get(BACKOFF_ENV, "1.0"))),
            timeout_seconds=float(os.environ.get(TIMEOUT_ENV, "30")),
        )

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        wait = retry_after if retry_after is not None else self.backoff_seconds * 2 ** (attempt - 1)
        return min(max(wait, 0.0), MAX_WAIT_SECONDS)


@dataclass(frozen=True)
class Delivery:
    status: int
    attempts: int
    waited: float  # seconds slept between attempts


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirect)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def _attempt(
    url: str, body: bytes, headers: Mapping[str, str], timeout: float
) -> tuple[int | None, str, float | None]:
    """One POST: (status or None for a connection error, reason, Retry-After seconds)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return response.status, "ok", None
    except urllib.error.HTTPError as exc:
        with exc:
            exc.read()
        return (
            exc.code,
            f"HTTP {exc.code} {exc.reason}",
            retry_after_seconds(exc.headers.get("Retry-After")),
        )
    except (OSError, http.client.HTTPException) as exc:  # URLError, refused, reset, timeout
        reason = getattr(exc, "reason", exc)
        return None, f"connection error: {type(exc).__name__}: {reason}", None


def post_with_retries(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST until a 2xx; raises DeliveryFailed on a permanent error or when out of attempts."""
    waited = 0.0
    for attempt in range(1, policy.max_attempts + 1):
        status, reason, retry_after = _attempt(url, body, headers, policy.timeout_seconds)
        if status is not None and 200 <= status < 300:
            return Delivery(status, attempt, waited)
        retryable = status is None or status == 429 or status >= 500
        if not retryable:
            raise DeliveryFailed(f"{reason} (not retried)", attempt, waited)
        if attempt == policy.max_attempts:
            raise DeliveryFailed(f"{reason} after {attempt} attempts", attempt, waited)
        pause = policy.delay(attempt, retry_after)
        sleep(pause)
        waited += pause
    raise AssertionError("unreachable")  # the loop returns or raises
