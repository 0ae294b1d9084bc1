"""``CeligoHook`` against ``requests-mock`` (and a real local socket for dropped connections and timeouts)."""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import requests_mock
import structlog

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, CeligoError, CeligoRunUnclearError
from airflow_provider_celigo.hooks.celigo import CeligoHook

BASE = "https://api.integrator.io/v1"
Define = Callable[..., str]
TEST_TOKEN = "unit-hook-token-9b3c7f"


@pytest.fixture
def celigo_conn(celigo_conn: Define) -> Define:
    """The shared fixture, with this module's own token (so the leak checks below know what to look for)."""
    return functools.partial(celigo_conn, password=TEST_TOKEN)


# integrator.io's time in the Date header of GET /flows/{id}, the run marker read before a run request.
MARKER_DATE = "Mon, 23 Nov 2026 10:00:00 GMT"


@pytest.fixture
def mock() -> Iterator[requests_mock.Mocker]:
    with requests_mock.Mocker() as mocker:
        mocker.get(re.compile(rf"{re.escape(BASE)}/flows/[0-9a-f]{{24}}$"), json={}, headers={"Date": MARKER_DATE})
        yield mocker


@pytest.fixture
def hook(celigo_conn: Define) -> Iterator[CeligoHook]:
    """A hook on ``celigo_default`` that retries without sleeping (``max_retry_wait=0``)."""
    celigo_conn("celigo_default", max_retry_wait=0, max_retries=3)
    hook = CeligoHook()
    yield hook
    hook.close()


def error_of(call: Callable[[], Any]) -> CeligoApiError:
    with pytest.raises(CeligoApiError) as caught:
        call()
    return caught.value


# -- retries --------------------------------------------------------------------------------------------------


def test_429_waits_for_retry_after_then_succeeds(celigo_conn: Define, mock: requests_mock.Mocker) -> None:
    celigo_conn("celigo_default")  # default max_retry_wait (60 s) lets Retry-After: 2 through
    mock.get(
        f"{BASE}/tokenInfo",
        [
            {"status_code": 429, "headers": {"Retry-After": "2"}, "json": {"message": "Too many requests"}},
            {"json": {"_userId": "u1"}},
        ],
    )
    started = time.monotonic()
    assert CeligoHook().get_token_info() == {"_userId": "u1"}
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 6
    assert mock.call_count == 2


def test_503_twice_then_200(hook: CeligoHook, mock: requests_mock.Mocker) -> None:
    mock.get(
        f"{BASE}/flows/{'a' * 24}",
        [{"status_code": 503, "text": "busy"}, {"status_code": 503, "json": {"message": "busy"}}, {"json": {"ok": 1}}],
    )
    assert hook.request("GET", f"/flows/{'a' * 24}") == {"ok": 1}
    assert mock.call_count == 3
    assert all(r.headers["Authorization"] == f"Bearer {TEST_TOKEN}" for r in mock.request_history)


@pytest.mark.parametrize(
    "failure",
    [requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout, requests.exceptions.ConnectTimeout],
)
def test_transport_failures_are_retried(hook: CeligoHook, mock: requests_mock.Mocker, failure: type) -> None:
    mock.get(f"{BASE}/tokenInfo", [{"exc": failure}, {"exc": failure}, {"json": {"_userId": "u1"}}])
    assert hook.get_token_info() == {"_userId": "u1"}
    assert mock.call_count == 3


def test_retries_run_out(celigo_conn: Define, mock: requests_mock.Mocker) -> None:
    celigo_conn("celigo_default", max_retry_wait=0, max_retries=2)
    mock.get(f"{BASE}/tokenInfo", exc=requests.exceptions.ReadTimeout)
    error = error_of(CeligoHook().get_token_info)
    assert (error.status, error.code, error.method, error.path) == (0, "timeout", "GET", "/v1/tokenInfo")
    assert mock.call_count == 3


class _Flaky(BaseHTTPRequestHandler):
    """First request: hang up without answering (or answer late); later ones: 200."""

    calls: list[str]
    mode = "drop"

    def do_GET(self) -> None:
        self.calls.append(self.path)
        if len(self.calls) == 1 and self.mode == "drop":
            self.close_connection = True
            return
        if len(self.calls) == 1 and self.mode == "slow":
            time.sleep(1.6)
        body = b'{"_userId": "u1"}'
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up on the slow answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("mode", ["drop", "slow"])
def test_real_dropped_connection_and_timeout_are_retried(celigo_conn: Define, mode: str) -> None:
    handler = type("Handler", (_Flaky,), {"calls": [], "mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        celigo_conn("c_flaky", base_url=f"http://127.0.0.1:{port}/v1", timeout=1, max_retry_wait=0, max_retries=2)
        hook = CeligoHook("c_flaky")
        assert hook.get_token_info() == {"_userId": "u1"}
        assert handler.calls == ["/v1/tokenInfo", "/v1/tokenInfo"]
        hook.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- errors that are final --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (401, "unauthorized", "Invalid or expired token"),
        (404, "not_found", "Flow not found"),
        (422, "invalid_field", "Flow is disabled"),
    ],
)
def test_client_errors_fail_at_once(
    hook: CeligoHook, mock: requests_mock.Mocker, status: int, code: str, message: str
) -> None:
    flow = "5f1a2b3c4d5e6f7a8b9c0d1e"
    post = mock.post(
        f"{BASE}/flows/{flow}/run",
        status_code=status,
        json={"errors": [{"code": code, "message": message, "field": "disabled" if status == 422 else None}]},
    )
    error = error_of(lambda: hook.run_flow(flow))
    assert post.call_count == 1 and mock.call_count == 2  # the run marker read, then one POST
    assert (error.status, error.code, error.method, error.path) == (status, code, "POST", f"/v1/flows/{flow}/run")
    assert message in str(error) and error.message == message
    assert f"HTTP {status}" in str(error)
    if status == 422:
        assert error.field == "disabled" and "(field: disabled)" in str(error)


def test_flat_message_body(hook: CeligoHook, mock: requests_mock.Mocker) -> None:
    mock.get(f"{BASE}/tokenInfo", status_code=401, json={"message": "Unauthorized"})
    error = error_of(hook.get_token_info)
    assert (error.status, error.message, mock.call_count) == (401, "Unauthorized", 1)
    assert "check the API token" in str(error)


def test_html_502_from_a_proxy(hook: CeligoHook, mock: requests_mock.Mocker) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"
    mock.get(f"{BASE}/exports", status_code=502, text=page, headers={"Content-Type": "text/html"})
    error = error_of(lambda: hook.request("GET", "/exports"))
    assert error.status == 502 and mock.call_count == 4  # retried: 1 + max_retries
    assert "HTML" in error.message and "502 Bad Gateway" in error.message and "<title>" not in str(error)


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("application/json", '{"_id": "abc", "na', "invalid_json"),
        ("text/html", "<html>login</html>", "unexpected_content"),
    ],
)
def test_200_with_a_body_that_is_not_json(
    hook: CeligoHook, mock: requests_mock.Mocker, content_type: str, body: str, code: str
) -> None:
    mock.get(f"{BASE}/tokenInfo", text=body, headers={"Content-Type": content_type})
    error = error_of(hook.get_token_info)
    assert (error.status, error.code, mock.call_count) == (200, code, 1)


# -- pagination -------------------------------------------------------------------------------------------------


def test_three_page_link_listing(hook: CeligoHook, mock: requests_mock.Mocker) -> None:
    page2, page3 = f"{BASE}/flows?after=b2&size=2", f"{BASE}/flows?after=b4&size=2"
    link2, link3 = f'<{page2}>; rel="next"', f'<{BASE}/flows>; rel="first", <{page3}>; rel=next'
    pages = [
        {"json": [{"_id": "1"}, {"_id": "2"}], "headers": {"Link": link2}},
        {"json": [{"_id": "3"}, {"_id": "4"}], "headers": {"Link": link3}},
        {"json": [{"_id": "5"}]},
    ]
    mock.get(f"{BASE}/flows", pages)
    assert [item["_id"] for item in hook.paginate("/flows", {"size": 2})] == ["1", "2", "3", "4", "5"]
    assert [r.url for r in mock.request_history] == [f"{BASE}/flows?size=2", page2, page3]


def test_204_list_is_empty(hook: CeligoHook, mock: requests_mock.Mocker) -> None:
    mock.get(f"{BASE}/scripts", status_code=204)
    assert list(hook.paginate("/scripts")) == []


@pytest.mark.parametrize(
    "foreign", ["https://evil.example.com/v1/flows?page=2", "http://api.integrator.io/v1/flows?p=2"]
)
def test_link_to_another_host_is_refused(hook: CeligoHook, mock: requests_mock.Mocker, foreign: str) -> None:
    mock.get(f"{BASE}/flows", json=[{"_id": "1"}], headers={"Link": f'<{foreign}>; rel="next"'})
    trap = mock.get(foreign, json=[{"_id": "stolen"}])
    items = []
    with pytest.raises(CeligoConfigError, match="refusing to follow a link"):
        for item in hook.paginate("/flows"):
            items.append(item["_id"])
    assert items == ["1"] and not trap.called
    assert all(urlsplit(r.url).netloc == "api.integrator.io" and r.scheme == "https" for r in mock.request_history)


def _jobs(newest: datetime, count: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {"_id": f"{prefix}{i:04d}", "createdAt": (newest - timedelta(seconds=i)).isoformat().replace("+00:00", "Z")}
        for i in range(count)
    ]


def test_iter_jobs_pages_by_created_at_windows(hook: CeligoHook, mock: requests_mock.Mocker) -> None:
    start = datetime(2026, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    first, second, third = (
        _jobs(start, 1000, "a"),
        _jobs(start - timedelta(hours=1), 1000, "b"),
        _jobs(start - timedelta(hours=2), 7, "c"),
    )
    windows: list[str | None] = []

    def answer(request: Any, context: Any) -> str:
        lte = parse_qs(urlsplit(request.url).query).get("createdAt_lte", [None])[0]
        windows.append(lte)
        return json.dumps({None: first, "2026-05-01T11:43:20.999Z": second, "2026-05-01T10:43:20.999Z": third}[lte])

    mock.get(f"{BASE}/jobs", text=answer, headers={"Content-Type": "application/json"})
    ids = [job["_id"] for job in hook.iter_jobs(_flowId="f" * 24, type="flow")]
    assert len(ids) == 2007 == len(set(ids))
    assert ids[0] == "a0000" and ids[-1] == "c0006"
    assert windows == [None, "2026-05-01T11:43:20.999Z", "2026-05-01T10:43:20.999Z"]
    assert all(parse_qs(urlsplit(r.url).query)["_flowId"] == ["f" * 24] for r in mock.request_history)


def test_iter_jobs_stops_on_a_short_page(hook: CeligoHook, mock: requests_mock.Mocker) -> None:
    mock.get(f"{BASE}/jobs", json=_jobs(datetime(2026, 5, 1, tzinfo=timezone.utc), 999, "a"))
    assert len(list(hook.iter_jobs())) == 999 and mock.call_count == 1


# -- the token never leaks ------------------------------------------------------------------------------------


def _scenarios(mock: requests_mock.Mocker) -> dict[str, Callable[[CeligoHook], Any]]:
    echo = {"errors": [{"code": "unauthorized", "message": f"Bearer {TEST_TOKEN} is not valid"}]}
    mock.get(f"{BASE}/tokenInfo", status_code=401, json=echo)
    mock.get(f"{BASE}/busy", status_code=503, text=f"<html>upstream said {TEST_TOKEN}</html>")
    mock.get(f"{BASE}/down", exc=requests.exceptions.ConnectionError(f"refused with Bearer {TEST_TOKEN}"))
    mock.get(f"{BASE}/slow", exc=requests.exceptions.ReadTimeout(f"headers: Bearer {TEST_TOKEN}"))
    mock.get(f"{BASE}/flows", json=[], headers={"Link": '<https://evil.example.com/v1/flows?p=2>; rel="next"'})
    mock.get(f"{BASE}/garbled", text="{not json", headers={"Content-Type": "application/json"})
    return {
        "401 echoing the token": lambda h: h.get_token_info(),
        "503 until retries run out": lambda h: h.request("GET", "/busy"),
        "connection refused": lambda h: h.request("GET", "/down"),
        "timeout": lambda h: h.request("GET", "/slow"),
        "foreign link": lambda h: list(h.paginate("/flows")),
        "garbled 200": lambda h: h.request("GET", "/garbled"),
        "test_connection": lambda h: h.test_connection(),
    }


def test_token_never_appears_in_logs_errors_or_reprs(
    celigo_conn: Define,
    mock: requests_mock.Mocker,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    celigo_conn("celigo_default", max_retry_wait=0, max_retries=1)
    caplog.set_level(logging.DEBUG)
    task_log = logging.getLogger("airflow.task")
    texts: list[str] = []
    with structlog.testing.capture_logs() as events:
        for name, scenario in _scenarios(mock).items():
            hook = CeligoHook()
            hook.log.debug("scenario %s", name)
            task_log.info("scenario %s", name)
            try:
                outcome = scenario(hook)
            except CeligoError as error:
                texts += [str(error), repr(error), str(error.args), json.dumps(getattr(error, "errors", []))]
            else:
                texts.append(repr(outcome))
            texts += [repr(hook), repr(hook.settings), str(hook.settings)]
    captured = capsys.readouterr()
    # The task logger did record the retries: through structlog (Airflow 3.1+) or stdlib logging (3.0).
    assert any("Celigo call failed" in str(e) for e in events) or "Celigo call failed" in caplog.text
    assert any("401" in t for t in texts) and any("evil.example.com" in t for t in texts)
    channels = {
        "exceptions and reprs": "\n".join(texts),
        "caplog": caplog.text + "\n".join(str(r.args) for r in caplog.records),
        "stdout": captured.out,
        "stderr": captured.err,
        "task logger": "\n".join(map(str, events)),
    }
    for channel, text in channels.items():
        assert TEST_TOKEN not in text, f"token leaked into {channel}"


def test_bad_connection_errors_do_not_show_the_token(celigo_conn: Define) -> None:
    for extra in ({"region": "mars"}, {"concurrency_level": 99}, {"base_url": "http://example.com/v1"}):
        celigo_conn("c_bad", **extra)
        with pytest.raises(CeligoConfigError) as caught:
            CeligoHook("c_bad").request("GET", "/tokenInfo")
        assert TEST_TOKEN not in str(caught.value) and TEST_TOKEN not in repr(caught.value)


FLOW_ID = "6650f0000000000000000001"
RUN_URL = f"{BASE}/flows/{FLOW_ID}/run"
JOBS_URL = f"{BASE}/jobs"


def flow_job(job_id: str, created_at: str, status: str = "running") -> dict[str, Any]:
    return {"_id": job_id, "type": "flow", "_flowId": FLOW_ID, "status": status, "createdAt": created_at}


@pytest.mark.parametrize("status", ["running", "completed"])
def test_run_whose_answer_was_lost_adopts_the_job_it_started(
    hook: CeligoHook, mock: requests_mock.Mocker, status: str
) -> None:
    post = mock.post(RUN_URL, [{"exc": requests.exceptions.ConnectionError}, {"json": {"_jobId": "b" * 24}}])
    jobs = mock.get(JOBS_URL, json=[flow_job("a" * 24, "2026-11-23T10:00:00.400Z", status)])
    assert hook.run_flow(FLOW_ID) == "a" * 24  # a quick flow that already ended is ours too
    assert (post.call_count, jobs.call_count) == (1, 1)
    query = jobs.last_request.qs
    assert query["createdat_gte"] == ["2026-11-23t10:00:00.000z"] and "status" not in query


def test_run_whose_answer_was_lost_runs_again_when_nothing_started(
    hook: CeligoHook, mock: requests_mock.Mocker
) -> None:
    post = mock.post(RUN_URL, [{"status_code": 502, "text": "bad gateway"}, {"json": {"_jobId": "b" * 24}}])
    jobs = mock.get(JOBS_URL, json=[])  # the running job of another DAG run, created earlier, is not listed
    assert hook.run_flow(FLOW_ID) == "b" * 24
    assert (post.call_count, jobs.call_count) == (2, 1)


def test_run_whose_answer_was_lost_never_adopts_an_older_job(hook: CeligoHook, mock: requests_mock.Mocker) -> None:
    post = mock.post(RUN_URL, [{"exc": requests.exceptions.ConnectionError}, {"json": {"_jobId": "b" * 24}}])
    mock.get(JOBS_URL, json=[flow_job("a" * 24, "2026-11-23T09:59:59.999Z")])  # an answer ignoring the filter
    assert hook.run_flow(FLOW_ID) == "b" * 24
    assert post.call_count == 2


def test_run_whose_answer_was_lost_with_two_candidates_fails(hook: CeligoHook, mock: requests_mock.Mocker) -> None:
    lost = {"status_code": 500, "json": {"message": "oops"}}
    post = mock.post(RUN_URL, [lost, lost, {"json": {"_jobId": "b" * 24}}])
    candidates = [flow_job("c" * 24, "2026-11-23T10:00:02.000Z"), flow_job("a" * 24, "2026-11-23T10:00:01.000Z")]
    mock.get(JOBS_URL, json=candidates)
    with pytest.raises(CeligoRunUnclearError) as caught:
        hook.run_flow(FLOW_ID)
    assert caught.value.job_ids == ["a" * 24, "c" * 24] and post.call_count == 1
    assert hook.run_flow(FLOW_ID, on_unclear_run="adopt_earliest") == "a" * 24


@pytest.mark.parametrize("status", [429, 503])
def test_run_refused_before_any_work_is_simply_retried(
    hook: CeligoHook, mock: requests_mock.Mocker, status: int
) -> None:
    post = mock.post(RUN_URL, [{"status_code": status, "json": {"message": "later"}}, {"json": {"_jobId": "b" * 24}}])
    jobs = mock.get(JOBS_URL, json=[flow_job("a" * 24, "2026-11-23T10:00:00.400Z")])
    assert hook.run_flow(FLOW_ID) == "b" * 24
    assert (post.call_count, jobs.call_count) == (2, 0)
