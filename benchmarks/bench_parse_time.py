"""Benchmark 1: what importing a provider's operators, sensors and triggers adds to DAG parsing.

Each run is a fresh interpreter of ``benchmarks/.venv-compare`` (apache-airflow 3.3.2, this package,
apache-airflow-providers-dbt-cloud and apache-airflow-providers-airbyte; created on first use, reused
after) that imports ``airflow.sdk`` and then one provider's modules. Figures per provider, medians over
the runs: the extra import time, the extra max RSS, the Python memory the imports allocated
(tracemalloc, in separate runs because tracing slows imports), and the notable modules they pulled in.
Providers are interleaved run by run so that load changes hit them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import BENCHMARKS, REPO, median, save

COMPARE_VENV = BENCHMARKS / ".venv-compare"
COMPARE_PYTHON = COMPARE_VENV / "bin" / "python"
STAMP = COMPARE_VENV / ".installed"
REQUIREMENTS = ["apache-airflow==3.3.2", "apache-airflow-providers-dbt-cloud", "apache-airflow-providers-airbyte"]

PROVIDERS: dict[str, list[str]] = {
    "airflow.sdk only": [],
    "celigo (this package)": [
        "airflow_provider_celigo.operators.flows",
        "airflow_provider_celigo.operators.resources",
        "airflow_provider_celigo.operators.integrations",
        "airflow_provider_celigo.sensors.jobs",
        "airflow_provider_celigo.triggers.jobs",
    ],
    "dbt-cloud": [
        "airflow.providers.dbt.cloud.operators.dbt",
        "airflow.providers.dbt.cloud.sensors.dbt",
        "airflow.providers.dbt.cloud.triggers.dbt",
    ],
    "airbyte": [
        "airflow.providers.airbyte.operators.airbyte",
        "airflow.providers.airbyte.sensors.airbyte",
        "airflow.providers.airbyte.triggers.airbyte",
    ],
}
NOTABLE = (
    "requests",
    "httpx",
    "aiohttp",
    "fastapi",
    "uvicorn",
    "tenacity",
    "asgiref",
    "airflow_provider_celigo.testing.emulator",
)

# Runs in the fresh interpreter: argv[1] = JSON list of modules, argv[2] = "trace" or "time".
PROBE = """
import importlib, json, resource, sys, time
modules, mode = json.loads(sys.argv[1]), sys.argv[2]
began = time.perf_counter()
import airflow.sdk
sdk_seconds = time.perf_counter() - began
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
loaded_before = set(sys.modules)
if mode == "trace":
    import tracemalloc
    tracemalloc.start()
began = time.perf_counter()
for name in modules:
    importlib.import_module(name)
seconds = time.perf_counter() - began
traced = tracemalloc.get_traced_memory()[1] if mode == "trace" else None
rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "sdk_seconds": sdk_seconds,
    "seconds": seconds,
    "max_rss_kb": rss_after - rss_before,
    "traced_peak_kb": None if traced is None else traced / 1024,
    "new_modules": sorted(set(sys.modules) - loaded_before),
}))
"""


def ensure_compare_venv() -> None:
    """Create ``benchmarks/.venv-compare`` with Airflow, both reference providers and this package (once)."""
    if STAMP.exists() and COMPARE_PYTHON.exists():
        return
    print("creating benchmarks/.venv-compare (pip install, about a minute) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(COMPARE_VENV)], check=True)
    install = [str(COMPARE_PYTHON), "-m", "pip", "install", "--quiet", *REQUIREMENTS, "-e", str(REPO)]
    subprocess.run(install, check=True)
    STAMP.write_text(" ".join(REQUIREMENTS) + "\n")


def probe(modules: list[str], mode: str, home: str) -> dict[str, Any]:
    # Bytecode is written and read as a DAG processor does: a run must not time the compiling of a source.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW") and key != "PYTHONDONTWRITEBYTECODE"
    }
    env.update({"AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    answer = subprocess.run(
        [str(COMPARE_PYTHON), "-c", PROBE, json.dumps(modules), mode],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=BENCHMARKS,
    )
    result: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return result


def versions() -> dict[str, str]:
    script = (
        "from importlib.metadata import version as v; import json; print(json.dumps({n: v(n) for n in "
        "['apache-airflow', 'apache-airflow-providers-dbt-cloud', 'apache-airflow-providers-airbyte', "
        "'airflow-provider-celigo', 'httpx', 'requests']}))"
    )
    answer = subprocess.run([str(COMPARE_PYTHON), "-c", script], capture_output=True, text=True, check=True)
    return json.loads(answer.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=12, help="timed fresh-interpreter runs per provider")
    parser.add_argument("--traced-runs", type=int, default=4, help="tracemalloc runs per provider")
    args = parser.parse_args()
    ensure_compare_venv()
    import tempfile

    home = tempfile.mkdtemp(prefix="celigo-bench-parse-")
    # The first interpreters write Airflow's config and every module's bytecode, and warm the disk cache.
    for modules in PROVIDERS.values():
        probe(modules, "time", home)
    timed: dict[str, list[dict[str, Any]]] = {name: [] for name in PROVIDERS}
    traced: dict[str, list[dict[str, Any]]] = {name: [] for name in PROVIDERS}
    for _ in range(args.runs):
        for name, modules in PROVIDERS.items():
            timed[name].append(probe(modules, "time", home))
    for _ in range(args.traced_runs):
        for name, modules in PROVIDERS.items():
            traced[name].append(probe(modules, "trace", home))
    providers: dict[str, Any] = {}
    for name, modules in PROVIDERS.items():
        new_modules = timed[name][0]["new_modules"]
        providers[name] = {
            "modules": modules,
            "median_import_ms": round(median(run["seconds"] for run in timed[name]) * 1000, 1),
            "median_max_rss_added_kb": median(run["max_rss_kb"] for run in timed[name]),
            "median_tracemalloc_peak_kb": round(median(run["traced_peak_kb"] for run in traced[name]), 1),
            "modules_loaded": len(new_modules),
            "notable_modules_loaded": [module for module in NOTABLE if module in new_modules],
            "median_airflow_sdk_import_ms": round(median(run["sdk_seconds"] for run in timed[name]) * 1000, 1),
        }
        row = providers[name]
        print(
            f"{name:24} +{row['median_import_ms']:7.1f} ms  +{row['median_max_rss_added_kb']:7.0f} KB max RSS  "
            f"+{row['median_tracemalloc_peak_kb']:7.0f} KB traced  {row['modules_loaded']:4} modules  "
            f"{' '.join(row['notable_modules_loaded'])}"
        )
    celigo = providers["celigo (this package)"]
    others = [providers["dbt-cloud"], providers["airbyte"]]
    lightest_ms = min(other["median_import_ms"] for other in others)
    lightest_traced = min(other["median_tracemalloc_peak_kb"] for other in others)
    figures = {
        "runs": args.runs,
        "traced_runs": args.traced_runs,
        "versions": versions(),
        "providers": providers,
        "celigo_vs_lightest": {
            "import_time_ratio": round(celigo["median_import_ms"] / lightest_ms, 3),
            "tracemalloc_ratio": round(celigo["median_tracemalloc_peak_kb"] / lightest_traced, 3),
        },
        "bar": "no heavier than the lightest of dbt-cloud and airbyte (import time and memory)",
        "bar_met": celigo["median_import_ms"] <= lightest_ms
        and celigo["median_tracemalloc_peak_kb"] <= lightest_traced,
    }
    save("parse_time", figures)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
