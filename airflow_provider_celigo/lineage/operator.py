"""``CeligoLineageMixin``: the OpenLineage methods and the flow-asset event of the Celigo run operators.

The OpenLineage provider calls ``get_openlineage_facets_on_complete`` / ``_on_failure`` after the task
ends; they import OpenLineage then, so DAG parsing and tasks pay nothing when it is not installed.

Reads, made once per task and cached on the operator (both methods share them), for each flow:
``GET /flows/{id}`` (1), ``GET /exports/{id}`` and ``GET /imports/{id}`` per step (E + I), ``GET
/connections/{id}`` per distinct connection (at most E + I, shared across the flows of one task), and
``GET /jobs/{id}/family`` per flow job of the run (J; a multi-source run has one job per source) for the
per-import counts. At most ``1 + 2 * (E + I) + J`` calls per flow; a read that fails leaves that part out
(a step then gets the Celigo fallback name, an import no statistics) and never fails the task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_celigo._compat import ASSET_OUTLETS_BY_DEFAULT

if TYPE_CHECKING:
    from airflow_provider_celigo.hooks.celigo import CeligoHook
    from airflow_provider_celigo.lineage.naming import DatasetName
    from airflow_provider_celigo.resource_types import ResourceType

__all__ = ["CeligoLineageMixin", "result_job_ids"]

Doc = dict[str, Any]


def result_job_ids(result: Mapping[str, Any]) -> list[str]:
    """Return the flow job ids of one run's result: ``job_ids`` when present, else ``[job_id]``."""
    ids = result.get("job_ids")
    if isinstance(ids, list) and ids:
        return [str(job_id) for job_id in ids if job_id]
    return [str(result["job_id"])] if result.get("job_id") else []


class CeligoLineageMixin:
    """OpenLineage facets and the flow asset's event for ``CeligoRunFlowOperator`` and the integration runner.

    The operator hands its result (a run summary, or the list of them) to ``_keep_celigo_result``, which
    stores it in ``_celigo_result``; ``post_execute`` then writes the job ids and counts into the extra of
    the flow asset's event (when the task declares it, see ``_celigo_asset``).
    """

    if TYPE_CHECKING:
        hook: CeligoHook
        job_id: str | None
        outlets: list[Any]
        log: Any

    #: The operator's last result: a run summary (dict) or a list of them; None until it has one.
    _celigo_result: Any = None
    #: The flow asset this task declares as an outlet (None when it declares none).
    _celigo_asset: Any = None

    def _declare_celigo_flow_asset(self, emit_asset: bool | None) -> None:
        """Add the flow's asset (``assets.celigo_flow_asset``) to the task's outlets, unless opted out.

        ``emit_asset=None`` means yes from Airflow 3.1 on, no on 3.0 (``_compat.ASSET_OUTLETS_BY_DEFAULT``).

        Only for a task that waits for the run (a fire-and-forget run has delivered nothing when the task
        succeeds) and whose flow id and connection id are literal (a templated id is known only at run
        time, after the outlets are fixed). A connection that cannot be read while the DAG is parsed leaves
        the outlet out, with a warning naming the fix.
        """
        flow_id, conn_id = getattr(self, "flow_id", None), getattr(self, "celigo_conn_id", None)
        if emit_asset is None:
            emit_asset = ASSET_OUTLETS_BY_DEFAULT
        if not emit_asset or not getattr(self, "wait_for_completion", True):
            return
        if not isinstance(flow_id, str) or not isinstance(conn_id, str) or "{" in flow_id + conn_id:
            return
        from airflow_provider_celigo.assets import celigo_flow_asset

        try:
            asset = celigo_flow_asset(flow_id, conn_id)
        except Exception as error:
            self.log.warning(
                "Task %s declares no Celigo flow asset: %s. Define the Celigo connection %r where DAGs are parsed, "
                "or pass emit_asset=False.",
                getattr(self, "task_id", "?"),
                error,
                conn_id,
            )
            return
        self._celigo_asset = asset
        self.outlets = [*self.outlets, asset]

    def _keep_celigo_result(self, result: Any) -> Any:
        """Store the operator's result for lineage and the asset event; returns it unchanged."""
        self._celigo_result = result
        return result

    # -- the asset event -----------------------------------------------------------------------------------

    def post_execute(self, context: Any, result: Any = None) -> None:
        """Put the run's job ids and counts into the extra of the flow asset's event."""
        super().post_execute(context, result)  # type: ignore[misc]
        summary = self._celigo_result if isinstance(self._celigo_result, Mapping) else None
        if self._celigo_asset is None or summary is None:
            return
        context["outlet_events"][self._celigo_asset].extra = asset_event_extra(summary)

    # -- OpenLineage -----------------------------------------------------------------------------------------

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Return the ``OperatorLineage`` of the finished task: exports in, imports out, counts, job ids."""
        return self._celigo_lineage(failed=False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """Return the ``OperatorLineage`` of the failed task, with an ``errorMessage`` run facet."""
        return self._celigo_lineage(failed=True)

    def _celigo_runs(self) -> list[tuple[str, list[str], Mapping[str, Any] | None]]:
        """Return ``(flow id, job ids, summary)`` for each run the task made (the failed one too)."""
        results = self._celigo_result
        summaries = [results] if isinstance(results, Mapping) else list(results or [])
        runs: list[tuple[str, list[str], Mapping[str, Any] | None]] = []
        for summary in summaries:
            if isinstance(summary, Mapping) and summary.get("flow_id"):
                runs.append((str(summary["flow_id"]), result_job_ids(summary), summary))
        own_flow = getattr(self, "flow_id", None)
        if not runs and isinstance(own_flow, str):  # the run operator failed: no summary, but its job id
            runs.append((own_flow, [self.job_id] if self.job_id else [], None))
        return runs

    def _celigo_lineage(self, *, failed: bool) -> Any:
        """Return the ``OperatorLineage`` of the task's runs (see the module docstring for the reads); never raises
        for a failed read."""
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset, OutputDataset
        from openlineage.client.facet_v2 import error_message_run, output_statistics_output_dataset

        # Read only once a task has ended, so DAG parsing loads none of these.
        from airflow_provider_celigo._documents import flow_steps
        from airflow_provider_celigo.assets import api_host
        from airflow_provider_celigo.lineage.facets import CeligoRunFacet
        from airflow_provider_celigo.resource_types import ResourceType

        host = api_host(self.hook.settings.base_url)
        inputs: dict[tuple[str, str], Any] = {}
        outputs: dict[tuple[str, str], Any] = {}
        rows: dict[tuple[str, str], int] = {}
        all_jobs: list[str] = []
        runs = self._celigo_runs()
        for flow_id, job_ids, _summary in runs:
            all_jobs.extend(job_ids)
            flow = self._celigo_read(f"/flows/{flow_id}")
            if flow is None:
                continue
            imported = self._celigo_import_counts(job_ids)
            for kind, step_id in dict.fromkeys(flow_steps(flow)):
                name = self._celigo_dataset(host, kind, step_id)
                key = (name.namespace, name.name)
                if kind is ResourceType.EXPORTS:
                    inputs.setdefault(key, InputDataset(namespace=name.namespace, name=name.name))
                else:
                    outputs.setdefault(key, name)
                    if step_id in imported:
                        rows[key] = rows.get(key, 0) + imported[step_id]
        output_list = []
        for key, name in outputs.items():
            facets: dict[str, Any] = {}
            if key in rows:
                facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=rows[key]
                )
            output_list.append(OutputDataset(namespace=name.namespace, name=name.name, outputFacets=facets))
        summaries = [summary for _flow, _jobs, summary in runs if summary is not None]
        run_facets: dict[str, Any] = {
            "celigo": CeligoRunFacet(
                flowIds=list(dict.fromkeys(flow for flow, _jobs, _summary in runs)),
                jobIds=list(dict.fromkeys(all_jobs)),
                status="failed" if failed else (summaries[-1].get("status") if summaries else None),
                numSuccess=sum(int(summary.get("num_success") or 0) for summary in summaries),
                numError=sum(int(summary.get("num_error") or 0) for summary in summaries),
            )
        }
        if failed:
            # The OpenLineage listener replaces this with the task's exception text when it has one.
            message = f"Celigo flow run failed (jobs: {', '.join(all_jobs) or 'none started'})"
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=message, programmingLanguage="python"
            )
        return OperatorLineage(inputs=list(inputs.values()), outputs=output_list, run_facets=run_facets)

    # -- cached reads ------------------------------------------------------------------------------------------

    def _celigo_read(self, path: str) -> Doc | None:
        """Return ``GET <path>`` once per task (None, also cached, when it fails or is not an object)."""
        cache: dict[str, Doc | None] = self.__dict__.setdefault("_celigo_lineage_reads", {})
        if path not in cache:
            try:
                answer = self.hook.request("GET", path)
            except Exception as error:  # lineage never fails the task
                self.hook.log.warning("OpenLineage: could not read %s: %s", path, error)
                answer = None
            cache[path] = answer if isinstance(answer, dict) else None
        return cache[path]

    def _celigo_dataset(self, host: str, kind: ResourceType, step_id: str) -> DatasetName:
        from airflow_provider_celigo.lineage.naming import dataset_name

        step = self._celigo_read(f"/{kind.value}/{step_id}") or {"_id": step_id}
        connection_id = step.get("_connectionId")
        connection = self._celigo_read(f"/connections/{connection_id}") if isinstance(connection_id, str) else None
        return dataset_name(host, kind.value, step, connection)

    def _celigo_import_counts(self, job_ids: Iterable[str]) -> dict[str, int]:
        """Return ``numSuccess`` per import id, summed over the import step jobs of the given flow jobs."""
        counts: dict[str, int] = {}
        for job_id in job_ids:
            family = self._celigo_read(f"/jobs/{job_id}/family") or {}
            for child in family.get("children") or []:
                if isinstance(child, dict) and child.get("type") == "import" and child.get("_importId"):
                    value = child.get("numSuccess")
                    amount = int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
                    counts[child["_importId"]] = counts.get(child["_importId"], 0) + amount
        return counts


def asset_event_extra(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Return the extra of a flow asset's event: the run's job ids, status and counts (JSON-friendly)."""
    return {
        "flow_id": summary.get("flow_id"),
        "job_ids": result_job_ids(summary),
        "status": summary.get("status"),
        "outcome": summary.get("outcome"),
        "num_success": summary.get("num_success"),
        "num_error": summary.get("num_error"),
        "num_ignore": summary.get("num_ignore"),
    }
