"""The error policy: what a task does when a flow job completes but some records failed (``numError > 0``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from airflow_provider_celigo.errors import CeligoConfigError

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
            return f"at most {self.max_errors} errors allowed"
        return "no errors allowed" if self.on_errors == "fail" else "errors only warn"
