"""The ``celigo-emulator`` command: start-up, printed URL and token, loopback-only binding."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import requests

from airflow_provider_celigo.testing.emulator.seeds import DEFAULT_TOKEN, DEMO_IDS

COMMAND = [sys.executable, "-m", "airflow_provider_celigo.testing.emulator.cli"]


def test_cli_starts_and_serves_demo_flows() -> None:
    started = time.monotonic()
    process = subprocess.Popen(
        [*COMMAND, "--port", "0", "--seed", "demo", "--page-size", "50", "--clock-speed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url_line = process.stdout.readline()
        token_line = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", url_line)
        assert match, url_line
        assert DEFAULT_TOKEN in token_line
        base_url = match.group(1)
        headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
        flows = None
        while time.monotonic() - started < 20:
            try:
                response = requests.get(f"{base_url}/flows", headers=headers, timeout=2)
            except requests.ConnectionError:
                time.sleep(0.02)
                continue
            flows = response.json()
            break
        elapsed = time.monotonic() - started
        print(f"celigo-emulator answered GET /v1/flows {elapsed:.2f} s after launch")
        assert flows is not None, "the emulator never answered"
        assert DEMO_IDS["flow_orders"] in {f["_id"] for f in flows}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_cli_refuses_remote_host_without_flag() -> None:
    result = subprocess.run([*COMMAND, "--host", "0.0.0.0"], capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr


def test_cli_accepts_extra_tokens_and_no_admin() -> None:
    process = subprocess.Popen(
        [*COMMAND, "--port", "0", "--token", "tok-a", "--token", "tok-b=acct-b", "--no-admin"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = re.search(r"(http://\S+/v1)", process.stdout.readline())
        assert base_url
        assert "tok-a" in process.stdout.readline()
        root = base_url.group(1)[: -len("/v1")]
        assert requests.get(f"{base_url.group(1)}/tokenInfo", headers={"Authorization": "Bearer tok-b"}, timeout=5).ok
        assert requests.get(f"{root}/_emulator/stats", timeout=5).status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=10)
