"""A trivial DAG that proves the deployment harness: one task that runs, one that defers to the triggerer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import DAG, BaseOperator, task


class DeferOnce(BaseOperator):
    """Defer to a two-second DateTimeTrigger, then finish."""

    def execute(self, context: Any) -> None:
        moment = datetime.now(timezone.utc) + timedelta(seconds=2)
        self.defer(trigger=DateTimeTrigger(moment=moment), method_name="resume")

    def resume(self, context: Any, event: Any = None) -> str:
        return "resumed"


with DAG("harness_probe", schedule=None, catchup=False, tags=["e2e"]):

    @task
    def hello() -> str:
        return "hello"

    hello() >> DeferOnce(task_id="deferred_wait")
