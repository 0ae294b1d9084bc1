"""List paging with Link headers, opaque cursors and 204 for empty lists."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS


def test_flows_page_through_link_headers(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(page_size=2)
    seen: list[str] = []
    url: str | None = "/flows"
    pages = 0
    while url:
        response = api.get(url)
        assert response.status_code == 200
        page = response.json()
        assert isinstance(page, list) and 1 <= len(page) <= 2
        seen.extend(f["_id"] for f in page)
        pages += 1
        link = response.headers.get("Link")
        url = response.links.get("next", {}).get("url")
        if url:
            assert link is not None and link.endswith('; rel="next"')
            assert url.startswith(api.base_url + "/flows?")  # absolute URL
            assert "after" in parse_qs(urlparse(url).query)
    demo_flows = [k for k in DEMO_IDS if k.startswith("flow_")]
    assert pages == (len(demo_flows) + 1) // 2  # 2 per page
    assert seen == [DEMO_IDS[k] for k in DEMO_IDS if k.startswith("flow_")]


def test_link_keeps_filters_and_cursor_is_opaque(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(page_size=2)
    first = api.get("/flows", params={"_integrationId": DEMO_IDS["integration_shop"]})
    next_url = first.links["next"]["url"]
    query = parse_qs(urlparse(next_url).query)
    assert query["_integrationId"] == [DEMO_IDS["integration_shop"]]
    assert not query["after"][0].isdigit()
    rest = api.get(next_url).json()
    assert all(f["_integrationId"] == DEMO_IDS["integration_shop"] for f in rest)
    assert_error(api.get("/flows", params={"after": "garbage!"}), 400, "invalid_query")


def test_last_page_has_no_link(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(page_size=100)
    response = api.get("/flows")
    assert "Link" not in response.headers and len(response.json()) == len(
        [k for k in DEMO_IDS if k.startswith("flow_")]
    )


def test_empty_flows_and_connections_answer_204(api: Api, admin: EmulatorAdmin) -> None:
    admin.reset()
    for path in ("/flows", "/connections"):
        response = api.get(path)
        assert response.status_code == 204 and response.content == b""
    assert api.get("/exports").json() == []  # only flows and connections answer 204
    admin.configure(empty_list_204=False)
    assert api.get("/flows").status_code == 200 and api.get("/flows").json() == []


def test_filtered_empty_list_is_204_too(api: Api) -> None:
    assert api.get("/flows", params={"name": "nothing matches"}).status_code == 204
