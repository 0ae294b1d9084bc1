"""Unit tests of the resource hook methods (requests-mock) and the resource-type facts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_celigo._documents import (
    as_lookup_entries,
    deep_merge,
    flow_steps,
    patch_operations,
    sized_batches,
)
from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError
from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.resource_types import (
    ResourceType,
    as_resource_type,
    is_patchable_path,
    masked_paths,
    without_masked_values,
)

API = "https://api.integrator.io/v1"
FLOW = "6650f0000000000000000001"
EXPORT = "6650e0000000000000000001"
IMPORT = "6650d0000000000000000001"
CONN_A = "6650c0000000000000000001"
CONN_B = "6650c0000000000000000002"
CONN_C = "6650c0000000000000000003"
CACHE = "6650b0000000000000000001"


def not_found(message: str = "Resource not found") -> dict[str, Any]:
    return {"status_code": 404, "json": {"errors": [{"code": "invalid_ref", "message": message}]}}


@pytest.fixture
def hook(celigo_conn: Callable[..., str]) -> CeligoHook:
    celigo_conn("celigo_default", max_retries=0)
    return CeligoHook()


def sent(requests_mock: rm.Mocker, method: str) -> list[Any]:
    return [r for r in requests_mock.request_history if r.method == method]


# -- resource types -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("flows", ResourceType.FLOWS),
        ("Flow", ResourceType.FLOWS),
        ("flow", ResourceType.FLOWS),
        (" LookupCache ", ResourceType.LOOKUPCACHES),
        ("lookup_caches", ResourceType.LOOKUPCACHES),
        ("accesstokens", ResourceType.ACCESSTOKENS),
        (ResourceType.TAGS, ResourceType.TAGS),
    ],
)
def test_resource_type_accepts_paths_models_and_singulars(given: str, expected: ResourceType) -> None:
    assert as_resource_type(given) is expected


def test_resource_type_typo_lists_valid_types_and_suggests_the_closest() -> None:
    with pytest.raises(CeligoConfigError) as caught:
        as_resource_type("conections")
    message = str(caught.value)
    assert "Did you mean 'connections'?" in message
    assert "lookupcaches" in message and "accesstokens" in message


def test_resource_type_without_a_close_match_still_lists_the_types() -> None:
    with pytest.raises(CeligoConfigError, match="Valid types: connections, exports") as caught:
        as_resource_type("zzz")
    assert "Did you mean" not in str(caught.value)


def test_every_type_has_a_model_and_a_path() -> None:
    assert {kind.path for kind in ResourceType} >= {"/connections", "/tags", "/iclients"}
    assert ResourceType.LOOKUPCACHES.model == "LookupCache"
    assert ResourceType.ICLIENTS.model == "IClient"


@pytest.mark.parametrize(
    ("kind", "path", "allowed"),
    [
        (ResourceType.FLOWS, "/disabled", True),
        (ResourceType.FLOWS, "/pageGenerators/0/schedule", True),
        (ResourceType.FLOWS, "/pageGenerators/0/_exportId", False),
        (ResourceType.FLOWS, "/pageProcessors", False),
        (ResourceType.CONNECTIONS, "/http/auth/token/token", True),
        (ResourceType.CONNECTIONS, "/http/auth", False),
        (ResourceType.CONNECTIONS, "/http/baseURI", False),
        (ResourceType.EXPORTS, "/name", False),
        (ResourceType.TAGS, "/tag", True),
    ],
)
def test_patch_whitelist(kind: ResourceType, path: str, allowed: bool) -> None:
    assert is_patchable_path(kind, path) is allowed


def test_masked_values_are_found_and_left_out() -> None:
    document = {"http": {"auth": {"token": {"token": "******", "location": "header"}}}, "list": ["******", "x"]}
    assert list(masked_paths(document)) == ["/http/auth/token/token", "/list/0"]
    assert without_masked_values(document) == {"http": {"auth": {"token": {"location": "header"}}}, "list": ["x"]}


# -- pure document helpers ------------------------------------------------------------------------------


def test_deep_merge_merges_objects_replaces_lists_and_removes_nones() -> None:
    current = {"a": {"b": 1, "c": 2}, "d": [1, 2], "e": "keep", "f": "gone"}
    merged = deep_merge(current, {"a": {"c": 3}, "d": [9], "f": None, "g": {"h": None, "i": 1}})
    assert merged == {"a": {"b": 1, "c": 3}, "d": [9], "e": "keep", "g": {"i": 1}}
    assert current["a"] == {"b": 1, "c": 2}


def test_patch_operations_skip_unchanged_values() -> None:
    current = {"name": "x", "disabled": True, "schedule": "? 0 * * * *"}
    operations = patch_operations(current, {"name": "x", "disabled": False, "description": "new", "schedule": None})
    assert operations == [
        {"op": "replace", "path": "/disabled", "value": False},
        {"op": "add", "path": "/description", "value": "new"},
        {"op": "remove", "path": "/schedule"},
    ]


def test_flow_steps_cover_generators_processors_and_routers() -> None:
    flow = {
        "pageGenerators": [{"_exportId": EXPORT}],
        "pageProcessors": [{"type": "import", "_importId": IMPORT}],
        "routers": [{"branches": [{"pageProcessors": [{"type": "export", "_exportId": "6650e0000000000000000002"}]}]}],
    }
    assert set(flow_steps(flow)) == {
        (ResourceType.EXPORTS, EXPORT),
        (ResourceType.IMPORTS, IMPORT),
        (ResourceType.EXPORTS, "6650e0000000000000000002"),
    }


def test_lookup_entries_accept_a_mapping_a_list_or_json() -> None:
    assert as_lookup_entries({"a": 1, 7: 2}) == [{"key": "a", "value": "1"}, {"key": "7", "value": "2"}]
    assert as_lookup_entries('[{"key": "k", "value": {"v": 1}}]') == [{"key": "k", "value": '{"v":1}'}]
    assert as_lookup_entries([("a", "x"), ["b", None]]) == [{"key": "a", "value": "x"}, {"key": "b", "value": "null"}]
    assert as_lookup_entries({"é": ["ü", True]}) == [{"key": "é", "value": '["ü",true]'}]
    with pytest.raises(CeligoConfigError, match="cannot be JSON-encoded"):
        as_lookup_entries({"k": b"bytes"})
    with pytest.raises(CeligoConfigError, match="'nan'"):
        as_lookup_entries({"nan": float("nan")})
    with pytest.raises(CeligoConfigError, match="entry #0"):
        as_lookup_entries([{"value": 1}])
    with pytest.raises(CeligoConfigError, match="must be a string"):
        as_lookup_entries({True: 1})
    with pytest.raises(CeligoConfigError, match="must be a"):
        as_lookup_entries(42)


# -- get / list ----------------------------------------------------------------------------------------


def test_get_missing_resource_names_it(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", **not_found())
    with pytest.raises(CeligoApiError, match=f"flow {FLOW} does not exist") as caught:
        hook.get_resource("flows", FLOW)
    assert caught.value.status == 404


def test_get_refuses_a_bad_id_without_calling(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    with pytest.raises(CeligoConfigError, match="24 hexadecimal"):
        hook.get_resource("flows", "not-an-id")
    assert requests_mock.call_count == 0


def mock_two_pages(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{API}/exports",
        [
            {"json": [{"_id": "1"}, {"_id": "2"}], "headers": {"Link": f'<{API}/exports?after=c1>; rel="next"'}},
            {"json": [{"_id": "3"}], "headers": {}},
        ],
    )


def test_list_follows_link_pages(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    mock_two_pages(requests_mock)
    assert [e["_id"] for e in hook.list_resources("exports")] == ["1", "2", "3"]
    assert requests_mock.request_history[1].qs == {"after": ["c1"]}


def test_list_with_a_limit_stops_reading_pages(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    mock_two_pages(requests_mock)
    assert [e["_id"] for e in hook.list_resources("exports", limit=2)] == ["1", "2"]
    assert requests_mock.call_count == 1


def test_list_passes_filters_and_scopes_to_an_integration(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    integration = "6650a0000000000000000001"
    requests_mock.get(f"{API}/integrations/{integration}/flows", status_code=204)
    assert hook.list_resources("flows", {"disabled": "false"}, integration_id=integration) == []
    assert requests_mock.last_request.qs == {"disabled": ["false"]}
    with pytest.raises(CeligoConfigError, match="can only scope"):
        hook.list_resources("scripts", integration_id=integration)


# -- create ----------------------------------------------------------------------------------------------


def test_create_posts_the_body_when_the_name_is_new(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/scripts", json=[{"_id": "1", "name": "other"}])
    requests_mock.post(f"{API}/scripts", status_code=201, json={"_id": "9", "name": "normalize"})
    assert hook.create_resource("scripts", '{"name": "normalize", "content": "x"}')["_id"] == "9"
    assert requests_mock.last_request.json() == {"name": "normalize", "content": "x"}


def test_create_refuses_an_existing_name(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/scripts", json=[{"_id": "1", "name": "normalize"}])
    requests_mock.post(f"{API}/scripts", status_code=201, json={})
    with pytest.raises(CeligoConfigError, match="already exists \\(1\\)"):
        hook.create_resource("scripts", {"name": "normalize"})
    assert not sent(requests_mock, "POST")


def test_create_returns_the_existing_resource_when_asked(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/scripts", json=[{"_id": "1", "name": "normalize"}])
    assert hook.create_resource("scripts", {"name": "normalize"}, if_exists="return") == {
        "_id": "1",
        "name": "normalize",
    }
    assert not sent(requests_mock, "POST")


def test_create_scopes_the_name_check_to_the_integration(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows", json=[{"_id": "1", "name": "Orders", "_integrationId": "a" * 24}])
    requests_mock.post(f"{API}/flows", status_code=201, json={"_id": "2"})
    assert hook.create_resource("flows", {"name": "Orders", "_integrationId": "b" * 24})["_id"] == "2"


def test_create_surfaces_integrator_io_validation_message(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections", status_code=204)
    requests_mock.post(
        f"{API}/connections",
        status_code=422,
        json={"errors": [{"code": "missing_required_field", "message": "type is required", "field": "type"}]},
    )
    with pytest.raises(CeligoApiError, match="type is required") as caught:
        hook.create_resource("connections", {"name": "x"})
    assert (caught.value.status, caught.value.field) == (422, "type")


@pytest.mark.parametrize("body", [[1, 2], "[1]", "not json", 3])
def test_create_refuses_a_body_that_is_not_an_object(hook: CeligoHook, body: Any) -> None:
    with pytest.raises(CeligoConfigError, match="body"):
        hook.create_resource("scripts", body)


def test_create_refuses_a_masked_secret(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    with pytest.raises(CeligoConfigError, match="/http/auth/token/token"):
        hook.create_resource("connections", {"type": "http", "http": {"auth": {"token": {"token": "******"}}}})
    assert requests_mock.call_count == 0


# -- update ----------------------------------------------------------------------------------------------


def test_update_uses_a_json_patch_for_whitelisted_paths(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{API}/flows/{FLOW}",
        [{"json": {"_id": FLOW, "name": "Orders", "disabled": True}}, {"json": {"_id": FLOW, "name": "New"}}],
    )
    requests_mock.patch(f"{API}/flows/{FLOW}", status_code=204)
    assert hook.update_resource("flows", FLOW, {"name": "New", "disabled": True})["name"] == "New"
    assert sent(requests_mock, "PATCH")[0].json() == [{"op": "replace", "path": "/name", "value": "New"}]
    assert not sent(requests_mock, "PUT")


SHOP = {"_id": CONN_A, "name": "Shop", "type": "http", "http": {"baseURI": "a", "auth": {"token": {"token": "******"}}}}


def test_update_merges_and_puts_when_a_path_is_not_patchable(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN_A}", json=SHOP)
    requests_mock.put(f"{API}/connections/{CONN_A}", json={"_id": CONN_A, "ok": True})
    change = {"http": {"baseURI": "b", "auth": {"token": {"token": "new-secret"}}}}
    assert hook.update_resource("connections", CONN_A, change) == {"_id": CONN_A, "ok": True}
    body = sent(requests_mock, "PUT")[0].json()
    assert body == {**SHOP, "http": {"baseURI": "b", "auth": {"token": {"token": "new-secret"}}}}
    assert not sent(requests_mock, "PATCH")


def test_update_refuses_a_put_that_would_lose_a_masked_secret(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN_A}", json=SHOP)
    with pytest.raises(CeligoConfigError, match="/http/auth/token/token") as caught:
        hook.update_resource("connections", CONN_A, {"http": {"baseURI": "b"}})
    assert "masked_secrets='drop'" in str(caught.value)
    assert not sent(requests_mock, "PUT")


def test_update_can_drop_masked_secrets_when_asked(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN_A}", json=SHOP)
    requests_mock.put(f"{API}/connections/{CONN_A}", json={"_id": CONN_A})
    hook.update_resource("connections", CONN_A, {"http": {"baseURI": "b"}}, masked_secrets="drop")
    body = sent(requests_mock, "PUT")[0].json()
    assert body == {"_id": CONN_A, "name": "Shop", "type": "http", "http": {"baseURI": "b", "auth": {"token": {}}}}
    assert "******" not in sent(requests_mock, "PUT")[0].text


def test_update_removing_the_secret_needs_no_opt_in(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN_A}", json=SHOP)
    requests_mock.put(f"{API}/connections/{CONN_A}", json={"_id": CONN_A})
    hook.update_resource("connections", CONN_A, {"http": {"baseURI": "b", "auth": {"token": None}}})
    assert sent(requests_mock, "PUT")[0].json()["http"] == {"baseURI": "b", "auth": {}}


def test_update_patches_a_whitelisted_secret_path(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN_A}", json=SHOP)
    requests_mock.patch(f"{API}/connections/{CONN_A}", status_code=204)
    hook.update_resource("connections", CONN_A, {"name": "Shop 2", "http": {"auth": {"token": {"token": "t2"}}}})
    assert sent(requests_mock, "PATCH")[0].json() == [
        {"op": "replace", "path": "/name", "value": "Shop 2"},
        {"op": "replace", "path": "/http/auth/token/token", "value": "t2"},
    ]
    assert not sent(requests_mock, "PUT")


def test_update_with_strategy_put_never_patches(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW, "name": "Orders", "pageProcessors": []})
    requests_mock.put(f"{API}/flows/{FLOW}", json={"_id": FLOW})
    hook.update_resource("flows", FLOW, {"name": "New"}, strategy="put")
    assert sent(requests_mock, "PUT")[0].json() == {"_id": FLOW, "name": "New", "pageProcessors": []}


def test_update_with_strategy_patch_refuses_other_paths(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW, "name": "Orders"})
    with pytest.raises(CeligoConfigError, match="/pageProcessors"):
        hook.update_resource("flows", FLOW, {"pageProcessors": []}, strategy="patch")
    assert not sent(requests_mock, "PUT") and not sent(requests_mock, "PATCH")


def test_update_refuses_a_missing_resource(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/exports/{EXPORT}", **not_found())
    with pytest.raises(CeligoApiError, match="does not exist, so it cannot be updated") as caught:
        hook.update_resource("exports", EXPORT, {"name": "x"})
    assert caught.value.status == 404
    assert not sent(requests_mock, "PUT")


def test_update_refuses_a_change_holding_the_mask(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    with pytest.raises(CeligoConfigError, match="Pass the real value"):
        hook.update_resource("connections", CONN_A, {"http": {"auth": {"token": {"token": "******"}}}})
    assert requests_mock.call_count == 0


def test_update_without_a_change_writes_nothing(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW, "name": "Orders"})
    assert hook.update_resource("flows", FLOW, {"name": "Orders"}) == {"_id": FLOW, "name": "Orders"}
    assert requests_mock.call_count == 1


def test_replace_puts_the_document_as_given(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.put(f"{API}/scripts/{CACHE}", json={"_id": CACHE})
    hook.replace_resource("scripts", CACHE, {"name": "s"})
    assert requests_mock.last_request.json() == {"name": "s"}
    requests_mock.put(f"{API}/scripts/{CACHE}", **not_found())
    with pytest.raises(CeligoApiError, match="cannot be replaced"):
        hook.replace_resource("scripts", CACHE, {"name": "s"})


def test_patch_refuses_a_type_without_patch(hook: CeligoHook) -> None:
    with pytest.raises(CeligoConfigError, match="does not accept PATCH on exports"):
        hook.patch_resource("exports", EXPORT, [{"op": "replace", "path": "/name", "value": "x"}])


# -- delete and restore ---------------------------------------------------------------------------------


def test_delete_returns_true_when_deleted(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.delete(f"{API}/exports/{EXPORT}", status_code=204)
    assert hook.delete_resource("exports", EXPORT) is True


def test_delete_of_a_missing_resource(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.delete(f"{API}/exports/{EXPORT}", **not_found())
    assert hook.delete_resource("exports", EXPORT, missing_ok=True) is False
    with pytest.raises(CeligoApiError, match="cannot be deleted"):
        hook.delete_resource("exports", EXPORT)


def test_delete_does_not_hide_other_errors(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.delete(f"{API}/exports/{EXPORT}", status_code=403, json={"errors": [{"message": "no"}]})
    with pytest.raises(CeligoApiError) as caught:
        hook.delete_resource("exports", EXPORT, missing_ok=True)
    assert caught.value.status == 403


def test_restore_posts_to_the_recycle_bin_path(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{API}/recycleBinTTL/flows/{FLOW}/doCascadeRestore", json={"restored": 1})
    assert hook.restore_resource("Flow", FLOW) == {"restored": 1}
    assert requests_mock.last_request.json() == {}
    requests_mock.post(f"{API}/recycleBinTTL/flows/{FLOW}/doCascadeRestore", **not_found())
    with pytest.raises(CeligoApiError, match="not in the recycle bin"):
        hook.restore_resource("flows", FLOW)


# -- clone -----------------------------------------------------------------------------------------------

INTEGRATION = "6650a0000000000000000002"


def mock_template(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{API}/integrations/{INTEGRATION}", json={"_id": INTEGRATION, "_registeredConnectionIds": [CONN_C]}
    )
    requests_mock.get(
        f"{API}/integrations/{INTEGRATION}/flows",
        json=[{"_id": FLOW, "pageGenerators": [{"_exportId": EXPORT}], "pageProcessors": [{"_importId": IMPORT}]}],
    )
    requests_mock.get(f"{API}/exports/{EXPORT}", json={"_id": EXPORT, "_connectionId": CONN_A})
    requests_mock.get(f"{API}/imports/{IMPORT}", json={"_id": IMPORT, "_connectionId": CONN_B})
    for cid, name in ((CONN_A, "Shopify"), (CONN_B, "NetSuite"), (CONN_C, "Warehouse")):
        requests_mock.get(f"{API}/connections/{cid}", json={"_id": cid, "name": name})


def test_referenced_connections_of_an_integration(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    mock_template(requests_mock)
    assert hook.referenced_connection_ids("integrations", INTEGRATION) == sorted([CONN_A, CONN_B, CONN_C])


def test_clone_names_every_unmapped_connection_and_creates_nothing(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    mock_template(requests_mock)
    clone = requests_mock.post(f"{API}/integrations/{INTEGRATION}/clone", status_code=201, json=[])
    with pytest.raises(CeligoConfigError) as caught:
        hook.clone_resource("integrations", INTEGRATION, connection_map={CONN_A: CONN_A})
    message = str(caught.value)
    assert f"{CONN_B} ('NetSuite')" in message and f"{CONN_C} ('Warehouse')" in message
    assert CONN_A not in message.split("uses:")[1]
    assert not clone.called


def test_clone_sends_the_map_and_summarises_the_manifest(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    mock_template(requests_mock)
    new_integration, new_flow = "a" * 24, "b" * 24
    requests_mock.post(
        f"{API}/integrations/{INTEGRATION}/clone",
        status_code=201,
        json=[
            {"model": "Integration", "_id": new_integration, "name": "Acme"},
            {"model": "Flow", "_id": new_flow, "name": "Customers"},
            {"model": "Export", "_id": "c" * 24},
        ],
    )
    requests_mock.get(f"{API}/integrations", json=[])  # a named clone first lists the integrations of that name
    mapping = {CONN_A: "d" * 24, CONN_B: "e" * 24, CONN_C: CONN_C}
    result = hook.clone_resource("integrations", INTEGRATION, name="Acme", connection_map=mapping, tag="acme")
    assert result["integration_id"] == new_integration
    assert result["flow_ids"] == [new_flow]
    assert result["resources"][2] == {"model": "Export", "_id": "c" * 24, "name": None}
    assert requests_mock.last_request.json() == {"connectionMap": mapping, "name": "Acme", "tag": "acme"}


def test_clone_lets_integrator_io_check_an_unreadable_source(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/exports/{EXPORT}", status_code=403, json={"errors": [{"message": "forbidden"}]})
    requests_mock.post(
        f"{API}/exports/{EXPORT}/clone",
        status_code=400,
        json={"errors": [{"code": "invalid_connectionMap", "message": "connectionMap is missing a connection"}]},
    )
    with pytest.raises(CeligoApiError) as caught:
        hook.clone_resource("exports", EXPORT)
    assert (caught.value.status, caught.value.code) == (400, "invalid_connectionMap")


def test_clone_of_an_export_returns_its_document_as_the_manifest(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/exports/{EXPORT}", json={"_id": EXPORT, "_connectionId": CONN_A})
    requests_mock.post(f"{API}/exports/{EXPORT}/clone", status_code=201, json={"_id": "f" * 24, "name": "Copy"})
    result = hook.clone_resource("exports", EXPORT, connection_map=f'{{"{CONN_A}": "{CONN_B}"}}')
    assert result == {
        "integration_id": None,
        "resources": [{"model": "Export", "_id": "f" * 24, "name": "Copy"}],
        "flow_ids": [],
    }


def test_flow_clone_needs_the_target_integration(hook: CeligoHook) -> None:
    with pytest.raises(CeligoConfigError, match="needs integration_id"):
        hook.clone_resource("flows", FLOW, connection_map={})


def test_flow_clone_reports_the_target_integration(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW, "pageGenerators": [{"_exportId": EXPORT}]})
    requests_mock.get(f"{API}/exports/{EXPORT}", json={"_id": EXPORT, "_connectionId": CONN_A})
    requests_mock.post(f"{API}/flows/{FLOW}/clone", status_code=201, json=[{"model": "Flow", "_id": "9" * 24}])
    result = hook.clone_resource("flows", FLOW, connection_map={CONN_A: CONN_A}, integration_id=INTEGRATION)
    assert result["integration_id"] == INTEGRATION and result["flow_ids"] == ["9" * 24]
    assert requests_mock.last_request.json()["_integrationId"] == INTEGRATION


def test_only_four_types_can_be_cloned(hook: CeligoHook) -> None:
    with pytest.raises(CeligoConfigError, match="scripts cannot be cloned"):
        hook.clone_resource("scripts", FLOW)


def test_connection_map_ids_are_checked(hook: CeligoHook) -> None:
    with pytest.raises(CeligoConfigError, match="connection_map"):
        hook.clone_resource("exports", EXPORT, connection_map={CONN_A: "nope"})


# -- state -----------------------------------------------------------------------------------------------


def test_state_paths_and_values(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.put(f"{API}/state/last%20sync", text="OK", headers={"content-type": "text/plain"})
    hook.put_state("last sync", {"at": "2024-01-01"})
    assert requests_mock.last_request.json() == {"at": "2024-01-01"}
    requests_mock.get(f"{API}/flows/{FLOW}/state/cursor", json={"page": 3})
    assert hook.get_state("cursor", resource_type="flows", resource_id=FLOW) == {"page": 3}
    requests_mock.get(f"{API}/state", json={"keys": ["a", "b"]})
    assert hook.list_state_keys() == ["a", "b"]


def test_state_missing_key(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/state/nope", **not_found())
    requests_mock.delete(f"{API}/state/nope", **not_found())
    assert hook.get_state("nope", missing_ok=True) is None
    assert hook.delete_state("nope", missing_ok=True) is False
    with pytest.raises(CeligoApiError, match="'nope' is not set"):
        hook.get_state("nope")
    with pytest.raises(CeligoApiError, match="cannot be deleted"):
        hook.delete_state("nope")


def test_state_needs_type_and_id_together(hook: CeligoHook) -> None:
    with pytest.raises(CeligoConfigError, match="both resource_type and resource_id"):
        hook.get_state("k", resource_type="flows")


# -- lookup caches ---------------------------------------------------------------------------------------


def test_lookup_upsert_is_sent_in_batches_of_1000(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{API}/lookupcaches/{CACHE}/data", status_code=204)
    assert hook.upsert_lookup_cache_entries(CACHE, {f"k{i}": i for i in range(2500)}) == 2500
    batches = [r.json()["data"] for r in requests_mock.request_history]
    assert [len(b) for b in batches] == [1000, 1000, 500]
    assert batches[2][-1] == {"key": "k2499", "value": "2499"}


def test_lookup_upsert_batches_stay_within_5_mb(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{API}/lookupcaches/{CACHE}/data", status_code=204)
    value = "x" * 1_200_000
    assert hook.upsert_lookup_cache_entries(CACHE, {f"k{i}": value for i in range(9)}) == 9
    bodies = [r.body for r in requests_mock.request_history]
    assert [len(json.loads(body)["data"]) for body in bodies] == [4, 4, 1]
    assert all(len(body) <= 5_000_000 for body in bodies)
    with pytest.raises(CeligoConfigError, match="at most 5000000 bytes"):
        hook.upsert_lookup_cache_entries(CACHE, {"huge": "y" * 5_000_000})
    assert len(requests_mock.request_history) == 3  # nothing sent for the oversized entry


def test_sized_batches_counts_the_body_as_sent() -> None:
    items = [{"key": str(i), "value": "v" * 10} for i in range(10)]
    one = len(json.dumps({"data": items[:1]}).encode())
    two = len(json.dumps({"data": items[:2]}).encode())
    assert [len(b) for b in sized_batches(items, max_bytes=two)] == [2] * 5
    assert [len(b) for b in sized_batches(items, max_bytes=two - 1)] == [1] * 10
    assert [len(b) for b in sized_batches(items, max_items=3, max_bytes=10**6)] == [3, 3, 3, 1]
    with pytest.raises(CeligoConfigError):
        list(sized_batches(items, max_bytes=one - 1))


def test_lookup_get_and_delete(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{API}/lookupcaches/{CACHE}/getData", json={"data": [{"key": "a", "value": 1}]})
    assert hook.get_lookup_cache_entries(CACHE, ["a", "b"]) == {"a": 1}
    assert requests_mock.last_request.json() == {"keys": ["a", "b"]}
    requests_mock.delete(f"{API}/lookupcaches/{CACHE}/data", status_code=204)
    assert hook.delete_lookup_cache_entries(CACHE, [str(i) for i in range(1001)]) == 1001
    deletes = sent(requests_mock, "DELETE")
    assert [len(r.json()["keys"]) for r in deletes] == [1000, 1]


# -- ping ------------------------------------------------------------------------------------------------


def test_ping_ok(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN_A}/ping", json={"code": 200})
    requests_mock.get(f"{API}/connections/{CONN_A}", json={"_id": CONN_A, "name": "Shop", "offline": False})
    assert hook.ping_connection(CONN_A) == {
        "connection_id": CONN_A,
        "name": "Shop",
        "ok": True,
        "offline": False,
        "reason": None,
    }


def test_ping_200_with_errors_is_a_failure(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN_A}/ping", json={"errors": [{"code": 401, "message": "bad token"}]})
    requests_mock.get(f"{API}/connections/{CONN_A}", json={"_id": CONN_A, "offline": False})
    result = hook.ping_connection(CONN_A)
    assert (result["ok"], result["reason"]) == (False, "bad token")


def test_ping_of_an_offline_connection_is_a_failure(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN_A}/ping", status_code=422, json={"errors": [{"message": "timeout"}]})
    requests_mock.get(f"{API}/connections/{CONN_A}", json={"_id": CONN_A, "offline": True})
    result = hook.ping_connection(CONN_A)
    assert (result["ok"], result["offline"], result["reason"]) == (False, True, "timeout")


def test_ping_of_a_missing_connection_raises(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN_A}/ping", **not_found())
    with pytest.raises(CeligoApiError, match="cannot be pinged"):
        hook.ping_connection(CONN_A)


# -- flow step errors ------------------------------------------------------------------------------------


def test_retry_defaults_to_every_open_error(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    errors = [{"errorId": f"e{i}", "retryDataKey": f"r{i}"} for i in range(1500)] + [{"errorId": "x"}]
    requests_mock.get(
        f"{API}/flows/{FLOW}/{EXPORT}/errors",
        [
            {"json": {"errors": errors[:1000], "nextPageURL": f"/api/flows/{FLOW}/{EXPORT}/errors?page=2"}},
            {"json": {"errors": errors[1000:]}},
        ],
    )
    job = "6650f1000000000000000001"
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW})  # integrator.io's time, read before retrying
    requests_mock.post(f"{API}/flows/{FLOW}/{EXPORT}/retry", json={"_jobId": job})
    assert hook.retry_step_errors(FLOW, EXPORT) == [job, job]
    posts = sent(requests_mock, "POST")
    assert [len(p.json()["retryDataKeys"]) for p in posts] == [1000, 500]


def test_resolve_given_ids(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.put(f"{API}/flows/{FLOW}/{IMPORT}/resolved", status_code=204)
    assert hook.resolve_step_errors(FLOW, IMPORT, ["e1", "e2"]) == 2
    assert requests_mock.last_request.json() == {"errors": ["e1", "e2"]}
    assert requests_mock.call_count == 1
