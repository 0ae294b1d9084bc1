"""The ``celigo-emulator`` command: start-up, printed URLs and token, loopback-only binding, ``--list-seed``."""

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
        admin_line = process.stdout.readline()
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
        admin = re.search(r"Admin routes: (http://127\.0\.0\.1:\d+/_emulator/)$", admin_line.strip())
        assert admin, admin_line
        index = requests.get(admin.group(1), timeout=5)  # the printed address answers
        assert index.status_code == 200, index.text
        assert {"GET /_emulator/health", "POST /_emulator/reset"} <= {
            f"{route['method']} {route['path']}" for route in index.json()["routes"]
        }
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
        assert requests.get(f"{root}/_emulator/", timeout=5).status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=10)


def list_seed(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, "--list-seed", *args], capture_output=True, text=True, timeout=30)


def test_list_seed_prints_every_demo_id_and_exits() -> None:
    started = time.monotonic()
    result = list_seed()
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20  # no server was started
    out = result.stdout
    assert "serving" not in out and DEFAULT_TOKEN in out
    for key, resource_id in DEMO_IDS.items():
        assert re.search(rf"^{key}\s+{resource_id}\s", out, re.MULTILINE), key
    for title in ("Integrations (4)", "Flows (17)", "Connections (6)", "Exports (19)", "Imports (20)"):
        assert title in out, title


def flow_row(out: str, key: str) -> list[str]:
    (line,) = [line for line in out.splitlines() if line.startswith(f"{key} ")]
    return re.split(r"\s{2,}", line)


def test_list_seed_shows_name_duration_and_outcome_of_each_flow() -> None:
    out = list_seed("demo").stdout
    assert "KEY" in out and "DURATION" in out and "OUTCOME" in out
    orders = flow_row(out, "flow_orders")
    assert orders == [
        "flow_orders",
        DEMO_IDS["flow_orders"],
        "Orders to NetSuite",
        "Shop to ERP",
        "5s",
        "120",
        "completed",
    ]
    assert flow_row(out, "flow_invoices")[-1] == "completed with 3 record errors"
    assert flow_row(out, "flow_refunds")[-1] == "failed: NetSuite login failed: invalid credentials"
    assert flow_row(out, "flow_refunds")[4] == "1s"  # a failing export ends the run
    assert flow_row(out, "flow_legacy_ftp")[-1].startswith("disabled")
    assert flow_row(out, "flow_inventory")[4] == "60s"


def test_list_seed_refuses_an_unknown_seed() -> None:
    result = list_seed("nope")
    assert result.returncode == 2 and "invalid choice: 'nope'" in result.stderr and "demo" in result.stderr
