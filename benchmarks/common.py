"""What every benchmark shares: machine and versions, medians, saving results, Airflow set-up, the emulator process."""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
RESULTS = BENCHMARKS / "results"
TOKEN = "celigo-emulator-token"
CONN_ID = "celigo_default"


def package_version(name: str) -> str:
    """Return an installed distribution's version, or ``"not installed"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """Return the machine and versions a result was measured with."""
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "airflow": package_version("apache-airflow"),
        "provider": package_version("airflow-provider-celigo"),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def median(values: Iterable[float]) -> float:
    """Return the median of ``values``."""
    return float(statistics.median(list(values)))


def save(name: str, figures: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` with the figures, the machine and the command; return its path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    command = "python " + " ".join([str(Path(sys.argv[0]).resolve().relative_to(REPO)), *sys.argv[1:]])
    document = {"benchmark": name, "command": command, "machine": machine(), **figures}
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"saved {path.relative_to(REPO)}")
    return path


def airflow_home() -> str:
    """Point Airflow at a private temporary home (call before importing airflow); return its path."""
    home = os.environ.get("CELIGO_BENCH_AIRFLOW_HOME") or tempfile.mkdtemp(prefix="celigo-bench-airflow-")
    os.environ["AIRFLOW_HOME"] = home
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")  # no retry warnings or progress lines
    return home


def set_connection(base_url: str, concurrency_level: int, conn_id: str = CONN_ID, **extra: Any) -> str:
    """Define the Celigo connection ``conn_id`` through its environment variable; return the id."""
    payload = {
        "conn_type": "celigo",
        "password": TOKEN,
        "extra": {"base_url": base_url, "concurrency_level": concurrency_level, **extra},
    }
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(payload)
    return conn_id


def rss_bytes() -> int:
    """Return this process's resident set size now (Linux ``/proc``)."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class EmulatorProcess:
    """The emulator served by its own Python process, so it costs the measured process no CPU or memory."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.root_url = ""
        self._admin: Any = None

    @property
    def base_url(self) -> str:
        """Return the API base URL."""
        return f"{self.root_url}/v1"

    @property
    def admin(self) -> Any:
        """Return an ``EmulatorAdmin`` client for the emulator."""
        if self._admin is None:
            from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin

            self._admin = EmulatorAdmin(self.root_url, timeout=120)
        return self._admin

    def start(self) -> EmulatorProcess:
        """Start the emulator on a free port and return self once it serves."""
        command = [
            sys.executable,
            "-m",
            "airflow_provider_celigo.testing.emulator.cli",
            "--port",
            "0",
            "--token",
            TOKEN,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            found = re.search(r"serving (http://\S+)/v1", line)
            if found:
                self.root_url = found.group(1)
                return self
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError("the emulator process did not start")

    def stop(self) -> None:
        """Stop the emulator process."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def flows_dump(durations: list[float], prefix: str = "6650f1") -> dict[str, Any]:
    """Return an emulator dump of one-export-one-import flows whose runs take ``durations`` emulated seconds."""
    conn = "6650c1" + "0" * 18
    dump: dict[str, Any] = {
        "connections": [{"_id": conn, "name": "HTTP", "type": "http", "http": {"baseURI": "https://x.example"}}],
        "integrations": [{"_id": "6650a1" + "0" * 18, "name": "Benchmark"}],
        "exports": [],
        "imports": [],
        "flows": [],
        "scenarios": {},
    }
    for n, seconds in enumerate(durations):
        export, imp, flow = f"6650e1{n:018x}", f"6650d1{n:018x}", f"{prefix}{n:018x}"
        dump["exports"].append({"_id": export, "name": f"export {n}", "_connectionId": conn})
        dump["imports"].append({"_id": imp, "name": f"import {n}", "_connectionId": conn})
        dump["flows"].append(
            {
                "_id": flow,
                "name": f"flow {n}",
                "_integrationId": "6650a1" + "0" * 18,
                "pageGenerators": [{"_exportId": export}],
                "pageProcessors": [{"type": "import", "_importId": imp}],
            }
        )
        dump["scenarios"][flow] = {"export_seconds": seconds / 2, "import_seconds": seconds / 2, "records": 10}
    return dump


def flow_ids(count: int, prefix: str = "6650f1") -> list[str]:
    """Return the flow ids ``flows_dump`` creates."""
    return [f"{prefix}{n:018x}" for n in range(count)]


def quiet_logs() -> None:
    """Keep the hooks' retry warnings and the triggers' progress lines off the benchmark's output."""
    import logging

    for name in ("airflow", "airflow.task", "airflow.task.hooks", "airflow.triggers", "airflow_provider_celigo"):
        logging.getLogger(name).setLevel(logging.ERROR)
