"""``CeligoHook`` (requests) and ``CeligoAsyncHook`` (httpx): the only code that talks HTTP to integrator.io.

Both hooks read the Celigo connection, send Bearer-authenticated JSON, retry what is worth retrying
(tenacity, honouring ``Retry-After``), turn error bodies into ``CeligoApiError`` and cap the calls in
flight per connection (or per lender, when the connection borrows its concurrency).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
import tenacity
from airflow.sdk import BaseHook

from airflow_provider_celigo._connection_form import legacy_field_behaviour, legacy_form_widgets
from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.connection import (
    CONN_TYPE,
    DEFAULT_CONN_ID,
    CeligoSettings,
    read_extra,
    settings_from_connection,
)
from airflow_provider_celigo.exceptions import CeligoApiError, CeligoError
from airflow_provider_celigo.hooks._resources import ResourceMethods
from airflow_provider_celigo.hooks._transport.clients import auth_headers, mask_token, shared_ssl_context
from airflow_provider_celigo.hooks._transport.limits import async_limiter, thread_limiter
from airflow_provider_celigo.hooks._transport.pacing import pacer_for
from airflow_provider_celigo.hooks._transport.paging import next_link
from airflow_provider_celigo.hooks._transport.responses import decode_body, no_response, raise_for_status
from airflow_provider_celigo.hooks._transport.retry import (
    may_have_reached_the_handler,
    retry_policy,
)
from airflow_provider_celigo.hooks._transport.urls import build_url, display_path
from airflow_provider_celigo.jobs.status import ACTIVE_STATUSES, iso_millis

if TYPE_CHECKING:
    import httpx

JOBS_PAGE_CAP = 1000

log = logging.getLogger(__name__)


def _run_body(start_date: str | None, end_date: str | None, export_ids: list[str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    export: dict[str, str] = {}
    if start_date:
        export["startDate"] = start_date
    if end_date:
        export["endDate"] = end_date
    if export:
        body["export"] = export
    if export_ids:
        body["_exportIds"] = [check_id(e, "export id") for e in export_ids]
    return body


class _CeligoHookBase(BaseHook):
    """Connection handling shared by both hooks."""

    conn_name_attr = "celigo_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = "Celigo integrator.io"

    def __init__(self, celigo_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.celigo_conn_id = celigo_conn_id

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Form widgets for Airflow < 3.2; 3.2+ reads ``conn-fields`` from the provider metadata."""
        return legacy_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Field behaviour for Airflow < 3.2; 3.2+ reads ``ui-field-behaviour`` from the provider metadata."""
        return legacy_field_behaviour()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(celigo_conn_id={self.celigo_conn_id!r})"

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        self.log.warning("Celigo call failed (attempt %d): %s; retrying in %.1fs", state.attempt_number, error, wait)


class CeligoHook(ResourceMethods, _CeligoHookBase):
    """Synchronous integrator.io client for workers and ``@task`` code.

    :param celigo_conn_id: the Celigo connection id (default ``celigo_default``).
    """

    @cached_property
    def settings(self) -> CeligoSettings:
        """The validated connection; raises CeligoConfigError for a bad field."""
        settings = settings_from_connection(self.get_connection(self.celigo_conn_id), self.get_connection)
        mask_token(settings.token)
        return settings

    @cached_property
    def session(self) -> requests.Session:
        """The hook's keep-alive HTTP session."""
        session = requests.Session()
        session.headers.update(auth_headers(self.settings))
        session.verify = self.settings.verify_ssl
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(10, self.settings.concurrency_level))
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def get_conn(self) -> requests.Session:
        """Return the hook's HTTP session."""
        return self.session

    def close(self) -> None:
        """Close the HTTP session."""
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

    # -- HTTP -----------------------------------------------------------------------------------------

    def _send(self, method: str, url: str, params: Any, json: Any) -> requests.Response:
        settings = self.settings
        path = display_path(settings, url)
        limiter = thread_limiter(settings.concurrency_owner, settings.concurrency_level)
        pacer_for(settings.concurrency_owner).wait()
        started = time.monotonic()
        with limiter:
            try:
                # verify= here, not only on the session: requests lets REQUESTS_CA_BUNDLE override session.verify
                response = self.session.request(
                    method, url, params=params, json=json, timeout=settings.timeout, verify=settings.verify_ssl
                )
                body = response.content
            except requests.RequestException as error:
                raise no_response(
                    error, timed_out=isinstance(error, requests.Timeout), settings=settings, method=method, path=path
                ) from None
        self.log.debug("%s %s -> %s in %.3fs", method, path, response.status_code, time.monotonic() - started)
        raise_for_status(
            settings, status=response.status_code, headers=response.headers, body=body, method=method, path=path
        )
        return response

    def _request_response(self, method: str, path: str, *, params: Any = None, json: Any = None) -> requests.Response:
        url = build_url(self.settings, path)
        retrying = tenacity.Retrying(
            **retry_policy(self.settings.max_retries, self.settings.max_retry_wait), before_sleep=self._log_retry
        )
        return retrying(self._send, method, url, params, json)

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        """Call the API and return the decoded answer (JSON, text, or None for an empty answer).

        :param path: a path under ``/v1`` such as ``/flows/{id}``, or an absolute URL on the API host.
        :raises CeligoApiError: for an error answer (after retries for 429, 5xx and network errors).
        """
        response = self._request_response(method, path, params=params, json=json)
        return decode_body(
            status=response.status_code,
            headers=response.headers,
            body=response.content,
            method=method,
            path=display_path(self.settings, response.url or path),
            secret=self.settings.token,
        )

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield every item of a list endpoint, following ``Link: rel="next"`` verbatim (204 = empty)."""
        url: str | None = path
        query = params
        while url:
            response = self._request_response("GET", url, params=query)
            page = decode_body(
                status=response.status_code,
                headers=response.headers,
                body=response.content,
                method="GET",
                path=display_path(self.settings, response.url or url),
                secret=self.settings.token,
            )
            if page is None:
                return
            if not isinstance(page, list):
                raise CeligoApiError(
                    status=response.status_code,
                    method="GET",
                    path=display_path(self.settings, url),
                    code="unexpected_content",
                    message="expected a JSON array for a list",
                )
            yield from page
            url, query = next_link(response.headers.get("link")), None

    # -- connection test --------------------------------------------------------------------------------

    def get_token_info(self) -> dict[str, Any]:
        """Return ``GET /v1/tokenInfo``: the user the token belongs to."""
        return self.request("GET", "/tokenInfo") or {}

    def test_connection(self) -> tuple[bool, str]:
        """Check the token with ``GET /v1/tokenInfo``; return ``(ok, message)`` and never raise."""
        try:
            info = self.get_token_info()
        except CeligoError as error:
            return False, str(error)
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"
        return True, f"Connected to integrator.io ({self.settings.base_url}) as user {info.get('_userId', '?')}"

    # -- flows and jobs -----------------------------------------------------------------------------------

    def run_flow(
        self,
        flow_id: str,
        *,
        start_date: str | None = None,
        end_date: str | None = None,
        export_ids: list[str] | None = None,
    ) -> str:
        """Start a flow run and return its job id. Raises CeligoApiError (422 when the flow is disabled).

        A run request whose answer was lost (dropped connection, timeout, 500/502/504) may still have started
        the run. Before sending it again the hook reads the flow's latest job and, if one is queued or running,
        adopts it instead of starting a second run.
        """
        flow_id = check_id(flow_id, "flow id")
        path = f"/flows/{flow_id}/run"
        url = build_url(self.settings, path)
        body = _run_body(start_date, end_date, export_ids)
        answer_lost = False
        retrying = tenacity.Retrying(
            **retry_policy(self.settings.max_retries, self.settings.max_retry_wait), before_sleep=self._log_retry
        )
        for attempt in retrying:
            with attempt:
                if answer_lost and (adopted := self._active_job_of(flow_id)):
                    self.log.warning(
                        "The answer to POST /v1%s was lost; adopting job %s, which is queued or running, "
                        "instead of starting a second run",
                        path,
                        adopted,
                    )
                    return adopted
                try:
                    response = self._send("POST", url, None, body)
                except CeligoApiError as error:
                    answer_lost = answer_lost or may_have_reached_the_handler(error)
                    raise
        answer = decode_body(
            status=response.status_code,
            headers=response.headers,
            body=response.content,
            method="POST",
            path=f"/v1{path}",
            secret=self.settings.token,
        )
        job_id = answer.get("_jobId") if isinstance(answer, dict) else None
        if not isinstance(job_id, str) or not job_id:
            raise CeligoApiError(
                status=response.status_code,
                method="POST",
                path=f"/v1{path}",
                code="unexpected_content",
                message="no _jobId in the answer: " + repr(answer).replace(self.settings.token, "***")[:200],
            )
        return job_id

    def _active_job_of(self, flow_id: str) -> str | None:
        """Return the id of the flow's latest job if it is queued or running, else None."""
        for job in self.get_latest_flow_jobs(flow_id):
            if isinstance(job, dict) and job.get("status") in ACTIVE_STATUSES and isinstance(job.get("_id"), str):
                return str(job["_id"])
        return None

    def get_job(self, job_id: str) -> dict[str, Any]:
        """Return the job document ``GET /v1/jobs/{id}``."""
        return self.request("GET", f"/jobs/{check_id(job_id, 'job id')}")

    def get_job_family(self, job_id: str) -> dict[str, Any]:
        """Return the job with its step jobs in ``children``."""
        return self.request("GET", f"/jobs/{check_id(job_id, 'job id')}/family")

    def cancel_job(self, job_id: str) -> dict[str, Any] | None:
        """Cancel a queued or running job; return the job document."""
        return self.request("PUT", f"/jobs/{check_id(job_id, 'job id')}/cancel", json={})

    def get_latest_flow_jobs(self, flow_id: str) -> list[dict[str, Any]]:
        """Return the flow's latest job(s) (one per page generator)."""
        return self.request("GET", f"/flows/{check_id(flow_id, 'flow id')}/jobs/latest") or []

    def iter_jobs(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Yield jobs newest first, paging back through ``createdAt_lte`` windows (``/jobs`` has no Link).

        Filters are integrator.io's (``_flowId``, ``type``, ``status`` as a list, ``createdAt_gte`` ...).
        """
        seen: set[str] = set()
        params = dict(filters)
        while True:
            page = self.request("GET", "/jobs", params=params) or []
            fresh = [job for job in page if job.get("_id") not in seen]
            yield from fresh
            if len(page) < JOBS_PAGE_CAP or not fresh:
                return
            seen.update(job["_id"] for job in fresh if "_id" in job)
            oldest = datetime.fromisoformat(str(page[-1]["createdAt"]).replace("Z", "+00:00"))
            params["createdAt_lte"] = iso_millis(oldest - timedelta(milliseconds=1))

    def find_active_flow_jobs(self, flow_id: str, created_after: datetime | None = None) -> list[dict[str, Any]]:
        """Return the flow's queued or running flow jobs, newest first, optionally created after a moment."""
        params: dict[str, Any] = {
            "_flowId": check_id(flow_id, "flow id"),
            "type": "flow",
            "status": sorted(ACTIVE_STATUSES),
        }
        if created_after is not None:
            params["createdAt_gte"] = iso_millis(created_after)
        return list(self.iter_jobs(**params))

    def get_step_errors(self, flow_id: str, step_id: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Return up to ``limit`` open errors of one flow step (an export or import id)."""
        path: str | None = f"/flows/{check_id(flow_id, 'flow id')}/{check_id(step_id, 'step id')}/errors"
        errors: list[dict[str, Any]] = []
        while path and len(errors) < limit:
            answer = self.request("GET", path) or {}
            errors.extend(answer.get("errors", []))
            following = answer.get("nextPageURL")
            # The UI strips a leading "/api" from nextPageURL; the token API serves the same path under /v1.
            path = following.removeprefix("/api") if isinstance(following, str) and following else None
        return errors[:limit]

    def set_flow_enabled(self, flow_id: str, enabled: bool) -> None:
        """Enable or disable a flow with a JSON Patch of ``/disabled``."""
        self.request(
            "PATCH",
            f"/flows/{check_id(flow_id, 'flow id')}",
            json=[{"op": "replace", "path": "/disabled", "value": not enabled}],
        )


class CeligoAsyncHook(_CeligoHookBase):
    """Asynchronous integrator.io client for triggers (httpx, never blocks the event loop)."""

    def __init__(self, celigo_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(celigo_conn_id, **kwargs)
        self._settings: CeligoSettings | None = None
        self._client: httpx.AsyncClient | None = None

    async def get_settings(self) -> CeligoSettings:
        """Return the validated connection, read with the async connection API."""
        if self._settings is None:
            conn = await self.aget_connection(self.celigo_conn_id)
            lender_id = str(read_extra(conn.extra_dejson or {}, "borrow_concurrency_from") or "").strip()
            lender = None
            if lender_id and lender_id != conn.conn_id:
                try:
                    lender = await self.aget_connection(lender_id)
                except Exception:
                    lender = None  # settings_from_connection explains that the lender does not exist

            def lookup(conn_id: str) -> Any:
                if lender is None or conn_id != lender.conn_id:
                    raise KeyError(conn_id)
                return lender

            self._settings = settings_from_connection(conn, lookup)
            mask_token(self._settings.token)
        return self._settings

    async def _get_client(self) -> httpx.AsyncClient:
        import httpx

        if self._client is None:
            settings = await self.get_settings()
            self._client = httpx.AsyncClient(
                headers=auth_headers(settings),
                timeout=settings.timeout,
                verify=shared_ssl_context() if settings.verify_ssl else False,
                limits=httpx.Limits(
                    max_connections=settings.concurrency_level, max_keepalive_connections=settings.concurrency_level
                ),
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _send(self, method: str, url: str, params: Any, json: Any) -> httpx.Response:
        import httpx

        settings = await self.get_settings()
        client = await self._get_client()
        path = display_path(settings, url)
        await pacer_for(settings.concurrency_owner).wait_async()
        async with async_limiter(settings.concurrency_owner, settings.concurrency_level):
            try:
                response = await client.request(method, url, params=params, json=json)
            except httpx.HTTPError as error:
                raise no_response(
                    error,
                    timed_out=isinstance(error, httpx.TimeoutException),
                    settings=settings,
                    method=method,
                    path=path,
                ) from None
        raise_for_status(
            settings,
            status=response.status_code,
            headers=response.headers,
            body=response.content,
            method=method,
            path=path,
        )
        return response

    async def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        """Call the API and return the decoded answer; same contract as ``CeligoHook.request``."""
        settings = await self.get_settings()
        url = build_url(settings, path)
        retrying = tenacity.AsyncRetrying(
            **retry_policy(settings.max_retries, settings.max_retry_wait), before_sleep=self._log_retry
        )
        response: httpx.Response = await retrying(self._send, method, url, params, json)
        return decode_body(
            status=response.status_code,
            headers=response.headers,
            body=response.content,
            method=method,
            path=display_path(settings, url),
            secret=settings.token,
        )

    async def get_job(self, job_id: str) -> dict[str, Any]:
        """Return the job document."""
        return await self.request("GET", f"/jobs/{check_id(job_id, 'job id')}")

    async def cancel_job(self, job_id: str) -> dict[str, Any] | None:
        """Cancel a queued or running job; return the job document."""
        return await self.request("PUT", f"/jobs/{check_id(job_id, 'job id')}/cancel", json={})

    async def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
        """Return one ``GET /jobs`` answer (newest first, at most 1000 jobs)."""
        return await self.request("GET", "/jobs", params=filters) or []
