"""The job lifecycle in one place: what a job's status means, how an ended job is judged, waiting on it,
finding a previous try's job again, and the shared poller of the triggerer.

- ``status``: the status vocabulary, ``Outcome``, reading counters and times, summaries.
- ``policy``: the error policy and ``conclude`` (an ended job -> the task's result or error).
- ``wait``: waiting on a job (sync and async, the one loop the operator, sensor and trigger use), deadlines,
  cancel-and-confirm, the progress line.
- ``runs``: a run is one flow job per source: finding a run's jobs and folding them into one document.
- ``reattach``: the run ledger and finding the job a previous try started.
- ``poller``: one ``GET /jobs`` per connection and round for every watcher in a triggerer.
- ``listing``: the shared flow listing of the triggerer's event watchers.
"""

from __future__ import annotations

from airflow_provider_celigo.jobs.policy import ErrorPolicy, Verdict
from airflow_provider_celigo.jobs.status import (
    ACTIVE_STATUSES,
    KNOWN_STATUSES,
    TERMINAL_STATUSES,
    Outcome,
    is_terminal,
    job_status,
    outcome,
    summarize,
)

__all__ = [
    "ACTIVE_STATUSES",
    "KNOWN_STATUSES",
    "TERMINAL_STATUSES",
    "ErrorPolicy",
    "Outcome",
    "Verdict",
    "is_terminal",
    "job_status",
    "outcome",
    "summarize",
]
