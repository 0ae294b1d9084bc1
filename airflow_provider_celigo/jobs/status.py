"""integrator.io job documents: status vocabulary, terminal states and compact summaries."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from airflow_provider_celigo.exceptions import InvalidJobDocument

__all__ = [
    "ACTIVE_STATUSES",
    "COUNTERS",
    "KNOWN_STATUSES",
    "TERMINAL_STATUSES",
    "Outcome",
    "count",
    "describe",
    "is_terminal",
    "iso_millis",
    "job_status",
    "normal_status",
    "outcome",
    "parse_time",
    "summarize",
]

ACTIVE_STATUSES = frozenset({"queued", "running", "canceling", "retrying"})
TERMINAL_STATUSES = frozenset({"completed", "failed", "canceled"})
KNOWN_STATUSES = ACTIVE_STATUSES | TERMINAL_STATUSES
_SPELLINGS = {"cancelled": "canceled"}  # both spellings appear in integrator.io's own sources
COUNTERS = ("numSuccess", "numError", "numIgnore", "numResolved", "numOpenError", "numPagesGenerated")


class Outcome(str, Enum):
    """How a job ended, or that it has not ended yet."""

    ACTIVE = "active"
    SUCCESS = "success"
    SUCCESS_WITH_ERRORS = "success_with_errors"
    FAILED = "failed"
    CANCELED = "canceled"


def job_status(job: Any) -> str:
    """Return the job's status; raises InvalidJobDocument when it is missing or unknown."""
    if not isinstance(job, dict):
        raise InvalidJobDocument(f"expected a job document (a JSON object), got {type(job).__name__}")
    status = job.get("status")
    if not isinstance(status, str) or not status:
        raise InvalidJobDocument(f"job {job.get('_id')!r} has no 'status' field: {sorted(job)[:12]}")
    status = normal_status(status)
    if status not in KNOWN_STATUSES:
        raise InvalidJobDocument(
            f"job {job.get('_id')!r} has unknown status {status!r}; known: {sorted(KNOWN_STATUSES)}"
        )
    return status


def normal_status(value: Any) -> str:
    """Return a status as the provider spells it: lower case, trimmed, ``cancelled`` as ``canceled``."""
    status = str(value or "").strip().lower()
    return _SPELLINGS.get(status, status)


def is_terminal(job: Any) -> bool:
    """True when the job has ended (completed, failed or canceled)."""
    return job_status(job) in TERMINAL_STATUSES


def outcome(job: Any) -> Outcome:
    """Classify a job: still active, success, success with errors, failed or canceled."""
    status = job_status(job)
    if status in ACTIVE_STATUSES:
        return Outcome.ACTIVE
    if status == "failed":
        return Outcome.FAILED
    if status == "canceled":
        return Outcome.CANCELED
    return Outcome.SUCCESS_WITH_ERRORS if count(job, "numError") > 0 else Outcome.SUCCESS


def count(job: dict[str, Any], name: str) -> int:
    """Return the counter ``name`` of a job document as an int (0 when absent); numeric strings count too.

    Raises InvalidJobDocument for a value that is not a finite number (``NaN``, ``"seven"``, a list).
    """
    value = job.get(name)
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidJobDocument(f"job {job.get('_id')!r} has {name}={value!r}, which is not a number") from None
    if not isinstance(value, (int, float)) or value != value or value in (float("inf"), float("-inf")):
        raise InvalidJobDocument(f"job {job.get('_id')!r} has {name}={value!r}, which is not a finite number")
    return int(value)


def parse_time(value: Any) -> datetime | None:
    """Return an ISO-8601 string or a datetime as an aware datetime (naive = UTC); None when unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def iso_millis(moment: datetime) -> str:
    """Return ``moment`` as integrator.io writes times: UTC, milliseconds, ``Z`` (``2026-01-02T03:04:05.678Z``)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def summarize(job: Any) -> dict[str, Any]:
    """Return a compact, JSON-friendly summary of a job (ids, status, outcome, counts, times).

    Raises InvalidJobDocument for a document without an id or a known status.
    """
    status = job_status(job)
    job_id = job.get("_id")
    if not isinstance(job_id, str) or not job_id:
        raise InvalidJobDocument(f"job document has no '_id': {sorted(job)[:12]}")
    started, ended = parse_time(job.get("startedAt")), parse_time(job.get("endedAt"))
    duration = round((ended - started).total_seconds(), 3) if started and ended else None
    return {
        "job_id": job_id,
        "flow_id": job.get("_flowId") if isinstance(job.get("_flowId"), str) else None,
        "integration_id": job.get("_integrationId") if isinstance(job.get("_integrationId"), str) else None,
        "type": job.get("type") if isinstance(job.get("type"), str) else None,
        "status": status,
        "outcome": outcome(job).value,
        "num_success": count(job, "numSuccess"),
        "num_error": count(job, "numError"),
        "num_ignore": count(job, "numIgnore"),
        "num_pages": count(job, "numPagesGenerated"),
        "created_at": job.get("createdAt") if isinstance(job.get("createdAt"), str) else None,
        "started_at": job.get("startedAt") if started else None,
        "ended_at": job.get("endedAt") if ended else None,
        "duration_seconds": duration,
    }


def describe(summary: dict[str, Any]) -> str:
    """One log line for a summary: status, counts and duration."""
    duration = summary.get("duration_seconds")
    took = f", {duration:.1f}s" if isinstance(duration, (int, float)) else ""
    ids = summary.get("job_ids")
    jobs = (
        f" over {len(ids)} flow jobs, one per source ({', '.join(map(str, ids))})"
        if isinstance(ids, list) and len(ids) > 1
        else ""
    )
    return (
        f"job {summary['job_id']} {summary['status']}: {summary['num_success']} succeeded, "
        f"{summary['num_error']} errors, {summary['num_ignore']} ignored, {summary['num_pages']} pages{took}{jobs}"
    )
