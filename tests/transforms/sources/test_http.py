"""Downloads against a real HTTP server on loopback: retries, fallbacks, gzip, clear failures."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from transforms.sources.http import DownloadFailed, NotPublished, download_first


class Script:
    """What the server answers, per path: a list of (status, body, headers) consumed in order."""

    def __init__(self) -> None:
        self.answers: dict[str, list[tuple[int, bytes, dict[str, str]]]] = {}
        self.hits: list[str] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script.hits.append(self.path)
            queue = script.answers.get(self.path, [])
            status, body, headers = (
                queue.pop(0) if len(queue) > 1 else (queue[0] if queue else (404, b"not found", {}))
            )
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()


def no_sleep(seconds: float) -> None:
    pass


def test_429_is_retried_then_succeeds(server) -> None:
    base, script = server
    script.answers["/202501.zip"] = [(429, b"", {"Retry-After": "1"}), (200, b"DATA", {})]
    result = download_first([f"{base}/202501.zip"], sleep=no_sleep)
    assert result.content == b"DATA"
    assert script.hits == ["/202501.zip", "/202501.zip"]


def test_gzip_encoding_is_decoded(server) -> None:
    base, script = server
    script.answers["/types.json"] = [
        (200, gzip.compress(b'{"polozky": []}'), {"Content-Encoding": "gzip"})
    ]
    assert download_first([f"{base}/types.json"], sleep=no_sleep).content == b'{"polozky": []}'


def test_404_falls_back_to_the_next_host_without_retrying(server) -> None:
    base, script = server
    script.answers["/old/202501.zip"] = [(200, b"OLD", {})]
    result = download_first([f"{base}/new/202501.zip", f"{base}/old/202501.zip"], sleep=no_sleep)
    assert (result.url, result.content) == (f"{base}/old/202501.zip", b"OLD")
    assert script.hits == ["/new/202501.zip", "/old/202501.zip"]


def test_missing_everywhere_is_not_published(server) -> None:
    base, _ = server
    with pytest.raises(NotPublished, match="404"):
        download_first([f"{base}/a.zip", f"{base}/b.zip"], sleep=no_sleep)


def test_5xx_exhausts_retries_with_a_clear_message(server) -> None:
    base, script = server
    script.answers["/202501.zip"] = [(503, b"", {})]
    with pytest.raises(DownloadFailed, match=r"HTTP 503 \(after 3 attempt\(s\)\)"):
        download_first([f"{base}/202501.zip"], attempts=3, sleep=no_sleep)
    assert len(script.hits) == 3


def test_timeout_is_retried_and_reported() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)  # accepts connections but never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/202501.zip"
        with pytest.raises(DownloadFailed, match="ReadTimeout"):
            download_first([url], timeout_s=0.2, attempts=2, sleep=no_sleep)
    finally:
        listener.close()
