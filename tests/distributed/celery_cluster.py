"""A distributed Airflow 3 deployment inside a test: CeleryExecutor, Redis, PostgreSQL, three "hosts".

Follows the measured recipe for a distributed Airflow (CeleryExecutor + Redis + PostgreSQL) on one machine.
Three network namespaces made by the harness stand for three hosts, joined by a bridge in the core one::

    <prefix>-core  10.77.0.1   PostgreSQL, Redis, the emulator (HTTPS, private CA), api-server, scheduler,
                               dag-processor; hostname cdist-core
    <prefix>-h1    10.77.0.11  Celery worker 1 and triggerer 1; hostname cdist-h1 (its own UTS namespace)
    <prefix>-h2    10.77.0.12  Celery worker 2 and triggerer 2; hostname cdist-h2

No address or server is added to the machine's own namespace. The test process (in the machine's namespace)
reads the metadata DB over PostgreSQL's Unix socket, and talks to the emulator's admin routes from one thread
that entered the core namespace (``setns``). Usage::

    with CeleryCluster(dags_folder, run_root) as cluster:
        cluster.wait_for_dag("my_dag")
        cluster.run_core("airflow-celigo", "pools", "sync")
        cluster.trigger("my_dag", "run1", conf={...})
        assert cluster.wait_for_run("my_dag", "run1") == "success"

Every wait is bounded and fails fast when a daemon died (``DeploymentError`` with the log tails). ``stop()``
(also after a failure) stops the Airflow daemons, then Redis and the emulator, then PostgreSQL, kills whatever
is still running inside the namespaces, and removes the namespaces, their ``/etc/netns`` files and the DB
folder. A run whose test process died is cleaned up by the next ``start()`` through ``REGISTRY``.
Needs root (namespaces, ``runuser``), ``ip``/``unshare``, PostgreSQL's server binaries and ``redis-server``
(``scripts/system_packages.sh`` installs what is missing).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from airflow_provider_celigo.testing.dags import clean_environ

# tests/e2e and this folder are not packages: their modules are imported by file name.
for _folder in (Path(__file__).resolve().parent, Path(__file__).resolve().parents[1] / "e2e"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from deployment import (  # noqa: E402
    AIRFLOW_BIN,
    CLI_BATCH,
    TERMINAL_RUN_STATES,
    DeploymentError,
    StateObserver,
    _start_time,
    stop_group,
)
from private_ca import ServerTLS, make_private_ca  # noqa: E402

T = TypeVar("T")
# Prepended to deployment.CLI_BATCH: `airflow-celigo pools sync` in the same process, failing it on an error.
SYNC_POOLS = """
from airflow_provider_celigo.pools.cli import main as celigo_cli
if celigo_cli(["pools", "sync"]):
    raise SystemExit("airflow-celigo pools sync failed")
"""

SUBNET = "10.77.0.0/24"
CORE_IP = "10.77.0.1"
HOSTS: dict[str, str] = {"cdist-h1": "10.77.0.11", "cdist-h2": "10.77.0.12"}
CORE_HOST = "cdist-core"
PG_PORT, REDIS_PORT, API_PORT, EMULATOR_PORT = 5432, 6379, 8080, 8443
CLONE_NEWNET = 0x40000000
REGISTRY = Path(tempfile.gettempdir()) / f"celigo-distributed-{os.getuid()}"
BIN = Path(sys.executable).parent
EMULATOR_TOKEN = "distributed-" + "e2e-token-7d3c91"
WORKER_CONCURRENCY = 3
# Airflow daemons first (stopping Redis with the workers makes them log connection errors), then the rest.
AIRFLOW_DAEMONS = ("worker1", "worker2", "triggerer1", "triggerer2", "scheduler", "dag-processor", "api-server")


def postgres_bin() -> Path:
    """Return the folder of the newest PostgreSQL server binaries on this machine.

    Raises DeploymentError naming the fix when none is installed.
    """
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]), reverse=True)
    if found:
        return found[0].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise DeploymentError("PostgreSQL server binaries not found: run scripts/system_packages.sh (as root)")


def redis_server_bin() -> str:
    """Return the path of ``redis-server``; raises DeploymentError naming the fix when it is missing."""
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else "")
    if not found:
        raise DeploymentError("redis-server not found: run scripts/system_packages.sh (as root)")
    return found


def check_can_run() -> str | None:
    """Return why this machine cannot run the cluster (not root, a missing tool), or None when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, runuser)"
    missing = [tool for tool in ("ip", "unshare", "runuser") if shutil.which(tool) is None]
    return f"missing tools: {', '.join(missing)}" if missing else None


# ----------------------------------------------------------------- processes and namespaces
def _proc_stat_fields(pid: int) -> list[str]:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except OSError:
        return []
    return stat.rsplit(")", 1)[-1].split()


def pid_tree(root: int) -> list[int]:
    """Return ``root`` and all its live descendants (by parent pid), whatever their process group."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _proc_stat_fields(int(entry.name))
            if len(fields) > 2 and fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if _proc_stat_fields(pid):
            tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _alive(pid: int) -> bool:
    fields = _proc_stat_fields(pid)
    return bool(fields) and fields[0] != "Z"


def kill_pids(pids: Collection[int], timeout: float = 15) -> None:
    """SIGKILL ``pids`` and wait (bounded) until none of them is alive."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)


def netns_pids(name: str) -> list[int]:
    """Return the pids of the processes whose network namespace is ``name`` (``ip netns pids``)."""
    try:
        target = os.stat(f"/run/netns/{name}")
    except OSError:
        return []
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                ns = os.stat(f"/proc/{entry.name}/ns/net")
                if (ns.st_ino, ns.st_dev) == (target.st_ino, target.st_dev) and _alive(int(entry.name)):
                    pids.append(int(entry.name))
    return pids


def _ip(*args: str, check: bool = True) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise DeploymentError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")


def create_namespaces(prefix: str) -> dict[str, str]:
    """Create the core namespace (bridge, 10.77.0.1) and one namespace per host (veth); return host -> netns."""
    core = f"{prefix}-core"
    names = {CORE_HOST: core, **{host: f"{prefix}-{host.split('-')[-1]}" for host in HOSTS}}
    hosts_file = "127.0.0.1 localhost\n" + "".join(
        f"{ip} {host}\n" for host, ip in {CORE_HOST: CORE_IP, **HOSTS}.items()
    )
    for netns in names.values():
        _ip("netns", "add", netns)
        # `ip netns exec` bind-mounts /etc/netns/<name>/* over /etc/*: each host resolves the others by name.
        folder = Path("/etc/netns") / netns
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hosts").write_text(hosts_file)
        (folder / "resolv.conf").write_text("nameserver 127.0.0.1\n")
        _ip("-n", netns, "link", "set", "lo", "up")
    _ip("-n", core, "link", "add", "br0", "type", "bridge")
    _ip("-n", core, "addr", "add", f"{CORE_IP}/24", "dev", "br0")
    _ip("-n", core, "link", "set", "br0", "up")
    for index, (host, ip) in enumerate(HOSTS.items(), start=1):
        netns = names[host]
        _ip("-n", core, "link", "add", f"h{index}", "type", "veth", "peer", "name", "eth0", "netns", netns)
        _ip("-n", core, "link", "set", f"h{index}", "master", "br0")
        _ip("-n", core, "link", "set", f"h{index}", "up")
        _ip("-n", netns, "addr", "add", f"{ip}/24", "dev", "eth0")
        _ip("-n", netns, "link", "set", "eth0", "up")
    return names


def delete_namespaces(netns_names: Collection[str]) -> None:
    """Kill every process left in the namespaces, then delete them and their ``/etc/netns`` folders."""
    for netns in netns_names:
        kill_pids(netns_pids(netns))
    for netns in netns_names:
        if Path(f"/run/netns/{netns}").exists():
            _ip("netns", "del", netns, check=False)
        shutil.rmtree(Path("/etc/netns") / netns, ignore_errors=True)
    with contextlib.suppress(OSError):
        Path("/etc/netns").rmdir()  # only when no other namespace has files there


def in_host(netns: str, hostname: str, argv: Sequence[str]) -> list[str]:
    """Return ``argv`` run inside ``netns`` with its own UTS namespace and ``hostname`` (the pid is kept)."""
    return ["ip", "netns", "exec", netns, "unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', hostname, *argv]


class NamespaceThread:
    """One thread that entered a network namespace: sockets it opens live there (``call`` runs code in it)."""

    def __init__(self, netns: str) -> None:
        self.netns = netns
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"netns-{netns}", initializer=self._enter)

    def _enter(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{self.netns}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {self.netns} failed")
        finally:
            os.close(fd)

    def call(self, function: Callable[..., T], *args: Any, timeout: float = 120) -> T:
        """Return ``function(*args)`` run in the namespace's thread (raises what it raises).

        ``function`` must bound its own I/O well under ``timeout``: calls run one at a time, so a stuck one
        would hold up the next. Raises DeploymentError when it did not return in ``timeout`` seconds.
        """
        future = self._pool.submit(function, *args)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DeploymentError(f"a call in namespace {self.netns} did not return in {timeout:.0f}s") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# ----------------------------------------------------------------- registry of runs (crash clean-up)
def _remove_run(record: Mapping[str, Any]) -> None:
    pg_data = record.get("pg_data")
    if pg_data and Path(pg_data, "postmaster.pid").exists():
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(postgres_bin() / "pg_ctl"),
                "-D",
                pg_data,
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
    delete_namespaces(record.get("namespaces", []))
    if record.get("pg_root"):
        shutil.rmtree(record["pg_root"], ignore_errors=True)


def cleanup_stale_clusters() -> list[str]:
    """Remove the namespaces, processes and DB folders of earlier runs whose test process died; return them."""
    cleaned = []
    for record_file in sorted(REGISTRY.glob("*.json")) if REGISTRY.is_dir() else []:
        try:
            record = json.loads(record_file.read_text())
        except (OSError, ValueError):
            continue
        owner_start = _start_time(int(record.get("owner_pid", 0)))
        if owner_start is not None and owner_start == record.get("owner_start"):
            continue  # its test session is still running
        _remove_run(record)
        record_file.unlink(missing_ok=True)
        cleaned.append(str(record.get("run_dir", "")))
    return cleaned


class ClusterObserver(StateObserver):
    """``StateObserver`` on PostgreSQL that also records which triggerers (job ids) held the run's triggers."""

    def __init__(self, cluster: CeleryCluster, dag_id: str, run_id: str, interval: float) -> None:
        super().__init__(cluster, dag_id, run_id, interval)  # type: ignore[arg-type]
        self.cluster = cluster
        self.triggerer_ids: set[int] = set()

    def sample(self) -> None:
        import psycopg2

        try:
            super().sample()
            rows = self.cluster.query(
                "SELECT t.triggerer_id FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id "
                "WHERE ti.dag_id = ? AND ti.run_id = ? AND t.triggerer_id IS NOT NULL",
                (self.dag_id, self.run_id),
            )
            self.triggerer_ids.update(int(row["triggerer_id"]) for row in rows)
        except psycopg2.Error as error:
            self.errors.append(f"{type(error).__name__}: {error}")


class CeleryCluster:
    """The distributed deployment; see the module docs."""

    def __init__(
        self,
        dags_folder: str | Path,
        run_root: str | Path,
        *,
        env: Mapping[str, str] | None = None,
        concurrency_level: int = 3,
        boot_timeout: float = 240,
        stop_grace: float = 10,
    ) -> None:
        self.dags_folder = Path(dags_folder).resolve()
        self.run_root = Path(run_root)
        self.extra_env = dict(env or {})
        self.concurrency_level = concurrency_level
        self.boot_timeout = boot_timeout
        self.stop_grace = stop_grace
        self.prefix = f"cd{secrets.token_hex(3)}"
        self.run_dir = Path()
        self.pg_root = Path()
        self.namespaces: dict[str, str] = {}
        self.tls: ServerTLS | None = None
        self.env: dict[str, str] = {}
        self.core: NamespaceThread | None = None
        self._popens: dict[str, subprocess.Popen[bytes]] = {}
        self._hosts: dict[str, str] = {}  # daemon name -> hostname
        self._record_file: Path | None = None
        self._admin: Any = None

    # ----------------------------------------------------------------- life cycle
    def __enter__(self) -> CeleryCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def emulator_base_url(self) -> str:
        return f"https://{CORE_IP}:{EMULATOR_PORT}/v1"

    @property
    def pg_socket_dir(self) -> Path:
        return self.pg_root / "run"

    @property
    def pg_data(self) -> Path:
        return self.pg_root / "data"

    def start(self) -> None:
        """Make the hosts, the CA, PostgreSQL, Redis, the emulator and the Airflow daemons; wait until ready."""
        cleanup_stale_clusters()
        self.run_root.mkdir(parents=True, exist_ok=True)
        self.run_dir = Path(tempfile.mkdtemp(prefix="celery-cluster-", dir=self.run_root))
        # PostgreSQL runs as user postgres, which cannot enter pytest's private temp folders.
        self.pg_root = Path(tempfile.mkdtemp(prefix="celigo-distributed-pg-"))
        self._write_record()
        try:
            self.namespaces = create_namespaces(self.prefix)
            self._write_record()
            self.core = NamespaceThread(self.namespaces[CORE_HOST])
            self.tls = make_private_ca(self.run_dir / "tls", CORE_IP)
            self.env = self._build_env()
            self._start_postgres()
            self._start_service("redis", self._redis_argv())
            self._start_service("emulator", self._emulator_argv())
            self._migrate()
            for name in ("api-server", "scheduler", "dag-processor"):
                self._start_airflow(name, CORE_HOST)
            for index, host in enumerate(HOSTS, start=1):
                self._start_airflow(f"triggerer{index}", host)
                self._start_airflow(f"worker{index}", host)
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _build_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        assert self.tls is not None
        home, logs = self.run_dir / "home", self.run_dir / "logs"
        home.mkdir()
        logs.mkdir()
        (home / "airflow.cfg").write_text("# configured through environment variables\n")
        db = f"postgresql+psycopg2://postgres@{CORE_IP}:{PG_PORT}/airflow"
        connection = {
            "conn_type": "celigo",
            "password": EMULATOR_TOKEN,
            "extra": {"base_url": self.emulator_base_url, "concurrency_level": self.concurrency_level, "timeout": 60},
        }
        no_proxy = f"127.0.0.1,localhost,{CORE_IP}"
        env = clean_environ()
        # No proxies; and the private CA (set below) is the only trust store given: requests falls back to
        # CURL_CA_BUNDLE and httpx to SSL_CERT_DIR, which a machine may point at its system store.
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.pop(name, None)
        for name in ("CURL_CA_BUNDLE", "SSL_CERT_DIR"):
            env.pop(name, None)
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__PARALLELISM": "16",
                "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{CORE_IP}:{API_PORT}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
                "AIRFLOW__CELERY__BROKER_URL": f"redis://{CORE_IP}:{REDIS_PORT}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{db}",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
                "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "86400",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(48),  # >= 64 bytes: no InsecureKeyLengthWarning
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                "AIRFLOW__API__HOST": CORE_IP,
                "AIRFLOW__API__PORT": str(API_PORT),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__BASE_URL": f"http://{CORE_IP}:{API_PORT}",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs),  # one folder shared by every host
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "AIRFLOW_CONN_CELIGO_DEFAULT": json.dumps(connection),
                # The private CA, for requests (sync hook, workers) and httpx/ssl (async hook, triggerers).
                "REQUESTS_CA_BUNDLE": str(self.tls.ca_file),
                "SSL_CERT_FILE": str(self.tls.ca_file),
                "NO_PROXY": no_proxy,
                "no_proxy": no_proxy,
                "PATH": os.pathsep.join([str(BIN), env.get("PATH", "/usr/bin:/bin")]),
            }
        )
        env.update(self.extra_env)
        return env

    def _run(self, argv: Sequence[str], what: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            list(argv), env=self.env, cwd=self.run_dir, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise DeploymentError(f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done

    def _as_postgres(self, tool: str, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", str(postgres_bin() / tool), *args]

    def _start_postgres(self) -> None:
        self.pg_root.chmod(0o755)
        self.pg_socket_dir.mkdir()
        shutil.chown(self.pg_root, "postgres", "postgres")
        shutil.chown(self.pg_socket_dir, "postgres", "postgres")
        initdb = ["initdb", "-D", str(self.pg_data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        self._run(self._as_postgres(*initdb, "--locale=C.UTF-8"), "initdb")
        with (self.pg_data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {SUBNET} trust\n")  # initdb trusts only local sockets and 127.0.0.1
        options = (
            f"-c listen_addresses={CORE_IP} -p {PG_PORT} -k {self.pg_socket_dir} -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.pg_root / "postgres.log")
        data = str(self.pg_data)
        start = self._as_postgres("pg_ctl", "-D", data, "-l", log, "-w", "-t", "90", "-o", options, "start")
        self._run(["ip", "netns", "exec", self.namespaces[CORE_HOST], *start], "pg_ctl start", timeout=120)
        self._run(
            [
                "psql",
                "-h",
                str(self.pg_socket_dir),
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
                "-qc",
                "CREATE DATABASE airflow",
            ],
            "CREATE DATABASE",
        )

    def _redis_argv(self) -> list[str]:
        return [
            redis_server_bin(), "--bind", CORE_IP, "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no",
            "--dir", str(self.run_dir), "--protected-mode", "no",
        ]  # fmt: skip

    def _emulator_argv(self) -> list[str]:
        assert self.tls is not None
        return [
            str(BIN / "celigo-emulator"), "--host", CORE_IP, "--allow-remote", "--port", str(EMULATOR_PORT),
            "--token", EMULATOR_TOKEN, "--seed", "demo",
            "--certfile", str(self.tls.cert_file), "--keyfile", str(self.tls.key_file),
        ]  # fmt: skip

    def _migrate(self) -> None:
        self._run(
            [*in_host(self.namespaces[CORE_HOST], CORE_HOST, [AIRFLOW_BIN, "db", "migrate"])],
            "airflow db migrate",
            timeout=300,
        )

    def _spawn(self, name: str, host: str, argv: Sequence[str]) -> int:
        log = (self.run_dir / f"{name}.log").open("ab")
        try:
            popen = subprocess.Popen(
                in_host(self.namespaces[host], host, argv),
                env=self.env,
                cwd=self.run_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self._popens[name], self._hosts[name] = popen, host
        self._write_record()
        return popen.pid

    def _start_service(self, name: str, argv: Sequence[str]) -> int:
        return self._spawn(name, CORE_HOST, argv)

    def _start_airflow(self, name: str, host: str) -> int:
        if name.startswith("worker"):
            argv = ["celery", "worker", "--concurrency", str(WORKER_CONCURRENCY)]
            argv += ["--celery-hostname", f"{name}@%h", "--skip-serve-logs"]
        elif name.startswith("triggerer"):
            argv = ["triggerer", "--skip-serve-logs"]
        else:
            argv = {
                "api-server": ["api-server", "--apps", "execution"],
                "scheduler": ["scheduler", "--skip-serve-logs"],
            }.get(name, [name])
        return self._spawn(name, host, [AIRFLOW_BIN, *argv])

    def stop(self) -> None:
        """Stop everything this cluster started and remove its namespaces and DB folder (bounded in time)."""
        trees = {name: pid_tree(popen.pid) for name, popen in self._popens.items()}
        self._stop_daemons([name for name in AIRFLOW_DAEMONS if name in self._popens])
        self._stop_daemons(list(self._popens))
        kill_pids([pid for tree in trees.values() for pid in tree if _alive(pid)])
        if self.pg_data.is_dir() and (self.pg_data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    self._as_postgres("pg_ctl", "-D", str(self.pg_data), "-m", "fast", "-t", "30", "stop"),
                    capture_output=True,
                    timeout=45,
                    check=False,
                )
        if self.core is not None:
            self.core.close()
        delete_namespaces(self._namespace_names())  # also those of a create_namespaces that failed half-way
        if self.pg_root != Path():
            shutil.rmtree(self.pg_root, ignore_errors=True)
        if self._record_file is not None:
            self._record_file.unlink(missing_ok=True)

    def _stop_daemons(self, names: Sequence[str]) -> None:
        threads = [threading.Thread(target=self.stop_daemon, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.stop_grace + 30)

    def stop_daemon(self, name: str) -> None:
        """Stop daemon ``name``'s process group (SIGTERM, SIGKILL after the grace) and its pid tree."""
        popen = self._popens.pop(name, None)
        if popen is not None:
            tree = pid_tree(popen.pid)
            with contextlib.suppress(DeploymentError):
                stop_group(popen.pid, self.stop_grace, popen)
            kill_pids([pid for pid in tree if _alive(pid)])
            self._write_record()

    def kill_daemon(self, name: str) -> list[int]:
        """SIGKILL daemon ``name``'s whole pid tree at once (a host crash); return the pids killed."""
        popen = self._popens.pop(name)
        tree = pid_tree(popen.pid)
        kill_pids(tree)
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=5)
        self._write_record()
        return tree

    def _namespace_names(self) -> list[str]:
        return [f"{self.prefix}-core", *(f"{self.prefix}-{host.split('-')[-1]}" for host in HOSTS)]

    def _write_record(self) -> None:
        REGISTRY.mkdir(parents=True, exist_ok=True)
        if self._record_file is None:
            self._record_file = REGISTRY / f"{self.prefix}.json"
        record = {
            "owner_pid": os.getpid(),
            "owner_start": _start_time(os.getpid()),
            "run_dir": str(self.run_dir),
            "pg_root": str(self.pg_root),
            "pg_data": str(self.pg_data),
            "namespaces": self._namespace_names(),
            "groups": {name: popen.pid for name, popen in self._popens.items()},
        }
        self._record_file.write_text(json.dumps(record))

    # ----------------------------------------------------------------- daemons and waiting
    def daemons(self) -> dict[str, str]:
        """Return daemon name -> hostname of the running daemons."""
        return {name: self._hosts[name] for name, popen in self._popens.items() if popen.poll() is None}

    def daemon_on(self, kind: str, hostname: str) -> str:
        """Return the name of the ``kind`` daemon ("worker", "triggerer") running on ``hostname``."""
        for name, host in self.daemons().items():
            if name.startswith(kind) and host == hostname:
                return name
        raise DeploymentError(f"no running {kind} on {hostname}: {self.daemons()}")

    def check_alive(self) -> None:
        """Raise DeploymentError when a daemon exited."""
        for name, popen in self._popens.items():
            if popen.poll() is not None:
                raise DeploymentError(f"{name} exited with {popen.returncode}\n{self.daemon_log_tail(name)}")

    def daemon_log(self, name: str) -> str:
        path = self.run_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def daemon_log_tail(self, name: str, chars: int = 3000) -> str:
        return f"--- {name}.log (tail) ---\n{self.daemon_log(name)[-chars:]}"

    def until(self, predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
        """Return the first truthy ``predicate()``; raise DeploymentError on timeout or when a daemon died."""
        import psycopg2

        deadline = time.monotonic() + timeout
        last_error = "none"
        while True:
            self.check_alive()
            try:
                result = predicate()
                if result:
                    return result
            except (psycopg2.Error, OSError) as error:  # not up yet (requests' errors are OSErrors too)
                last_error = f"{type(error).__name__}: {error}"
            if time.monotonic() > deadline:
                tails = "\n".join(self.daemon_log_tail(name, 1500) for name in self._popens)
                raise DeploymentError(
                    f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error})\n{tails}"
                )
            time.sleep(interval)

    def _health_ok(self) -> bool:
        def get() -> bool:
            try:
                # The first request builds the execution API lazily: 4 s here, a minute on a loaded machine.
                with urllib.request.urlopen(f"http://{CORE_IP}:{API_PORT}/execution/health", timeout=90) as answer:
                    return bool(answer.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        assert self.core is not None
        return self.core.call(get)

    def live_triggerers(self) -> list[dict[str, Any]]:
        """Return the triggerer jobs (id, hostname) that heartbeat in the last 30 seconds."""
        return self.query(
            "SELECT id, hostname FROM job WHERE job_type = 'TriggererJob' AND state = 'running' "
            "AND latest_heartbeat > now() - interval '30 seconds' ORDER BY id"
        )

    def wait_until_ready(self) -> None:
        """Wait for the emulator, the execution API (warming it), both workers and both triggerers."""
        self.until(lambda: self.admin("stats"), self.boot_timeout, "the emulator over HTTPS")
        self.until(self._health_ok, self.boot_timeout, "GET /execution/health")
        for index in range(1, len(HOSTS) + 1):
            self.until(lambda i=index: " ready." in self.daemon_log(f"worker{i}"), self.boot_timeout, f"worker{index}")
        self.until(lambda: len(self.live_triggerers()) >= len(HOSTS), self.boot_timeout, "two triggerer heartbeats")

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Wait until ``dag_id`` is serialized and not stale."""
        self.until(
            lambda: self.query(
                "SELECT d.dag_id FROM dag d JOIN serialized_dag s ON s.dag_id = d.dag_id "
                "WHERE d.dag_id = ? AND NOT d.is_stale",
                (dag_id,),
            ),
            timeout,
            f"DAG {dag_id} to be serialized",
        )

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
        return rows[0]["state"] if rows else None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 400) -> str:
        """Wait until the run is success or failed; return that state."""

        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in TERMINAL_RUN_STATES else None

        return str(self.until(finished, timeout, f"run {dag_id}/{run_id} to finish", interval=1.0))

    # ----------------------------------------------------------------- control
    def run_core(self, *argv: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run a command of the venv (``airflow``, ``airflow-celigo``, ``python``) on the core host."""
        return self._run(
            in_host(self.namespaces[CORE_HOST], CORE_HOST, [str(BIN / argv[0]), *argv[1:]]), argv[0], timeout
        )

    def run_on_host(
        self, host: str, argv: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` on ``host`` with the cluster's environment changed by ``env`` (a None value removes)."""
        run_env = {**self.env}
        for key, value in (env or {}).items():
            if value is None:
                run_env.pop(key, None)
            else:
                run_env[key] = value
        return subprocess.run(
            in_host(self.namespaces[host], host, argv),
            env=run_env,
            cwd=self.run_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def trigger(
        self, dag_id: str, run_id: str, conf: Mapping[str, Any] | None = None, *, sync_pools: bool = False
    ) -> str:
        """Unpause ``dag_id`` and trigger run ``run_id``, after ``airflow-celigo pools sync`` when ``sync_pools``;
        all in one Python process on the core host (one Airflow import). Return what the commands printed."""
        trigger = ["dags", "trigger", dag_id, "--run-id", run_id]
        if conf is not None:
            trigger += ["--conf", json.dumps(dict(conf))]
        script = (SYNC_POOLS if sync_pools else "") + CLI_BATCH
        return self.run_core("python", "-c", script, json.dumps([["dags", "unpause", dag_id], trigger])).stdout

    def admin(self, method: str, *args: Any) -> Any:
        """Call ``EmulatorAdmin.<method>(*args)`` over HTTPS, verified with the private CA, from the core host."""
        from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin

        assert self.core is not None and self.tls is not None
        if self._admin is None:
            self._admin = EmulatorAdmin(f"https://{CORE_IP}:{EMULATOR_PORT}", timeout=30)
            self._admin.session.trust_env = False  # else REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override verify
            self._admin.session.verify = str(self.tls.ca_file)
        return self.core.call(getattr(self._admin, method), *args)

    # ----------------------------------------------------------------- reading the DB and the logs
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run read-only SQL (``?`` placeholders) on the metadata DB over its Unix socket; return dict rows."""
        import psycopg2
        import psycopg2.extras

        conn = psycopg2.connect(
            host=str(self.pg_socket_dir), port=PG_PORT, user="postgres", dbname="airflow", connect_timeout=10
        )
        try:
            conn.set_session(readonly=True, autocommit=True)
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                cursor.execute(sql.replace("?", "%s"), tuple(params))
                return [dict(row) for row in cursor.fetchall()]
        finally:
            conn.close()

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return the run's task instances (task_id, map_index, state, try_number, hostname, pool, ...)."""
        return self.query(
            "SELECT task_id, map_index, state, try_number, hostname, pool, next_method, external_executor_id "
            "FROM task_instance WHERE dag_id = ? AND run_id = ? ORDER BY task_id, map_index",
            (dag_id, run_id),
        )

    def task_instance_history(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return the rows of earlier tries of the run's task instances."""
        return self.query(
            "SELECT task_id, map_index, try_number, state, hostname FROM task_instance_history "
            "WHERE dag_id = ? AND run_id = ? ORDER BY task_id, map_index, try_number",
            (dag_id, run_id),
        )

    @contextlib.contextmanager
    def observe(self, dag_id: str, run_id: str, interval: float = 0.5) -> Iterator[ClusterObserver]:
        """Sample the run's task instance states and trigger holders while the block runs."""
        observer = ClusterObserver(self, dag_id, run_id, interval)
        observer.start()
        try:
            yield observer
        finally:
            observer.stop()

    def task_log_files(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[Path]:
        """Return ``attempt=N.log`` files and the triggerers' ``attempt=N.log.trigger.<job id>.log`` of one TI."""
        folder = self.run_dir / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            folder = folder / f"map_index={map_index}"
        return sorted(path for path in folder.glob("attempt=*") if path.is_file()) if folder.is_dir() else []

    def logs_text(self) -> str:
        """Return every task, trigger and Airflow daemon log (not the emulator's, which prints its token)."""
        files = sorted(path for path in (self.run_dir / "logs").rglob("*") if path.is_file())
        files += [self.run_dir / f"{name}.log" for name in AIRFLOW_DAEMONS if (self.run_dir / f"{name}.log").exists()]
        return "\n".join(f"==> {path} <==\n{path.read_text(errors='replace')}" for path in files)
