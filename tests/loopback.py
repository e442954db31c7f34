"""Real servers on 127.0.0.1 for the tests: a free port, and waiting until one answers."""

from __future__ import annotations

import socket
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(url: str, seconds: float) -> None:
    """Poll ``url`` until it answers; fail with the URL once ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answered at {url} within {seconds:.0f} s") from None
            time.sleep(0.2)
