"""A newcomer's install (issue 14): build the sdist and wheel, install the wheel WITHOUT the ``emulator`` extra into
a fresh venv, and use it.

How the venv is made fresh but bounded in time: ``python -m venv --without-pip`` gives a new interpreter
environment with an empty site-packages, into which the wheel is installed (``pip --python <venv> install
--no-deps``: a real, non-editable install with its entry points and console scripts). Airflow and the provider's
other dependencies are not downloaded again: a ``.pth`` file puts a *view* of this test run's site-packages on the
venv's path, a folder of symlinks to every installed distribution except the provider's editable install and the
``emulator`` extra's packages (fastapi, uvicorn), so the venv sees exactly what ``pip install <wheel>`` without the
extra would give. ``.pth`` files of the view are not run, so the editable install cannot come back through its
finder. The build itself runs in build's isolated environment (it needs setuptools>=77). ~30 s in all.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests

from airflow_provider_celigo import __version__
from airflow_provider_celigo.testing import connection_json, running_emulator

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
# What the source tree holds that is not the package (the sdist takes only pyproject.toml, README.md, LICENSE and the
# package); copied so that the build's egg-info and build/ folders land in a temporary copy, not in the checkout.
SOURCE_IGNORE = shutil.ignore_patterns(
    ".git", ".venv*", "*.egg-info", "build", "dist", "__pycache__", ".*_cache", ".demo", "*.pyc"
)
#: Top-level names in site-packages the fresh venv must not see: the editable install and the emulator extra.
EDITABLE_INSTALL = ("airflow_provider_celigo", "__editable__")
HIDDEN = (*EDITABLE_INSTALL, "fastapi", "uvicorn")
EXTRA_HINT = 'pip install "airflow-provider-celigo[emulator]"'


def run(command: list[str], *, timeout: float = 180, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command; return its stdout; fail the test with its output when it exits non-zero."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False)
    assert done.returncode == 0, f"{command} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build the sdist, and the wheel from it, with ``python -m build``; return their paths.

    Without build isolation: the build backend (setuptools>=77, wheel) is in the test extra, so nothing is
    downloaded; ``build`` still checks that the ``build-system`` requirements are met.
    """
    work = tmp_path_factory.mktemp("build")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=SOURCE_IGNORE, symlinks=True)
    out = work / "dist"
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)], timeout=240)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def _site_packages_view(view: Path, hidden: tuple[str, ...]) -> Path:
    """Fill ``view`` with symlinks to this environment's site-packages, minus ``hidden``; return it."""
    view.mkdir()
    site_packages = Path(sysconfig.get_paths()["purelib"])
    for entry in site_packages.iterdir():
        name = entry.name.lower().replace("-", "_")
        if name.endswith(".pth") or name.startswith(hidden):
            continue
        (view / entry.name).symlink_to(entry)
    return view


def _venv_with_the_wheel(wheel: Path, work: Path, hidden: tuple[str, ...]) -> Path:
    """Make a new venv holding only ``wheel``, the rest of this environment seen through a view; return its python."""
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    (Path(purelib) / "_celigo_test_view.pth").write_text(f"{_site_packages_view(work / 'view', hidden)}\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)])
    return python


@pytest.fixture(scope="module")
def fresh_venv(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install <wheel>``: a new venv with the wheel and Airflow, without the emulator extra; its python."""
    return _venv_with_the_wheel(built["wheel"], tmp_path_factory.mktemp("fresh"), HIDDEN)


@pytest.fixture(scope="module")
def fresh_venv_with_the_extra(built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install "<wheel>[emulator]"``: the same, with FastAPI and uvicorn; its python."""
    return _venv_with_the_wheel(built["wheel"], tmp_path_factory.mktemp("fresh_extra"), EDITABLE_INSTALL)


def fresh_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for commands in the fresh venv: a private AIRFLOW_HOME, nothing from this test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST", "PYTHON"))}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False", **extra})
    return env


def test_the_wheel_and_sdist_ship_license_and_py_typed_but_no_tests(built: dict[str, Path]) -> None:
    wheel_names = zipfile.ZipFile(built["wheel"]).namelist()
    with tarfile.open(built["sdist"]) as sdist:
        sdist_names = [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]
    dist_info = f"airflow_provider_celigo-{__version__}.dist-info"
    assert f"{dist_info}/licenses/LICENSE" in wheel_names
    assert "airflow_provider_celigo/py.typed" in wheel_names
    assert "LICENSE" in sdist_names and "airflow_provider_celigo/py.typed" in sdist_names
    for names in (wheel_names, sdist_names):
        assert [name for name in names if name.startswith(("tests/", "benchmarks/", "example_dags/"))] == []
        assert [name for name in names if "/test_" in name or name.startswith("test_")] == []
    metadata = zipfile.ZipFile(built["wheel"]).read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata and "Provides-Extra: emulator" in metadata


# The script the fresh venv runs: the provider is the wheel's (not the checkout's), Airflow sees it as a provider,
# a DAG with the operators builds, and a hook call reaches an emulator served by this test process.
USE_THE_WHEEL = """
import json, sys
import airflow_provider_celigo
from airflow.providers_manager import ProvidersManager
from airflow.sdk import DAG
from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.sensors.jobs import CeligoJobSensor
from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

with DAG("wheel_journey", schedule=None) as dag:
    run = CeligoRunFlowOperator(task_id="run", flow_id=sys.argv[1], deferrable=True)
    wait = CeligoJobSensor(task_id="wait", job_id="{{ ti.xcom_pull(task_ids='run', key='celigo_job_id') }}")
hook = CeligoHook("celigo_default")
job_id = hook.run_flow(sys.argv[1])
print(json.dumps({
    "package": airflow_provider_celigo.__file__,
    "provider": ProvidersManager().providers["airflow-provider-celigo"].version,
    "tasks": sorted(dag.task_dict),
    "job": hook.get_job(job_id)["_flowId"],
    "trigger": CeligoJobTrigger.__module__,
    "fastapi": "fastapi" in sys.modules,
}))
"""


def test_the_wheel_works_without_the_emulator_extra(fresh_venv: Path, tmp_path: Path) -> None:
    from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

    with running_emulator(seed="demo") as server:
        env = fresh_env(tmp_path / "home", AIRFLOW_CONN_CELIGO_DEFAULT=connection_json(server))
        # cwd: not the checkout, whose package ``python -c`` would import first (sys.path[0] is the cwd)
        answer = run([str(fresh_venv), "-c", USE_THE_WHEEL, DEMO_IDS["flow_orders"]], env=env, cwd=tmp_path)
        assert server.admin.runs() == {DEMO_IDS["flow_orders"]: 1}
    used = json.loads(answer.strip().splitlines()[-1])
    assert not used["package"].startswith(str(ROOT)), used  # the wheel's copy, not the checkout
    assert used["provider"] == __version__
    assert used["tasks"] == ["run", "wait"] and used["job"] == DEMO_IDS["flow_orders"]
    assert used["fastapi"] is False, "the emulator extra's packages leaked into the fresh venv"


def test_the_emulator_without_its_extra_says_how_to_install_it(fresh_venv: Path, tmp_path: Path) -> None:
    env = fresh_env(tmp_path / "home")
    command = fresh_venv.parent / "celigo-emulator"
    assert command.exists(), "the wheel installed no celigo-emulator command"
    done = subprocess.run(
        [str(command)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False
    )
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and EXTRA_HINT in lines[0] and "fastapi" in lines[0], done.stderr

    imported = subprocess.run(
        [str(fresh_venv), "-c", "import airflow_provider_celigo.testing.emulator.app"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 1
    last = imported.stderr.strip().splitlines()[-1]
    assert EXTRA_HINT in last, imported.stderr


def readme_import_statements() -> list[str]:
    """Return every ``import`` of the package that README.md shows, in its code blocks or inline, as source lines."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    statements: list[str] = []
    for block in re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            if any(module.startswith("airflow_provider_celigo") for module in modules):
                statements.append(ast.unparse(node))
    statements += re.findall(r"`((?:from|import) airflow_provider_celigo[^`]*)`", readme)
    return list(dict.fromkeys(statements))


def test_every_import_the_readme_shows_works_in_a_fresh_venv(fresh_venv: Path, tmp_path: Path) -> None:
    statements = readme_import_statements()
    assert len(statements) >= 12, statements  # the README shows the operators, sensors, hook, assets, trigger, ...
    script = "\n".join(f"print({line!r}, flush=True)\n{line}" for line in statements)
    done = subprocess.run(
        [str(fresh_venv), "-c", script],
        capture_output=True,
        text=True,
        env=fresh_env(tmp_path / "home"),
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    tried = done.stdout.strip().splitlines()
    assert done.returncode == 0, f"failed at: {tried[-1:]}\n{done.stderr[-3000:]}"
    assert tried == statements


def test_with_the_emulator_extra_celigo_emulator_seed_demo_serves(
    fresh_venv_with_the_extra: Path, tmp_path: Path
) -> None:
    from airflow_provider_celigo.testing.emulator.seeds import DEFAULT_TOKEN, DEMO_IDS

    command = fresh_venv_with_the_extra.parent / "celigo-emulator"
    process = subprocess.Popen(
        [str(command), "--port", "0", "--seed", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=fresh_env(tmp_path / "home"),
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", first)
        assert match, f"{first!r} {process.stderr.read() if process.poll() is not None and process.stderr else ''}"
        flows = requests.get(
            f"{match.group(1)}/flows", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}, timeout=10
        ).json()
        assert DEMO_IDS["flow_orders"] in {flow["_id"] for flow in flows}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
