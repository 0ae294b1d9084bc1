"""Bad input, table-driven: every wrong connection field, operator argument and API answer gets one clear error.

Each case asserts that

- the exception is the provider's own (a ``CeligoError`` subclass; a config error for what the user typed),
- its message names the problem (the expected words are in it),
- no retry storm happened: the loopback server (or the emulator) counted exactly the requests the case
  allows, i.e. none for a value refused before any call and exactly one for a non-retryable answer,
- nothing was left half-done where the provider can avoid it (the emulator's data is unchanged),
- and the token is in none of the exception's texts (str, repr, formatted traceback).

API answers come from ``CannedServer`` (a real HTTP server on 127.0.0.1 answering what each case needs: 401,
403, 404, 409, 415, 422 with integrator.io's body, 200 with a body that is not JSON, a proxy's HTML page,
a truncated body, a job document without ``status``); answers with side effects come from the emulator.

Figures: every case counts as one bad input tried, by what answers it: refused before any request, a canned
server (which holds no data and cannot start a run), or the emulator. The family measures no duplicate runs and
no orphaned jobs (printed ``-``): the canned server cannot start a run, and the emulator cases check instead
that the emulator's data and run counters are unchanged. Each exception is one place scanned for the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from reliability_helpers import Answer, CannedServer
from report import FIGURES, exception_place, scan_for_token

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, CeligoError, InvalidJobDocument
from airflow_provider_celigo.testing import running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

pytestmark = pytest.mark.timeout(120)

TOKEN = "reliability-" + hashlib.sha256(b"bad_input").hexdigest()[:24]  # fixed: the same every run
FLOW = "6650f0000000000000000001"
JOB = "6651f00000000000000000aa"
ENVELOPE_422 = json.dumps(
    {
        "errors": [
            {
                "code": "invalid_ref",
                "message": "Connection 6650c00000000000000000ff does not exist.",
                "field": "_connectionId",
            }
        ]
    }
)
PROXY_HTML = (
    "<!DOCTYPE html><html><head><title>403 Forbidden</title></head><body><h1>Access denied</h1>"
    "<p>Request blocked by the corporate proxy.</p></body></html>"
)
GATEWAY_HTML = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"


class FakeTI:
    """The bits of a task instance the operators use: try number and XCom push."""

    try_number = 1

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def context() -> dict[str, Any]:
    """A minimal task context (no task state store, first try)."""
    return {"ti": FakeTI(), "task_state_store": None}


@dataclass
class Env:
    """What a case acts on: the connection id (pointing at the canned server), and that server."""

    conn_id: str
    canned: CannedServer

    def hook(self) -> Any:
        from airflow_provider_celigo.hooks.celigo import CeligoHook

        return CeligoHook(self.conn_id)


@dataclass(frozen=True)
class Case:
    """One bad input: what to do, the error it must give and how many requests it may cost."""

    id: str
    act: Callable[[Env], Any]
    words: tuple[str, ...]
    error: type[CeligoError] = CeligoConfigError
    requests: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    password: Any = TOKEN
    conn_type: str = "celigo"
    routes: tuple[tuple[str, str, Answer], ...] = ()
    setup: Callable[[pytest.MonkeyPatch, Env], None] | None = None


def run_flow(**kwargs: Any) -> Callable[[Env], Any]:
    """Return an action that executes a CeligoRunFlowOperator (sync, first try) with ``kwargs``."""

    def act(env: Env) -> Any:
        from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

        arguments = {"flow_id": FLOW, "poll_interval": 0.1, **kwargs}
        operator = CeligoRunFlowOperator(task_id="run", celigo_conn_id=env.conn_id, **arguments)
        return operator.execute(context())  # type: ignore[arg-type]

    return act


def operator(cls_name: str, module: str = "resources", **kwargs: Any) -> Callable[[Env], Any]:
    """Return an action that builds ``cls_name`` from ``airflow_provider_celigo.operators.<module>`` and executes it."""

    def act(env: Env) -> Any:
        import importlib

        cls = getattr(importlib.import_module(f"airflow_provider_celigo.operators.{module}"), cls_name)
        task = cls(task_id="task", celigo_conn_id=env.conn_id, **kwargs)
        return task.execute(context())

    return act


def hook_call(method: str, *args: Any, **kwargs: Any) -> Callable[[Env], Any]:
    """Return an action calling a CeligoHook method."""
    return lambda env: getattr(env.hook(), method)(*args, **kwargs)


def async_hook_call(method: str, *args: Any) -> Callable[[Env], Any]:
    """Return an action calling a CeligoAsyncHook coroutine method (and closing the hook)."""

    def act(env: Env) -> Any:
        from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook

        async def call() -> Any:
            hook = CeligoAsyncHook(env.conn_id)
            try:
                return await getattr(hook, method)(*args)
            finally:
                await hook.aclose()

        return asyncio.run(call())

    return act


def trigger(**kwargs: Any) -> Callable[[Env], Any]:
    def act(env: Env) -> Any:
        from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

        return CeligoJobTrigger(celigo_conn_id=env.conn_id, **kwargs)

    return act


def sensor(**kwargs: Any) -> Callable[[Env], Any]:
    def act(env: Env) -> Any:
        from airflow_provider_celigo.sensors.jobs import CeligoJobSensor

        return CeligoJobSensor(task_id="wait", celigo_conn_id=env.conn_id, **kwargs)

    return act


def lender(conn_type: str = "celigo", **extra: Any) -> Callable[[pytest.MonkeyPatch, Env], None]:
    """Return a set-up that defines the lender connection ``<conn id>_lender``."""

    def setup(monkeypatch: pytest.MonkeyPatch, env: Env) -> None:
        value = json.dumps({"conn_type": conn_type, "password": "x", "extra": extra})
        monkeypatch.setenv(f"AIRFLOW_CONN_{env.conn_id.upper()}_LENDER", value)

    return setup


def json_answer(status: int, body: Any, **headers: str) -> Answer:
    return Answer(status, json.dumps(body), headers=dict(headers))


RUN_OK = ("POST", r"/run$", json_answer(201, {"_jobId": JOB}))
# The run marker read before every run request (integrator.io's time from its Date header).
FLOW_READ = ("GET", rf"/flows/{FLOW}$", json_answer(200, {"_id": FLOW}))
TOKEN_INFO = hook_call("get_token_info")

CONNECTION_CASES = [
    Case("region-unknown", TOKEN_INFO, ("'region'", "'us'", "na", "eu"), extra={"region": "us"}),
    Case("region-not-a-name", TOKEN_INFO, ("'region'", "5"), extra={"region": 5}),
    Case("token-missing", TOKEN_INFO, ("no API token", "password"), password=None),
    Case("token-blank", TOKEN_INFO, ("no API token",), password="   "),
    Case("token-with-whitespace", TOKEN_INFO, ("token", "whitespace"), password="abc def"),
    Case("level-zero", TOKEN_INFO, ("'concurrency_level'", "1 to 25"), extra={"concurrency_level": 0}),
    Case("level-above-25", TOKEN_INFO, ("'concurrency_level'", "26", "1 to 25"), extra={"concurrency_level": 26}),
    Case("level-not-a-number", TOKEN_INFO, ("'concurrency_level'", "'many'"), extra={"concurrency_level": "many"}),
    Case(
        "level-fraction", TOKEN_INFO, ("'concurrency_level'", "2.5", "whole number"), extra={"concurrency_level": 2.5}
    ),
    Case("level-boolean", TOKEN_INFO, ("'concurrency_level'", "True"), extra={"concurrency_level": True}),
    Case("borrow-from-itself", TOKEN_INFO, ("itself", "cycle"), extra={"borrow_concurrency_from": "SELF"}),
    Case(
        "borrow-from-missing",
        TOKEN_INFO,
        ("does not exist", "celigo_nowhere"),
        extra={"borrow_concurrency_from": "celigo_nowhere"},
    ),
    Case(
        "borrow-from-non-celigo",
        TOKEN_INFO,
        ("'http'", "not 'celigo'"),
        extra={"borrow_concurrency_from": "LENDER"},
        setup=lender("http"),
    ),
    Case(
        "borrow-chain",
        TOKEN_INFO,
        ("chain", "borrow directly"),
        extra={"borrow_concurrency_from": "LENDER"},
        setup=lender(borrow_concurrency_from="celigo_third"),
    ),
    Case(
        "base-url-plain-http-remote",
        TOKEN_INFO,
        ("plain http", "loopback", "https"),
        extra={"base_url": "http://api.integrator.io/v1"},
    ),
    Case(
        "base-url-other-scheme", TOKEN_INFO, ("'base_url'", "ftp://"), extra={"base_url": "ftp://api.integrator.io/v1"}
    ),
    Case("base-url-without-v1", TOKEN_INFO, ("'base_url'", "/v1"), extra={"base_url": "https://api.integrator.io"}),
    Case(
        "base-url-with-credentials",
        TOKEN_INFO,
        ("'base_url'", "credentials"),
        extra={"base_url": "https://user:pw@api.integrator.io/v1"},
    ),
    Case("timeout-zero", TOKEN_INFO, ("'timeout'", "1 to 600"), extra={"timeout": 0}),
    Case("max-retries-huge", TOKEN_INFO, ("'max_retries'", "0 to 20"), extra={"max_retries": 100}),
    Case("verify-ssl-unclear", TOKEN_INFO, ("'verify_ssl'", "'maybe'", "true or false"), extra={"verify_ssl": "maybe"}),
    Case("wrong-connection-type", TOKEN_INFO, ("type 'http'", "'celigo'"), conn_type="http"),
]

OPERATOR_CASES = [
    Case("flow-id-too-short", run_flow(flow_id="12345"), ("flow_id", "'12345'", "24 hexadecimal")),
    Case("flow-id-not-hex", run_flow(flow_id="z" * 24), ("flow_id", "24 hexadecimal")),
    Case("flow-id-missing", run_flow(flow_id=None), ("flow_id", "None", "not an integrator.io id")),
    Case("export-ids-malformed", run_flow(export_ids="abc,def"), ("export_ids", "'abc'")),
    Case("export-start-date-words", run_flow(export_start_date="yesterday"), ("export_start_date", "ISO-8601")),
    Case("poll-interval-negative", run_flow(poll_interval=-1), ("poll_interval", "-1", "greater than 0")),
    Case("timeout-in-the-past", run_flow(timeout=timedelta(seconds=-60)), ("timeout", "greater than 0")),
    Case("timeout-zero-seconds", run_flow(timeout=0), ("timeout", "greater than 0")),
    Case("error-policy-unknown", run_flow(on_errors="ignore"), ("on_errors", "'ignore'", "'fail'", "'warn'")),
    Case("max-errors-negative", run_flow(max_errors=-1), ("max_errors", "-1", ">= 0")),
    Case(
        "resource-type-typo",
        operator("CeligoGetResourceOperator", resource_type="flowz", resource_id=FLOW),
        ("unknown resource type 'flowz'", "Did you mean 'flows'"),
    ),
    Case(
        "resource-type-unknown",
        operator("CeligoListResourcesOperator", resource_type="pipelines"),
        ("unknown resource type 'pipelines'", "Valid types"),
    ),
    Case(
        "create-body-is-a-list",
        operator("CeligoCreateResourceOperator", resource_type="flows", body=[{"name": "x"}]),
        ("body", "JSON object", "list"),
    ),
    Case(
        "create-body-is-not-json",
        operator("CeligoCreateResourceOperator", resource_type="exports", body="{name: nope"),
        ("body", "not valid JSON"),
    ),
    Case(
        "update-body-is-a-number",
        operator("CeligoUpdateResourceOperator", resource_type="flows", resource_id=FLOW, body=42),
        ("JSON object", "int"),
    ),
    Case(
        "get-resource-id-malformed",
        operator("CeligoGetResourceOperator", resource_type="connections", resource_id="conn-1"),
        ("connection id", "'conn-1'", "24 hexadecimal"),
    ),
    Case(
        "clone-map-bad-id",
        operator("CeligoCloneIntegrationOperator", "integrations", source_id=FLOW, connection_map={"shopify": FLOW}),
        ("connection_map key", "'shopify'"),
    ),
    Case(
        "clone-map-not-an-object",
        operator("CeligoCloneIntegrationOperator", "integrations", source_id=FLOW, connection_map="[1, 2]"),
        ("connection_map", "JSON object"),
    ),
    Case(
        "clone-flow-without-target",
        operator("CeligoCloneFlowOperator", "integrations", source_id=FLOW, integration_id=""),
        ("integration_id",),
    ),
    Case(
        "lookup-entries-a-number",
        operator("CeligoUpsertLookupCacheEntriesOperator", lookup_cache_id=FLOW, entries=42),
        ("lookup cache entries", "int"),
    ),
    Case(
        "state-type-without-id",
        operator("CeligoGetStateOperator", key="k", resource_type="flows"),
        ("resource_type", "resource_id"),
    ),
    Case(
        "flow-state-not-boolean",
        operator("CeligoFlowStateOperator", "flows", flow_id=FLOW, enabled="yes"),
        ("enabled", "'yes'", "True"),
    ),
    Case("sensor-poke-interval-zero", sensor(job_id=JOB, poke_interval=0), ("poke_interval", "greater than 0")),
    Case("trigger-deadline-words", trigger(job_id=JOB, deadline="next tuesday"), ("deadline", "ISO-8601")),
    Case("trigger-job-id-malformed", trigger(job_id="job-1"), ("job id", "'job-1'")),
]

API_CASES = [
    Case(
        "401-envelope",
        TOKEN_INFO,
        ("HTTP 401", "unauthorized", "check the API token"),
        CeligoApiError,
        1,
        routes=(
            ("GET", "/tokenInfo", json_answer(401, {"errors": [{"code": "unauthorized", "message": "Bad token"}]})),
        ),
    ),
    Case(
        "401-flat-body",
        TOKEN_INFO,
        ("HTTP 401", "Unauthorized", "check the API token"),
        CeligoApiError,
        1,
        routes=(("GET", "/tokenInfo", json_answer(401, {"message": "Unauthorized"})),),
    ),
    Case(
        "403-permission",
        hook_call("get_resource", "flows", FLOW),
        ("HTTP 403", "lacks permission"),
        CeligoApiError,
        1,
        routes=(("GET", "/flows/", json_answer(403, {"errors": [{"code": "forbidden", "message": "No access"}]})),),
    ),
    Case(
        "404-resource",
        hook_call("get_resource", "flows", FLOW),
        ("HTTP 404", f"flow {FLOW} does not exist", "check the id"),
        CeligoApiError,
        1,
        routes=(("GET", "/flows/", json_answer(404, {"errors": [{"code": "not_found", "message": "Not found"}]})),),
    ),
    Case(
        "409-conflict",
        hook_call("create_resource", "tags", {"tag": "prod"}),
        ("HTTP 409", "conflict", "Tag prod already exists"),
        CeligoApiError,
        1,
        routes=(
            (
                "POST",
                "/tags$",
                json_answer(409, {"errors": [{"code": "conflict", "message": "Tag prod already exists"}]}),
            ),
        ),
    ),
    Case(
        "415-media-type",
        hook_call("put_state", "watermark", {"at": 1}),
        ("HTTP 415", "Unsupported Media Type"),
        CeligoApiError,
        1,
        routes=(("PUT", "/state/", json_answer(415, {"message": "Unsupported Media Type"})),),
    ),
    Case(
        "422-integrator-io-body",
        hook_call(
            "create_resource", "exports", {"_connectionId": "6650c00000000000000000ff", "adaptorType": "HTTPExport"}
        ),
        ("HTTP 422", "invalid_ref", "does not exist", "field: _connectionId"),
        CeligoApiError,
        1,
        routes=(("POST", "/exports$", Answer(422, ENVELOPE_422)),),
    ),
    Case(
        "422-run-disabled-flow",
        run_flow(),
        ("HTTP 422", "flow_disabled", "enable it"),
        CeligoApiError,
        2,  # the run marker read, then the refused run
        routes=(
            FLOW_READ,
            (
                "POST",
                "/run$",
                json_answer(
                    422, {"errors": [{"code": "flow_disabled", "message": "Flow is disabled; enable it first."}]}
                ),
            ),
        ),
    ),
    Case(
        "200-html-not-json",
        hook_call("get_resource", "flows", FLOW),
        ("expected JSON", "text/html"),
        CeligoApiError,
        1,
        routes=(
            ("GET", "/flows/", Answer(200, "<html><body>Welcome to nginx!</body></html>", content_type="text/html")),
        ),
    ),
    Case(
        "200-json-type-but-not-json",
        hook_call("get_resource", "flows", FLOW),
        ("not valid JSON",),
        CeligoApiError,
        1,
        routes=(("GET", "/flows/", Answer(200, "OK")),),
    ),
    Case(
        "403-proxy-html-page",
        hook_call("get_resource", "flows", FLOW),
        ("HTTP 403", "HTML", "proxy", "Access denied"),
        CeligoApiError,
        1,
        routes=(("GET", "/flows/", Answer(403, PROXY_HTML, content_type="text/html")),),
    ),
    Case(
        "502-proxy-html-page-bounded-retries",
        hook_call("get_resource", "flows", FLOW),
        ("HTTP 502", "HTML", "Bad Gateway"),
        CeligoApiError,
        3,  # retryable: exactly max_retries + 1 attempts, then one clear error
        extra={"max_retries": 2, "max_retry_wait": 0.1},
        routes=(("GET", "/flows/", Answer(502, GATEWAY_HTML, content_type="text/html")),),
    ),
    Case(
        "200-truncated-body",
        hook_call("get_resource", "flows", FLOW),
        ("not valid JSON", "truncated"),
        CeligoApiError,
        1,
        routes=(("GET", "/flows/", Answer(200, '{"_id": "6650f0000000000000000001", "name": "Ord')),),
    ),
    Case(
        "job-without-status",
        run_flow(),
        ("has no 'status'",),
        InvalidJobDocument,
        3,  # the run marker read, the run (201) and one read of the job
        routes=(
            FLOW_READ,
            RUN_OK,
            ("GET", f"/jobs/{JOB}$", json_answer(200, {"_id": JOB, "type": "flow", "_flowId": FLOW})),
        ),
    ),
    Case(
        "job-unknown-status",
        run_flow(),
        ("unknown status 'exploded'",),
        InvalidJobDocument,
        3,
        routes=(
            FLOW_READ,
            RUN_OK,
            ("GET", f"/jobs/{JOB}$", json_answer(200, {"_id": JOB, "type": "flow", "status": "exploded"})),
        ),
    ),
    Case(
        "job-empty-body",
        run_flow(),
        ("expected a job document",),
        InvalidJobDocument,
        3,
        routes=(FLOW_READ, RUN_OK, ("GET", f"/jobs/{JOB}$", Answer(200, b""))),
    ),
    Case(
        "run-answer-without-job-id",
        run_flow(),
        ("no _jobId",),
        CeligoApiError,
        2,
        routes=(FLOW_READ, ("POST", "/run$", json_answer(201, {"status": "started"}))),
    ),
    Case(
        "list-answer-not-an-array",
        hook_call("list_resources", "flows"),
        ("expected a JSON array",),
        CeligoApiError,
        1,
        routes=(("GET", "/flows$", json_answer(200, {"flows": []})),),
    ),
    Case(
        "async-401",
        async_hook_call("get_job", JOB),
        ("HTTP 401", "check the API token"),
        CeligoApiError,
        1,
        routes=(("GET", "/jobs/", json_answer(401, {"errors": [{"code": "unauthorized", "message": "Bad token"}]})),),
    ),
    Case(
        "async-truncated-job",
        async_hook_call("get_job", JOB),
        ("not valid JSON",),
        CeligoApiError,
        1,
        routes=(("GET", "/jobs/", Answer(200, '{"_id": "6651f00000000000000000aa", "stat')),),
    ),
]

CASES = CONNECTION_CASES + OPERATOR_CASES + API_CASES


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    with CannedServer() as server:
        yield server


def exception_texts(error: BaseException) -> dict[str, str]:
    """Return every text an exception shows: str, repr and the formatted traceback."""
    return {
        "str": str(error),
        "repr": repr(error),
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    }


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_one_clear_error(case: Case, canned: CannedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    canned.reset()
    conn_id = f"celigo_bad_{case.id.replace('-', '_')}"
    extra: dict[str, Any] = {"base_url": canned.base_url, "max_retries": 3, "max_retry_wait": 0.2, **case.extra}
    for key, value in extra.items():
        if value in ("SELF", "LENDER"):
            extra[key] = conn_id if value == "SELF" else f"{conn_id}_lender"
    payload = {"conn_type": case.conn_type, "password": case.password, "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(payload))
    env = Env(conn_id, canned)
    if case.setup is not None:
        case.setup(monkeypatch, env)
    for method, path, answer in case.routes:
        canned.route(method, path, answer)

    family = FIGURES["bad_input"]
    family.add_scenarios()
    target = "refused before any request" if case.requests == 0 else "against a canned server that cannot start a run"
    family.add_bad_inputs(target=target)
    with pytest.raises(CeligoError) as caught:
        case.act(env)
    error = caught.value
    texts = exception_texts(error)
    leaks = scan_for_token(TOKEN, [exception_place(case.id, error)], "bad_input")

    assert isinstance(error, case.error), texts["traceback"]
    missing = [word for word in case.words if word not in str(error)]
    assert not missing, f"message lacks {missing}: {error}"
    assert canned.total == case.requests, f"{canned.total} requests, expected {case.requests}: {canned.log}"
    assert not leaks


# -- answers with side effects: the emulator, and nothing left half-done -------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    with running_emulator(seed="demo", clock_speed=20.0, tokens={TOKEN: "default"}) as server:
        yield server


def account_data(emulator: Any) -> dict[str, Any]:
    data: dict[str, Any] = emulator.admin.data()["accounts"]["default"]
    return data


@dataclass(frozen=True)
class EmulatorCase:
    """A refused call against the emulator: the error, the calls it may make, and that nothing changed."""

    id: str
    act: Callable[[Any], Any]
    words: tuple[str, ...]
    error: type[CeligoError]
    writes: int  # POST/PUT/PATCH/DELETE requests that reach the emulator
    reads: int
    token: str = TOKEN


def _hook() -> Any:
    from airflow_provider_celigo.hooks.celigo import CeligoHook

    return CeligoHook("celigo_emulated")


EMULATOR_CASES = [
    EmulatorCase(
        "clone-with-unmapped-connections-creates-nothing",
        lambda hook: hook.clone_resource(
            "integrations",
            DEMO_IDS["integration_template"],
            name="Acme",
            connection_map={DEMO_IDS["conn_shopify"]: DEMO_IDS["conn_acme_shopify"]},
        ),
        ("connection_map has no target", DEMO_IDS["conn_netsuite"], "nothing was cloned"),
        CeligoConfigError,
        writes=0,
        reads=-1,  # reads the source to find its connections: any number, no write
    ),
    EmulatorCase(
        "create-with-an-existing-name-creates-nothing",
        lambda hook: hook.create_resource(
            "flows", {"name": "Orders to NetSuite", "_integrationId": DEMO_IDS["integration_shop"]}
        ),
        ("already exists", DEMO_IDS["flow_orders"], "if_exists='return'"),
        CeligoConfigError,
        writes=0,
        reads=1,
    ),
    EmulatorCase(
        "create-with-a-missing-reference-creates-nothing",
        lambda hook: hook.create_resource(
            "exports",
            {"name": "Orphan export", "_connectionId": "6650c00000000000000000ff", "adaptorType": "HTTPExport"},
        ),
        ("HTTP 422", "_connectionId"),
        CeligoApiError,
        writes=1,
        reads=1,
    ),
    EmulatorCase(
        "update-that-would-write-a-masked-secret-changes-nothing",
        lambda hook: hook.update_resource(
            "connections", DEMO_IDS["conn_shopify"], {"http": {"baseURI": "https://new.example"}}
        ),
        ("full PUT", "******", "masked_secrets='drop'"),
        CeligoConfigError,
        writes=0,
        reads=1,
    ),
    EmulatorCase(
        "run-of-a-disabled-flow-starts-no-job",
        lambda hook: hook.run_flow(DEMO_IDS["flow_legacy_ftp"]),
        ("HTTP 422", "flow_disabled"),
        CeligoApiError,
        writes=1,
        reads=1,  # the run marker read (GET /flows/{id})
    ),
    EmulatorCase(
        "delete-of-a-missing-flow-deletes-nothing",
        lambda hook: hook.delete_resource("flows", "6650f00000000000000000ff"),
        ("HTTP 404",),
        CeligoApiError,
        writes=-1,  # the delete itself, refused
        reads=-1,
    ),
    EmulatorCase(
        "wrong-token-is-refused-once",
        lambda hook: hook.list_resources("flows"),
        ("HTTP 401", "check the API token"),
        CeligoApiError,
        writes=0,
        reads=1,
        token="not-the-" + TOKEN,
    ),
]


@pytest.mark.parametrize("case", EMULATOR_CASES, ids=[case.id for case in EMULATOR_CASES])
def test_refused_call_leaves_nothing_behind(case: EmulatorCase, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {"base_url": emulator.base_url, "max_retries": 3, "max_retry_wait": 0.2}
    payload = {"conn_type": "celigo", "password": case.token, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_CELIGO_EMULATED", json.dumps(payload))
    before, runs_before = account_data(emulator), emulator.admin.runs()
    logged = len(emulator.admin.requests_log())

    family = FIGURES["bad_input"]
    family.add_scenarios()
    family.add_bad_inputs(target="against the emulator")
    with pytest.raises(CeligoError) as caught:
        case.act(_hook())
    error = caught.value
    calls = emulator.admin.requests_log()[logged:]
    leaks = scan_for_token(TOKEN, [exception_place(case.id, error)], "bad_input")

    assert isinstance(error, case.error), repr(error)
    missing = [word for word in case.words if word not in str(error)]
    assert not missing, f"message lacks {missing}: {error}"
    writes = [c for c in calls if c["method"] != "GET"]
    reads = [c for c in calls if c["method"] == "GET"]
    if case.writes >= 0:
        assert len(writes) == case.writes, writes
    else:
        assert len(writes) == 1 and writes[0]["status"] == 404, writes
    if case.reads >= 0:
        assert len(reads) == case.reads, reads
    assert all(c.get("status") in (200, 204, 401, 404, 422) for c in calls), calls  # no 5xx, no retried call
    assert account_data(emulator) == before, "the refused call changed integrator.io's data"
    assert emulator.admin.runs() == runs_before
    assert not leaks
