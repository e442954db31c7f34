"""Downloading source files over HTTP: retries with back-off, host fallbacks, clear failures.

HTTP 429 and 5xx are retried with exponential back-off (honouring ``Retry-After``); 404 means the
file is not published (yet) and moves on to the next URL; gzip transfer encoding is decoded by
httpx. When every URL fails, the error lists what each one answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

RETRYABLE = {429, 500, 502, 503, 504}


class NotPublished(FileNotFoundError):
    """Every URL answered 404: the file does not exist (yet)."""


class DownloadFailed(RuntimeError):
    """Retries were exhausted on every URL."""


@dataclass(frozen=True)
class Downloaded:
    url: str
    content: bytes


def download_first(
    urls: Sequence[str],
    timeout_s: float = 60.0,
    attempts: int = 4,
    backoff_s: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
) -> Downloaded:
    """The first URL that answers 200, trying each with retries before the next."""
    outcomes: list[str] = []
    own_client = client is None
    client = client or httpx.Client(timeout=timeout_s, follow_redirects=True)
    try:
        for url in urls:
            for attempt in range(1, attempts + 1):
                try:
                    response = client.get(url)
                except httpx.TransportError as error:  # timeouts, refused connections
                    outcome = f"{type(error).__name__}: {error}"
                else:
                    if response.status_code == 200:
                        return Downloaded(url, response.content)
                    outcome = f"HTTP {response.status_code}"
                    if response.status_code not in RETRYABLE:
                        break
                    retry_after = response.headers.get("Retry-After", "")
                    if retry_after.isdigit() and attempt < attempts:
                        sleep(min(float(retry_after), 300.0))
                        continue
                if attempt < attempts:
                    sleep(backoff_s * 2 ** (attempt - 1))
            outcomes.append(f"{url}: {outcome} (after {attempt} attempt(s))")
    finally:
        if own_client:
            client.close()
    if all(": HTTP 404 " in o for o in outcomes):
        raise NotPublished("not published at any source URL:\n  " + "\n  ".join(outcomes))
    raise DownloadFailed("download failed at every source URL:\n  " + "\n  ".join(outcomes))
