"""Unit tests (requests-mock) of the account hook methods, with the answer shapes the sources give."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, CeligoNotFoundError
from airflow_provider_celigo.hooks._account import SecretToken, audit_resource_type
from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.operators.account import CeligoTokenOperator
from airflow_provider_celigo.operators.audit import CeligoExportAuditLogOperator

API = "https://api.integrator.io/v1"
INTEGRATION = "6650a0000000000000000001"
CONN_A, CONN_B = "6650c0000000000000000001", "6650c0000000000000000002"
SHARE = "6650b0000000000000000011"
TOKEN_ID, AGENT = "6650b0000000000000000008", "6650b0000000000000000004"
NEW_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"

# An entry as the integrator.io UI's AuditLog fixtures show it.
ENTRY = {
    "_id": "62c6f1aea2f4a703c3dee3fd",
    "resourceType": "flow",
    "_resourceId": "62c6f122a2f4a703c3dee3d0",
    "source": "ui",
    "fieldChanges": [{"oldValue": True, "newValue": False, "fieldPath": "disabled"}],
    "event": "update",
    "time": "2022-07-07T14:46:06.187Z",
    "byUser": {"_id": "62386a5fed961b5e22e992c7", "email": "testUser@celigo.com", "name": "testUser"},
}


@pytest.fixture
def hook(celigo_conn: Callable[..., str]) -> CeligoHook:
    celigo_conn("celigo_default", max_retries=0)
    return CeligoHook()


def entry(n: int, time: str) -> dict[str, Any]:
    return {**ENTRY, "_id": f"{n:024x}", "time": time}


# -- audit log -------------------------------------------------------------------------------------------------


def test_audit_filters_become_integrator_io_query_parameters(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/audit", json=[ENTRY])
    found = list(
        hook.iter_audit_log(
            since=datetime(2022, 7, 1, tzinfo=timezone.utc),
            until="2022-07-08T00:00:00Z",
            resource_type="flows",
            resource_id="62c6f122a2f4a703c3dee3d0",
            user_id="62386a5fed961b5e22e992c7",
            source="ui",
            action="update",
        )
    )
    assert found == [ENTRY]
    query = requests_mock.last_request.qs
    assert query == {
        "from": ["2022-07-01t00:00:00.000z"],
        "to": ["2022-07-08t00:00:00.000z"],
        "resourcetype": ["flow"],
        "_resourceid": ["62c6f122a2f4a703c3dee3d0"],
        "_byuserid": ["62386a5fed961b5e22e992c7"],
        "source": ["ui"],
        "action": ["update"],
    }


@pytest.mark.parametrize(
    ("given", "sent"),
    [("flows", "flow"), ("LookupCache", "lookupCache"), ("accesstokens", "accessToken"), ("ashare", "ashare")],
)
def test_audit_resource_type_names(given: str, sent: str) -> None:
    assert audit_resource_type(given) == sent


def test_audit_follows_link_pages(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{API}/audit",
        [
            {
                "json": [entry(1, "2022-07-07T14:00:00.000Z")],
                "headers": {"Link": f'<{API}/audit?after=abc>; rel="next"'},
            },
            {"json": [entry(2, "2022-07-07T13:00:00.000Z")]},
        ],
    )
    assert [e["_id"] for e in hook.iter_audit_log()] == [f"{1:024x}", f"{2:024x}"]
    assert requests_mock.call_count == 2


def test_audit_refuses_bad_filters_before_any_request(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    with pytest.raises(CeligoConfigError, match="swap them"):
        list(hook.iter_audit_log(since="2022-07-08T00:00:00Z", until="2022-07-01T00:00:00Z"))
    with pytest.raises(CeligoConfigError, match="not a date/time"):
        list(hook.iter_audit_log(since="last tuesday"))
    with pytest.raises(CeligoConfigError, match=r"not an integrator\.io id"):
        list(hook.iter_audit_log(resource_id="flow-1"))
    with pytest.raises(CeligoConfigError, match="non-empty text"):
        list(hook.iter_audit_log(source=""))
    assert requests_mock.call_count == 0


def test_resource_audit_404_names_the_resource(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{API}/flows/{ENTRY['_resourceId']}/audit", status_code=404, json={"errors": [{"code": "x", "message": "no"}]}
    )
    with pytest.raises(CeligoNotFoundError, match=f"flow {ENTRY['_resourceId']} does not exist"):
        list(hook.iter_resource_audit_log("flows", str(ENTRY["_resourceId"])))


def test_export_writes_json_lines_of_the_half_open_window(
    hook: CeligoHook, requests_mock: rm.Mocker, tmp_path: Path
) -> None:
    # the server's "to" is inclusive: the entry at exactly `until` belongs to the next window
    requests_mock.get(
        f"{API}/audit",
        json=[
            entry(1, "2022-07-08T00:00:00.000Z"),
            entry(2, "2022-07-07T23:59:59.999Z"),
            entry(3, "2022-07-07T00:00:00.000Z"),
        ],
    )
    target = tmp_path / "audit.jsonl"
    summary = hook.export_audit_log(target, since="2022-07-07T00:00:00Z", until="2022-07-08T00:00:00Z")
    assert summary == {
        "path": str(target),
        "entries": 2,
        "since": "2022-07-07T00:00:00.000Z",
        "until": "2022-07-08T00:00:00.000Z",
    }
    lines = target.read_text().splitlines()
    assert [json.loads(line)["_id"] for line in lines] == [f"{2:024x}", f"{3:024x}"]
    assert list(tmp_path.iterdir()) == [target]


def test_a_failed_export_leaves_no_file(hook: CeligoHook, requests_mock: rm.Mocker, tmp_path: Path) -> None:
    requests_mock.get(
        f"{API}/audit",
        [
            {"json": [ENTRY], "headers": {"Link": f'<{API}/audit?after=p2>; rel="next"'}},
            {"status_code": 403, "json": {"errors": [{"code": "forbidden", "message": "admins only"}]}},
        ],
    )
    target = tmp_path / "audit.jsonl"
    target.write_text("yesterday's copy\n")
    with pytest.raises(CeligoApiError, match="admins only"):
        hook.export_audit_log(target, since="2022-07-01T00:00:00Z", until="2022-07-08T00:00:00Z")
    assert target.read_text() == "yesterday's copy\n" and list(tmp_path.iterdir()) == [target]
    with pytest.raises(CeligoConfigError, match="folder does not exist"):
        hook.export_audit_log(tmp_path / "nope" / "a.jsonl", since="2022-07-01", until="2022-07-02")


def test_operator_defaults_to_the_data_interval_and_bounds_what_it_returns(
    celigo_conn: Callable[..., str], requests_mock: rm.Mocker
) -> None:
    celigo_conn("celigo_default", max_retries=0)
    requests_mock.get(f"{API}/audit", json=[entry(n, f"2022-07-07T1{n}:00:00.000Z") for n in range(3)])
    context: Any = {
        "data_interval_start": datetime(2022, 7, 7, tzinfo=timezone.utc),
        "data_interval_end": datetime(2022, 7, 8, tzinfo=timezone.utc),
    }
    got = CeligoExportAuditLogOperator(task_id="audit", max_entries_returned=3).execute(context)
    assert isinstance(got, list) and len(got) == 3
    assert requests_mock.last_request.qs["from"] == ["2022-07-07t00:00:00.000z"]
    with pytest.raises(CeligoConfigError, match="Pass path="):
        CeligoExportAuditLogOperator(task_id="audit", max_entries_returned=2).execute(context)
    with pytest.raises(CeligoConfigError, match="no data interval"):
        CeligoExportAuditLogOperator(task_id="audit").execute({})  # type: ignore[arg-type]
    with pytest.raises(CeligoConfigError, match="max_entries_returned"):
        CeligoExportAuditLogOperator(task_id="audit", max_entries_returned=0)


# -- settings and registered connections ---------------------------------------------------------------------


def test_diy_settings_are_merged_and_written_with_a_full_put(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    current = {"_id": INTEGRATION, "name": "Shop", "settings": {"a": {"x": 1, "y": 2}, "b": 1}}
    requests_mock.get(f"{API}/integrations/{INTEGRATION}", json=current)
    put = requests_mock.put(f"{API}/integrations/{INTEGRATION}", json={**current, "settings": {"a": {"x": 1, "y": 3}}})
    view = hook.update_integration_settings(INTEGRATION, {"a": {"y": 3}, "b": None})
    assert put.last_request.json() == {"_id": INTEGRATION, "name": "Shop", "settings": {"a": {"x": 1, "y": 3}}}
    assert view == {
        "integration_id": INTEGRATION,
        "settings": {"a": {"x": 1, "y": 3}},
        "mode": None,
        "integration_app": False,
    }
    hook.update_integration_settings(INTEGRATION, {"only": True}, replace=True)
    assert put.last_request.json()["settings"] == {"only": True}


def test_settings_refuse_the_wrong_kind_of_integration(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{API}/integrations/{INTEGRATION}", json={"_id": INTEGRATION, "_connectorId": "x", "mode": "settings"}
    )
    with pytest.raises(CeligoConfigError, match="integration app"):
        hook.update_integration_settings(INTEGRATION, {"a": 1})
    persist = requests_mock.put(f"{API}/integrations/{INTEGRATION}/settings/persistSettings", json={"success": True})
    assert hook.persist_integration_app_settings(INTEGRATION, {"syncDays": 7}) == {"success": True}
    assert persist.last_request.json() == {"pending": {"syncDays": 7}}
    assert hook.get_integration_settings(INTEGRATION)["integration_app"] is True
    requests_mock.get(f"{API}/integrations/{INTEGRATION}", json={"_id": INTEGRATION})
    with pytest.raises(CeligoConfigError, match="not an integration app"):
        hook.persist_integration_app_settings(INTEGRATION, {"a": 1})


def test_register_sends_the_id_list_and_returns_the_registered_ids(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    register = requests_mock.put(f"{API}/integrations/{INTEGRATION}/connections/register", status_code=204)
    requests_mock.get(
        f"{API}/integrations/{INTEGRATION}", json={"_id": INTEGRATION, "_registeredConnectionIds": [CONN_A, CONN_B]}
    )
    assert hook.register_connections(INTEGRATION, [CONN_A, CONN_B, CONN_A]) == [CONN_A, CONN_B]
    assert register.last_request.json() == [CONN_A, CONN_B]
    with pytest.raises(CeligoConfigError, match="empty"):
        hook.register_connections(INTEGRATION, [])
    deregister = requests_mock.delete(
        f"{API}/integrations/{INTEGRATION}/connections/{CONN_B}/register", status_code=204
    )
    assert hook.deregister_connection(INTEGRATION, CONN_B) is True and deregister.called
    requests_mock.get(
        f"{API}/integrations/{INTEGRATION}", json={"_id": INTEGRATION, "_registeredConnectionIds": [CONN_A]}
    )
    assert hook.deregister_connection(INTEGRATION, CONN_B, missing_ok=True) is False


# -- users --------------------------------------------------------------------------------------------------------


def share(disabled: bool = False, email: str = "ops@example.com") -> dict[str, Any]:
    return {
        "_id": SHARE,
        "accessLevel": "monitor",
        "integrationAccessLevel": [],
        "accepted": True,
        "disabled": disabled,
        "sharedWithUser": {"_id": "6650b00000000000000000aa", "email": email, "name": "Ops"},
    }


def test_invite_refuses_an_invite_that_grants_nothing_or_an_existing_user(
    hook: CeligoHook, requests_mock: rm.Mocker
) -> None:
    with pytest.raises(CeligoConfigError, match="grants no access"):
        hook.invite_user("new@example.com")
    with pytest.raises(CeligoConfigError, match="access_level must be one of"):
        hook.invite_user("new@example.com", access_level="owner")
    with pytest.raises(CeligoConfigError, match="not an e-mail"):
        hook.invite_user("nobody", access_level="monitor")
    requests_mock.get(f"{API}/ashares", json=[share(email="Ops@Example.com")])
    with pytest.raises(CeligoConfigError, match="already has access"):
        hook.invite_user("ops@example.com", access_level="manage")
    assert hook.invite_user("ops@example.com", access_level="manage", if_exists="return")["_id"] == SHARE
    invite = requests_mock.post(f"{API}/invite", status_code=201, json={**share(), "_id": "6650b0000000000000000012"})
    hook.invite_user("new@example.com", integration_access={INTEGRATION: "manage"}, accountMFARequired=True)
    assert invite.last_request.json() == {
        "email": "new@example.com",
        "integrationAccessLevel": [{"_integrationId": INTEGRATION, "accessLevel": "manage"}],
        "accountMFARequired": True,
    }


def test_update_resends_every_writable_field(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/ashares/{SHARE}", json={**share(), "allowToEditRetryData": True})
    put = requests_mock.put(f"{API}/ashares/{SHARE}", json=share())
    hook.update_user(SHARE, access_level="manage")
    assert put.last_request.json() == {
        "accessLevel": "manage",
        "integrationAccessLevel": [],
        "allowToEditRetryData": True,
    }


def test_disable_only_flips_when_needed(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{API}/ashares/{SHARE}", [{"json": share()}, {"json": share(disabled=True)}, {"json": share(disabled=True)}]
    )
    toggle = requests_mock.put(f"{API}/ashares/{SHARE}/disable", json=share(disabled=True))
    assert hook.set_user_disabled(SHARE)["disabled"] is True and toggle.call_count == 1
    assert hook.set_user_disabled(SHARE, True)["disabled"] is True and toggle.call_count == 1


def test_users_by_email_and_remove(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/ashares", json=[share()])
    requests_mock.delete(f"{API}/ashares/{SHARE}", status_code=204)
    assert hook.remove_user("OPS@example.com") is True
    with pytest.raises(CeligoNotFoundError, match="no user"):
        hook.remove_user("who@example.com")
    assert hook.remove_user("who@example.com", missing_ok=True) is False


# -- tokens -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "verb", "path"),
    [
        ("display_access_token", "GET", f"/accesstokens/{TOKEN_ID}/display"),
        ("generate_access_token", "POST", f"/accesstokens/{TOKEN_ID}/generate"),
        ("display_agent_token", "GET", f"/agents/{AGENT}/display-token"),
        ("change_agent_token", "PUT", f"/agents/{AGENT}/change-token"),
    ],
)
def test_tokens_are_returned_hidden_from_reprs_and_logs(
    hook: CeligoHook, requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture, method: str, verb: str, path: str
) -> None:
    requests_mock.register_uri(verb, f"{API}{path}", json={"_id": path.split("/")[2], "token": NEW_TOKEN})
    with caplog.at_level(logging.DEBUG):
        token = getattr(hook, method)(path.split("/")[2])
    assert token == NEW_TOKEN and isinstance(token, SecretToken)
    assert NEW_TOKEN not in repr(token) and NEW_TOKEN not in repr({"t": token})
    assert NEW_TOKEN not in caplog.text


def test_a_token_answer_without_a_token_is_an_error(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/accesstokens/{TOKEN_ID}/display", json={"_id": TOKEN_ID})
    with pytest.raises(CeligoApiError, match="holds no token"):
        hook.display_access_token(TOKEN_ID)


def test_token_operator_keeps_the_token_out_of_xcom_unless_asked(
    celigo_conn: Callable[..., str], requests_mock: rm.Mocker
) -> None:
    celigo_conn("celigo_default", max_retries=0)
    requests_mock.post(f"{API}/accesstokens/{TOKEN_ID}/generate", json={"token": NEW_TOKEN})
    received: list[str] = []
    result = CeligoTokenOperator(
        task_id="rotate",
        resource_type="accesstokens",
        resource_id=TOKEN_ID,
        action="generate",
        on_token=received.append,
    ).execute({})  # type: ignore[arg-type]
    assert received == [NEW_TOKEN] and result["token"] == "***" and NEW_TOKEN not in json.dumps(result)
    shown = CeligoTokenOperator(
        task_id="rotate", resource_type="accesstokens", resource_id=TOKEN_ID, action="generate", return_token=True
    ).execute({})  # type: ignore[arg-type]
    assert shown["token"] == NEW_TOKEN
    with pytest.raises(CeligoConfigError, match="'accesstokens' or 'agents'"):
        CeligoTokenOperator(task_id="x", resource_type="stacks", resource_id=TOKEN_ID)  # type: ignore[arg-type]
