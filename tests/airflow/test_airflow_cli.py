"""The provider inside a real Airflow: its CLI, a SQLite metadata DB in a temp AIRFLOW_HOME, ``airflow-celigo``.

Every subprocess is bounded by a timeout, and no output may contain an API token.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from loopback import serving

pytestmark = pytest.mark.e2e

TOKEN = "e2e-token-7c1f0a9b3d5e"
WRONG_TOKEN = "e2e-wrong-0b1c2d3e4f"
BIN = Path(sys.executable).parent


class TokenInfoServer(ThreadingHTTPServer):
    """A local integrator.io that only answers ``GET /v1/tokenInfo`` (200 for TOKEN, 401 otherwise)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TokenInfoHandler)
        self.seen: list[tuple[str, str]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _TokenInfoHandler(BaseHTTPRequestHandler):
    server: TokenInfoServer

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        self.server.seen.append((self.path, auth))
        if self.path != "/v1/tokenInfo":
            status, body = 404, {"errors": [{"code": "not_found", "message": "No such route"}]}
        elif auth == f"Bearer {TOKEN}":
            status, body = 200, {"_userId": "5e2e00000000000000000001"}
        else:
            status, body = 401, {"errors": [{"code": "unauthorized", "message": "Invalid or expired API token"}]}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Airflow:
    """Runs ``airflow`` / ``airflow-celigo`` / python against the temp AIRFLOW_HOME."""

    home: Path
    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.home / "airflow.db"

    def run(
        self, *argv: str, extra_env: dict[str, str] | None = None, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        program = argv[0]
        command = [str(BIN / program), *argv[1:]] if (BIN / program).exists() else list(argv)
        result = subprocess.run(
            command,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.home,
        )
        output = result.stdout + result.stderr
        self.outputs.append(output)
        assert TOKEN not in output and WRONG_TOKEN not in output, f"a token leaked into the output of {argv}"
        if check:
            assert result.returncode == 0, f"{argv} failed ({result.returncode}):\n{output[-3000:]}"
        return result

    def python(self, code: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("python", "-c", textwrap.dedent(code), extra_env=extra_env)

    def add_connection(self, conn_id: str, password: str, extra: dict[str, Any]) -> None:
        self.run(
            "airflow", "connections", "add", conn_id, "--conn-type", "celigo",
            "--conn-password", password, "--conn-extra", json.dumps(extra),
        )  # fmt: skip

    def pools(self) -> dict[str, tuple[int, bool, str]]:
        with sqlite3.connect(self.db) as db:
            rows = db.execute("SELECT pool, slots, include_deferred, description FROM slot_pool").fetchall()
        return {name: (slots, bool(deferred), description or "") for name, slots, deferred, description in rows}

    def sync(
        self, *args: str, extra_env: dict[str, str] | None = None, check: bool = True
    ) -> tuple[int, list[str], str]:
        result = self.run("airflow-celigo", "pools", "sync", *args, extra_env=extra_env, check=check)
        lines = [
            line for line in result.stdout.splitlines() if line.split(" ", 1)[0] in {"create", "resize", "update", "ok"}
        ]
        return result.returncode, lines, result.stderr


@pytest.fixture(scope="module")
def server() -> Iterator[TokenInfoServer]:
    with serving(TokenInfoServer()) as server:
        yield server


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    """A migrated SQLite metadata DB in a fresh AIRFLOW_HOME (``airflow db migrate`` once per module)."""
    home = tmp_path_factory.mktemp("airflow-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
        AIRFLOW__CORE__TEST_CONNECTION="Enabled",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        NO_COLOR="1",
        COLUMNS="250",
    )
    runner = Airflow(home, env)
    runner.run("airflow", "db", "migrate", timeout=240)
    assert runner.db.exists()
    return runner


def test_providers_list_shows_the_provider(airflow: Airflow) -> None:
    result = airflow.run("airflow", "providers", "list", "-o", "json")
    providers = {p["package_name"]: p for p in json.loads(result.stdout[result.stdout.index("[") :])}
    assert "airflow-provider-celigo" in providers
    from airflow_provider_celigo import __version__

    assert providers["airflow-provider-celigo"]["version"] == __version__


def test_connection_add_and_test(airflow: Airflow, server: TokenInfoServer) -> None:
    airflow.add_connection("celigo_cli", TOKEN, {"base_url": server.base_url})
    server.seen.clear()
    result = airflow.run("airflow", "connections", "test", "celigo_cli")
    assert "Connection success" in result.stdout
    assert server.seen == [("/v1/tokenInfo", f"Bearer {TOKEN}")]

    airflow.add_connection("celigo_wrong", WRONG_TOKEN, {"base_url": server.base_url, "max_retries": 0})
    failed = airflow.run("airflow", "connections", "test", "celigo_wrong", check=False)
    assert failed.returncode != 0
    assert "HTTP 401" in failed.stdout and "Invalid or expired API token" in failed.stdout


def test_uri_and_json_forms_parse(airflow: Airflow) -> None:
    forms = {
        "AIRFLOW_CONN_URI_FORM": f"celigo://:{TOKEN}@/?region=eu&concurrency_level=3",
        "AIRFLOW_CONN_JSON_FORM": json.dumps(
            {"conn_type": "celigo", "password": TOKEN, "extra": {"region": "na", "concurrency_level": 7, "timeout": 12}}
        ),
        "E2E_EXPECTED": TOKEN,
    }
    result = airflow.python(
        """
        import json, os
        from airflow_provider_celigo.hooks.celigo import CeligoHook
        out = {}
        for conn_id in ("uri_form", "json_form"):
            s = CeligoHook(conn_id).settings
            out[conn_id] = [s.region, s.base_url, s.concurrency_level, s.timeout, s.token == os.environ["E2E_EXPECTED"]]
        print("SETTINGS=" + json.dumps(out))
        """,
        extra_env=forms,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("SETTINGS="))
    assert json.loads(line.removeprefix("SETTINGS=")) == {
        "uri_form": ["eu", "https://api.eu.integrator.io/v1", 3, 30.0, True],
        "json_form": ["na", "https://api.integrator.io/v1", 7, 12.0, True],
    }


def test_pools_sync_creates_dry_runs_and_resizes(airflow: Airflow) -> None:
    airflow.add_connection("celigo_p1", TOKEN, {"concurrency_level": 3})
    airflow.add_connection("celigo_p2", TOKEN, {"borrow_concurrency_from": "celigo_p1"})
    env_conn = {"AIRFLOW_CONN_CELIGO_ENV": f"celigo://:{TOKEN}@/?concurrency_level=2"}
    before = airflow.pools()

    code, lines, err = airflow.sync("--dry-run", extra_env=env_conn)
    assert code == 0 and "dry run" in err
    assert "create celigo_celigo_p1 slots=3 include_deferred=True" in lines
    assert "create celigo_celigo_env slots=2 include_deferred=True" in lines
    assert not any("celigo_celigo_p2" in line for line in lines)  # the borrower shares celigo_p1's pool
    assert airflow.pools() == before

    code, lines, _ = airflow.sync(extra_env=env_conn)
    assert code == 0 and "create celigo_celigo_p1 slots=3 include_deferred=True" in lines
    pools = airflow.pools()
    assert pools["celigo_celigo_p1"][:2] == (3, True) and pools["celigo_celigo_env"][:2] == (2, True)
    assert "'celigo_p1'" in pools["celigo_celigo_p1"][2] and "'celigo_p2'" in pools["celigo_celigo_p1"][2]
    assert "celigo_celigo_p2" not in pools
    shown = airflow.run("airflow", "pools", "get", "celigo_celigo_p1", "-o", "json")
    (row,) = json.loads(shown.stdout[shown.stdout.index("[") :])
    assert (int(row["slots"]), str(row["include_deferred"])) == (3, "True")

    code, lines, _ = airflow.sync(extra_env=env_conn)
    assert code == 0 and "ok celigo_celigo_p1 slots=3" in lines and "ok celigo_celigo_env slots=2" in lines

    airflow.run("airflow", "connections", "delete", "celigo_p1")
    airflow.add_connection("celigo_p1", TOKEN, {"concurrency_level": 5})
    code, lines, _ = airflow.sync("--dry-run", "--conn-id", "celigo_p2")
    assert code == 0 and lines == ["resize celigo_celigo_p1 3 -> 5"]
    assert airflow.pools()["celigo_celigo_p1"][0] == 3
    code, lines, _ = airflow.sync(extra_env=env_conn)
    assert code == 0 and "resize celigo_celigo_p1 3 -> 5" in lines
    assert airflow.pools()["celigo_celigo_p1"][:2] == (5, True)


def test_bad_connection_is_reported_with_a_failing_exit_code(airflow: Airflow) -> None:
    bad = {
        "AIRFLOW_CONN_CELIGO_BAD_LEVEL": json.dumps(
            {"conn_type": "celigo", "password": TOKEN, "extra": {"concurrency_level": 26}}
        ),
        "AIRFLOW_CONN_CELIGO_BAD_LENDER": f"celigo://:{TOKEN}@/?borrow_concurrency_from=celigo_ghost",
        "AIRFLOW_CONN_CELIGO_GOOD": f"celigo://:{TOKEN}@/?concurrency_level=4",
    }
    code, lines, err = airflow.sync(extra_env=bad, check=False)
    assert code == 1
    assert (
        "error celigo_bad_level: Celigo connection extra 'concurrency_level' is 26; use a whole number from 1 to 25"
        in err
    )
    assert "error celigo_bad_lender:" in err and "'celigo_ghost', which does not exist" in err
    assert "create celigo_celigo_good slots=4 include_deferred=True" in lines
    pools = airflow.pools()
    assert pools["celigo_celigo_good"][:2] == (4, True)
    assert not any(name in pools for name in ("celigo_celigo_bad_level", "celigo_celigo_ghost"))


def test_pool_policy_in_airflow_local_settings(airflow: Airflow, tmp_path: Path) -> None:
    """The documented task policy, loaded by Airflow itself, assigns the pool only once it is declared synced."""
    (tmp_path / "airflow_local_settings.py").write_text(
        "from airflow_provider_celigo.pools import celigo_pool_policy\n\n\n"
        "def task_policy(task):\n    celigo_pool_policy(task)\n"
    )
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "celigo_policy_dag.py").write_text(
        textwrap.dedent(
            """
            from airflow.sdk import DAG, BaseOperator

            class CeligoTask(BaseOperator):
                def __init__(self, celigo_conn_id, **kwargs):
                    super().__init__(**kwargs)
                    self.celigo_conn_id = celigo_conn_id

                def execute(self, context):
                    return None

            with DAG("celigo_policy", schedule=None):
                CeligoTask(task_id="lender_task", celigo_conn_id="celigo_p1")
                CeligoTask(task_id="borrower_task", celigo_conn_id="celigo_p2")
                CeligoTask(task_id="own_pool", celigo_conn_id="celigo_p1", pool="custom")
            """
        )
    )
    script = f"""
        import json, os
        from airflow.dag_processing.dagbag import DagBag
        out = {{}}
        for label, synced in (("unset", None), ("synced", "celigo_celigo_p1")):
            if synced:
                os.environ["AIRFLOW__CELIGO__SYNCED_POOLS"] = synced
                os.environ["AIRFLOW__CELIGO__POOL_OVERRIDES"] = "celigo_p2=celigo_p1"
            bag = DagBag({str(dags)!r})
            assert not bag.import_errors, bag.import_errors
            out[label] = {{t.task_id: t.pool for t in bag.dags["celigo_policy"].tasks}}
        print("POOLS=" + json.dumps(out))
    """
    result = airflow.python(script, extra_env={"PYTHONPATH": str(tmp_path)})
    line = next(x for x in result.stdout.splitlines() if x.startswith("POOLS="))
    assert json.loads(line.removeprefix("POOLS=")) == {
        "unset": {"lender_task": "default_pool", "borrower_task": "default_pool", "own_pool": "custom"},
        "synced": {"lender_task": "celigo_celigo_p1", "borrower_task": "celigo_celigo_p1", "own_pool": "custom"},
    }
