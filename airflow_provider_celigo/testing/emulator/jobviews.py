"""Job documents as ``GET /v1/jobs`` returns them, computed from a run's timeline at a moment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .ids import iso
from .jobs import RETENTION_SECONDS, TERMINAL, FlowRun, RetryRun, Step

__all__ = ["render_flow_run", "render_retry", "render_step"]

Doc = dict[str, Any]
# resolved_at(error_id) -> emulated time the error was resolved, or None
ResolvedAt = Callable[[str], float | None]


def _fraction(moment: float, begin: float, seconds: float) -> float:
    if seconds <= 0:
        return 1.0 if moment >= begin else 0.0
    return max(0.0, min(1.0, (moment - begin) / seconds))


def _scaled(total: int, fraction: float) -> int:
    return total if fraction >= 1.0 else int(total * fraction)


def _counters(success: int = 0, error: int = 0, resolved: int = 0, generated: int = 0, processed: int = 0) -> Doc:
    return {
        "numError": error,
        "numResolved": resolved,
        "numOpenError": error - resolved,
        "numSuccess": success,
        "numExport": 0,
        "numIgnore": 0,
        "numPagesGenerated": generated,
        "numPagesProcessed": processed,
    }


def _resolved_count(run: FlowRun, step_id: str | None, moment: float, resolved_at: ResolvedAt) -> int:
    count = 0
    for error in run.errors:
        if step_id is not None and error.step_id != step_id:
            continue
        when = resolved_at(error.error_id)
        if when is not None and when <= moment and run.error_visible(error, moment):
            count += 1
    return count


def step_counters(run: FlowRun, step: Step, moment: float, resolved_at: ResolvedAt) -> Doc:
    """Return the counters of one child job at ``moment``.

    The export counts the records it read as ``numSuccess``; each processor counts the records it wrote
    (the first one loses ``scenario.errors`` of them to errors).
    """
    scenario = run.scenario
    progress = run.progress_time(moment)
    if step.source:
        done = _fraction(progress, run.step_begin(step), scenario.export_seconds)
        if scenario.fail:
            failed = 1 if progress >= run.export_end else 0
            return _counters(error=failed, resolved=_resolved_count(run, step.resource_id, moment, resolved_at))
        return _counters(success=_scaled(scenario.records, done), generated=_scaled(scenario.pages, done))
    begin = run.step_begin(step)
    done = _fraction(progress, begin, run.natural_end - begin)
    first_processor = step is run.steps[1 if run.has_source else 0]
    errors = scenario.errors if first_processor else 0
    error_count = errors if done >= 1.0 else 0
    return _counters(
        success=_scaled(scenario.records - errors, done),
        error=error_count,
        resolved=_resolved_count(run, step.resource_id, moment, resolved_at) if error_count else 0,
        processed=_scaled(scenario.pages, done),
    )


def _step_status(run: FlowRun, step: Step, moment: float) -> tuple[str, float | None]:
    """Return a child job's status and end time (None while it runs)."""
    step_end = run.step_end(step)
    if run.cancel_at is not None and run.cancel_at < step_end and run.cancel_done is not None:
        return ("canceled", run.cancel_done) if moment >= run.cancel_done else ("running", None)
    if moment >= step_end:
        return ("failed" if run.scenario.fail and step.source else "completed"), step_end
    return "running", None


def render_step(run: FlowRun, step: Step, moment: float, resolved_at: ResolvedAt) -> Doc:
    """Return the child job document for ``step`` (the step must have started).

    A child that a cancel of its flow job stopped carries ``canceledBy: "system"``, as in the real records.
    """
    status, ended = _step_status(run, step, moment)
    begin = run.step_begin(step)
    doc: Doc = {"_id": step.job_id, "type": step.kind}
    doc["_exportId" if step.kind == "export" else "_importId"] = step.resource_id
    doc["_flowJobId"] = run.id
    doc["startedAt"] = iso(begin)
    if ended is not None:
        doc["endedAt"] = iso(ended)
    doc["lastExecutedAt"] = iso(ended if ended is not None else max(begin, run.progress_time(moment)))
    doc["status"] = status
    doc.update(step_counters(run, step, moment, resolved_at))
    doc["oIndex"] = step.o_index
    if step.kind == "import":
        doc["retriable"] = False
    doc["createdAt"] = iso(begin)
    doc["purgeAt"] = iso(begin + RETENTION_SECONDS)
    doc["lastModified"] = iso(ended if ended is not None else max(begin, run.progress_time(moment)))
    if status == "canceled":
        doc["canceledBy"] = "system"
    return doc


SUMMED = ("numError", "numResolved", "numOpenError", "numSuccess", "numExport", "numIgnore", "numPagesGenerated")


def render_flow_run(run: FlowRun, moment: float, resolved_at: ResolvedAt) -> Doc:
    """Return the ``type: flow`` job document at ``moment``.

    Its counters are the sums over its started children (all 152 completed real flow jobs obey this);
    ``numPagesProcessed`` stays 0 on the flow job, as in the real records.
    """
    status = run.status_at(moment)
    doc: Doc = {"_id": run.id, "type": "flow"}
    if run.integration_id:
        doc["_integrationId"] = run.integration_id
    if run.export_id:
        doc["_exportId"] = run.export_id
    doc["_flowId"] = run.flow_id
    end = run.end()
    last = run.created
    if status != "queued" and not run.canceled_queued and run.start is not None:
        doc["startedAt"] = iso(run.start)
        closed = run.closed_at()
        if status in TERMINAL and end is not None and closed is not None:
            doc["endedAt"] = iso(end)
            last = closed
        else:
            last = max(run.start, run.progress_time(moment))
        doc["lastExecutedAt"] = iso(last)
    elif run.canceled_queued and run.cancel_at is not None:
        doc["endedAt"] = iso(run.cancel_at)
        last = run.cancel_at
    doc["status"] = status
    children = [step_counters(run, s, moment, resolved_at) for s in run.steps if run.step_started(s, moment)]
    totals = _counters()
    for name in SUMMED:
        totals[name] = sum(c[name] for c in children)
    doc.update(totals)
    doc["doneExporting"] = bool(children) and run.progress_time(moment) >= run.export_end
    # keep the real key order: doneExporting sits between numPagesGenerated and numPagesProcessed
    doc["numPagesProcessed"] = doc.pop("numPagesProcessed")
    doc["createdAt"] = iso(run.created)
    doc["purgeAt"] = iso(run.created + RETENTION_SECONDS)
    doc["lastModified"] = iso(last)
    if status == "canceled" and run.canceled_by:
        doc["canceledBy"] = run.canceled_by
    return doc


def render_retry(run: RetryRun, moment: float) -> Doc:
    """Return the ``type: retry`` job document at ``moment``."""
    status = run.status_at(moment)
    doc: Doc = {"_id": run.id, "type": "retry"}
    if run.integration_id:
        doc["_integrationId"] = run.integration_id
    doc["_flowId"] = run.flow_id
    doc["_exportId" if run.step_kind == "export" else "_importId"] = run.step_id
    if run.flow_job_id:
        doc["_flowJobId"] = run.flow_job_id
    doc["startedAt"] = iso(run.start)
    ended = run.end() if status in TERMINAL else None
    if ended is not None:
        doc["endedAt"] = iso(ended)
    last = ended if ended is not None else min(moment, run.end())
    doc["lastExecutedAt"] = iso(last)
    doc["status"] = status
    done = status == "completed"
    doc.update(_counters(success=len(run.error_ids) if done else 0, processed=1 if done else 0))
    doc["createdAt"] = iso(run.created)
    doc["purgeAt"] = iso(run.created + RETENTION_SECONDS)
    doc["lastModified"] = iso(last)
    doc["triggeredBy"] = run.triggered_by
    if status == "canceled" and run.canceled_by:
        doc["canceledBy"] = run.canceled_by
    return doc
