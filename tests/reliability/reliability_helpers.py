"""Helpers of the reliability suite: a loopback server with canned answers, waiting, Airflow DB texts, TLS certs."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sqlite3
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from report import Place

E2E = Path(__file__).resolve().parent.parent / "e2e"
ACTIVE_JOB_STATUSES = frozenset({"queued", "running", "canceling", "retrying"})


def until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """Return the first truthy result of ``predicate``; raise AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# -- a loopback server with canned answers ----------------------------------------------------------------


@dataclass
class Answer:
    """One canned answer: status, body (str, bytes, or a callable of the request's headers) and headers."""

    status: int = 200
    body: str | bytes | Callable[[dict[str, str]], str | bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"


class CannedServer:
    """An HTTP server on 127.0.0.1 that answers ``(method, path regex)`` routes and counts every request.

    Unrouted requests get a 599 (never retried by accident: the tests assert on it). Use as a context manager.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Answer]] = []
        self.hits: Counter[tuple[str, str]] = Counter()
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._tls = tls
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.hits[(self.command, path)] += 1
                    server.log.append((self.command, self.path))
                answer = server.answer_for(self.command, path)
                body = answer.body(dict(self.headers)) if callable(answer.body) else answer.body
                data = body.encode() if isinstance(body, str) else body
                self.send_response(answer.status)
                if answer.content_type:
                    self.send_header("Content-Type", answer.content_type)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                return

        self.connections = 0  # TCP connections accepted (a failed TLS handshake counts, a request does not)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, address = self.socket.accept()
                with server._lock:
                    server.connections += 1
                if server._tls is not None:
                    sock = server._tls.wrap_socket(sock, server_side=True)  # a refused handshake raises OSError
                return sock, address

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="canned-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def base_url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}/v1"

    def route(self, method: str, path: str, answer: Answer) -> None:
        """Answer ``method`` requests whose path matches the regex ``path`` (searched, first route wins)."""
        self.routes.append((method.upper(), re.compile(path), answer))

    def answer_for(self, method: str, path: str) -> Answer:
        for wanted, pattern, answer in self.routes:
            if wanted in ("*", method) and pattern.search(path):
                return answer
        return Answer(599, b'{"message": "no canned answer for this request"}')

    def reset(self) -> None:
        """Forget routes and counts."""
        with self._lock:
            self.routes.clear()
            self.hits.clear()
            self.log.clear()
            self.connections = 0

    @property
    def total(self) -> int:
        """Requests received since the last reset."""
        return len(self.log)

    def __enter__(self) -> CannedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=10)


# -- what an Airflow run leaves in its metadata DB --------------------------------------------------------


def airflow_db_places(db_path: Path, prefix: str) -> list[Place]:
    """Return what an Airflow SQLite DB holds, as distinct places named ``<prefix>:db:...``.

    Each XCom row is a place (``XCom rows``), each other table with rows is one place (``non-empty tables``);
    empty tables are not places. The raw file bytes (with the WAL) are searched too, because freed pages still
    hold values written and later deleted, but they are not counted again on top of the tables they hold.
    """
    places: list[Place] = []
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=15)) as db:
        tables = sorted(row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        for table in tables:
            rows = [
                repr(tuple(value.decode(errors="replace") if isinstance(value, bytes) else value for value in row))
                for row in db.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            ]
            if not rows:
                continue
            if table == "xcom":
                places += [Place("XCom rows", f"{prefix}:db:xcom#{index}", row) for index, row in enumerate(rows)]
            else:
                places.append(Place("non-empty tables", f"{prefix}:db:{table}", "\n".join(rows)))
    raw = db_path.read_bytes()
    wal = db_path.with_name(db_path.name + "-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    places.append(Place("non-empty tables", f"{prefix}:db:file (freed pages)", raw, counted=False))
    return places


TRIGGER_LOG = ".log.trigger."


def log_file_places(files: Iterable[Path], prefix: str) -> list[Place]:
    """Return each non-empty log as one place (``log files``): a daemon's log, or a task try's log together
    with the logs of its triggers (``<try>.log.trigger.<triggerer job>.log``, one per triggerer that ran it, so
    their number follows which triggerer picked the trigger up; the UI shows them as the try's one log)."""
    texts: dict[str, list[str]] = {}
    for path in files:
        text = path.read_text(errors="replace") if path.is_file() else ""
        if text:
            texts.setdefault(str(path).split(TRIGGER_LOG)[0], []).append(text)
    return [Place("log files", f"{prefix}:{Path(key).name}:{key}", "\n".join(parts)) for key, parts in texts.items()]


def table_rows(db_path: Path, table: str) -> int:
    """Return the number of rows of ``table`` (0 when it does not exist)."""
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=15)) as db:
        try:
            return int(db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def active_jobs(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the jobs (and their step jobs) that are still queued, running, canceling or retrying."""
    found = []
    for job in jobs:
        for doc in [job, *(job.get("children") or [])]:
            if isinstance(doc, dict) and str(doc.get("status")) in ACTIVE_JOB_STATUSES:
                found.append(doc)
    return found


# -- TLS --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def self_signed_tls(folder: Path) -> Iterator[ssl.SSLContext]:
    """Yield a server SSL context with a fresh self-signed certificate for 127.0.0.1 (trusted by nobody)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    yield context


# -- the real-deployment harness of tests/e2e ----------------------------------------------------------


def deployment_module() -> ModuleType:
    """Return ``tests/e2e/deployment.py`` as the module ``deployment`` (the one the e2e tests import, if loaded)."""
    loaded = sys.modules.get("deployment")
    if loaded is not None and Path(getattr(loaded, "__file__", "")).resolve() == E2E / "deployment.py":
        return loaded
    spec = importlib.util.spec_from_file_location("deployment", E2E / "deployment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["deployment"] = module
    spec.loader.exec_module(module)
    return module
