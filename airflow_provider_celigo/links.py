"""The "Celigo job" extra link and the integrator.io UI address it points to.

The link opens the flow's page in the integrator.io flow builder
(``{ui}/integrations/{integrationId}/flowBuilder/{flowId}``), which shows the run's progress, its
counts and its errors. integrator.io has no stable public page per job, so the flow page is the closest
a link can get. Standalone flows (no integration) live under ``/integrations/none/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

__all__ = ["JOB_IDS_XCOM_KEY", "JOB_ID_XCOM_KEY", "JOB_URL_XCOM_KEY", "CeligoJobLink", "job_url"]

JOB_ID_XCOM_KEY = "celigo_job_id"
JOB_URL_XCOM_KEY = "celigo_job_url"
JOB_IDS_XCOM_KEY = "celigo_job_ids"  # every flow job of a run: one per source
STANDALONE_INTEGRATION = "none"


def job_url(ui_url: str, flow_id: str | None, integration_id: str | None = None) -> str:
    """Return the integrator.io UI address for a flow's runs; the dashboard when the flow is unknown."""
    base = ui_url.rstrip("/")
    if not flow_id:
        return f"{base}/dashboard"
    return f"{base}/integrations/{integration_id or STANDALONE_INTEGRATION}/flowBuilder/{flow_id}"


class CeligoJobLink(BaseOperatorLink):
    """Extra link "Celigo job": the integrator.io page of the flow run the task started or watched."""

    name = "Celigo job"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the URL the task pushed to XCom under ``celigo_job_url``, or "" when there is none."""
        from airflow.sdk.execution_time.xcom import XCom

        value: Any = XCom.get_value(ti_key=ti_key, key=JOB_URL_XCOM_KEY)
        return value if isinstance(value, str) else ""
