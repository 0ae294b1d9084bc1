"""Keys and ids never leave their path segment, and lost write answers are resolved by looking (requests-mock)."""

from __future__ import annotations

import pickle
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import requests_mock as rm
from urllib3.exceptions import NewConnectionError

from airflow_provider_celigo.exceptions import (
    CeligoApiError,
    CeligoConfigError,
    CeligoNotFoundError,
    CeligoWriteUnclearError,
    TransportError,
)
from airflow_provider_celigo.hooks._transport.retry import may_have_reached_the_handler
from airflow_provider_celigo.hooks.celigo import CeligoHook

API = "https://api.integrator.io/v1"
FLOW = "6650f0000000000000000001"
EXPORT = "6650e0000000000000000001"
CONN_A = "6650c0000000000000000001"
JOB = "6650f1000000000000000001"
GONE: dict[str, Any] = {"status_code": 404, "json": {"errors": [{"code": "not_found", "message": "Not found"}]}}
LOST: dict[str, Any] = {"status_code": 500, "json": {"message": "boom"}}


@pytest.fixture
def hook(celigo_conn: Callable[..., str]) -> CeligoHook:
    celigo_conn("celigo_default", max_retries=3, max_retry_wait=0)
    return CeligoHook()


def paths(requests_mock: rm.Mocker) -> list[str]:
    """The raw paths sent, as they left the client (still percent-encoded)."""
    return [f"{r.method} {urlsplit(r.url).path}" for r in requests_mock.request_history]


# -- state keys: one path segment, or refused before any request -----------------------------------------


@pytest.mark.parametrize("key", [".", ".."])
@pytest.mark.parametrize(
    "call",
    [
        lambda h, k: h.put_state(k, {"x": 1}, resource_type="flows", resource_id=FLOW),
        lambda h, k: h.delete_state(k, resource_type="flows", resource_id=FLOW),
        lambda h, k: h.get_state(k, resource_type="flows", resource_id=FLOW),
        lambda h, k: h.put_state(k, 1),
        lambda h, k: h.delete_state(k, missing_ok=True),
    ],
    ids=["put", "delete", "get", "put-global", "delete-global"],
)
def test_dot_segment_state_keys_are_refused_before_any_request(
    hook: CeligoHook, requests_mock: rm.Mocker, call: Callable[[CeligoHook, str], Any], key: str
) -> None:
    with pytest.raises(CeligoConfigError) as caught:
        call(hook, key)
    message = str(caught.value)
    assert f"a state key {key!r} cannot be used" in message and "other than '.' or '..'" in message
    assert requests_mock.request_history == []


@pytest.mark.parametrize(
    ("key", "segment"),
    [
        ("a/b", "a%2Fb"),
        ("../..", "..%2F.."),
        ("%2F", "%252F"),
        ("%2e%2e", "%252e%252e"),
        ("page?x=1", "page%3Fx%3D1"),
        ("a#b", "a%23b"),
        ("...", "..."),
        ("last sync", "last%20sync"),
    ],
)
def test_other_state_keys_stay_one_segment_under_their_resource(
    hook: CeligoHook, requests_mock: rm.Mocker, key: str, segment: str
) -> None:
    requests_mock.put(rm.ANY, status_code=204)
    requests_mock.delete(rm.ANY, status_code=204)
    hook.put_state(key, 1, resource_type="flows", resource_id=FLOW)
    hook.delete_state(key, resource_type="flows", resource_id=FLOW)
    assert paths(requests_mock) == [f"PUT /v1/flows/{FLOW}/state/{segment}", f"DELETE /v1/flows/{FLOW}/state/{segment}"]
    assert all(urlsplit(r.url).query == "" for r in requests_mock.request_history)


@pytest.mark.parametrize("key", ["", None, 7])
def test_state_keys_must_be_text(hook: CeligoHook, requests_mock: rm.Mocker, key: Any) -> None:
    with pytest.raises(CeligoConfigError, match="a state key must be a non-empty string"):
        hook.put_state(key, 1)
    assert requests_mock.request_history == []


# -- ids taken from answers ------------------------------------------------------------------------------


def test_a_connection_id_from_an_answer_never_goes_into_a_path(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/exports/{EXPORT}", json={"_id": EXPORT, "_connectionId": "../../tokenInfo"})
    with pytest.raises(CeligoConfigError, match=r"\.\./\.\./tokenInfo"):
        hook.clone_resource("exports", EXPORT, connection_map={})
    assert paths(requests_mock) == [f"GET /v1/exports/{EXPORT}"]


def test_a_malformed_job_id_in_a_retry_answer_is_refused(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW})
    requests_mock.post(f"{API}/flows/{FLOW}/{EXPORT}/retry", json={"_jobId": "../flows/x"})
    with pytest.raises(CeligoConfigError, match="_jobId of the retry answer"):
        hook.retry_step_errors(FLOW, EXPORT, ["k1"])


def test_a_malformed_integration_id_in_a_clone_answer_is_refused(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/exports/{EXPORT}", json={"_id": EXPORT, "_connectionId": CONN_A})
    requests_mock.post(f"{API}/exports/{EXPORT}/clone", json={"_id": "f" * 24, "_integrationId": "../x"})
    with pytest.raises(CeligoConfigError, match="_integrationId of the clone answer"):
        hook.clone_resource("exports", EXPORT, connection_map={CONN_A: CONN_A})


# -- the hint of a missing state key ---------------------------------------------------------------------


def test_missing_state_key_says_how_to_get_none(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/state/nope", **GONE)
    requests_mock.delete(f"{API}/state/nope", **GONE)
    with pytest.raises(CeligoNotFoundError) as read:
        hook.get_state("nope")
    with pytest.raises(CeligoNotFoundError) as deleted:
        hook.delete_state("nope")
    assert str(read.value).endswith(" -- pass missing_ok=True to get None instead of an error")
    assert str(deleted.value).endswith(" -- pass missing_ok=True to get False instead of an error")
    assert "check the id" not in str(read.value) + str(deleted.value)
    again = pickle.loads(pickle.dumps(read.value))
    assert type(again) is CeligoNotFoundError and str(again) == str(read.value)


def test_other_404s_keep_the_generic_hint(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", **GONE)
    with pytest.raises(CeligoNotFoundError, match="check the id"):
        hook.get_resource("flows", FLOW)
    assert "hint" not in str(CeligoApiError(status=404, method="GET", path="/v1/x", hint=""))
    assert str(CeligoApiError(status=404, method="GET", path="/v1/x", hint="")).endswith("/v1/x: ")


# -- lost answers: which failures may have been carried out ----------------------------------------------


def refused() -> requests.ConnectionError:
    return requests.ConnectionError(NewConnectionError(None, "Failed to establish a new connection: refused"))  # type: ignore[arg-type]


def test_a_refused_connection_was_not_handled(hook: CeligoHook) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    with pytest.raises(TransportError) as caught:
        hook._send("GET", f"http://127.0.0.1:{port}/v1/flows", None, None)
    assert may_have_reached_the_handler(caught.value) is False


def test_a_dropped_connection_may_have_been_handled(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows", exc=requests.ConnectionError("Connection aborted: RemoteDisconnected"))
    with pytest.raises(TransportError) as caught:
        hook._send("GET", f"{API}/flows", None, None)
    assert may_have_reached_the_handler(caught.value) is True


def test_nameless_create_after_a_500_is_not_sent_again(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    post = requests_mock.post(f"{API}/exports", [LOST, {"json": {"_id": "e" * 24}}])
    with pytest.raises(CeligoWriteUnclearError) as caught:
        hook.create_resource("exports", {"adaptorType": "HTTPExport"})
    assert post.call_count == 1
    error = caught.value
    assert (error.status, error.method, error.path, error.code) == (500, "POST", "/v1/exports", "answer_lost")
    assert "creating an export may have happened" in str(error) and "GET /v1/exports" in str(error)
    assert isinstance(error.__cause__, CeligoApiError)


def test_nameless_create_after_a_refused_connection_is_sent_again(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    post = requests_mock.post(f"{API}/exports", [{"exc": refused()}, {"status_code": 503}, {"json": {"_id": "e" * 24}}])
    assert hook.create_resource("exports", {"adaptorType": "HTTPExport"}) == {"_id": "e" * 24}
    assert post.call_count == 3


def test_named_create_after_a_lost_answer_finds_it_instead(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    mine = {"_id": "e" * 24, "name": "feed"}
    requests_mock.get(f"{API}/exports", [{"json": []}, {"json": [{"_id": "d" * 24, "name": "other"}, mine]}])
    post = requests_mock.post(f"{API}/exports", **LOST)
    assert hook.create_resource("exports", {"name": "feed"}) == mine
    assert post.call_count == 1


def test_named_create_with_two_new_namesakes_is_unclear(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    twins = [{"_id": "e" * 24, "name": "feed"}, {"_id": "f" * 24, "name": "feed"}]
    requests_mock.get(f"{API}/exports", [{"json": []}, {"json": twins}])
    requests_mock.post(f"{API}/exports", **LOST)
    with pytest.raises(CeligoWriteUnclearError, match="2 exports named 'feed' appeared since"):
        hook.create_resource("exports", {"name": "feed"})


def test_named_create_sends_again_when_nothing_was_made(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/exports", json=[])
    post = requests_mock.post(f"{API}/exports", [LOST, {"json": {"_id": "e" * 24, "name": "feed"}}])
    assert hook.create_resource("exports", {"name": "feed"})["_id"] == "e" * 24
    assert post.call_count == 2


def test_delete_after_a_lost_answer_checks_it_is_gone(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    delete = requests_mock.delete(f"{API}/flows/{FLOW}", [LOST, GONE])
    requests_mock.get(f"{API}/flows/{FLOW}", **GONE)
    assert hook.delete_resource("flows", FLOW) is True
    assert delete.call_count == 1


def test_delete_after_a_lost_answer_sends_again_while_it_exists(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    delete = requests_mock.delete(f"{API}/flows/{FLOW}", [LOST, {"status_code": 204}])
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW})
    assert hook.delete_resource("flows", FLOW) is True
    assert delete.call_count == 2


def test_retry_after_a_lost_answer_adopts_the_new_retry_job(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW}, headers={"Date": "Wed, 01 May 2024 10:00:00 GMT"})
    jobs = requests_mock.get(
        f"{API}/jobs",
        json=[
            {"_id": JOB, "type": "retry", "_flowId": FLOW, "_exportId": EXPORT},
            {"_id": "6650f1000000000000000002", "type": "retry", "_flowId": FLOW, "_importId": "d" * 24},
        ],
    )
    post = requests_mock.post(f"{API}/flows/{FLOW}/{EXPORT}/retry", **LOST)
    assert hook.retry_step_errors(FLOW, EXPORT, ["k1"]) == [JOB]
    assert post.call_count == 1
    assert jobs.last_request is not None and jobs.last_request.qs == {
        "_flowid": [FLOW.lower()],
        "type": ["retry"],
        "createdat_gte": ["2024-05-01t10:00:00.000z"],
    }


def test_state_delete_after_a_lost_answer_checks_the_key_is_gone(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    delete = requests_mock.delete(f"{API}/flows/{FLOW}/state/cursor", [LOST, GONE])
    requests_mock.get(f"{API}/flows/{FLOW}/state/cursor", **GONE)
    assert hook.delete_state("cursor", resource_type="flows", resource_id=FLOW) is True
    assert delete.call_count == 1


def test_restore_after_a_lost_answer_checks_the_resource_is_back(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    restore = requests_mock.post(f"{API}/recycleBinTTL/flows/{FLOW}/doCascadeRestore", [LOST, GONE])
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW, "name": "Orders"})
    assert hook.restore_resource("flows", FLOW) == [{"model": "Flow", "_id": FLOW, "name": "Orders"}]
    assert restore.call_count == 1
