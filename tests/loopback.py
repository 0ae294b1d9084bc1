"""Loopback HTTP servers for tests that measure what reaches the wire (calls in flight, requests served).

``SlowServer(delay)`` answers every GET after ``delay`` seconds and counts the requests in flight (``peak``);
``serving(server)`` runs any ``http.server`` in a thread for the length of a ``with`` block.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

Server = TypeVar("Server", bound=ThreadingHTTPServer)


class SlowServer(ThreadingHTTPServer):
    """Answers every GET on 127.0.0.1 with ``body`` after ``delay`` seconds; ``peak`` is the most requests it
    ever had in flight, ``served`` how many it answered."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, delay: float, body: bytes = b"{}") -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.delay = delay
        self.body = body
        self.lock = threading.Lock()
        self.in_flight = self.peak = self.served = 0

    @property
    def base_url(self) -> str:
        """Return the server's integrator.io-style API base URL."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def reset(self) -> None:
        """Forget the counts."""
        with self.lock:
            self.in_flight = self.peak = self.served = 0


class _SlowHandler(BaseHTTPRequestHandler):
    server: SlowServer

    def do_GET(self) -> None:
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.peak = max(server.peak, server.in_flight)
        time.sleep(server.delay)
        with server.lock:  # leave the count before answering, so the client cannot start its next call first
            server.in_flight -= 1
            server.served += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(server.body)))
        self.end_headers()
        self.wfile.write(server.body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    """Serve ``server`` from a daemon thread until the block ends; then shut it down and close its socket."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
