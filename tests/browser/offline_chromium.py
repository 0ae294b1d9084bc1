"""Debian's Chromium driven by Selenium, kept offline, and an HTTPS stand-in for the integrator.io web UI.

- ``start_chromium(profile_dir, host_rules=..., trusted_spki=...)`` -> a Selenium ``WebDriver`` on the system
  ``chromium`` and ``chromedriver`` (Debian packages ``chromium`` and ``chromium-driver``), headless, with
  background networking, component updates, sync, default apps and extensions off: the machine has no internet.
- ``UiStandIn(hostname, folder)``: an HTTPS server on 127.0.0.1 that answers every GET with a page naming the
  path it was asked for, and records each request. Chromium reaches it under the real hostname through
  ``--host-resolver-rules`` and trusts its certificate through ``--ignore-certificate-errors-spki-list``, so
  following a link to ``https://eu.integrator.io/...`` really lands somewhere the test can check.
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.server
import shutil
import ssl
import sys
import threading
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "distributed"))
from private_ca import make_private_ca

CHROMIUM_PACKAGES = ("chromium", "chromium-driver")
OFFLINE_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-proxy-server",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


def find_chromium() -> tuple[str, str]:
    """Return the paths of the system ``chromium`` and ``chromedriver``; raise RuntimeError naming the packages."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        raise RuntimeError(
            "the browser test needs Debian's Chromium and its driver on PATH: "
            f"apt-get install -y {' '.join(CHROMIUM_PACKAGES)} (scripts/system_packages.sh installs them)"
        )
    return browser, driver


def start_chromium(profile_dir: Path, *, host_rules: str, trusted_spki: str) -> webdriver.Chrome:
    """Start headless Chromium with a fresh profile in ``profile_dir``; return its WebDriver.

    ``host_rules`` is Chromium's ``--host-resolver-rules`` (map the stand-in's hostname, refuse every other
    name); ``trusted_spki`` the base64 SHA-256 of the one public key whose certificate it accepts unverified.
    """
    browser, driver = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in OFFLINE_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--host-resolver-rules={host_rules}")
    options.add_argument(f"--ignore-certificate-errors-spki-list={trusted_spki}")
    chrome = webdriver.Chrome(
        service=Service(driver, log_output=str(profile_dir / "chromedriver.log")), options=options
    )
    chrome.set_page_load_timeout(120)
    chrome.set_script_timeout(120)
    return chrome


def spki_sha256(cert_file: Path) -> str:
    """Return the base64 SHA-256 of a PEM certificate's SubjectPublicKeyInfo (Chromium's SPKI pin format)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    public_key = x509.load_pem_x509_certificate(cert_file.read_bytes()).public_key()
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class _StandInHandler(http.server.BaseHTTPRequestHandler):
    server: _StandInServer

    def do_GET(self) -> None:
        host = self.headers.get("Host", "")
        self.server.requests.append((host, self.path))
        page = (
            "<!doctype html><html><head><title>integrator.io stand-in</title></head><body>"
            f"<p>integrator.io stand-in, asked by <span id='stand-in-host'>{html.escape(host)}</span> for</p>"
            f"<h1 id='stand-in-path'>{html.escape(self.path)}</h1></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _StandInServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, str]]


class UiStandIn:
    """HTTPS server on 127.0.0.1 standing in for one web UI host; ``requests`` holds (Host header, path)."""

    def __init__(self, hostname: str, folder: Path) -> None:
        self.hostname = hostname
        tls = make_private_ca(folder, "127.0.0.1")
        self.spki = spki_sha256(tls.cert_file)
        self._server = _StandInServer(("127.0.0.1", 0), _StandInHandler)
        self._server.requests = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert_file, tls.key_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="ui-stand-in", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def requests(self) -> list[tuple[str, str]]:
        return self._server.requests

    @property
    def host_rules(self) -> str:
        """Chromium resolver rules: this hostname to the stand-in, every other name refused (loopback kept)."""
        return f"MAP {self.hostname}:443 127.0.0.1:{self.port}, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

    def __enter__(self) -> UiStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
