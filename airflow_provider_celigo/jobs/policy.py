"""How an ended job is judged: the error policy (``on_errors``/``max_errors``) and ``conclude``.

``conclude`` turns a finished job's summary into the task's result: the summary, a warning, or
CeligoJobError carrying the first step errors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_provider_celigo.exceptions import CeligoConfigError, CeligoError, CeligoJobError
from airflow_provider_celigo.jobs.status import Outcome, count, describe

if TYPE_CHECKING:
    from airflow_provider_celigo.hooks.celigo import CeligoHook

__all__ = ["ErrorPolicy", "Verdict", "conclude"]

MAX_REPORTED_ERRORS = 5
ON_ERRORS_CHOICES = ("fail", "warn")


class Verdict(str, Enum):
    """What the task does with a completed job."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class ErrorPolicy:
    """How many record errors a completed job may carry before the task fails.

    - ``on_errors="fail"`` (default): any error fails the task.
    - ``on_errors="warn"``: errors are logged as a warning and the task succeeds.
    - ``max_errors=N``: the task fails only when the job has more than ``N`` errors and warns otherwise,
      whatever ``on_errors`` says (``max_errors=0`` is the same as ``on_errors="fail"``).

    Raises CeligoConfigError for any other value.
    """

    on_errors: str = "fail"
    max_errors: int | None = None

    def __post_init__(self) -> None:
        if self.on_errors not in ON_ERRORS_CHOICES:
            raise CeligoConfigError(
                f"on_errors is {self.on_errors!r}; use 'fail' (any record error fails the task) or 'warn' "
                "(log a warning and succeed)."
            )
        limit = self.max_errors
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise CeligoConfigError(
                f"max_errors is {limit!r}; use None (decided by on_errors) or a whole number >= 0 "
                "(the task fails only when the job has more errors than that)."
            )

    def judge(self, num_error: int) -> Verdict:
        """Return the verdict for a completed job with ``num_error`` record errors."""
        if num_error <= 0:
            return Verdict.OK
        if self.max_errors is not None:
            return Verdict.FAIL if num_error > self.max_errors else Verdict.WARN
        return Verdict.FAIL if self.on_errors == "fail" else Verdict.WARN

    def describe(self) -> str:
        """Return the policy in words, for log lines and error messages."""
        if self.max_errors is not None:
            return f"at most {self.max_errors} {'error' if self.max_errors == 1 else 'errors'} allowed"
        return "no errors allowed" if self.on_errors == "fail" else "errors only warn"


def _troubled_steps(job_id: str, family: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the step jobs of a family that failed or hold errors, in flow order; else the page generator."""
    children = [child for child in family.get("children") or [] if isinstance(child, dict)]
    troubled = [child for child in children if child.get("status") == "failed" or count(child, "numError") > 0]
    troubled.sort(key=lambda child: count(child, "oIndex"))
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


def report_step_errors(
    hook: CeligoHook, summary: dict[str, Any], log: logging.Logger | Any, *, accepted: bool = False
) -> list[str]:
    """Log the first errors of the failing steps of the run's jobs (one line each) and return them; never raises.

    They are logged at ERROR level when they fail the task, at WARNING when the policy ``accepted`` the job.
    """
    job_id = summary["job_id"]
    lines: list[str] = []
    for each in summary.get("job_ids") or [job_id]:  # a run of several sources: every flow job of it
        try:
            lines += step_error_lines(hook, each, summary.get("flow_id"), limit=MAX_REPORTED_ERRORS - len(lines))
        except CeligoError as error:
            log.warning("Could not read the errors of Celigo job %s: %s", each, error)
        if len(lines) >= MAX_REPORTED_ERRORS:
            break
    emit = log.warning if accepted else log.error
    if lines:
        emit("First errors of Celigo job %s:", job_id)
        for line in lines:
            emit("  %s", line)
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
            report_step_errors(hook, summary, log, accepted=True)
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
