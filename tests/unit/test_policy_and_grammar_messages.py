"""Message wording: the error policy's description, the level of the first step errors, articles of type names."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_celigo.exceptions import CeligoJobError
from airflow_provider_celigo.jobs.policy import ErrorPolicy, conclude
from airflow_provider_celigo.jobs.status import summarize
from airflow_provider_celigo.resource_types import ResourceType, as_resource_type

JOB = "6650aa000000000000000001"
FLOW = "6650f0000000000000000001"
IMPORT = "6650d0000000000000000001"


class StepErrorsHook:
    """The two hook calls ``conclude`` makes to read a job's first step errors."""

    def get_job_family(self, job_id: str) -> dict[str, Any]:
        return {"_id": job_id, "_flowId": FLOW, "children": [{"type": "import", "_importId": IMPORT, "numError": 2}]}

    def get_step_errors(self, flow_id: str, step_id: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        return [{"code": "bad_sku", "message": "SKU-9 is unknown", "_flowJobId": JOB}]


def summary(num_error: int) -> dict[str, Any]:
    job = {"_id": JOB, "_flowId": FLOW, "type": "flow", "status": "completed", "numSuccess": 5, "numError": num_error}
    result = summarize(job)
    assert result["outcome"] == "success_with_errors"
    return result


@pytest.mark.parametrize(
    ("limit", "text"),
    [(0, "at most 0 errors allowed"), (1, "at most 1 error allowed"), (2, "at most 2 errors allowed")],
)
def test_policy_description_agrees_in_number(limit: int, text: str) -> None:
    assert ErrorPolicy(max_errors=limit).describe() == text


def levels_of(caplog: pytest.LogCaptureFixture, text: str) -> set[str]:
    return {record.levelname for record in caplog.records if text in record.getMessage()}


@pytest.mark.parametrize("policy", [ErrorPolicy(on_errors="warn"), ErrorPolicy(max_errors=5)], ids=["warn", "max"])
def test_first_errors_of_an_accepted_job_are_warnings(caplog: pytest.LogCaptureFixture, policy: ErrorPolicy) -> None:
    log = logging.getLogger("celigo.test.accepted")
    with caplog.at_level(logging.DEBUG, logger=log.name):
        result = conclude(summary(2), policy=policy, hook=StepErrorsHook(), log=log)  # type: ignore[arg-type]
    assert result["num_error"] == 2
    assert levels_of(caplog, "First errors of Celigo job") == {"WARNING"}
    assert levels_of(caplog, "SKU-9 is unknown") == {"WARNING"}
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_first_errors_of_a_failed_job_stay_errors(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("celigo.test.failed")
    with (
        caplog.at_level(logging.DEBUG, logger=log.name),
        pytest.raises(CeligoJobError, match="at most 1 error allowed"),
    ):
        conclude(summary(2), policy=ErrorPolicy(max_errors=1), hook=StepErrorsHook(), log=log)  # type: ignore[arg-type]
    assert levels_of(caplog, "First errors of Celigo job") == {"ERROR"}
    assert levels_of(caplog, "SKU-9 is unknown") == {"ERROR"}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("exports", "an export"),
        ("imports", "an import"),
        ("integrations", "an integration"),
        ("agents", "an agent"),
        ("iclients", "an iclient"),
        ("apis", "an api"),
        ("accesstokens", "an accesstoken"),
        ("flows", "a flow"),
        ("connections", "a connection"),
        ("lookupcaches", "a lookupcache"),
        ("scripts", "a script"),
        ("stacks", "a stack"),
        ("tags", "a tag"),
    ],
)
def test_type_names_take_the_right_article(name: str, text: str) -> None:
    assert as_resource_type(name).a_singular == text


def test_every_type_has_an_article() -> None:
    assert all(kind.a_singular.split(" ", 1)[0] in {"a", "an"} for kind in ResourceType)
