"""The emulator over HTTPS (``certfile``/``keyfile``): what the distributed test relies on, on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from private_ca import make_private_ca

from airflow_provider_celigo.testing.emulator.cli import main
from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.server import EmulatorServer


def test_threaded_server_serves_https_verified_by_the_private_ca(tmp_path: Path) -> None:
    tls = make_private_ca(tmp_path, "127.0.0.1")
    with EmulatorServer(certfile=str(tls.cert_file), keyfile=str(tls.key_file)) as server:
        assert server.base_url == f"https://127.0.0.1:{server.port}/v1"
        admin = EmulatorAdmin(server.root_url)
        admin.session.trust_env = False  # the machine's REQUESTS_CA_BUNDLE would override verify
        admin.session.verify = str(tls.ca_file)
        try:
            assert "peak_running_jobs" in admin.stats()
        finally:
            admin.close()
        answer = requests.get(f"{server.base_url}/tokenInfo", verify=str(tls.ca_file), timeout=10)
        assert answer.status_code == 401  # TLS done; no bearer token sent
        with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            requests.get(f"{server.base_url}/tokenInfo", verify=True, timeout=10)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{server.port}/v1/tokenInfo", timeout=10)


def test_cli_rejects_a_key_without_its_certificate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0", "--keyfile", "key.pem"]) == 2
    assert "--keyfile needs --certfile" in capsys.readouterr().err


def test_cli_names_an_unreadable_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.pem"
    assert main(["--port", "0", "--certfile", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "cannot load the TLS certificate" in err and str(missing) in err
