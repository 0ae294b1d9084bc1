"""Both spellings of "canceled" that integrator.io's sources use are one status for the provider."""

from __future__ import annotations

import pytest

from airflow_provider_celigo.exceptions import InvalidJobDocument
from airflow_provider_celigo.jobs.poller import _has_ended
from airflow_provider_celigo.jobs.status import count, job_status, outcome, summarize

JOB = "6650aa000000000000000001"


@pytest.mark.parametrize("spelling", ["canceled", "cancelled", "Cancelled", " CANCELED "])
def test_cancelled_is_canceled(spelling: str) -> None:
    job = {"_id": JOB, "status": spelling}
    assert job_status(job) == "canceled"
    assert outcome(job).value == "canceled"
    assert summarize(job)["status"] == "canceled"
    assert _has_ended(job)


def test_numeric_strings_count_and_nan_is_refused() -> None:
    assert count({"numError": "7"}, "numError") == 7
    assert summarize({"_id": JOB, "status": "completed", "numError": "7"})["outcome"] == "success_with_errors"
    for bad in (float("nan"), "seven", [1]):
        with pytest.raises(InvalidJobDocument, match="numError"):
            count({"_id": JOB, "numError": bad}, "numError")
