"""``CeligoHook`` (requests) and ``CeligoAsyncHook`` (httpx): the only code that talks HTTP to integrator.io.

Both hooks read the Celigo connection, send Bearer-authenticated JSON, retry what is worth retrying
(tenacity, honouring ``Retry-After``), turn error bodies into ``CeligoApiError`` and cap the calls in
flight per connection (or per lender, when the connection borrows its concurrency).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
import tenacity

from airflow_provider_celigo._compat import BaseHook, call_sync
from airflow_provider_celigo._connection_form import legacy_field_behaviour, legacy_form_widgets
from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.connection import (
    CONN_TYPE,
    DEFAULT_CONN_ID,
    CeligoSettings,
    read_extra,
    settings_from_connection,
)
from airflow_provider_celigo.exceptions import CeligoApiError, CeligoError, CeligoNotFoundError, InvalidJobDocument
from airflow_provider_celigo.hooks._account import AccountMethods
from airflow_provider_celigo.hooks._dashboard import DashboardMethods
from airflow_provider_celigo.hooks._resources import ResourceMethods
from airflow_provider_celigo.hooks._transport.clients import auth_headers, mask_token, redact, shared_ssl_context
from airflow_provider_celigo.hooks._transport.concurrency import call_limiter
from airflow_provider_celigo.hooks._transport.deadline import Deadline, DeadlineAdapter, within
from airflow_provider_celigo.hooks._transport.pacing import pacer_for, pacing_enabled
from airflow_provider_celigo.hooks._transport.paging import PageTrail, next_link, page_key
from airflow_provider_celigo.hooks._transport.responses import (
    decode_response,
    no_response,
    not_found_means,
    raise_for_status,
)
from airflow_provider_celigo.hooks._transport.retry import (
    may_have_reached_the_handler,
    retrying,
)
from airflow_provider_celigo.hooks._transport.urls import build_url, display_path
from airflow_provider_celigo.jobs.reattach import CLOCK_SKEW_MARGIN, check_on_unclear, choose_own_run
from airflow_provider_celigo.jobs.status import ACTIVE_STATUSES, iso_millis, parse_time

if TYPE_CHECKING:
    import httpx

__all__ = ["CeligoAsyncHook", "CeligoHook"]

JOBS_PAGE_CAP = 1000


def _json_kind(value: Any) -> str:
    """Return what a decoded JSON value is, for messages ("an object", "a string" ...)."""
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


log = logging.getLogger(__name__)


def _flow_step_ids(flow: Any) -> set[str]:
    """Return the ids of every export and import a flow document uses (its sources and its processors)."""
    steps = [*(flow.get("pageGenerators") or []), *(flow.get("pageProcessors") or [])] if isinstance(flow, dict) else []
    return {
        step[key]
        for step in steps
        if isinstance(step, dict)
        for key in ("_exportId", "_importId")
        if isinstance(step.get(key), str)
    }


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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(celigo_conn_id={self.celigo_conn_id!r})"

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        self.log.warning("Celigo call failed (attempt %d): %s; retrying in %.1fs", state.attempt_number, error, wait)


class CeligoHook(DashboardMethods, ResourceMethods, AccountMethods, _CeligoHookBase):
    """Synchronous integrator.io client for workers and ``@task`` code.

    :param celigo_conn_id: the Celigo connection id (default ``celigo_default``).
    """

    # Here, not on the base: Airflow 3.0/3.1 call them only when the registered hook class defines them itself.
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Form fields for Airflow < 3.2; 3.2+ reads ``conn-fields`` from the provider metadata."""
        return legacy_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Field behaviour for Airflow < 3.2; 3.2+ reads ``ui-field-behaviour`` from the provider metadata."""
        return legacy_field_behaviour()

    @cached_property
    def settings(self) -> CeligoSettings:
        """The validated connection; raises CeligoConfigError for a bad field."""
        settings = settings_from_connection(self.get_connection(self.celigo_conn_id), self.get_connection)
        mask_token(settings.token)
        return settings

    @cached_property
    def session(self) -> requests.Session:
        """The hook's keep-alive HTTP session; its adapter reads every answer within the call's deadline."""
        session = requests.Session()
        session.headers.update(auth_headers(self.settings))
        session.verify = self.settings.verify_ssl
        adapter = DeadlineAdapter(pool_maxsize=max(10, self.settings.concurrency_level))
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
        """Send one request (no retry) and return the response, its body read.

        The connection's ``timeout`` bounds the whole exchange, from connecting to the last byte of the body.
        Raises RetryableResponse (429/5xx), CeligoNotFoundError (404), CeligoApiError (other errors) or
        TransportError (no complete answer in time, or a broken connection).
        """
        settings = self.settings
        path = display_path(settings, url)
        limiter = call_limiter(settings.concurrency_owner, settings.concurrency_level)
        if pacing_enabled():
            pacer_for(settings.concurrency_owner).wait()
        started = time.monotonic()
        with limiter, within(Deadline(settings.timeout)) as deadline:
            try:
                # verify= here, not only on the session: requests lets REQUESTS_CA_BUNDLE override session.verify
                response = self.session.request(
                    method, url, params=params, json=json, timeout=settings.timeout, verify=settings.verify_ssl
                )
                body = response.content
            except requests.RequestException as error:
                # A read cut short by the deadline surfaces as a broken connection while the body is read.
                timed_out = isinstance(error, requests.Timeout) or deadline.expired()
                raise no_response(error, timed_out=timed_out, settings=settings, method=method, path=path) from None
        self.log.debug("%s %s -> %s in %.3fs", method, path, response.status_code, time.monotonic() - started)
        raise_for_status(
            settings, status=response.status_code, headers=response.headers, body=body, method=method, path=path
        )
        return response

    def _request_response(self, method: str, path: str, *, params: Any = None, json: Any = None) -> requests.Response:
        """Send a request under the connection's retry policy; return the successful response (raises as ``_send``)."""
        url = build_url(self.settings, path)
        return retrying(self.settings, before_sleep=self._log_retry)(self._send, method, url, params, json)

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None, not_found: str | None = None
    ) -> Any:
        """Call the API and return the decoded answer (JSON, text, or None for an empty answer).

        :param path: a path under ``/v1`` such as ``/flows/{id}``, or an absolute URL on the API host.
        :param not_found: what a 404 means for this call (e.g. ``"flow X does not exist"``); it leads the
            message of the CeligoNotFoundError.
        :raises CeligoNotFoundError: for a 404 (a CeligoApiError with status 404).
        :raises CeligoApiError: for another error answer (after retries for 429, 5xx and network errors).
        """
        with not_found_means(not_found):
            response = self._request_response(method, path, params=params, json=json)
        return decode_response(
            response, method=method, path=display_path(self.settings, response.url or path), secret=self.settings.token
        )

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Yield every item of a list endpoint, following ``Link: rel="next"`` verbatim (204 = empty).

        :raises CeligoApiError: ``unexpected_content`` for a page that is not a JSON array, ``paging_cycle``
            for a link back to a page already read, ``paging_limit`` past ``paging.MAX_PAGES`` pages.
        :raises CeligoConfigError: for a link to another host (the token is not sent there).
        """
        settings = self.settings
        url: str | None = build_url(settings, path)
        query = params
        trail = PageTrail(path=display_path(settings, build_url(settings, path)), describe=self._path_of)
        status = 200
        while url:
            trail.enter(page_key(url, query), url, status=status)
            response = self._request_response("GET", url, params=query)
            shown = display_path(settings, response.url or url)
            page = decode_response(response, method="GET", path=shown, secret=settings.token)
            if page is None:
                return
            if not isinstance(page, list):
                raise CeligoApiError(
                    status=response.status_code,
                    method="GET",
                    path=shown,
                    code="unexpected_content",
                    message=f"expected a JSON array for a list, got {_json_kind(page)}",
                )
            yield from page
            link = next_link(response.headers.get("link"))
            url, query, status = (build_url(settings, link) if link else None), None, response.status_code

    def _path_of(self, url: str) -> str:
        """Return a URL or API path as ``/v1/...`` without host or query (which may hold secrets), for messages."""
        return display_path(self.settings, build_url(self.settings, url))

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

    def run_marker(self, flow_id: str) -> datetime:
        """Return integrator.io's time now, read from the ``Date`` header of ``GET /flows/{id}``.

        Every job a run request sent after this call starts is created at or after this moment, whatever the
        machine's clock says (``Date`` has whole seconds and is never ahead of the server's time). Without a
        ``Date`` header (a proxy may strip it) the local time minus a five-minute margin is used, with a warning.
        Raises CeligoApiError (404 when the flow does not exist).
        """
        return self.flow_and_marker(flow_id)[1]

    def flow_and_marker(self, flow_id: str) -> tuple[dict[str, Any], datetime]:
        """Return the flow document and ``run_marker``'s moment, both from one ``GET /flows/{id}``.

        Raises CeligoApiError (404 when the flow does not exist, ``unexpected_content`` for a body that is not
        a JSON object).
        """
        path = f"/flows/{check_id(flow_id, 'flow id')}"
        response = self._request_response("GET", path)
        flow = decode_response(response, method="GET", path=f"/v1{path}", secret=self.settings.token)
        if not isinstance(flow, dict):
            raise CeligoApiError(
                status=response.status_code,
                method="GET",
                path=f"/v1{path}",
                code="unexpected_content",
                message=f"expected the flow document (a JSON object), got {_json_kind(flow)}",
            )
        try:
            moment = parsedate_to_datetime(response.headers.get("date") or "")
        except (TypeError, ValueError, IndexError):
            self.log.warning("integrator.io sent no usable Date header; using this machine's clock minus 5 minutes")
            return flow, datetime.now(timezone.utc) - CLOCK_SKEW_MARGIN
        return flow, moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def run_flow(
        self,
        flow_id: str,
        *,
        start_date: str | None = None,
        end_date: str | None = None,
        export_ids: list[str] | None = None,
        sent_after: datetime | None = None,
        on_unclear_run: str = "fail",
        first_source: str | None = None,
    ) -> str:
        """Start a flow run and return the id of its first flow job. Raises CeligoApiError.

        A flow with several sources makes one flow job per source for one run; the answer names the first
        (``jobs.runs.FlowRun`` finds the others). ``start_date`` is ``export.startDate`` (what integrator.io's
        own UI sends); ``end_date`` (``export.endDate``) and ``export_ids`` (``_exportIds``) are assumed field
        names that no public source documents. Running a disabled flow is refused by integrator.io's UI; what
        the API answers then is not documented either.

        A run request whose answer was lost (dropped connection, timeout, 500/502/504) may still have started
        the run. Before sending it again the hook lists the flow's jobs created since ``sent_after`` (by
        default read from the flow's ``GET`` just before the first request) in any status, and adopts the one
        it finds instead of starting a second run; it sends again only when there is none. Only jobs of
        ``first_source`` (the export id of the run's first source; by default read from the flow) count, as
        one run makes one job per source. Several candidates raise CeligoRunUnclearError unless
        ``on_unclear_run="adopt_earliest"`` (see ``jobs.reattach``).
        """
        from airflow_provider_celigo.jobs.runs import first_source as source_of

        flow_id = check_id(flow_id, "flow id")
        on_unclear_run = check_on_unclear(on_unclear_run)
        if sent_after is None:
            flow, since = self.flow_and_marker(flow_id)
            first_source = first_source or source_of(flow, export_ids)
        else:
            since = sent_after
        path = f"/flows/{flow_id}/run"
        url = build_url(self.settings, path)
        body = _run_body(start_date, end_date, export_ids)
        answer_lost = False
        for attempt in retrying(self.settings, before_sleep=self._log_retry):
            with attempt:
                if answer_lost:
                    own = choose_own_run(
                        flow_id,
                        self.find_flow_jobs(flow_id, created_after=since),
                        since,
                        on_unclear_run,
                        source=first_source,
                    )
                    if own is not None:
                        self.log.warning(
                            "The answer to POST /v1%s was lost; adopting job %s (%s), created after the request "
                            "was sent, instead of starting a second run",
                            path,
                            own["_id"],
                            own.get("status"),
                        )
                        return str(own["_id"])
                try:
                    response = self._send("POST", url, None, body)
                except CeligoApiError as error:
                    answer_lost = answer_lost or may_have_reached_the_handler(error)
                    raise
        answer = decode_response(response, method="POST", path=f"/v1{path}", secret=self.settings.token)
        job_id = answer.get("_jobId") if isinstance(answer, dict) else None
        if not isinstance(job_id, str) or not job_id:
            raise CeligoApiError(
                status=response.status_code,
                method="POST",
                path=f"/v1{path}",
                code="unexpected_content",
                message="no _jobId in the answer: " + redact(repr(answer), self.settings.token)[:200],
            )
        return check_id(job_id, "_jobId of the run answer")

    def get_job(self, job_id: str) -> dict[str, Any]:
        """Return the job document ``GET /v1/jobs/{id}``."""
        return self.request("GET", f"/jobs/{check_id(job_id, 'job id')}")

    def wait_for_job(self, job_id: str, *, poll_interval: float = 30.0, timeout: float | None = None) -> dict[str, Any]:
        """Poll the job every ``poll_interval`` seconds until it ends, logging one line per poll; return its
        final document (completed, failed or canceled: judging it is the caller's business).

        :param timeout: give up after this many seconds (None = wait as long as it runs); the job keeps running.
        :raises DeadlineReached: when ``timeout`` passes first; ``.job`` holds the last document read.
        :raises CeligoConfigError: unless ``poll_interval`` and ``timeout`` are finite numbers of seconds > 0.
        :raises CeligoApiError: when the API keeps failing (after the connection's retries).
        """
        from airflow_provider_celigo.jobs.wait import wait_for_job, wait_limits

        interval, deadline = wait_limits(poll_interval, timeout)
        return wait_for_job(self, job_id, poll_interval=interval, deadline=deadline, log=self.log)

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

        Filters are integrator.io's (``_flowId``, ``type``, ``status`` as a list, ``createdAt_gte`` ...). Stops
        at a short page or at a page that brings no job not yet seen.

        :raises CeligoApiError: ``unexpected_content`` for an answer that is not an array of job objects,
            ``paging_cycle`` when a window repeats, ``paging_limit`` past ``paging.MAX_PAGES`` pages.
        :raises InvalidJobDocument: when the oldest job of a full page has no readable ``createdAt``.
        """
        seen: set[str] = set()
        params = dict(filters)
        trail = PageTrail(path="/v1/jobs", describe=lambda lte: f"createdAt_lte={lte}")
        while True:
            trail.enter(params.get("createdAt_lte"), params.get("createdAt_lte"))
            page = self.request("GET", "/jobs", params=params)
            if page is None:
                return
            if not isinstance(page, list) or not all(isinstance(job, dict) for job in page):
                kind = _json_kind(page) if not isinstance(page, list) else "an array holding something else"
                raise CeligoApiError(
                    status=200,
                    method="GET",
                    path="/v1/jobs",
                    code="unexpected_content",
                    message=f"expected a JSON array of job objects, got {kind}",
                )
            fresh = [job for job in page if job.get("_id") not in seen]
            yield from fresh
            if len(page) < JOBS_PAGE_CAP or not fresh:
                return
            seen.update(job["_id"] for job in fresh if "_id" in job)
            oldest = parse_time(page[-1].get("createdAt"))
            if oldest is None:
                raise InvalidJobDocument(
                    f"job {str(page[-1].get('_id'))[:40]!r}, the oldest of a full page of GET /v1/jobs, has no "
                    f"readable createdAt ({str(page[-1].get('createdAt'))[:40]!r}); it is needed to ask for the "
                    "next page"
                )
            params["createdAt_lte"] = iso_millis(oldest - timedelta(milliseconds=1))

    def find_flow_jobs(
        self, flow_id: str, created_after: datetime | None = None, statuses: Iterable[str] | None = None
    ) -> list[dict[str, Any]]:
        """Return the flow's flow jobs, newest first: created at or after ``created_after``, in ``statuses``
        (default: any status)."""
        params: dict[str, Any] = {"_flowId": check_id(flow_id, "flow id"), "type": "flow"}
        if statuses is not None:
            params["status"] = sorted(statuses)
        if created_after is not None:
            params["createdAt_gte"] = iso_millis(created_after)
        return list(self.iter_jobs(**params))

    def find_active_flow_jobs(self, flow_id: str, created_after: datetime | None = None) -> list[dict[str, Any]]:
        """Return the flow's queued or running flow jobs, newest first, optionally created after a moment."""
        return self.find_flow_jobs(flow_id, created_after, ACTIVE_STATUSES)

    def get_step_errors(self, flow_id: str, step_id: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Return up to ``limit`` open errors of one flow step (an export or import id), following ``nextPageURL``.

        A step that never had an error may have no error store, and integrator.io then answers 404: when the
        flow exists and holds the step, that means no errors (``[]``).

        :raises CeligoNotFoundError: when the flow does not exist or does not hold the step.
        :raises CeligoApiError: ``unexpected_content`` for an answer that is not ``{"errors": [...]}``,
            ``paging_cycle`` when ``nextPageURL`` repeats a page, ``paging_limit`` past ``paging.MAX_PAGES`` pages.
        """
        path: str | None = f"/flows/{check_id(flow_id, 'flow id')}/{check_id(step_id, 'step id')}/errors"
        trail = PageTrail(path=f"/v1{path}", describe=self._path_of)
        errors: list[dict[str, Any]] = []
        while path and len(errors) < limit:
            trail.enter(page_key(build_url(self.settings, path)), path)
            try:
                answer = self.request("GET", path)
            except CeligoNotFoundError:
                if errors or step_id not in _flow_step_ids(self.get_resource("flows", flow_id)):
                    raise
                return []
            if answer is None:
                break
            if not isinstance(answer, dict) or not isinstance(answer.get("errors"), list):
                got = _json_kind(answer) if not isinstance(answer, dict) else "an object without an errors array"
                raise CeligoApiError(
                    status=200,
                    method="GET",
                    path=self._path_of(path),
                    code="unexpected_content",
                    message=f'expected {{"errors": [...]}}, got {got}',
                )
            errors.extend(answer["errors"])
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
        """Return the validated connection, read with the async connection API.

        Where that API is missing (``aget_connection`` came with Airflow 3.1) or fails (on 3.0 the
        connection's ``extra_dejson`` refuses to run on the triggerer's event loop), the connection is
        read the sync way in a worker thread, as ``CeligoHook`` reads it.
        """
        if self._settings is None:

            async def read_async(aget_connection: Any) -> CeligoSettings:
                conn = await aget_connection(self.celigo_conn_id)
                lender_id = str(read_extra(conn.extra_dejson or {}, "borrow_concurrency_from") or "").strip()
                lender = None
                if lender_id and lender_id != conn.conn_id:
                    try:
                        lender = await aget_connection(lender_id)
                    except Exception:
                        lender = None  # settings_from_connection explains that the lender does not exist

                def lookup(conn_id: str) -> Any:
                    # The id as the borrower spells it; a case-insensitive DB collation may answer another case.
                    if lender is None or conn_id not in (lender_id, lender.conn_id):
                        raise KeyError(conn_id)
                    return lender

                return settings_from_connection(conn, lookup)

            def read_sync() -> CeligoSettings:
                return settings_from_connection(self.get_connection(self.celigo_conn_id), self.get_connection)

            aget_connection = getattr(self, "aget_connection", None)
            settings: CeligoSettings | None = None
            if aget_connection is not None:
                try:
                    settings = await read_async(aget_connection)
                except CeligoError:
                    raise  # a field the provider cannot use: reading it again in a thread would say the same
                except Exception:
                    log.debug("Async read of connection %r failed; reading it in a thread", self.celigo_conn_id)
            if settings is None:
                settings = await call_sync(read_sync)
            await call_sync(mask_token, settings.token)  # mask_secret may talk to the supervisor: off the loop
            self._settings = settings
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
        """Send one request (no retry) and return the response, its body read; raises as ``CeligoHook._send``."""
        import httpx

        settings = await self.get_settings()
        client = await self._get_client()
        path = display_path(settings, url)
        if pacing_enabled():
            await pacer_for(settings.concurrency_owner).wait_async()
        async with call_limiter(settings.concurrency_owner, settings.concurrency_level):
            try:
                # httpx's timeout bounds each read; this bounds the whole exchange, connect to last byte.
                response = await asyncio.wait_for(
                    client.request(method, url, params=params, json=json), timeout=settings.timeout
                )
            except asyncio.TimeoutError as error:
                raise no_response(error, timed_out=True, settings=settings, method=method, path=path) from None
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

    async def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None, not_found: str | None = None
    ) -> Any:
        """Call the API and return the decoded answer; same contract as ``CeligoHook.request``.

        :raises CeligoNotFoundError: for a 404, its message led by ``not_found`` when given.
        :raises CeligoApiError: for another error answer (after retries for 429, 5xx and network errors).
        """
        settings = await self.get_settings()
        url = build_url(settings, path)
        policy = retrying(settings, before_sleep=self._log_retry, async_=True)
        with not_found_means(not_found):
            response: httpx.Response = await policy(self._send, method, url, params, json)
        return decode_response(response, method=method, path=display_path(settings, url), secret=settings.token)

    async def get_job(self, job_id: str) -> dict[str, Any]:
        """Return the job document."""
        return await self.request("GET", f"/jobs/{check_id(job_id, 'job id')}")

    async def wait_for_job(
        self, job_id: str, *, poll_interval: float = 30.0, timeout: float | None = None
    ) -> dict[str, Any]:
        """Poll the job until it ends, logging one line per poll; return its final document.

        Same contract as ``CeligoHook.wait_for_job``: raises DeadlineReached when ``timeout`` passes first,
        CeligoConfigError for a bad ``poll_interval`` or ``timeout``, CeligoApiError when the API keeps failing.
        """
        from airflow_provider_celigo.jobs.wait import wait_for_job_async, wait_limits

        interval, deadline = wait_limits(poll_interval, timeout)
        return await wait_for_job_async(self, job_id, poll_interval=interval, deadline=deadline, log=self.log)

    async def cancel_job(self, job_id: str) -> dict[str, Any] | None:
        """Cancel a queued or running job; return the job document."""
        return await self.request("PUT", f"/jobs/{check_id(job_id, 'job id')}/cancel", json={})

    async def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
        """Return one ``GET /jobs`` answer (newest first, at most 1000 jobs)."""
        return await self.request("GET", "/jobs", params=filters) or []
