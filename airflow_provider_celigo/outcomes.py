"""Turning a finished job into the task's result: its summary, a warning, or CeligoJobError with the step errors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_celigo.errors import CeligoError, CeligoJobError
from airflow_provider_celigo.jobs import Outcome, describe
from airflow_provider_celigo.policies import ErrorPolicy, Verdict

if TYPE_CHECKING:
    from airflow_provider_celigo.hooks.celigo import CeligoHook

MAX_REPORTED_ERRORS = 5


def _count(job: dict[str, Any], name: str) -> int:
    value = job.get(name)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _troubled_steps(job_id: str, family: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the step jobs of a family that failed or hold errors, in flow order; else the page generator."""
    children = [child for child in family.get("children") or [] if isinstance(child, dict)]
    troubled = [child for child in children if child.get("status") == "failed" or _count(child, "numError") > 0]
    troubled.sort(key=lambda child: _count(child, "oIndex"))
    if not troubled and family.get("_exportId"):
        # An export that fails before creating step jobs leaves its errors on the flow's page generator.
        troubled = [{"type": "export", "_exportId": family["_exportId"], "_flowJobId": job_id}]
    return troubled


def step_error_lines(
    hook: CeligoHook, job_id: str, flow_id: str | None, *, limit: int = MAX_REPORTED_ERRORS
) -> list[str]:
    """Return up to ``limit`` lines ``step <type> <id>: <code>: <message>`` for the job's failing steps.

    Reads ``GET /jobs/{id}/family`` and each troubled step's open errors, keeping those of this job.
    Raises CeligoApiError when the API fails.
    """
    family = hook.get_job_family(job_id)
    flow_id = flow_id or family.get("_flowId")
    if not flow_id:
        return []
    lines: list[str] = []
    for step in _troubled_steps(job_id, family):
        step_id = step.get("_importId") or step.get("_exportId")
        if not step_id or len(lines) >= limit:
            continue
        errors = hook.get_step_errors(flow_id, step_id, limit=max(50, limit))
        own = [error for error in errors if error.get("_flowJobId") == job_id]
        chosen = own or [error for error in errors if not error.get("_flowJobId")]
        label = f"step {step.get('type') or 'step'} {step_id}"
        for error in chosen[: limit - len(lines)]:
            lines.append(f"{label}: {error.get('code') or '(no code)'}: {error.get('message') or '(no message)'}")
    return lines


def report_step_errors(hook: CeligoHook, summary: dict[str, Any], log: logging.Logger | Any) -> list[str]:
    """Log the first errors of the job's failing steps (one line each) and return them; never raises."""
    job_id = summary["job_id"]
    try:
        lines = step_error_lines(hook, job_id, summary.get("flow_id"))
    except CeligoError as error:
        log.warning("Could not read the errors of Celigo job %s: %s", job_id, error)
        return []
    if lines:
        log.error("First errors of Celigo job %s:", job_id)
        for line in lines:
            log.error("  %s", line)
    return lines


def conclude(
    summary: dict[str, Any], *, policy: ErrorPolicy, hook: CeligoHook, log: logging.Logger | Any
) -> dict[str, Any]:
    """Return the summary of a job that ended well enough for ``policy``.

    Raises CeligoJobError (carrying the summary, the first step errors in its message) when the job
    failed, was canceled, or completed with more errors than the policy allows.
    """
    outcome = summary.get("outcome")
    text = describe(summary)
    if outcome == Outcome.SUCCESS.value:
        log.info("Celigo %s", text)
        return summary
    if outcome == Outcome.SUCCESS_WITH_ERRORS.value:
        verdict = policy.judge(summary.get("num_error") or 0)
        if verdict is not Verdict.FAIL:
            log.warning("Celigo %s (accepted: %s)", text, policy.describe())
            report_step_errors(hook, summary, log)
            return summary
        reason = f"; more record errors than allowed ({policy.describe()})"
    elif outcome == Outcome.CANCELED.value:
        log.error("Celigo %s", text)
        raise CeligoJobError(f"Celigo {text}", summary)
    elif outcome == Outcome.FAILED.value:
        reason = ""
    else:
        raise CeligoJobError(f"Celigo job {summary['job_id']} has not ended: {text}", summary)
    log.error("Celigo %s", text)
    lines = report_step_errors(hook, summary, log)
    details = "; first errors: " + " | ".join(lines) if lines else ""
    raise CeligoJobError(f"Celigo {text}{reason}{details}", summary)
