"""Issue 15 item 4: the provider's UI pieces in a real browser, against a real api-server (UI and REST API).

One deployment (``tests/e2e/deployment.py`` with ``api_apps="all"``: api-server, scheduler, dag-processor,
triggerer; LocalExecutor on SQLite), the emulator, and headless Chromium (``offline_chromium.py``):

1. Admin > Connections > Add Connection, type "Celigo integrator.io": the form shows a Region dropdown offering
   exactly the regions the hook knows (na, eu, ...), a Concurrency level number field (1-25, default 5), the
   token as a password field labelled "API token", and none of the fields the provider hides. The test picks
   eu, level 4 and the emulator's URL, types the token and saves; the REST API then holds exactly those extras
   and a masked password.
2. The row's Test button runs the provider's ``test_connection`` against the emulator in the api-server; the
   page's result message names the emulator and its user. Airflow 3.3.1 and 3.3.2 answer that button with
   400 for every connection without a port (the UI sends ``port: 0``, the API compares it with the stored
   NULL; apache/airflow#73298, fixed after 3.3.2). There the test asserts exactly that answer, says so, and
   sends the button's own request from the page without the port, as the fixed API treats it.
3. A run of ``dags/celigo_link_dag.py`` through the connection made in the form; the task's Details page
   shows the "Celigo job" extra link to the eu web UI's page of the flow, and following it lands on that page
   (served by an HTTPS stand-in for eu.integrator.io; the machine has no internet).

Screenshots go to ``<tmp_path>/screenshots``; every assertion reads the DOM, the REST API or the emulator.
The metadata-driven form exists from Airflow 3.2; on older versions the test says it has no form to check.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from offline_chromium import UiStandIn, start_chromium
from packaging.version import Version
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from airflow_provider_celigo._connection_form import (
    CONN_FIELDS,
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    MIN_CONCURRENCY,
    UI_FIELD_BEHAVIOUR,
)
from airflow_provider_celigo.connection import REGION_UI_URLS, REGION_URLS
from airflow_provider_celigo.get_provider_info import get_provider_info
from airflow_provider_celigo.links import CeligoJobLink, job_url
from airflow_provider_celigo.testing import FIXTURE_SETTINGS, running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from deployment import AirflowDeployment

sys.path.insert(0, str(Path(__file__).resolve().parent / "dags"))
from celigo_link_dag import CONN_ID, DAG_ID, TASK_ID

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

AIRFLOW_VERSION = Version(importlib.metadata.version("apache-airflow"))
#: Airflow reads the provider's ``conn-fields`` / ``ui-field-behaviour`` metadata from 3.2.
FORM_FROM_METADATA = Version("3.2") <= AIRFLOW_VERSION
HOOK_NAME = get_provider_info()["connection-types"][0]["hook-name"]
#: The region the test picks in the form; its web UI host is where the "Celigo job" link must point.
FORM_REGION = "eu"
RUN_ID = "browser_link_1"
CONCURRENCY_IN_FORM = 4
UI_WAIT = 90  # seconds; the first page load builds the UI's API routes on a loaded 2-core machine
RUN_TIMEOUT = 240
EXPECTED_LINK = job_url(REGION_UI_URLS[FORM_REGION], DEMO_IDS["flow_orders"], DEMO_IDS["integration_shop"])
#: The answer of Airflow 3.3.1/3.3.2 to the Test button of a connection without a port (apache/airflow#73298).
PORTLESS_TEST_REJECTED = (
    "The host or port to test differs from the stored connection. Include the credentials to test in the request body."
)

# Records, in the page, every toast shown and every call to the connection test endpoint (the toasts last a
# few seconds, so the observer keeps their text for the test to read afterwards).
WATCH_PAGE = """
if (!window.__celigoWatch) {
  const watch = {toasts: [], tests: []};
  window.__celigoWatch = watch;
  const seen = new WeakSet();
  const record = () => document.querySelectorAll('[data-scope=toast][data-part=root]').forEach((el) => {
    const text = el.innerText.trim();
    if (text && !seen.has(el)) { seen.add(el); watch.toasts.push({type: el.getAttribute('data-type'), text}); }
  });
  new MutationObserver(record).observe(document.body, {childList: true, subtree: true, characterData: true});
  const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
  const setHeader = XMLHttpRequest.prototype.setRequestHeader;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__call = {method, url: String(url), headers: {}};
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.setRequestHeader = function (name, value) {
    if (this.__call) { this.__call.headers[name] = value; }
    return setHeader.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function (body) {
    const call = this.__call;
    if (call && call.url.endsWith('/api/v2/connections/test')) {
      call.body = String(body);
      this.addEventListener('loadend', () => {
        call.status = this.status; call.response = this.responseText; watch.tests.push(call);
      });
    }
    return send.apply(this, arguments);
  };
}
"""
# Sends a connection test request from the page (same origin, same headers as the UI's own call).
SEND_TEST = """
const [body, headers, done] = arguments;
fetch('/api/v2/connections/test', {method: 'POST', headers, body})
  .then((answer) => answer.text().then((text) => done({status: answer.status, text})))
  .catch((error) => done({status: 0, text: String(error)}));
"""


@pytest.fixture
def ui_stand_in(tmp_path: Path) -> Iterator[UiStandIn]:
    """The HTTPS stand-in for the web UI of ``FORM_REGION`` (``eu.integrator.io``)."""
    hostname = urlsplit(REGION_UI_URLS[FORM_REGION]).hostname or ""
    with UiStandIn(hostname, tmp_path / "ui-stand-in-tls") as server:
        yield server


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """The folder the test saves its screenshots in."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder


@pytest.fixture
def chromium(tmp_path: Path, ui_stand_in: UiStandIn, screenshots: Path) -> Iterator[Chrome]:
    """Headless Chromium that reaches 127.0.0.1 and the UI stand-in only; saves the last page when it ends."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    chrome = start_chromium(profile, host_rules=ui_stand_in.host_rules, trusted_spki=ui_stand_in.spki)
    try:
        yield chrome
    finally:
        with contextlib.suppress(WebDriverException, OSError):
            chrome.save_screenshot(str(screenshots / "zz-last-page.png"))
            (screenshots / "zz-last-page.html").write_text(chrome.page_source)
        chrome.quit()


@pytest.fixture
def shoot(chromium: Chrome, screenshots: Path) -> Callable[[str], Path]:
    """Return ``shoot(name)``: save a screenshot ``<name>.png`` of the current page and return its path."""

    def save(name: str) -> Path:
        path = screenshots / f"{name}.png"
        assert chromium.save_screenshot(str(path)), f"Chromium could not save {path}"
        return path

    return save


def wait_for(chromium: Chrome, timeout: float = UI_WAIT) -> WebDriverWait[Chrome]:
    """Return an explicit wait on ``chromium`` that polls every 0.25 s and rides over React re-renders."""
    return WebDriverWait(chromium, timeout, poll_frequency=0.25, ignored_exceptions=(StaleElementReferenceException,))


def field_of_label(scope: WebElement, label: str) -> WebElement:
    """Return the control that the form label ``label`` (its text, ignoring a required-star) is ``for``."""
    element = scope.find_element(By.XPATH, f".//label[normalize-space()='{label}' or normalize-space()='{label} *']")
    control_id = element.get_attribute("for")
    assert control_id, f"label {label!r} names no control"
    return scope.find_element(By.ID, control_id)


def extra_field(dialog: WebElement, name: str) -> WebElement:
    """Return the input of extra field ``name`` (the form names it ``element_<name>``; its label's ``for`` may
    not point at it, as for Airflow 3.3's text fields)."""
    return dialog.find_element(By.NAME, f"element_{name}")


def watched(chromium: Chrome) -> dict[str, list[dict[str, Any]]]:
    """Return what WATCH_PAGE recorded on the current page."""
    result: dict[str, list[dict[str, Any]]] = chromium.execute_script("return window.__celigoWatch")
    return result


def rest_get(api_url: str, path: str) -> dict[str, Any]:
    """GET ``path`` from the deployment's REST API (the simple auth manager makes every caller an admin)."""
    with urllib.request.urlopen(f"{api_url}{path}", timeout=30) as answer:
        result: dict[str, Any] = json.loads(answer.read())
    return result


def open_add_connection_form(chromium: Chrome, api_url: str) -> WebElement:
    """Open Admin > Connections > Add Connection; return the dialog."""
    chromium.get(f"{api_url}/connections")
    wait_for(chromium).until(ec.element_to_be_clickable((By.XPATH, "//button[contains(., 'Add Connection')]"))).click()
    dialog: WebElement = wait_for(chromium).until(ec.visibility_of_element_located((By.CSS_SELECTOR, "[role=dialog]")))
    assert "Add Connection" in dialog.find_element(By.TAG_NAME, "h2").text
    return dialog


def choose_celigo_type(chromium: Chrome, dialog: WebElement) -> None:
    """Type the connection id and pick the Celigo connection type in its searchable dropdown."""
    field_of_label(dialog, "Connection ID").send_keys(CONN_ID)
    field_of_label(dialog, "Connection Type").send_keys("Celigo")
    option = (By.XPATH, f"//*[@role='option' and normalize-space()='{HOOK_NAME}']")
    wait_for(chromium).until(ec.element_to_be_clickable(option)).click()
    wait_for(chromium).until(ec.visibility_of_element_located((By.NAME, "password")))


def check_token_field(dialog: WebElement) -> WebElement:
    """Assert the token is a password input relabelled "API token" and the hidden fields are gone; return it."""
    token = dialog.find_element(By.NAME, "password")
    assert token.get_attribute("type") == "password"
    assert field_of_label(dialog, UI_FIELD_BEHAVIOUR["relabeling"]["password"]) == token
    assert token.get_attribute("placeholder") == UI_FIELD_BEHAVIOUR["placeholders"]["password"]
    for hidden in UI_FIELD_BEHAVIOUR["hidden-fields"]:
        assert not dialog.find_elements(By.NAME, hidden), f"field {hidden!r} should be hidden"
    return token


def check_region_dropdown(chromium: Chrome, dialog: WebElement) -> WebElement:
    """Open the Region dropdown, assert it offers exactly the regions of the metadata; return the control."""
    region = field_of_label(dialog, CONN_FIELDS["region"]["label"])
    assert region.get_attribute("role") == "combobox"
    region.click()
    listbox_id = wait_for(chromium).until(lambda _: region.get_attribute("aria-controls"))
    listbox = chromium.find_element(By.ID, listbox_id)
    assert listbox.get_attribute("role") == "listbox"
    options = wait_for(chromium).until(lambda _: listbox.find_elements(By.CSS_SELECTOR, "[role=option]"))
    offered = [option.text for option in options]
    assert offered == CONN_FIELDS["region"]["schema"]["enum"]
    assert sorted(offered) == sorted(REGION_URLS), "the dropdown should offer every region the hook knows"
    return region


def pick_region(chromium: Chrome, region: WebElement, name: str) -> None:
    """Pick ``name`` in the open Region dropdown and wait until the form holds it."""
    listbox = chromium.find_element(By.ID, region.get_attribute("aria-controls") or "")
    next(option for option in listbox.find_elements(By.CSS_SELECTOR, "[role=option]") if option.text == name).click()
    wait_for(chromium).until(lambda _: chromium.find_element(By.NAME, "element_region").get_attribute("value") == name)


def check_and_set_concurrency(dialog: WebElement, level: int) -> None:
    """Assert the Concurrency level is a 1-25 number field at its default; set it to ``level``."""
    concurrency = extra_field(dialog, "concurrency_level")
    assert field_of_label(dialog, CONN_FIELDS["concurrency_level"]["label"]) == concurrency
    assert concurrency.get_attribute("role") == "spinbutton"
    assert concurrency.get_attribute("aria-valuemin") == str(MIN_CONCURRENCY)
    assert concurrency.get_attribute("aria-valuemax") == str(MAX_CONCURRENCY)
    assert concurrency.get_attribute("value") == str(DEFAULT_CONCURRENCY)
    concurrency.send_keys(Keys.CONTROL, "a")
    concurrency.send_keys(str(level))
    assert concurrency.get_attribute("value") == str(level)


def press_test_and_read_result(chromium: Chrome) -> tuple[str, str, dict[str, Any]]:
    """Press the connection row's Test button; return the result toast's (title, message) and the API call."""
    row = (By.XPATH, f"//tr[td[normalize-space()='{CONN_ID}']]")
    button = (
        wait_for(chromium)
        .until(ec.visibility_of_element_located(row))
        .find_element(By.CSS_SELECTOR, "button[aria-label='Test Connection']")
    )
    chromium.execute_script(WATCH_PAGE)
    wait_for(chromium).until(ec.element_to_be_clickable(button)).click()
    toast: dict[str, Any] = wait_for(chromium).until(
        lambda _: next((t for t in watched(chromium)["toasts"] if t["text"].startswith("Test Connection")), False)
    )
    calls = wait_for(chromium).until(lambda _: watched(chromium)["tests"])
    title, _, message = toast["text"].partition("\n")
    return title.strip(), message.strip(), calls[0]


def test_connection_form_test_button_and_job_link(
    tmp_path: Path, chromium: Chrome, shoot: Callable[[str], Path], ui_stand_in: UiStandIn
) -> None:
    if not FORM_FROM_METADATA:
        pytest.skip(
            f"this test drives the UI of Airflow 3.2+ (pages and selectors); on {AIRFLOW_VERSION} the form comes "
            "from the hook's WTForms fields, checked through Airflow's own form builder by "
            "tests/unit/test_provider_info.py::test_the_ui_gets_the_celigo_form"
        )
    print(f"browser test: Airflow {AIRFLOW_VERSION}, connection form from the provider's metadata")
    started = time.monotonic()

    def phase(name: str) -> None:
        print(f"browser test: {name} at {time.monotonic() - started:.1f}s")

    env = {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True", "AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    with (
        running_emulator(**FIXTURE_SETTINGS) as emulator,
        AirflowDeployment(
            Path(__file__).parent / "dags", env=env, api_apps="all", parallelism=2, run_root=tmp_path, stop_grace=5
        ) as airflow,
        ThreadPoolExecutor(max_workers=1) as background,
    ):
        api_url = airflow.api_url
        phase("deployment up")
        # 1. The form: Celigo type, Region dropdown, concurrency level, token as a password.
        dialog = open_add_connection_form(chromium, api_url)
        choose_celigo_type(chromium, dialog)
        token = check_token_field(dialog)
        token.send_keys(emulator.token)
        dialog.find_element(By.XPATH, ".//button[normalize-space()='Extra Fields']").click()
        region = wait_for(chromium).until(
            lambda _: (
                field_of_label(dialog, CONN_FIELDS["region"]["label"]).is_displayed()
                and check_region_dropdown(chromium, dialog)
            )
        )
        shoot("01-celigo-form-region-dropdown")
        labels = {label.text.strip() for label in dialog.find_elements(By.TAG_NAME, "label")}
        assert {field["label"] for field in CONN_FIELDS.values()} <= labels, labels
        pick_region(chromium, region, FORM_REGION)
        check_and_set_concurrency(dialog, CONCURRENCY_IN_FORM)
        extra_field(dialog, "base_url").send_keys(emulator.base_url)
        assert token.get_attribute("type") == "password"
        shoot("02-celigo-form-filled")
        dialog.find_element(By.XPATH, ".//button[normalize-space()='Save']").click()
        wait_for(chromium).until(ec.invisibility_of_element(dialog))
        wait_for(chromium).until(
            ec.visibility_of_element_located((By.XPATH, f"//tr[td[normalize-space()='{CONN_ID}']]"))
        )
        shoot("03-connection-saved")
        phase("connection saved")
        assert emulator.token not in chromium.page_source

        stored = rest_get(api_url, f"/api/v2/connections/{CONN_ID}")
        assert (stored["conn_type"], stored["password"]) == ("celigo", "***")
        extras = json.loads(stored["extra"])
        assert extras["region"] == FORM_REGION
        assert extras["concurrency_level"] == CONCURRENCY_IN_FORM
        assert extras["base_url"] == emulator.base_url

        # The DAG run needs the saved connection only; it runs while the browser tests the connection.
        airflow.wait_for_dag(DAG_ID)
        airflow.trigger(DAG_ID, RUN_ID)
        run_state = background.submit(airflow.wait_for_run, DAG_ID, RUN_ID, RUN_TIMEOUT)

        # 2. Test: the provider's test_connection in the api-server, against the emulator.
        title, message, call = press_test_and_read_result(chromium)
        shoot("04-test-connection-result")
        phase("connection tested")
        sent = json.loads(call["body"])
        assert sent["connection_id"] == CONN_ID
        assert sent["password"] == "***", "the UI must send the masked token, never the token itself"
        expected_message = f"Connected to integrator.io ({emulator.base_url}) as user "
        if title == "Test Connection Failed" and json.loads(call["response"]).get("detail") == PORTLESS_TEST_REJECTED:
            assert (call["status"], sent["port"], message) == (400, 0, "Bad Request")
            print(
                f"browser test: Airflow {AIRFLOW_VERSION} rejects the Test button of a connection without a port "
                "(apache/airflow#73298); sending the button's request without the port"
            )
            del sent["port"]
            answer = chromium.execute_async_script(SEND_TEST, json.dumps(sent), call["headers"])
            assert answer["status"] == 200, answer
            result = json.loads(answer["text"])
            assert result["status"] is True, result
            assert result["message"].startswith(expected_message), result
        else:
            assert title == "Test Connection Successful", (title, message)
            assert message.startswith(expected_message), message

        # 3. The finished task's page and its "Celigo job" link.
        assert run_state.result(timeout=RUN_TIMEOUT + 30) == "success"
        phase("DAG run finished")
        chromium.get(f"{api_url}/dags/{DAG_ID}/runs/{RUN_ID}/tasks/{TASK_ID}")
        heading = wait_for(chromium).until(
            ec.visibility_of_element_located((By.XPATH, f"//h2[normalize-space()='{TASK_ID}']"))
        )
        wait_for(chromium).until(lambda _: "Success" in heading.find_element(By.XPATH, "..").text)
        wait_for(chromium).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "a[title='Details']"))).click()
        link = wait_for(chromium).until(ec.visibility_of_element_located((By.LINK_TEXT, CeligoJobLink.name)))
        section = link.find_element(By.XPATH, "ancestor::*[.//*[normalize-space()='Extra Links']][1]")
        assert CeligoJobLink.name in section.text
        assert link.get_attribute("href") == EXPECTED_LINK
        shoot("05-task-details-celigo-job-link")
        windows = set(chromium.window_handles)
        link.click()
        wait_for(chromium).until(lambda _: len(chromium.window_handles) > len(windows))
        chromium.switch_to.window((set(chromium.window_handles) - windows).pop())
        landing = urlsplit(EXPECTED_LINK)
        page = wait_for(chromium).until(ec.visibility_of_element_located((By.ID, "stand-in-path")))
        assert page.text == landing.path
        assert chromium.find_element(By.ID, "stand-in-host").text == landing.hostname
        assert chromium.current_url == EXPECTED_LINK
        assert (landing.hostname, landing.path) in ui_stand_in.requests
        shoot("06-celigo-job-page")

        phase("Celigo job link followed")
        assert emulator.token not in airflow.logs_text()
    phase("deployment stopped")
    print(f"browser test: screenshots in {tmp_path / 'screenshots'}")
