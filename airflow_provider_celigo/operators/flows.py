"""Operators for integrator.io flows: run one (wait, defer or fire and forget), run an integration's flows,
enable or disable a flow."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.connection import DEFAULT_CONN_ID
from airflow_provider_celigo.exceptions import CeligoConfigError, CeligoJobError
from airflow_provider_celigo.jobs.policy import ErrorPolicy, Verdict, conclude
from airflow_provider_celigo.jobs.reattach import RunLedger, check_on_unclear, previous_job
from airflow_provider_celigo.jobs.runs import FlowRun, RunReader, first_source, of_source, run_summary
from airflow_provider_celigo.jobs.status import Outcome, iso_millis, outcome, parse_time
from airflow_provider_celigo.jobs.wait import (
    DeadlineReached,
    cancel_and_confirm,
    deadline_after,
    deadline_message,
    positive_seconds,
    wait_for_job,
)
from airflow_provider_celigo.lineage.operator import CeligoLineageMixin
from airflow_provider_celigo.links import JOB_ID_XCOM_KEY, JOB_IDS_XCOM_KEY, JOB_URL_XCOM_KEY, CeligoJobLink, job_url
from airflow_provider_celigo.operators.base import CeligoBaseOperator, default_deferrable, default_poll_interval

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = [
    "CeligoFlowStateOperator",
    "CeligoRunFlowOperator",
    "CeligoRunIntegrationFlowsOperator",
]


def iso_time(value: Any, what: str) -> str | None:
    """Return a time given as a datetime or an ISO-8601 string as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (naive = UTC).

    Returns None for None or ``""``; raises CeligoConfigError for anything else.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, (str, datetime)):
        raise CeligoConfigError(f"{what} is {value!r}; give a datetime or an ISO-8601 string.")
    moment = parse_time(value)
    if moment is None:
        raise CeligoConfigError(
            f"{what} is {value!r}; give a datetime or an ISO-8601 string such as '2024-05-01T00:00:00Z'."
        )
    return iso_millis(moment)


def id_list(value: Any, what: str) -> list[str] | None:
    """Return a list of integrator.io ids from a list or a comma-separated string; raises CeligoConfigError."""
    if value is None or value == "" or value == []:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise CeligoConfigError(f"{what} is {value!r}; give a list of ids or a comma-separated string.")
    return [check_id(item, what) for item in items]


class _CeligoOperator(CeligoBaseOperator):
    """What the flow operators share: the deadline of a try and waiting on a run (all its flow jobs) until it."""

    _reader: RunReader | None = None  # the run being waited on, so that on_kill cancels all its jobs

    def _deadline(self, timeout: float | None) -> float | None:
        """Return the absolute deadline of this try: now plus the shorter of ``timeout`` and execution_timeout."""
        limit = self.execution_timeout.total_seconds() if self.execution_timeout else None
        return deadline_after(timeout, limit)

    def _follow(self, flow: dict[str, Any], job_id: str, **run_args: Any) -> RunReader:
        """Return a reader of the run of ``flow`` whose first flow job is ``job_id``, kept for ``on_kill``."""
        self._reader = RunReader(self.hook, FlowRun.of_flow(flow, job_id, **run_args))
        return self._reader

    def _wait_or_cancel(self, job_id: str, poll_interval: float, deadline: float | None) -> dict[str, Any]:
        """Wait for the run whose first job is ``job_id`` (every flow job of it); at the deadline cancel them all
        and raise CeligoJobError. Returns the run folded into one job document (``FlowRun.as_job``)."""
        calls = self._reader if self._reader is not None and self._reader.run.first_job_id == job_id else self.hook
        try:
            return wait_for_job(calls, job_id, poll_interval=poll_interval, deadline=deadline, log=self.log)
        except DeadlineReached as reached:
            final = cancel_and_confirm(calls, job_id, log=self.log) or reached.job
            message = deadline_message(job_id, final.get("status"), canceled=True)
            raise CeligoJobError(message, run_summary(final)) from None

    def _publish_job_ids(self, context: Context, summary: dict[str, Any]) -> None:
        """Push ``celigo_job_ids``: every flow job of the run (one per source)."""
        context["ti"].xcom_push(key=JOB_IDS_XCOM_KEY, value=summary.get("job_ids") or [summary.get("job_id")])

    def on_kill(self) -> None:
        """Cancel every job of the run this try started or reattached to, and wait a few seconds for ``canceled``."""
        if self._reader is not None:
            cancel_and_confirm(self._reader, self._reader.run.first_job_id, log=self.log)


class CeligoRunFlowOperator(CeligoLineageMixin, _CeligoOperator):
    """Run an integrator.io flow and (by default) wait for its job.

    :param flow_id: the flow to run (templated).
    :param export_start_date: ``export.startDate`` of the run: where a delta export starts (templated;
        a datetime or an ISO-8601 string). Named so it cannot be mistaken for the task's ``start_date``.
    :param export_end_date: ``export.endDate`` of the run (templated; datetime or ISO-8601 string). An assumed
        field name: integrator.io's own clients send only ``export.startDate``.
    :param export_ids: run only these sources (page generators) (``_exportIds``, an assumed field name;
        templated; list or comma-separated).
    :param wait_for_completion: wait for the job to end (default True); False returns right after starting.
    :param deferrable: wait in the triggerer instead of a worker (default ``[operators] default_deferrable``).
    :param poll_interval: seconds between job polls (> 0; default ``[celigo] default_poll_interval``, 30).
    :param timeout: seconds this try may wait before the job is canceled and the task fails; the shorter
        of ``timeout`` and ``execution_timeout`` wins, counted from when the try starts.
    :param on_errors: ``"fail"`` or ``"warn"`` for a job that completes with record errors.
    :param max_errors: fail only when the job has more record errors than this (warn below).
    :param on_unclear_run: what to do when, after a lost answer or a crash, several flow jobs created after
        this task's run request could be its run: ``"fail"`` (default; the error names them) or
        ``"adopt_earliest"``. A second run is never started silently.
    :param emit_asset: declare the flow's asset (``assets.celigo_flow_asset``) as an outlet, so that DAGs
        scheduled on it run after each successful run (only when waiting for the run). Default: yes from
        Airflow 3.1; no on 3.0, which fails a task whose outlet its DAG processor did not register (every
        outlet under ``airflow dags test``, apache/airflow#51644, and a mapped task's).
    :param celigo_conn_id: the Celigo connection (default ``celigo_default``).

    A run of a flow with several sources is one flow job per source (``jobs.runs``): the operator waits for
    all of them, cancels all of them at the deadline or on kill, and judges the run as a whole.

    Pushes ``celigo_job_id`` (the run's first flow job) and ``celigo_job_url`` to XCom right after starting,
    and ``celigo_job_ids`` (every flow job of the run) once it has ended. Returns the run's summary
    (``jobs.summarize`` keys, counts summed and the worst status over its jobs, plus ``job_ids``). Raises
    CeligoJobError when a job fails, is canceled, the run completes with more errors than allowed, or
    outlives the deadline (its jobs are canceled then). On a retry it reattaches to the run the previous try
    started (see ``airflow_provider_celigo.jobs.reattach``).
    """

    template_fields: Sequence[str] = (
        "flow_id",
        "export_start_date",
        "export_end_date",
        "export_ids",
        "celigo_conn_id",
    )
    operator_extra_links = (CeligoJobLink(),)
    ui_color = "#d9f0e6"

    def __init__(
        self,
        *,
        flow_id: str,
        export_start_date: str | datetime | None = None,
        export_end_date: str | datetime | None = None,
        export_ids: list[str] | str | None = None,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float | timedelta | None = None,
        timeout: float | timedelta | None = None,
        on_errors: str = "fail",
        max_errors: int | None = None,
        on_unclear_run: str = "fail",
        emit_asset: bool | None = None,
        celigo_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(celigo_conn_id=celigo_conn_id, **kwargs)
        self.on_unclear_run = check_on_unclear(on_unclear_run)
        self.flow_id = flow_id
        self.export_start_date = export_start_date
        self.export_end_date = export_end_date
        self.export_ids = export_ids
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else bool(deferrable)
        self.poll_interval = (
            default_poll_interval() if poll_interval is None else positive_seconds(poll_interval, "poll_interval")
        )
        self.timeout = positive_seconds(timeout, "timeout", allow_none=True)
        self.policy = ErrorPolicy(on_errors=on_errors, max_errors=max_errors)
        self.job_id: str | None = None
        self._declare_celigo_flow_asset(emit_asset)

    # -- execute ----------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """Start (or reattach to) the flow's run, then wait, defer or return; returns the run's summary."""
        flow_id = check_id(self.flow_id, "flow_id")
        start_date = iso_time(self.export_start_date, "export_start_date")
        end_date = iso_time(self.export_end_date, "export_end_date")
        self._check_window(start_date, end_date)
        export_ids = id_list(self.export_ids, "export_ids")
        deadline = self._deadline(self.timeout)
        ledger = RunLedger(context, self.log)
        # One read gives the flow's sources and integrator.io's time before any run request of this try.
        flow, sent_after = self.hook.flow_and_marker(flow_id)
        flow = {**flow, "_id": flow_id}
        reader = self._previous_run_to_reuse(context, ledger, flow, export_ids)
        if reader is None:
            record = ledger.note_request(flow_id, sent_after)
            self.job_id = self.hook.run_flow(
                flow_id,
                start_date=start_date,
                end_date=end_date,
                export_ids=export_ids,
                sent_after=sent_after,
                on_unclear_run=self.on_unclear_run,
                first_source=first_source(flow, export_ids),
            )
            ledger.note_job(record, self.job_id)
            self.log.info("Started Celigo flow %s: job %s", flow_id, self.job_id)
            reader = self._follow(flow, self.job_id, export_ids=export_ids, not_before=sent_after)
        self.job_id = reader.run.first_job_id
        context["ti"].xcom_push(key=JOB_ID_XCOM_KEY, value=self.job_id)
        # first: it refuses an answer that is not a job document (InvalidJobDocument)
        folded = reader.run.as_job() if reader.run.first is not None else reader.get_job(self.job_id)
        summary = run_summary(folded)
        self._push_url(context, folded, flow_id)
        if not self.wait_for_completion:
            self.log.info("Not waiting for Celigo job %s (wait_for_completion=False)", self.job_id)
            return summary
        if summary["outcome"] != Outcome.ACTIVE.value:
            return self._conclude(context, summary)
        if self.deferrable:
            self._defer(flow_id, deadline, reader.run)
        final = self._wait_or_cancel(self.job_id, self.poll_interval, deadline)
        return self._conclude(context, run_summary(final))

    def _check_window(self, start: str | None, end: str | None) -> None:
        """Refuse a reversed export window; warn about an empty one (both are ``iso_millis`` strings, which
        compare in time order)."""
        if start is None or end is None:
            return
        if start > end:
            raise CeligoConfigError(
                f"export_start_date {start} is after export_end_date {end}: the export window is reversed; swap them."
            )
        if start == end:
            self.log.warning(
                "export_start_date and export_end_date are both %s: the export window is empty, so a delta export "
                "finds nothing. On a manual run or 'airflow dags test', data_interval_start equals "
                "data_interval_end; template a wider window (e.g. '{{ prev_data_interval_end_success }}') if that "
                "is not what you want.",
                start,
            )

    def _previous_run_to_reuse(
        self, context: Context, ledger: RunLedger, flow: dict[str, Any], export_ids: list[str] | None
    ) -> RunReader | None:
        """On a retry, return (and follow) the previous try's run when it is still active or ended well, judged
        on all its flow jobs; else None."""
        try_number = getattr(context.get("ti"), "try_number", 1) or 1
        if try_number <= 1:
            return None
        flow_id = str(flow.get("_id") or self.flow_id)
        source = first_source(flow, export_ids)
        first = previous_job(self.hook, context, ledger, flow_id, self.on_unclear_run, source=source)
        if first is None:
            self.log.info("Try %s: no job of a previous try to reattach to; starting a new run", try_number)
            return None
        reader = self._follow(flow, str(first["_id"]), export_ids=export_ids)
        reader.run.learn([first])
        job = reader.run.as_job() if reader.run.single else reader.get_job(reader.run.first_job_id)
        state = outcome(job)
        if state is Outcome.ACTIVE:
            self.log.info("Try %s: reattaching to Celigo job %s (%s)", try_number, job["_id"], job.get("status"))
            return reader
        errors = run_summary(job)["num_error"]
        accepted = state is Outcome.SUCCESS or (
            state is Outcome.SUCCESS_WITH_ERRORS and self.policy.judge(errors) is not Verdict.FAIL
        )
        if accepted:
            self.log.info("Try %s: Celigo job %s of a previous try already completed", try_number, job["_id"])
            return reader
        self.log.info(
            "Try %s: the previous Celigo job %s ended %s; starting a new run", try_number, job["_id"], state.value
        )
        return None

    def _push_url(self, context: Context, job: dict[str, Any], flow_id: str) -> None:
        integration_id = job.get("_integrationId") if isinstance(job.get("_integrationId"), str) else None
        url = job_url(self.hook.settings.ui_url, flow_id, integration_id)
        context["ti"].xcom_push(key=JOB_URL_XCOM_KEY, value=url)
        self.log.info("Celigo job %s in integrator.io: %s", self.job_id, url)

    def _defer(self, flow_id: str, deadline: float | None, run: FlowRun) -> None:
        from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

        trigger = CeligoJobTrigger(
            job_id=self.job_id,
            flow_id=flow_id,
            celigo_conn_id=self.celigo_conn_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
            **({} if run.single else run.to_kwargs()),
        )
        # The trigger owns the deadline: a framework timeout would skip execute_complete and leak the job.
        self.defer(trigger=trigger, method_name="execute_complete", timeout=None)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Finish after the trigger fired; returns the run's summary or raises CeligoJobError."""
        self.job_id = event.get("job_id") or self.job_id
        summary = event.get("summary")
        if isinstance(summary, dict):
            summary.setdefault("job_ids", [summary.get("job_id")])
            self._publish_job_ids(context, summary)
        if event.get("status") == "timeout":
            raise CeligoJobError(str(event.get("message")), summary)
        if not isinstance(summary, dict):
            raise CeligoJobError(
                f"{event.get('message')}; the job may still be running: a retry of this task reattaches to it",
                summary,
            )
        return self._conclude(context, summary)

    def _conclude(self, context: Context, summary: dict[str, Any]) -> dict[str, Any]:
        self._publish_job_ids(context, summary)
        return self._keep_celigo_result(conclude(summary, policy=self.policy, hook=self.hook, log=self.log))

    def on_kill(self) -> None:
        """Cancel every job of the run this try started or reattached to, and wait a few seconds for ``canceled``."""
        if self._reader is not None:
            super().on_kill()
        elif self.job_id:
            cancel_and_confirm(self.hook, self.job_id, log=self.log)


class CeligoFlowStateOperator(_CeligoOperator):
    """Enable or disable an integrator.io flow (``PATCH /flows/{id}`` on ``/disabled``).

    :param flow_id: the flow (templated).
    :param enabled: True to enable the flow, False to disable it.
    :param celigo_conn_id: the Celigo connection.

    Returns ``{"flow_id", "enabled"}``; raises CeligoApiError when integrator.io refuses.
    """

    template_fields: Sequence[str] = ("flow_id", "celigo_conn_id")
    ui_color = "#d9f0e6"

    def __init__(self, *, flow_id: str, enabled: bool, celigo_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(celigo_conn_id=celigo_conn_id, **kwargs)
        if not isinstance(enabled, bool):
            raise CeligoConfigError(f"enabled is {enabled!r}; give True (enable the flow) or False (disable it).")
        self.flow_id = flow_id
        self.enabled = enabled

    def execute(self, context: Context) -> dict[str, Any]:
        """Switch the flow; returns ``{"flow_id", "enabled"}``."""
        flow_id = check_id(self.flow_id, "flow_id")
        self.hook.set_flow_enabled(flow_id, self.enabled)
        self.log.info("Celigo flow %s %s", flow_id, "enabled" if self.enabled else "disabled")
        return {"flow_id": flow_id, "enabled": self.enabled}


def run_order(flows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str | None]]:
    """Return the flows in the order integrator.io runs them, each with the flow that chains to it (or None).

    Flows keep the integration's list order, except that a flow named in another flow's ``_runNextFlowIds``
    comes right after that flow (depth first). Each flow appears once, even in a cycle.
    """
    by_id = {flow["_id"]: flow for flow in flows if isinstance(flow, dict) and isinstance(flow.get("_id"), str)}
    chained = {next_id for flow in by_id.values() for next_id in flow.get("_runNextFlowIds") or [] if next_id in by_id}
    order: list[tuple[dict[str, Any], str | None]] = []
    seen: set[str] = set()

    def visit(flow: dict[str, Any], predecessor: str | None) -> None:
        if flow["_id"] in seen:
            return
        seen.add(flow["_id"])
        order.append((flow, predecessor))
        for next_id in flow.get("_runNextFlowIds") or []:
            if next_id in by_id:
                visit(by_id[next_id], flow["_id"])

    for flow in by_id.values():
        if flow["_id"] not in chained:
            visit(flow, None)
    for flow in by_id.values():  # flows reachable only inside a cycle
        visit(flow, None)
    return order


class CeligoRunIntegrationFlowsOperator(CeligoLineageMixin, _CeligoOperator):
    """Run the enabled flows of an integration one after another, waiting for each job.

    The order is integrator.io's: the integration's flow list (``GET /integrations/{id}/flows``), with each
    flow named in another flow's ``_runNextFlowIds`` right after that flow. integrator.io starts a chained
    flow by itself when its predecessor completes, so for a chained flow the operator first looks, for up to
    ``chain_grace`` seconds, for a run created since the predecessor's; it starts the flow itself only when
    none appears. Disabled flows are skipped. The first job that fails (under the error policy) fails the task
    and stops the sequence.

    :param integration_id: the integration (templated).
    :param poll_interval: seconds between job polls (> 0; default ``[celigo] default_poll_interval``, 30).
    :param timeout: seconds the whole sequence may take; at the deadline the running job is canceled.
    :param chain_grace: seconds to wait for integrator.io to start a chained flow (> 0, default 30).
    :param on_errors: ``"fail"`` or ``"warn"``; :param max_errors: threshold (see CeligoRunFlowOperator).
    :param celigo_conn_id: the Celigo connection.

    Returns the list of job summaries in run order; pushes each job's id and link to XCom as it starts.
    Runs in a worker (not deferrable) and starts the sequence again on a retry.
    """

    template_fields: Sequence[str] = ("integration_id", "celigo_conn_id")
    operator_extra_links = (CeligoJobLink(),)
    ui_color = "#d9f0e6"

    def __init__(
        self,
        *,
        integration_id: str,
        poll_interval: float | timedelta | None = None,
        timeout: float | timedelta | None = None,
        chain_grace: float | timedelta = 30.0,
        on_errors: str = "fail",
        max_errors: int | None = None,
        celigo_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(celigo_conn_id=celigo_conn_id, **kwargs)
        self.integration_id = integration_id
        self.poll_interval = (
            default_poll_interval() if poll_interval is None else positive_seconds(poll_interval, "poll_interval")
        )
        self.timeout = positive_seconds(timeout, "timeout", allow_none=True)
        self.chain_grace = positive_seconds(chain_grace, "chain_grace") or 30.0
        self.policy = ErrorPolicy(on_errors=on_errors, max_errors=max_errors)
        self.job_id: str | None = None

    def execute(self, context: Context) -> list[dict[str, Any]]:
        """Run the flows in order; returns their job summaries. Raises CeligoJobError at the first failure."""
        integration_id = check_id(self.integration_id, "integration_id")
        deadline = self._deadline(self.timeout)
        flows = list(self.hook.paginate(f"/integrations/{integration_id}/flows"))
        self.log.info("Integration %s has %d flows", integration_id, len(flows))
        started: dict[str, dict[str, Any]] = {}
        summaries: list[dict[str, Any]] = self._keep_celigo_result([])
        for flow, predecessor in run_order(flows):
            flow_id = check_id(flow["_id"], "flow id")
            if flow.get("disabled"):
                self.log.info("Skipping disabled flow %s (%s)", flow_id, flow.get("name"))
                continue
            before = started.get(predecessor) if predecessor else None
            job_id = self._chained_run(flow, before) if before else None
            if job_id is None:
                job_id = self.hook.run_flow(flow_id)
                self.log.info("Started Celigo flow %s (%s): job %s", flow_id, flow.get("name"), job_id)
            self.job_id = job_id
            self._follow(flow, job_id)
            context["ti"].xcom_push(key=JOB_ID_XCOM_KEY, value=job_id)
            context["ti"].xcom_push(
                key=JOB_URL_XCOM_KEY, value=job_url(self.hook.settings.ui_url, flow_id, flow.get("_integrationId"))
            )
            job = self._wait_or_cancel(job_id, self.poll_interval, deadline)
            started[flow_id] = job
            summaries.append(conclude(run_summary(job), policy=self.policy, hook=self.hook, log=self.log))
        return summaries

    def _chained_run(self, flow: dict[str, Any], predecessor_job: dict[str, Any]) -> str | None:
        """Return the first job of the run integrator.io started for a chained flow, waiting up to ``chain_grace``.

        integrator.io starts it when the predecessor completes, so it is the earliest run of the flow created
        since the predecessor's run was; the look is repeated once right before giving up, so a run that starts
        at the last moment is not doubled.
        """
        flow_id = str(flow["_id"])
        source = first_source(flow)
        since = predecessor_job.get("createdAt")
        give_up = time.monotonic() + self.chain_grace
        while True:
            last_look = time.monotonic() >= give_up
            jobs = [
                job
                for job in self.hook.iter_jobs(_flowId=flow_id, type="flow", createdAt_gte=since)
                if of_source(job, source)
            ]
            if jobs:
                earliest = min(jobs, key=lambda job: str(job.get("createdAt")))
                self.log.info("Chained flow %s was started by integrator.io: job %s", flow_id, earliest["_id"])
                return str(earliest["_id"])
            if last_look:
                self.log.info("integrator.io did not start chained flow %s; starting it", flow_id)
                return None
            time.sleep(max(0.0, min(self.poll_interval, give_up - time.monotonic())))
