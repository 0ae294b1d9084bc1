"""Sensors that wait on integrator.io jobs: a given job, or the next run of a flow on integrator.io's schedule.

Both work in ``poke`` and ``reschedule`` mode and with ``deferrable=True`` (the wait then happens in
the triggerer through ``CeligoJobTrigger``). A sensor never cancels a job: it did not start it. A flow job
of a flow with several sources stands for its whole run (one flow job per source, ``jobs.runs``): the
sensors wait for every job of it and judge the run as a whole.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_celigo._compat import AirflowSensorTimeout
from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.connection import DEFAULT_CONN_ID
from airflow_provider_celigo.exceptions import CeligoConfigError, CeligoError, CeligoJobError
from airflow_provider_celigo.jobs.policy import ErrorPolicy, conclude
from airflow_provider_celigo.jobs.runs import (
    FlowRun,
    RunReader,
    first_source,
    flow_sources,
    of_source,
    run_summary,
    runs_in_parallel,
)
from airflow_provider_celigo.jobs.status import is_terminal, parse_time
from airflow_provider_celigo.jobs.wait import positive_seconds, progress_line
from airflow_provider_celigo.links import JOB_ID_XCOM_KEY, JOB_URL_XCOM_KEY, CeligoJobLink, job_url
from airflow_provider_celigo.operators.base import CeligoHookMixin, default_deferrable, default_poll_interval

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["CeligoFlowRunSensor", "CeligoJobSensor"]


class _CeligoJobSensorBase(CeligoHookMixin, BaseSensorOperator):
    """What both sensors share: connection, hook, error policy, deferral and the trigger's answer."""

    operator_extra_links = (CeligoJobLink(),)
    ui_color = "#e6f1f2"

    def __init__(
        self,
        *,
        celigo_conn_id: str = DEFAULT_CONN_ID,
        on_errors: str = "fail",
        max_errors: int | None = None,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", default_poll_interval())
        super().__init__(**kwargs)
        self.celigo_conn_id = celigo_conn_id
        self.policy = ErrorPolicy(on_errors=on_errors, max_errors=max_errors)
        self.deferrable = default_deferrable() if deferrable is None else bool(deferrable)
        positive_seconds(self.poke_interval, "poke_interval")
        self._celigo_published: str | None = None  # the job id (or "" for none yet) whose link this run pushed
        self._celigo_flows: dict[str, dict[str, Any]] = {}  # flow documents read by this task instance
        self._celigo_run: FlowRun | None = None  # the run last followed, for the trigger

    def _flow(self, flow_id: str) -> dict[str, Any]:
        """Return the flow document (read once per task instance). Raises CeligoApiError."""
        if flow_id not in self._celigo_flows:
            self._celigo_flows[flow_id] = {**self.hook.get_resource("flows", flow_id), "_id": flow_id}
        return self._celigo_flows[flow_id]

    def _run_of(
        self, job: dict[str, Any], listing: list[dict[str, Any]] | None = None, since: str | None = None
    ) -> dict[str, Any]:
        """Return ``job`` itself, or for the first flow job of a run of several sources the run folded into one
        document (``FlowRun.as_job``), read from ``listing`` when given (else one listing of the flow's jobs)."""
        flow_id = job.get("_flowId")
        if job.get("type") not in (None, "flow") or not isinstance(flow_id, str) or not isinstance(job.get("_id"), str):
            return job
        if not is_terminal(job) and flow_id not in self._celigo_flows:
            return job  # the run cannot have ended before its first job: read the flow once it has
        run = FlowRun.of_flow(self._flow(flow_id), job["_id"], not_before=parse_time(since))
        self._celigo_run = run
        if run.single:
            return job
        run.learn([job])
        if listing is not None:
            run.learn(listing)
            return run.as_job()
        return RunReader(self.hook, run).get_job(run.first_job_id)

    def _run_arguments(self) -> dict[str, Any]:
        """Return the trigger arguments of the run last followed when it has several sources."""
        run = self._celigo_run
        return run.to_kwargs() if run is not None and not run.single else {}

    def _publish(self, context: Context, job: dict[str, Any] | None) -> None:
        """Push the "Celigo job" link's XCom ``celigo_job_url`` and, once the job is known, ``celigo_job_id``.

        Pushes once per job and run of the task. Before a job is known (a flow run sensor still waiting) the
        URL is the integrator.io dashboard, so the link always finds its XCom. Returns None; raises
        CeligoConfigError when the connection is invalid.
        """
        doc = job or {}
        job_id = doc.get("_id") if isinstance(doc.get("_id"), str) else None
        if self._celigo_published == (job_id or ""):
            return
        ti = context.get("ti")
        if ti is None:
            return
        flow_id = doc.get("_flowId") if job_id and isinstance(doc.get("_flowId"), str) else None
        integration_id = doc.get("_integrationId") if job_id and isinstance(doc.get("_integrationId"), str) else None
        url = job_url(self.hook.settings.ui_url, flow_id, integration_id)
        if job_id:
            ti.xcom_push(key=JOB_ID_XCOM_KEY, value=job_id)
        ti.xcom_push(key=JOB_URL_XCOM_KEY, value=url)
        self._celigo_published = job_id or ""
        if job_id:
            self.log.info("Celigo job %s in integrator.io: %s", job_id, url)

    def _elapsed(self, context: Context) -> float:
        """Return the seconds since the sensor's first poke of this try (0 when Airflow gives no start time).

        In reschedule mode every poke is a new run of the task whose ``start_date`` is that poke's, so the
        start is the first reschedule's (what the sensor's own timeout counts from).
        """
        started = self._first_poke_at(context)
        if started is None:
            return 0.0
        return max(0.0, (datetime.now(started.tzinfo) - started).total_seconds())

    def _first_poke_at(self, context: Context) -> datetime | None:
        ti = context.get("ti")
        if self.reschedule:
            first_reschedule = getattr(ti, "get_first_reschedule_date", None)
            try:
                first = first_reschedule(context) if callable(first_reschedule) else None
            except Exception:  # only a log line depends on it
                first = None
            if isinstance(first, datetime):
                return first
        started = getattr(ti, "start_date", None)
        return started if isinstance(started, datetime) else None

    def _finish(self, job: dict[str, Any]) -> PokeReturnValue:
        """Return the poke answer for a job: not done while active, else done with its (judged) summary."""
        if not is_terminal(job):
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=self._conclude(run_summary(job)))

    def _conclude(self, summary: dict[str, Any]) -> dict[str, Any]:
        return conclude(summary, policy=self.policy, hook=self.hook, log=self.log)

    def _defer_to_trigger(self, **trigger_args: Any) -> None:
        from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

        trigger = CeligoJobTrigger(
            celigo_conn_id=self.celigo_conn_id,
            poll_interval=self.poke_interval,
            deadline=time.time() + self.timeout,
            cancel_on_deadline=False,
            cancel_on_kill=False,
            **trigger_args,
        )
        self.defer(trigger=trigger, method_name="execute_complete", timeout=None)

    def execute(self, context: Context) -> Any:
        """Poke once; when not done and deferrable, defer to the trigger, else wait like any sensor."""
        if not self.deferrable:
            return super().execute(context)
        answer = self.poke(context)
        if isinstance(answer, PokeReturnValue) and answer.is_done:
            return answer.xcom_value
        self._defer_to_trigger(**self._trigger_target(context))
        return None

    def _trigger_target(self, context: Context) -> dict[str, Any]:
        raise NotImplementedError

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Finish after the trigger fired; returns the job summary. Raises AirflowSensorTimeout or CeligoJobError."""
        summary = event.get("summary")
        if isinstance(summary, dict):
            summary.setdefault("job_ids", [summary.get("job_id")])
        if isinstance(summary, dict) and isinstance(summary.get("job_id"), str):
            job = {"_id": summary["job_id"], "_flowId": summary.get("flow_id")}
            try:
                self._publish(context, {**job, "_integrationId": summary.get("integration_id")})
            except CeligoError as error:  # the event decides the outcome; the link is a courtesy
                self.log.warning("Could not publish the Celigo job link: %s", error)
        if event.get("status") == "timeout":
            raise AirflowSensorTimeout(f"{event.get('message')} (sensor timeout {self.timeout:g}s)")
        if not isinstance(summary, dict):
            raise CeligoJobError(str(event.get("message")), summary)
        return self._conclude(summary)


class CeligoJobSensor(_CeligoJobSensorBase):
    """Wait until a Celigo job ends; fail when it failed, was canceled or has more errors than allowed.

    :param job_id: the job to watch (templated), e.g. ``"{{ ti.xcom_pull('run', key='celigo_job_id') }}"``.
    :param on_errors: ``"fail"`` or ``"warn"`` for a job that completes with record errors.
    :param max_errors: fail only above this many record errors.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    :param celigo_conn_id: the Celigo connection.

    Returns (XCom ``return_value``) the job summary, and pushes ``celigo_job_id`` and ``celigo_job_url`` (the
    "Celigo job" link) once the job is read. Other arguments as ``BaseSensorOperator``
    (``poke_interval``, ``timeout``, ``mode``, ``soft_fail`` ...).
    """

    template_fields: Sequence[str] = ("job_id", "celigo_conn_id")

    def __init__(self, *, job_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id

    def poke(self, context: Context) -> PokeReturnValue:
        """Read the job (and the other jobs of its run) once and log one line; done when the run has ended."""
        job = self._run_of(self.hook.get_job(check_id(self.job_id, "job_id")))
        self._publish(context, job)
        self.log.info(progress_line(job, self._elapsed(context)))
        return self._finish(job)

    def _trigger_target(self, context: Context) -> dict[str, Any]:
        run = self._celigo_run
        flow = {"flow_id": run.flow_id} if run is not None and not run.single else {}
        return {"job_id": check_id(self.job_id, "job_id"), **flow, **self._run_arguments()}


class CeligoFlowRunSensor(_CeligoJobSensorBase):
    """Wait for the newest run of a flow created at or after a moment to end (flows on integrator.io's schedule).

    :param flow_id: the flow (templated).
    :param created_after: consider only runs created at or after this time (templated; datetime or ISO-8601).
        Default: the DAG run's data interval start, else its logical date, else when the DAG run was queued.
    :param on_errors: ``"fail"`` or ``"warn"``; :param max_errors: threshold (see CeligoJobSensor).
    :param deferrable: wait in the triggerer.
    :param celigo_conn_id: the Celigo connection.

    Returns the job summary. Until a run appears the sensor keeps waiting (``timeout`` bounds it) and the
    "Celigo job" link opens the integrator.io dashboard; once a run is found it pushes ``celigo_job_id`` and
    ``celigo_job_url`` (the flow's page).
    """

    template_fields: Sequence[str] = ("flow_id", "created_after", "celigo_conn_id")

    def __init__(self, *, flow_id: str, created_after: str | datetime | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow_id = flow_id
        self.created_after = created_after

    def _since(self, context: Context) -> str:
        """Return the ISO-8601 lower bound for the run's ``createdAt``."""
        from airflow_provider_celigo.operators.flows import iso_time

        if self.created_after:
            return str(iso_time(self.created_after, "created_after"))
        for key in ("data_interval_start", "logical_date"):
            value = context.get(key)
            if isinstance(value, datetime):
                return str(iso_time(value, key))
        dag_run = context.get("dag_run")
        for attribute in ("run_after", "queued_at", "start_date"):
            value = getattr(dag_run, attribute, None)
            if isinstance(value, datetime):
                return str(iso_time(value, attribute))
        raise CeligoConfigError("created_after is not set and the DAG run has no date to default to; set it")

    def poke(self, context: Context) -> PokeReturnValue:
        """Look for the flow's newest run since ``created_after``; done when it has ended."""
        flow_id = check_id(self.flow_id, "flow_id")
        since = self._since(context)
        listing = list(self.hook.iter_jobs(_flowId=flow_id, type="flow", createdAt_gte=since))
        several = len({job.get("_exportId") for job in listing}) > 1
        source = first_source(self._flow(flow_id)) if several or flow_id in self._celigo_flows else None
        job = next((job for job in listing if of_source(job, source)), None)
        if job is not None:
            job = self._run_of(job, listing, since)
        self._publish(context, job)
        if job is None:
            self.log.info("No run of Celigo flow %s created since %s yet", flow_id, since)
            return PokeReturnValue(is_done=False)
        self.log.info(progress_line(job, self._elapsed(context)))
        return self._finish(job)

    def _trigger_target(self, context: Context) -> dict[str, Any]:
        # The trigger looks the newest run up again, so a run that starts meanwhile is not missed.
        flow_id, since = check_id(self.flow_id, "flow_id"), self._since(context)
        flow = self._flow(flow_id)
        sources = list(flow_sources(flow))
        several = (
            {"sources": sources, "parallel": runs_in_parallel(flow), "not_before": since} if len(sources) > 1 else {}
        )
        return {"job_id": None, "flow_id": flow_id, "created_after": since, **several}
