"""Listings stop on a repeated page or cursor and after ``paging.MAX_PAGES`` pages; odd answers are provider errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests_mock as rm

from airflow_provider_celigo.exceptions import CeligoApiError, InvalidJobDocument
from airflow_provider_celigo.hooks._transport import paging
from airflow_provider_celigo.hooks._transport.paging import PageTrail, page_key
from airflow_provider_celigo.hooks.celigo import CeligoHook

API = "https://api.integrator.io/v1"
FLOW = "6650f0000000000000000001"
STEP = "6650e0000000000000000001"
ERRORS = f"{API}/flows/{FLOW}/{STEP}/errors"


@pytest.fixture
def hook(celigo_conn: Callable[..., str]) -> CeligoHook:
    celigo_conn("celigo_default", max_retries=0)
    return CeligoHook()


def api_error(call: Callable[[], Any]) -> CeligoApiError:
    with pytest.raises(CeligoApiError) as caught:
        call()
    return caught.value


def link(url: str) -> dict[str, str]:
    return {"Link": f'<{url}>; rel="next"'}


# -- the trail ------------------------------------------------------------------------------------------------


def test_page_keys_ignore_query_order_and_escaping() -> None:
    assert page_key("https://h/v1/x?a=1&b=%2F") == page_key("https://h/v1/x?b=/&a=1")
    assert page_key("https://h/v1/x", {"a": 1, "b": ["y", "z"]}) == page_key("https://h/v1/x?b=y&a=1&b=z")
    assert page_key("https://h/v1/x?a=1") != page_key("https://h/v1/x?a=2")


def test_the_trail_refuses_a_repeat_and_too_many_pages() -> None:
    trail = PageTrail(path="/v1/x", max_pages=3)
    trail.enter("a", "a")
    trail.enter("b", "b")
    with pytest.raises(CeligoApiError) as cycle:
        trail.enter("a", "a")
    assert cycle.value.code == "paging_cycle" and "points back to page 1" in cycle.value.message
    trail.enter("c", "c")
    with pytest.raises(CeligoApiError) as limit:
        trail.enter("d", "d")
    assert limit.value.code == "paging_limit" and "3 pages" in limit.value.message


# -- paginate -------------------------------------------------------------------------------------------------


def test_paginate_stops_when_a_page_links_back(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    first, second = f"{API}/flows?size=2", f"{API}/flows?size=2&after=b2&sig=s3cr3t"
    requests_mock.get(
        f"{API}/flows",
        [
            {"json": [{"_id": "1"}, {"_id": "2"}], "headers": link(second)},
            {"json": [{"_id": "3"}], "headers": link(first)},  # back to page 1
        ],
    )
    items: list[str] = []
    error = api_error(lambda: items.extend(item["_id"] for item in hook.paginate("/flows", {"size": 2})))
    assert items == ["1", "2", "3"] and requests_mock.call_count == 2
    assert (error.code, error.method, error.path) == ("paging_cycle", "GET", "/v1/flows")
    assert "page 2 of the listing points back to page 1 (/v1/flows)" in error.message
    assert "s3cr3t" not in str(error) and "size=" not in str(error)


def test_paginate_stops_when_a_page_links_to_itself(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    again = f"{API}/tags?after=x"
    requests_mock.get(f"{API}/tags", json=[{"_id": "1"}], headers=link(again))
    error = api_error(lambda: list(hook.paginate("/tags")))
    assert error.code == "paging_cycle" and requests_mock.call_count == 2


def test_paginate_stops_after_max_pages(
    hook: CeligoHook, requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "MAX_PAGES", 5)

    def endless(request: Any, context: Any) -> str:
        page = int(parse_qs(urlsplit(request.url).query).get("page", ["0"])[0])
        context.headers.update(link(f"{API}/tags?page={page + 1}"))
        return json.dumps([{"_id": str(page)}])

    requests_mock.get(f"{API}/tags", text=endless, headers={"Content-Type": "application/json"})
    items: list[str] = []
    error = api_error(lambda: items.extend(item["_id"] for item in hook.paginate("/tags")))
    assert items == ["0", "1", "2", "3", "4"] and requests_mock.call_count == 5
    assert error.code == "paging_limit" and "5 pages" in error.message and error.path == "/v1/tags"


def test_the_default_page_cap() -> None:
    assert paging.MAX_PAGES == 10_000


@pytest.mark.parametrize(("answer", "kind"), [({}, "an object"), ({"items": []}, "an object"), ("x", "a string")])
def test_paginate_refuses_a_page_that_is_not_an_array(
    hook: CeligoHook, requests_mock: rm.Mocker, answer: Any, kind: str
) -> None:
    requests_mock.get(f"{API}/flows", json=answer, headers={"Content-Type": "application/json"})
    error = api_error(lambda: list(hook.paginate("/flows")))
    assert error.code == "unexpected_content" and f"expected a JSON array for a list, got {kind}" in error.message


# -- step errors (nextPageURL) -----------------------------------------------------------------------------------


def test_step_errors_stop_on_a_repeated_next_page_url(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    following = f"/api/flows/{FLOW}/{STEP}/errors?page=2"
    requests_mock.get(ERRORS, json={"errors": [{"errorId": "e1"}], "nextPageURL": following})
    error = api_error(lambda: hook.get_step_errors(FLOW, STEP))
    assert error.code == "paging_cycle" and requests_mock.call_count == 2
    assert f"/v1/flows/{FLOW}/{STEP}/errors" in error.message and "page=2" not in error.message


def test_step_errors_stop_when_the_next_page_is_the_first(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(ERRORS, json={"errors": [{"errorId": "e1"}], "nextPageURL": f"/api/flows/{FLOW}/{STEP}/errors"})
    error = api_error(lambda: hook.get_step_errors(FLOW, STEP))
    assert error.code == "paging_cycle" and requests_mock.call_count == 1


def test_step_errors_stop_after_max_pages(
    hook: CeligoHook, requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "MAX_PAGES", 4)

    def endless(request: Any, context: Any) -> str:
        page = int(parse_qs(urlsplit(request.url).query).get("page", ["0"])[0])
        return json.dumps({"errors": [], "nextPageURL": f"/api/flows/{FLOW}/{STEP}/errors?page={page + 1}"})

    requests_mock.get(ERRORS, text=endless, headers={"Content-Type": "application/json"})
    error = api_error(lambda: hook.get_step_errors(FLOW, STEP))
    assert error.code == "paging_limit" and requests_mock.call_count == 4


def test_step_errors_follow_distinct_pages(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        ERRORS,
        [
            {"json": {"errors": [{"errorId": "e1"}], "nextPageURL": f"/api/flows/{FLOW}/{STEP}/errors?page=2"}},
            {"json": {"errors": [{"errorId": "e2"}]}},
        ],
    )
    assert [e["errorId"] for e in hook.get_step_errors(FLOW, STEP)] == ["e1", "e2"]


@pytest.mark.parametrize(
    ("answer", "got"),
    [
        ({}, "an object without an errors array"),
        ({"errors": {}}, "an object without an errors array"),
        ([], "an array"),
    ],
)
def test_step_errors_refuse_an_answer_without_an_errors_array(
    hook: CeligoHook, requests_mock: rm.Mocker, answer: Any, got: str
) -> None:
    requests_mock.get(ERRORS, json=answer)
    error = api_error(lambda: hook.get_step_errors(FLOW, STEP))
    assert error.code == "unexpected_content" and got in error.message
    assert error.path == f"/v1/flows/{FLOW}/{STEP}/errors"


def test_step_errors_of_an_empty_answer_are_none(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(ERRORS, status_code=204)
    assert hook.get_step_errors(FLOW, STEP) == []


# -- jobs (createdAt_lte windows) ----------------------------------------------------------------------------------


def _jobs(count: int, prefix: str, newest: datetime | None = None) -> list[dict[str, Any]]:
    start = newest or datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
    return [
        {"_id": f"{prefix}{i:04d}", "createdAt": (start - timedelta(seconds=i)).isoformat().replace("+00:00", "Z")}
        for i in range(count)
    ]


@pytest.mark.parametrize("created_at", [None, "yesterday", 12345])
def test_iter_jobs_names_a_missing_created_at(hook: CeligoHook, requests_mock: rm.Mocker, created_at: Any) -> None:
    page = _jobs(1000, "a")
    if created_at is None:
        del page[-1]["createdAt"]
    else:
        page[-1]["createdAt"] = created_at
    requests_mock.get(f"{API}/jobs", json=page)
    jobs = hook.iter_jobs()
    with pytest.raises(InvalidJobDocument, match="createdAt") as caught:
        list(jobs)
    assert "a0999" in str(caught.value)


def test_iter_jobs_stops_when_a_window_repeats(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    # A server that ignores createdAt_lte and brings new ids with the same times each call used to page forever.
    counter = iter(range(100))

    def answer(request: Any, context: Any) -> str:
        return json.dumps(_jobs(1000, f"p{next(counter)}-"))

    requests_mock.get(f"{API}/jobs", text=answer, headers={"Content-Type": "application/json"})
    error = api_error(lambda: list(hook.iter_jobs()))
    assert error.code == "paging_cycle" and "createdAt_lte=2026-05-01T11:43:20.999Z" in error.message
    assert requests_mock.call_count == 2


def test_iter_jobs_stops_after_max_pages(
    hook: CeligoHook, requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "MAX_PAGES", 3)
    counter = iter(range(100))

    def answer(request: Any, context: Any) -> str:
        n = next(counter)
        return json.dumps(_jobs(1000, f"p{n}-", datetime(2026, 5, 1, tzinfo=timezone.utc) - timedelta(hours=n)))

    requests_mock.get(f"{API}/jobs", text=answer, headers={"Content-Type": "application/json"})
    error = api_error(lambda: list(hook.iter_jobs()))
    assert error.code == "paging_limit" and requests_mock.call_count == 3


@pytest.mark.parametrize(
    ("answer", "got"),
    [({}, "an object"), ({"jobs": []}, "an object"), (["x", 1], "an array holding something else")],
)
def test_iter_jobs_refuses_an_answer_that_is_not_a_list_of_jobs(
    hook: CeligoHook, requests_mock: rm.Mocker, answer: Any, got: str
) -> None:
    requests_mock.get(f"{API}/jobs", json=answer)
    error = api_error(lambda: list(hook.iter_jobs()))
    assert error.code == "unexpected_content" and got in error.message and error.path == "/v1/jobs"


def test_iter_jobs_of_an_empty_answer(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/jobs", status_code=204)
    assert list(hook.iter_jobs()) == []
