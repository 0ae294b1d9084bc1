"""The job registry: runs (one flow job per source), queues, chained and scheduled runs, cancel, errors, peaks.

Every public method first catches up with the emulated clock: it replays, in time order, what
integrator.io would have done by itself since the last call (the next source's flow job of a
sequential run, the flows chained by ``_runNextFlowIds``, scheduled runs), so the timeline does not
depend on when anyone looks and no background thread is needed.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock
from .config import EmulatorConfig
from .ids import iso, new_id
from .jobquery import JobFilter
from .jobs import ACTIVE, TERMINAL, FlowRun, Resolution, RetryRun, Step, StepError
from .jobviews import render_flow_run, render_retry, render_step
from .peaks import peak_overlap
from .runs import FlowDirectory, RunPlan, Source, StartedBy, plan_run
from .schedule import Schedule, ScheduleError, parse_schedule

__all__ = ["JobEngine", "JobStateError"]

Doc = dict[str, Any]
Record = FlowRun | RetryRun
QueueKey = tuple[str, str | None]  # (flow id, page generator export id)
MAX_EVENTS_PER_CATCH_UP = 5000
SCHEDULE_BACKLOG = 100  # at most this many missed schedule firings are replayed per flow after a clock jump


class JobStateError(ValueError):
    """The job is in a state that does not allow the requested change."""


@dataclass
class _FlowQueue:
    """The flow jobs of one flow and source that had not ended when last scheduled, in creation order."""

    pending: list[FlowRun] = field(default_factory=list)
    free_at: float = float("-inf")

    def schedule(self, now: float) -> None:
        """Give every not-yet-started run its start time: when the run before it ends."""
        free = self.free_at
        keep: list[FlowRun] = []
        for run in self.pending:
            if run.canceled_queued:
                continue
            if run.start is None or run.start > now:
                run.start = max(run.created + run.queue_lag, free)
            end = run.end()
            assert end is not None
            free = max(free, end)
            if end <= now:
                self.free_at = max(self.free_at, end)
            else:
                keep.append(run)
        self.pending = keep


@dataclass
class Run:
    """One run of a flow: the flow jobs of its sources, created so far, and what it did when it ended."""

    id: str
    account: str
    plan: RunPlan
    started_by: StartedBy
    created: float
    jobs: list[FlowRun] = field(default_factory=list)
    stopped: bool = False  # a cancel: no further source jobs, no chained flows
    chain_done: bool = False
    chain_log: list[Doc] = field(default_factory=list)

    @property
    def all_created(self) -> bool:
        """Return True when every source of the run has its flow job (or the run was stopped)."""
        return self.stopped or len(self.jobs) >= len(self.plan.sources)

    def as_dict(self, now: float) -> Doc:
        """Return the run as the admin API shows it."""
        return {
            "runId": self.id,
            "account": self.account,
            "_flowId": self.plan.flow_id,
            "startedBy": self.started_by.as_dict(),
            "createdAt": iso(self.created),
            "sources": [s.export_id for s in self.plan.sources],
            "_jobIds": [job.id for job in self.jobs],
            "statuses": [job.status_at(now) for job in self.jobs],
            "stopped": self.stopped,
            "chained": self.chain_log,
            "runBody": self.plan.body,
        }


class JobEngine:
    """All jobs of all accounts; every read evaluates the timeline at the emulated "now"."""

    def __init__(self, clock: Clock, config: EmulatorConfig, directory: FlowDirectory | None = None) -> None:
        self.clock = clock
        self.config = config
        self.directory = directory
        self.reset()

    def attach(self, directory: FlowDirectory) -> None:
        """Let the engine find flows by itself, for chained and scheduled runs (idempotent)."""
        if self.directory is None:
            self.directory = directory

    def reset(self) -> None:
        """Forget every job, error resolution, run counter and peak."""
        self.records: dict[str, Record] = {}
        self.children: dict[str, tuple[FlowRun, Step]] = {}
        self.by_account: dict[str, list[Record]] = {}
        self.by_flow: dict[str, list[FlowRun]] = {}
        self.queues: dict[QueueKey, _FlowQueue] = {}
        self.runs: dict[str, Run] = {}
        self.runs_by_flow: dict[str, list[Run]] = {}
        self.open_runs: list[Run] = []
        self.schedule_marks: dict[tuple[str, str], float] = {}
        self._schedules: dict[tuple[str, str | None], Schedule | None] = {}
        self.skipped: list[Doc] = []
        self.resolutions: dict[str, Resolution] = {}
        self.run_counts: Counter[str] = Counter()
        self.stats_since = float("-inf")
        self._seq = itertools.count()

    # -- creating ---------------------------------------------------------------------------------

    def start_run(self, *, account: str, plan: RunPlan, started_by: StartedBy, now: float) -> Run:
        """Start a run as ``POST /flows/{id}/run`` does (counted in ``run_counts``) and return it.

        The first source's flow job exists at once (every source's when the flow runs its page
        generators in parallel); the next source's flow job of a sequential run is created when the
        previous source's export ends.
        """
        self.catch_up(now)
        run = self._start_run(account, plan, started_by, now)
        self.run_counts[plan.flow_id] += 1
        return run

    def start_run_as_integrator(self, account: str, flow_id: str, started_by: StartedBy, now: float) -> Run | None:
        """Start a run the way integrator.io does by itself (schedule, chain); None when the flow is gone or disabled.

        Not counted in ``run_counts``, which counts ``POST /run`` calls only.
        """
        self.catch_up(now)
        return self._launch(account, flow_id, started_by, now)

    def _start_run(self, account: str, plan: RunPlan, started_by: StartedBy, at: float) -> Run:
        run = Run(id=new_id(), account=account, plan=plan, started_by=started_by, created=at)
        self.runs[run.id] = run
        self.runs_by_flow.setdefault(plan.flow_id, []).append(run)
        for source in plan.sources if plan.parallel else plan.sources[:1]:
            self._add_job(run, source, at)
        self.open_runs.append(run)
        return run

    def _launch(self, account: str, flow_id: str, started_by: StartedBy, at: float) -> Run | None:
        found = self.directory.flow(account, flow_id) if self.directory is not None else None
        if found is None or found[0].get("disabled"):
            reason = "no such flow" if found is None else "flow disabled"
            self.skipped.append(
                {"_flowId": flow_id, "at": iso(at), "reason": reason, "startedBy": started_by.as_dict()}
            )
            return None
        flow, lookup, scenario = found
        return self._start_run(account, plan_run(flow, lookup, scenario, None, None), started_by, at)

    def _add_job(self, run: Run, source: Source, at: float) -> FlowRun:
        plan = run.plan
        steps = [Step("export", source.export_id, source.index, new_id(), source=True)] if source.export_id else []
        first_processor = max(plan.generator_count, 1)
        steps += [Step(kind, rid, first_processor + i, new_id()) for i, (kind, rid) in enumerate(plan.processors)]
        job = FlowRun(
            id=new_id(),
            account=run.account,
            flow_id=plan.flow_id,
            integration_id=plan.integration_id,
            export_id=source.export_id,
            steps=steps,
            connections=source.connections,
            scenario=plan.scenario,
            created=at,
            seq=next(self._seq),
            body=plan.body,
            run_id=run.id,
            queue_lag=self.config.queue_lag_seconds,
            finalize=self.config.finalize_seconds,
        )
        job.errors = self._plan_errors(job)
        run.jobs.append(job)
        self.records[job.id] = job
        for step in steps:
            self.children[step.job_id] = (job, step)
        self.by_account.setdefault(run.account, []).append(job)
        self.by_flow.setdefault(job.flow_id, []).append(job)
        queue = self.queues.setdefault((job.flow_id, job.export_id), _FlowQueue())
        queue.pending.append(job)
        queue.schedule(at)
        return job

    # -- what integrator.io does by itself --------------------------------------------------------

    def catch_up(self, now: float) -> None:
        """Replay, in time order, the source jobs, chained runs and scheduled runs due by ``now``."""
        fires = self._due_schedule_fires(now)
        for _ in range(MAX_EVENTS_PER_CATCH_UP):
            best: tuple[float, int, Run | None, tuple[str, str] | None] | None = None
            still_open = []
            for open_run in self.open_runs:
                due = self._next_event(open_run)
                if due is None:
                    continue
                still_open.append(open_run)
                if due <= now and (best is None or due < best[0]):
                    best = (due, 0, open_run, None)
            self.open_runs = still_open
            if fires and fires[0][0] <= now and (best is None or fires[0][0] < best[0]):
                fired, account, flow_id = fires.pop(0)
                best = (fired, 1, None, (account, flow_id))
            if best is None:
                return
            when, _, run, scheduled = best
            if run is not None:
                self._apply_event(run, when)
            elif scheduled is not None:
                self._launch(scheduled[0], scheduled[1], StartedBy("schedule"), when)

    def _next_event(self, run: Run) -> float | None:
        """Return when the run next does something by itself, or None when it never will again."""
        if not run.all_created:
            last = run.jobs[-1]
            if last.canceled_queued or last.start is None:
                run.stopped = True
            else:
                return last.export_end
        if run.chain_done or not run.plan.next_flow_ids:
            return None
        if run.stopped:
            run.chain_done = True
            return None
        closed = [job.closed_at() for job in run.jobs]
        if any(c is None for c in closed):
            return None
        return max(c for c in closed if c is not None) + self.config.chain_delay_seconds

    def _apply_event(self, run: Run, when: float) -> None:
        if not run.all_created:
            self._add_job(run, run.plan.sources[len(run.jobs)], when)
            return
        run.chain_done = True
        statuses = {job.status_at(when) for job in run.jobs}
        if statuses != {"completed"}:
            run.chain_log.append({"skipped": f"the run ended {'/'.join(sorted(statuses))}", "at": iso(when)})
            return
        trigger = StartedBy("chain", flow_id=run.plan.flow_id, job_ids=tuple(j.id for j in run.jobs))
        for flow_id in run.plan.next_flow_ids:
            started = self._launch(run.account, flow_id, trigger, when)
            entry: Doc = {"_flowId": flow_id, "at": iso(when)}
            entry["runId" if started else "skipped"] = started.id if started else "flow missing or disabled"
            run.chain_log.append(entry)

    def _schedule_of(self, flow: Doc) -> Schedule | None:
        key = (str(flow["schedule"]), flow.get("timezone"))
        if key not in self._schedules:
            try:
                self._schedules[key] = parse_schedule(key[0], key[1])
            except ScheduleError:
                self._schedules[key] = None
        return self._schedules[key]

    def _due_schedule_fires(self, now: float) -> list[tuple[float, str, str]]:
        if self.directory is None or not self.config.run_schedules:
            return []
        fires: list[tuple[float, str, str]] = []
        for account, flow in self.directory.scheduled_flows():
            key = (account, flow["_id"])
            mark = self.schedule_marks.get(key)
            self.schedule_marks[key] = now
            schedule = self._schedule_of(flow)
            if mark is None or schedule is None or flow.get("disabled") or now <= mark:
                continue
            fires.extend((when, account, flow["_id"]) for when in schedule.fires_between(mark, now, SCHEDULE_BACKLOG))
        fires.sort()
        return fires

    def _plan_errors(self, run: FlowRun) -> list[StepError]:
        scenario = run.scenario
        if scenario.fail and run.steps:
            return [
                self._error(run, run.steps[0], "connection", "connection", "connection_failed", scenario.fail_message)
            ]
        if scenario.errors and run.has_processors:
            step = run.steps[1 if run.has_source else 0]
            return [
                self._error(
                    run, step, "application", "value", "invalid_field", f"Record {i + 1}: field 'entity' is required"
                )
                for i in range(scenario.errors)
            ]
        return []

    @staticmethod
    def _error(run: FlowRun, step: Step, source: str, classification: str, code: str, message: str) -> StepError:
        return StepError(
            error_id=new_id(),
            retry_data_key=new_id(),
            step_id=step.resource_id,
            o_index=step.o_index,
            on_source=step.source,
            source=source,
            classification=classification,
            code=code,
            message=message,
            flow_job_id=run.id,
            trace_key=new_id()[:16],
        )

    # -- reading ----------------------------------------------------------------------------------

    def resolved_at(self, error_id: str) -> float | None:
        """Return when an error was (or will be, for a running retry) resolved, or None."""
        found = self.resolutions.get(error_id)
        return found.resolved_at if found else None

    def render(self, job_id: str, account: str, now: float) -> Doc | None:
        """Return a job document as seen at ``now``, or None when unknown (or not started, for a child)."""
        self.catch_up(now)
        record = self.records.get(job_id)
        if record is not None and record.account == account:
            return self._render_record(record, now)
        child = self.children.get(job_id)
        if child is not None and child[0].account == account and child[0].step_started(child[1], now):
            return render_step(child[0], child[1], now, self.resolved_at)
        return None

    def _render_record(self, record: Record, now: float) -> Doc:
        if isinstance(record, FlowRun):
            return render_flow_run(record, now, self.resolved_at)
        return render_retry(record, now)

    def child_docs(self, run: FlowRun, now: float) -> list[Doc]:
        """Return the started child jobs of a flow run."""
        return [render_step(run, s, now, self.resolved_at) for s in run.steps if run.step_started(s, now)]

    def family(self, job_id: str, account: str, now: float) -> Doc | None:
        """Return a flow job with its ``children`` (a child or retry id answers with its own doc)."""
        doc = self.render(job_id, account, now)
        record = self.records.get(job_id)
        if doc is None:
            return None
        doc["children"] = self.child_docs(record, now) if isinstance(record, FlowRun) else []
        return doc

    def latest(self, flow_id: str, account: str, now: float) -> list[Doc]:
        """Return the flow jobs created so far of the flow's latest run (one per source), or ``[]``."""
        self.catch_up(now)
        runs = [r for r in self.runs_by_flow.get(flow_id, []) if r.account == account]
        return [render_flow_run(job, now, self.resolved_at) for job in runs[-1].jobs] if runs else []

    def run_of(self, job_id: str) -> Run | None:
        """Return the run a flow job belongs to, or None."""
        record = self.records.get(job_id)
        return self.runs.get(record.run_id) if isinstance(record, FlowRun) else None

    def run_log(self, now: float) -> list[Doc]:
        """Return every run (who started it, its flow jobs, the flows it chained), oldest first."""
        self.catch_up(now)
        return [run.as_dict(now) for run in self.runs.values()]

    def query(self, account: str, flt: JobFilter, now: float, cap: int) -> list[Doc]:
        """Return the matching jobs of an account, newest first by ``createdAt``, at most ``cap``."""
        self.catch_up(now)
        found: list[tuple[float, int, Doc]] = []
        for created, seq, doc in self._candidates(account, flt, now):
            if flt.matches(doc, created):
                found.append((created, seq, doc))
        found.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [doc for _, _, doc in found[:cap]]

    def _candidates(self, account: str, flt: JobFilter, now: float) -> Iterator[tuple[float, int, Doc]]:
        records: list[Record]
        if "_flowJobId" in flt.ids:
            runs = [self.records.get(i) for i in flt.ids["_flowJobId"]]
            records = [r for r in runs if isinstance(r, FlowRun) and r.account == account]
            records += [
                r
                for r in self.by_account.get(account, [])
                if isinstance(r, RetryRun) and r.flow_job_id in flt.ids["_flowJobId"]
            ]
        elif "_flowId" in flt.ids:
            records = [r for r in self.by_account.get(account, []) if r.flow_id in flt.ids["_flowId"]]
        else:
            records = list(self.by_account.get(account, []))
        wants_children = flt.types is None or bool(flt.types - {"flow", "retry"})
        wants_parents = flt.types is None or bool(flt.types & {"flow", "retry"})
        for record in records:
            if wants_parents:
                yield record.created, record.seq, self._render_record(record, now)
            if wants_children and isinstance(record, FlowRun):
                for step in record.steps:
                    if record.step_started(step, now):
                        yield record.step_begin(step), record.seq, render_step(record, step, now, self.resolved_at)

    def all_jobs(self, now: float) -> list[Doc]:
        """Return every flow and retry job of every account with children, account, run body and run."""
        self.catch_up(now)
        out = []
        for record in self.records.values():
            doc = self._render_record(record, now)
            doc["children"] = self.child_docs(record, now) if isinstance(record, FlowRun) else []
            doc["account"] = record.account
            if isinstance(record, FlowRun):
                doc["runBody"] = record.body
                doc["connections"] = list(record.connections)
                run = self.runs.get(record.run_id)
                if run is not None:
                    doc["runId"] = run.id
                    doc["startedBy"] = run.started_by.as_dict()
            out.append(doc)
        return out

    # -- cancel -----------------------------------------------------------------------------------

    def cancel(self, job_id: str, account: str, now: float, user_id: str) -> Doc:
        """Cancel a job (a child id cancels its flow job) and return the requested job's doc.

        The run of a canceled flow job creates no further source jobs and chains no flows; its other
        flow jobs go on. Raises LookupError for an unknown job and JobStateError when the job already ended.
        """
        self.catch_up(now)
        target: Record | None = self.records.get(job_id)
        if target is None and job_id in self.children:
            target = self.children[job_id][0]
        if target is None or target.account != account or self.render(job_id, account, now) is None:
            raise LookupError(job_id)
        status = target.status_at(now)
        if status in TERMINAL:
            raise JobStateError(f"Job {job_id} is already {status} and cannot be canceled.")
        if status != "canceling":
            delay = self.clock.emulated(self.config.cancel_delay_seconds)
            target.canceled_by = user_id
            if isinstance(target, FlowRun) and status == "queued":
                target.canceled_queued = True
                target.cancel_at = now
            else:
                target.cancel_at = now
                target.cancel_done = now + delay
            if isinstance(target, FlowRun):
                run = self.runs.get(target.run_id)
                if run is not None:
                    run.stopped = True
                self.queues[(target.flow_id, target.export_id)].schedule(now)
            else:
                self._drop_pending_resolutions(target, now)
        doc = self.render(job_id, account, now)
        assert doc is not None
        return doc

    def _drop_pending_resolutions(self, retry: RetryRun, now: float) -> None:
        for error_id in retry.error_ids:
            found = self.resolutions.get(error_id)
            if found is not None and found.resolved_at > now:
                del self.resolutions[error_id]

    # -- flow step errors -------------------------------------------------------------------------

    def _visible_errors(
        self, account: str, flow_id: str, step_id: str, now: float
    ) -> Iterator[tuple[FlowRun, StepError]]:
        for run in self.by_flow.get(flow_id, []):
            if run.account != account or not run.errors:
                continue
            for error in run.errors:
                if error.step_id == step_id and run.error_visible(error, now):
                    yield run, error

    def _is_open(self, error_id: str, now: float) -> bool:
        when = self.resolved_at(error_id)
        return when is None or when > now

    def _error_doc(self, run: FlowRun, error: StepError, now: float) -> Doc:
        doc: Doc = {
            "errorId": error.error_id,
            "retryDataKey": error.retry_data_key,
            "occurredAt": iso(run.error_time(error)),
            "source": error.source,
            "classification": error.classification,
            "code": error.code,
            "message": error.message,
            "_flowJobId": error.flow_job_id,
            "traceKey": error.trace_key,
        }
        if not self._is_open(error.error_id, now):
            resolution = self.resolutions[error.error_id]
            doc["resolvedAt"] = iso(resolution.resolved_at)
            doc["resolvedBy"] = resolution.resolved_by
        return doc

    def step_errors(self, account: str, flow_id: str, step_id: str, now: float, *, resolved: bool) -> list[Doc]:
        """Return the open (or resolved) errors of a flow step at ``now``."""
        self.catch_up(now)
        return [
            self._error_doc(run, error, now)
            for run, error in self._visible_errors(account, flow_id, step_id, now)
            if self._is_open(error.error_id, now) != resolved
        ]

    def job_errors(self, job_id: str, account: str, now: float) -> list[Doc] | None:
        """Return the errors a flow job (or one of its child jobs) produced, or None for an unknown job."""
        self.catch_up(now)
        record = self.records.get(job_id)
        step_id: str | None = None
        if record is None and job_id in self.children:
            record, step = self.children[job_id]
            step_id = step.resource_id
        if record is None or record.account != account:
            return None
        if not isinstance(record, FlowRun):
            return []
        run = record
        return [
            {**self._error_doc(run, e, now), "resolved": not self._is_open(e.error_id, now)}
            for e in run.errors
            if run.error_visible(e, now) and step_id in (None, e.step_id)
        ]

    def resolve(self, account: str, flow_id: str, step_id: str, error_ids: list[str], now: float, user: str) -> int:
        """Mark open errors resolved now; return how many were open."""
        self.catch_up(now)
        wanted = set(error_ids)
        count = 0
        for _, error in self._visible_errors(account, flow_id, step_id, now):
            if error.error_id in wanted and self._is_open(error.error_id, now):
                self.resolutions[error.error_id] = Resolution(now, user)
                count += 1
        return count

    def retry(
        self, account: str, flow: Doc, step_id: str, step_kind: str, keys: list[str], now: float, user: str
    ) -> RetryRun:
        """Start a retry job for open errors with the given retry data keys and return it.

        The retried errors count as resolved (by ``auto``) when the retry job completes.
        """
        self.catch_up(now)
        wanted = set(keys)
        errors = [
            (run, e)
            for run, e in self._visible_errors(account, flow["_id"], step_id, now)
            if e.retry_data_key in wanted and self._is_open(e.error_id, now)
        ]
        retry = RetryRun(
            id=new_id(),
            account=account,
            flow_id=flow["_id"],
            integration_id=flow.get("_integrationId"),
            step_id=step_id,
            step_kind=step_kind,
            flow_job_id=errors[0][0].id if errors else None,
            error_ids=[e.error_id for _, e in errors],
            created=now,
            seq=next(self._seq),
            triggered_by=user,
        )
        for error_id in retry.error_ids:
            self.resolutions[error_id] = Resolution(retry.end(), "auto")
        self.records[retry.id] = retry
        self.by_account.setdefault(account, []).append(retry)
        return retry

    def error_summary(self, account: str, flow: Doc, step_ids: list[str], now: float) -> list[Doc]:
        """Return ``[{_expOrImpId, numError, lastErrorAt}]`` for the steps that have open errors."""
        out = []
        for step_id in step_ids:
            open_errors = self.step_errors(account, flow["_id"], step_id, now, resolved=False)
            if open_errors:
                last = max(e["occurredAt"] for e in open_errors)
                out.append({"_expOrImpId": step_id, "numError": len(open_errors), "lastErrorAt": last})
        return out

    # -- observation ------------------------------------------------------------------------------

    def running_now(self, now: float) -> int:
        """Return how many flow jobs are running or canceling now."""
        self.catch_up(now)
        return sum(1 for r in self.records.values() if isinstance(r, FlowRun) and r.status_at(now) in ACTIVE)

    def peaks(self, now: float) -> dict[str, dict[str, int]]:
        """Return the peak number of simultaneously active flow jobs per account and per connection."""
        self.catch_up(now)
        by_account: list[tuple[Any, float, float]] = []
        by_connection: list[tuple[Any, float, float]] = []
        for record in self.records.values():
            if not isinstance(record, FlowRun) or record.canceled_queued or record.start is None:
                continue
            if record.start > now:
                continue
            end = record.end() or now
            end = end if end <= now else float("inf")
            begin = max(record.start, self.stats_since)
            if end <= begin:
                continue
            by_account.append((record.account, begin, end))
            by_connection.extend((conn, begin, end) for conn in record.connections)
        return {
            "account": {str(k): v for k, v in peak_overlap(by_account).items()},
            "connection": {str(k): v for k, v in peak_overlap(by_connection).items()},
        }

    def reset_peaks(self, now: float) -> None:
        """Count peaks only from ``now`` on (jobs active now still count)."""
        self.stats_since = now
