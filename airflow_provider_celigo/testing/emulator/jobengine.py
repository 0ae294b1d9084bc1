"""The job registry: starting runs, scheduling one run per flow, cancel, step errors, retries, peaks."""

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
from .scenarios import Scenario

Doc = dict[str, Any]
Record = FlowRun | RetryRun


class JobStateError(ValueError):
    """The job is in a state that does not allow the requested change."""


@dataclass
class _FlowQueue:
    """The runs of one flow that had not ended when last scheduled, in creation order."""

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
                run.start = max(run.created, free)
            end = run.end()
            assert end is not None
            free = max(free, end)
            if end <= now:
                self.free_at = max(self.free_at, end)
            else:
                keep.append(run)
        self.pending = keep


class JobEngine:
    """All jobs of all accounts; every read evaluates the timeline at the emulated "now"."""

    def __init__(self, clock: Clock, config: EmulatorConfig) -> None:
        self.clock = clock
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget every job, error resolution, run counter and peak."""
        self.records: dict[str, Record] = {}
        self.children: dict[str, tuple[FlowRun, Step]] = {}
        self.by_account: dict[str, list[Record]] = {}
        self.by_flow: dict[str, list[FlowRun]] = {}
        self.queues: dict[str, _FlowQueue] = {}
        self.resolutions: dict[str, Resolution] = {}
        self.run_counts: Counter[str] = Counter()
        self.stats_since = float("-inf")
        self._seq = itertools.count()

    # -- creating ---------------------------------------------------------------------------------

    def start_flow_run(
        self,
        *,
        account: str,
        flow: Doc,
        export_id: str | None,
        processors: list[tuple[str, str]],
        connections: list[str],
        scenario: Scenario,
        body: object,
        now: float,
    ) -> FlowRun:
        """Create a queued flow run, schedule it behind the flow's earlier runs and return it."""
        steps = [Step("export", export_id, 0, new_id())] if export_id else []
        steps += [Step(kind, rid, i + 1, new_id()) for i, (kind, rid) in enumerate(processors)]
        run = FlowRun(
            id=new_id(),
            account=account,
            flow_id=flow["_id"],
            integration_id=flow.get("_integrationId"),
            export_id=export_id,
            steps=steps,
            connections=tuple(connections),
            scenario=scenario,
            created=now,
            seq=next(self._seq),
            body=body,
        )
        run.errors = self._plan_errors(run)
        self.records[run.id] = run
        for step in steps:
            self.children[step.job_id] = (run, step)
        self.by_account.setdefault(account, []).append(run)
        self.by_flow.setdefault(run.flow_id, []).append(run)
        queue = self.queues.setdefault(run.flow_id, _FlowQueue())
        queue.pending.append(run)
        queue.schedule(now)
        self.run_counts[run.flow_id] += 1
        return run

    def _plan_errors(self, run: FlowRun) -> list[StepError]:
        scenario = run.scenario
        if scenario.fail and run.steps:
            return [
                self._error(run, run.steps[0], "connection", "connection", "connection_failed", scenario.fail_message)
            ]
        if scenario.errors and len(run.steps) > 1:
            step = run.steps[1]
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
        """Return ``[most recent flow job]`` of a flow, or ``[]``."""
        runs = [r for r in self.by_flow.get(flow_id, []) if r.account == account]
        return [render_flow_run(runs[-1], now, self.resolved_at)] if runs else []

    def query(self, account: str, flt: JobFilter, now: float, cap: int) -> list[Doc]:
        """Return the matching jobs of an account, newest first by ``createdAt``, at most ``cap``."""
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
                        begin = record.start if step.o_index == 0 else record.export_end
                        assert begin is not None
                        yield begin, record.seq, render_step(record, step, now, self.resolved_at)

    def all_jobs(self, now: float) -> list[Doc]:
        """Return every flow and retry job of every account with children, account and run body."""
        out = []
        for record in self.records.values():
            doc = self._render_record(record, now)
            doc["children"] = self.child_docs(record, now) if isinstance(record, FlowRun) else []
            doc["account"] = record.account
            if isinstance(record, FlowRun):
                doc["runBody"] = record.body
                doc["connections"] = list(record.connections)
            out.append(doc)
        return out

    # -- cancel -----------------------------------------------------------------------------------

    def cancel(self, job_id: str, account: str, now: float, user_id: str) -> Doc:
        """Cancel a job (a child id cancels its flow job) and return the requested job's doc.

        Raises LookupError for an unknown job and JobStateError when the job already ended.
        """
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
                self.queues[target.flow_id].schedule(now)
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
        return [
            self._error_doc(run, error, now)
            for run, error in self._visible_errors(account, flow_id, step_id, now)
            if self._is_open(error.error_id, now) != resolved
        ]

    def job_errors(self, job_id: str, account: str, now: float) -> list[Doc] | None:
        """Return the errors a flow job (or one of its child jobs) produced, or None for an unknown job."""
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
        return sum(1 for r in self.records.values() if isinstance(r, FlowRun) and r.status_at(now) in ACTIVE)

    def peaks(self, now: float) -> dict[str, dict[str, int]]:
        """Return the peak number of simultaneously active flow jobs per account and per connection."""
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
