"""Issue 13's smaller gaps on the hook side (requests-mock): links that walk off the listing, clone documents,
PATCH fallback from a refused guess, JSON Patch writes that must not repeat, masks per type, the /jobs cap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_celigo.exceptions import (
    CeligoApiError,
    CeligoConfigError,
    CeligoNotFoundError,
    CeligoWriteUnclearError,
)
from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.resource_types import ResourceType, is_documented_patch_path, is_patchable_path

API = "https://api.integrator.io/v1"
FLOW = "6650f0000000000000000001"
STEP = "6650e0000000000000000001"
INTEGRATION = "6650a0000000000000000001"
NEW_INTEGRATION = "6650a0000000000000000009"
NEW_FLOW = "6650f0000000000000000009"
NEW_EXPORT = "6650e0000000000000000009"
ICLIENT = "6650b0000000000000000005"
CONN = "6650c0000000000000000001"
MASK = "******"


@pytest.fixture
def hook(celigo_conn: Callable[..., str]) -> CeligoHook:
    celigo_conn("celigo_default", max_retries=1, max_retry_wait=0.01)
    return CeligoHook()


def link(url: str) -> dict[str, str]:
    return {"Link": f'<{url}>; rel="next"'}


def sent(requests_mock: rm.Mocker, method: str) -> list[Any]:
    return [r for r in requests_mock.request_history if r.method == method]


# -- (i) links stay on the listing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        f"{API}/tokenInfo",
        f"{API}/flows/../tokenInfo",
        f"{API}/flows/%2E%2E/tokenInfo",
        "https://api.integrator.io/v2/flows?after=x",
        "https://api.integrator.io/other/v1/flows?after=x",
    ],
)
def test_paginate_refuses_a_link_off_the_listing(hook: CeligoHook, requests_mock: rm.Mocker, target: str) -> None:
    requests_mock.get(f"{API}/flows", json=[{"_id": "a"}], headers=link(target))
    requests_mock.get(target, json=[{"_id": "stolen"}])
    with pytest.raises(CeligoApiError) as caught:
        list(hook.paginate("/flows"))
    assert caught.value.code == "paging_off_path" and "'/v1/flows'" in str(caught.value)
    assert len(requests_mock.request_history) == 1


def test_paginate_follows_a_link_on_the_same_path(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows", json=[{"_id": "a"}], headers=link(f"{API}/flows?after=c2"))
    requests_mock.get(f"{API}/flows?after=c2", json=[{"_id": "b"}])
    assert [item["_id"] for item in hook.paginate("/flows")] == ["a", "b"]


@pytest.mark.parametrize("following", [f"/api/flows/{FLOW}/{STEP}/../../x/errors", f"/api/flows/{FLOW}/errors"])
def test_step_errors_refuse_a_next_page_elsewhere(hook: CeligoHook, requests_mock: rm.Mocker, following: str) -> None:
    requests_mock.get(
        f"{API}/flows/{FLOW}/{STEP}/errors", json={"errors": [{"errorId": "1"}], "nextPageURL": following}
    )
    with pytest.raises(CeligoApiError, match="not at this listing's path") as caught:
        hook.get_step_errors(FLOW, STEP)
    assert caught.value.code == "paging_off_path"


# -- (a) a clone answered with the document ------------------------------------------------------------------


def test_integration_clone_answered_with_the_document_lists_its_flows(
    hook: CeligoHook, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(f"{API}/integrations", json=[])
    requests_mock.post(
        f"{API}/integrations/{INTEGRATION}/clone", status_code=201, json={"_id": NEW_INTEGRATION, "name": "Copy"}
    )
    flow = {"_id": NEW_FLOW, "name": "F", "pageGenerators": [{"_exportId": NEW_EXPORT}]}
    requests_mock.get(f"{API}/integrations/{NEW_INTEGRATION}/flows", json=[flow])
    requests_mock.get(f"{API}/exports/{NEW_EXPORT}", json={"_id": NEW_EXPORT, "name": "E"})
    result = hook.clone_resource("integrations", INTEGRATION, name="Copy", check_connection_map=False)
    assert result["integration_id"] == NEW_INTEGRATION and result["flow_ids"] == [NEW_FLOW]
    assert result["resources"] == [
        {"model": "Integration", "_id": NEW_INTEGRATION, "name": "Copy"},
        {"model": "Flow", "_id": NEW_FLOW, "name": "F"},
        {"model": "Export", "_id": NEW_EXPORT, "name": "E"},
    ]


def test_clone_answered_with_only_the_integration_id(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/integrations", json=[])
    requests_mock.post(f"{API}/integrations/{INTEGRATION}/clone", json={"_integrationId": NEW_INTEGRATION})
    requests_mock.get(f"{API}/integrations/{NEW_INTEGRATION}", json={"_id": NEW_INTEGRATION, "name": "Copy"})
    requests_mock.get(f"{API}/integrations/{NEW_INTEGRATION}/flows", json=[{"_id": NEW_FLOW, "name": "F"}])
    result = hook.clone_resource("integrations", INTEGRATION, check_connection_map=False)
    assert (result["integration_id"], result["flow_ids"]) == (NEW_INTEGRATION, [NEW_FLOW])


# -- (b) PATCH: the shared whitelist and the fallback ---------------------------------------------------------


def test_documented_and_guessed_patch_paths() -> None:
    assert is_documented_patch_path(ResourceType.SCRIPTS, "/debugUntil")
    assert is_patchable_path(ResourceType.SCRIPTS, "/name") and not is_documented_patch_path(
        ResourceType.SCRIPTS, "/name"
    )
    assert not is_patchable_path(ResourceType.EXPORTS, "/name")
    assert is_patchable_path(ResourceType.CONNECTIONS, "/http/concurrencyLevel")
    assert not is_documented_patch_path(ResourceType.CONNECTIONS, "/http/concurrencyLevel")


@pytest.mark.parametrize("status", [400, 403, 405, 422])
def test_a_refused_guessed_patch_falls_back_to_put(hook: CeligoHook, requests_mock: rm.Mocker, status: int) -> None:
    requests_mock.get(f"{API}/integrations/{INTEGRATION}", json={"_id": INTEGRATION, "name": "Old", "x": 1})
    requests_mock.patch(f"{API}/integrations/{INTEGRATION}", status_code=status, json={"errors": [{"code": "no"}]})
    requests_mock.put(f"{API}/integrations/{INTEGRATION}", json={"_id": INTEGRATION, "name": "New", "x": 1})
    assert hook.update_resource("integrations", INTEGRATION, {"name": "New"})["name"] == "New"
    assert sent(requests_mock, "PUT")[0].json() == {"_id": INTEGRATION, "name": "New", "x": 1}


def test_no_fallback_for_a_missing_resource_a_documented_path_or_strategy_patch(
    hook: CeligoHook, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(f"{API}/integrations/{INTEGRATION}", json={"_id": INTEGRATION, "name": "Old"})
    requests_mock.patch(f"{API}/integrations/{INTEGRATION}", status_code=404, json={"errors": [{"code": "x"}]})
    with pytest.raises(CeligoNotFoundError):
        hook.update_resource("integrations", INTEGRATION, {"name": "New"})
    requests_mock.patch(f"{API}/integrations/{INTEGRATION}", status_code=422, json={"errors": [{"code": "x"}]})
    with pytest.raises(CeligoApiError):
        hook.update_resource("integrations", INTEGRATION, {"name": "New"}, strategy="patch")
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW, "name": "Old"})
    requests_mock.patch(f"{API}/flows/{FLOW}", status_code=422, json={"errors": [{"code": "invalid"}]})
    with pytest.raises(CeligoApiError):
        hook.update_resource("flows", FLOW, {"name": "New"})  # documented: a refusal is a real refusal
    assert sent(requests_mock, "PUT") == []


# -- (b) a JSON Patch that must not be repeated blindly -------------------------------------------------------


def test_lost_patch_remove_is_resolved_by_reading(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.patch(f"{API}/flows/{FLOW}", status_code=502, text="lost")
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW, "name": "F"})  # /schedule is gone: it was done
    hook.patch_resource("flows", FLOW, [{"op": "remove", "path": "/schedule"}])
    assert len(sent(requests_mock, "PATCH")) == 1


def test_lost_patch_remove_not_carried_out_is_sent_again(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.patch(f"{API}/flows/{FLOW}", [{"status_code": 502, "text": "lost"}, {"status_code": 204}])
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW, "schedule": "? * * * * *"})
    hook.patch_resource("flows", FLOW, [{"op": "remove", "path": "/schedule"}])
    assert len(sent(requests_mock, "PATCH")) == 2


def test_lost_list_insert_cannot_be_told(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.patch(f"{API}/flows/{FLOW}", status_code=502, text="lost")
    with pytest.raises(CeligoWriteUnclearError, match="/aliases/-"):
        hook.patch_resource("flows", FLOW, [{"op": "add", "path": "/aliases/-", "value": {"alias": "a"}}])
    assert len(sent(requests_mock, "PATCH")) == 1


def test_replace_patches_keep_plain_retries(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.patch(f"{API}/flows/{FLOW}", [{"status_code": 502, "text": "lost"}, {"status_code": 204}])
    hook.patch_resource("flows", FLOW, [{"op": "replace", "path": "/disabled", "value": True}])
    assert len(sent(requests_mock, "PATCH")) == 2 and sent(requests_mock, "GET") == []


# -- (c) masks per type ---------------------------------------------------------------------------------------


def test_iclient_full_update_sends_the_mask_back(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    current = {"_id": ICLIENT, "provider": "custom_oauth2", "oauth2": {"clientId": "id", "clientSecret": MASK}}
    requests_mock.get(f"{API}/iclients/{ICLIENT}", json=current)
    requests_mock.put(f"{API}/iclients/{ICLIENT}", json=current)
    for masked_secrets in ("refuse", "drop"):
        hook.update_resource("iclients", ICLIENT, {"name": "renamed"}, masked_secrets=masked_secrets)  # type: ignore[arg-type]
    bodies = [r.json() for r in sent(requests_mock, "PUT")]
    assert [b["oauth2"]["clientSecret"] for b in bodies] == [MASK, MASK]
    hook.replace_resource("iclients", ICLIENT, current)  # a mask in a full document keeps the secret too
    assert sent(requests_mock, "PUT")[-1].json()["oauth2"]["clientSecret"] == MASK


def test_connection_full_update_never_sends_the_mask(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    current = {"_id": CONN, "type": "ftp", "ftp": {"hostURI": "h", "password": MASK}}
    requests_mock.get(f"{API}/connections/{CONN}", json=current)
    requests_mock.put(f"{API}/connections/{CONN}", json=current)
    with pytest.raises(CeligoConfigError, match="/ftp/password"):
        hook.update_resource("connections", CONN, {"ftp": {"hostURI": "new"}})
    with pytest.raises(CeligoConfigError, match="mask"):
        hook.replace_resource("connections", CONN, current)
    hook.update_resource("connections", CONN, {"ftp": {"hostURI": "new"}}, masked_secrets="drop")
    assert sent(requests_mock, "PUT")[0].json()["ftp"] == {"hostURI": "new"}


# -- (g) the connection's own concurrency -----------------------------------------------------------------------


def test_set_connection_concurrency_checks_its_arguments(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    with pytest.raises(CeligoConfigError, match="pass concurrency_level"):
        hook.set_connection_concurrency(CONN)
    with pytest.raises(CeligoConfigError, match="at least 1"):
        hook.set_connection_concurrency(CONN, concurrency_level=0)
    with pytest.raises(CeligoConfigError, match="from itself"):
        hook.set_connection_concurrency(CONN, borrow_concurrency_from=CONN)
    assert requests_mock.request_history == []


def test_set_connection_concurrency_patches_the_type_block(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN}", json={"_id": CONN, "type": "rest", "rest": {"concurrencyLevel": 1}})
    requests_mock.patch(f"{API}/connections/{CONN}", status_code=204)
    hook.set_connection_concurrency(CONN, concurrency_level=30)
    assert sent(requests_mock, "PATCH")[0].json() == [{"op": "replace", "path": "/rest/concurrencyLevel", "value": 30}]


# -- (e) the /jobs page cap ---------------------------------------------------------------------------------------


def test_iter_jobs_reads_on_after_a_page_of_1001(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    def job(index: int) -> dict[str, Any]:
        return {"_id": f"j{index}", "createdAt": f"2024-01-01T00:{index // 60 % 60:02d}:{index % 60:02d}.000Z"}

    first = [job(3000 - i) for i in range(1001)]  # a server that caps at 1001, as developer.celigo.com says
    second = [job(1000 - i) for i in range(5)]
    requests_mock.get(f"{API}/jobs", [{"json": first}, {"json": second}])
    assert len(list(hook.iter_jobs(_flowId=FLOW))) == 1006
