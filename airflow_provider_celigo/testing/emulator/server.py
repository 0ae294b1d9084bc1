"""Run the emulator with uvicorn in a background thread (tests, the demo, users' DAG tests)."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .config import EmulatorConfig
from .core import Emulator

if TYPE_CHECKING:
    import uvicorn

    from .client import EmulatorAdmin

__all__ = ["EmulatorServer", "bind_socket", "make_uvicorn_config"]

MAX_CONCURRENCY = 10_000
BACKLOG = 4096


def make_uvicorn_config(
    app: Any, host: str, port: int, *, certfile: str | None = None, keyfile: str | None = None
) -> uvicorn.Config:
    """Return the uvicorn settings shared by the CLI and the threaded server (HTTPS when ``certfile`` is given).

    ``certfile`` is a PEM server certificate (chain); ``keyfile`` its private key (``None``: inside ``certfile``).
    """
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        limit_concurrency=MAX_CONCURRENCY,
        backlog=BACKLOG,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
        date_header=False,  # the middleware stamps Date from the emulated clock
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """Return a listening socket on ``host:port`` (port 0 picks a free port). Raises OSError if busy."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)  # connections queue up until uvicorn serves instead of being refused
    return sock


class EmulatorServer:
    """The emulator served by uvicorn in a daemon thread; usable as a context manager.

    With ``certfile`` (and ``keyfile``, PEM) it serves HTTPS; clients must trust the certificate's issuer.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        certfile: str | None = None,
        keyfile: str | None = None,
        **settings: Any,
    ) -> None:
        config = config or EmulatorConfig()
        self.config = dataclasses.replace(config, **settings) if settings else config
        self.host = host
        self.port = port
        self.certfile = certfile
        self.keyfile = keyfile
        self.emulator = Emulator(self.config)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._admin: EmulatorAdmin | None = None

    @property
    def root_url(self) -> str:
        """Return ``http://host:port`` (``https://`` with a certificate; admin routes live under ``/_emulator``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.certfile else 'http'}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Return the API base URL, ``http(s)://host:port/v1``."""
        return f"{self.root_url}/v1"

    @property
    def token(self) -> str:
        """Return the default accepted bearer token."""
        return self.config.default_token

    @property
    def admin(self) -> EmulatorAdmin:
        """Return an admin client for this server."""
        if self._admin is None:
            from .client import EmulatorAdmin

            self._admin = EmulatorAdmin(self.root_url)
        return self._admin

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Start serving and return self once the socket accepts requests. Raises RuntimeError on failure."""
        if self._thread is not None:
            return self
        import uvicorn

        from .app import create_app

        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        app = create_app(emulator=self.emulator)
        server = uvicorn.Server(
            make_uvicorn_config(app, self.host, self.port, certfile=self.certfile, keyfile=self.keyfile)
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="celigo-emulator", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError("the Celigo emulator did not start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; waits at most about ``timeout`` seconds."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout / 2)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout / 2)
        self._server = self._thread = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
