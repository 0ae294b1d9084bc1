"""Operators that clone integrator.io integrations, flows, exports and imports.

Typical use: deploy an embedded integration for a new customer by cloning a template integration with
a ``connection_map`` from the template's connections to the customer's, then run the cloned flows.

Every clone operator returns (as its XCom return value)
``{"integration_id": <id or None>, "resources": [{"model", "_id", "name"}], "flow_ids": [...]}`` and also
pushes ``integration_id`` and ``flow_ids`` under XCom keys of those names. To run each cloned flow with
dynamic task mapping, map over a list that is some task's *return value*, for example::

    clone = CeligoCloneIntegrationOperator(task_id="clone", source_id=TEMPLATE, connection_map={...})

    @task
    def flow_ids(result: dict) -> list[str]:
        return result["flow_ids"]

    CeligoRunFlowOperator.partial(task_id="run").expand(flow_id=flow_ids(clone.output))

(``clone.output["flow_ids"]`` works for a plain task, but Airflow refuses to ``expand`` over an XCom with a
custom key: "cannot map over XCom with custom key".)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.operators.resources import CeligoBaseOperator
from airflow_provider_celigo.resource_types import ResourceType

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = [
    "CeligoCloneExportOperator",
    "CeligoCloneFlowOperator",
    "CeligoCloneImportOperator",
    "CeligoCloneIntegrationOperator",
    "CeligoCloneOperator",
]


class CeligoCloneOperator(CeligoBaseOperator):
    """Clone an integrator.io resource; subclasses fix which type.

    Before anything is created, the source is read and every connection it uses must have a target in
    ``connection_map``, else the task fails naming each unmapped connection. If the source cannot be read,
    integrator.io makes the check (400 ``invalid_connectionMap``).

    :param source_id: the resource to clone (templated).
    :param name: the clone's name (templated; default: integrator.io's).
    :param connection_map: ``{source connection id: target connection id}`` (templated; a dict or a JSON
        string). Map a connection to itself to share it.
    :param tag: a tag for the clone (templated).
    :param sandbox: clone into the sandbox environment (deprecated by integrator.io; default unset).
    :param enable_flows: enable every cloned flow afterwards (a JSON Patch of ``/disabled``; default False).
    :param celigo_conn_id: the Celigo connection (default ``celigo_default``).
    """

    resource_type: ClassVar[ResourceType]
    template_fields: Sequence[str] = ("source_id", "name", "connection_map", "tag")
    template_fields_renderers = {"connection_map": "json"}
    ui_color = "#e4effb"

    def __init__(
        self,
        *,
        source_id: str,
        name: str | None = None,
        connection_map: dict[str, str] | str | None = None,
        tag: str | None = None,
        sandbox: bool | None = None,
        enable_flows: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_id, self.connection_map = source_id, connection_map
        self.name, self.tag, self.sandbox = name, tag, sandbox  # what the clone is
        self.enable_flows = enable_flows

    def _target_integration_id(self) -> str | None:
        return None

    def execute(self, context: Context) -> dict[str, Any]:
        result = self.hook.clone_resource(
            self.resource_type,
            self.source_id,
            name=self.name or None,
            connection_map=self.connection_map,
            integration_id=self._target_integration_id(),
            tag=self.tag or None,
            sandbox=self.sandbox,
        )
        if self.enable_flows:
            if not result["flow_ids"] and self.resource_type in (ResourceType.INTEGRATIONS, ResourceType.FLOWS):
                self.log.warning(
                    "The clone of %s %s holds no flow: nothing to enable", self.resource_type.singular, self.source_id
                )
            for flow_id in result["flow_ids"]:
                self.hook.set_flow_enabled(flow_id, True)
            self.log.info("Enabled %d cloned flow(s)", len(result["flow_ids"]))
        ti = context["ti"]
        ti.xcom_push(key="integration_id", value=result["integration_id"])
        ti.xcom_push(key="flow_ids", value=result["flow_ids"])
        return result


class CeligoCloneIntegrationOperator(CeligoCloneOperator):
    """Clone an integration with its flows, exports and imports (see ``CeligoCloneOperator`` for the arguments).

    ``connection_map`` must map every connection the integration's flows use and every connection
    registered with it.
    """

    resource_type = ResourceType.INTEGRATIONS


class CeligoCloneFlowOperator(CeligoCloneOperator):
    """Clone a flow with its exports and imports into an integration.

    :param integration_id: the integration that receives the clone (templated; required).

    The other arguments are ``CeligoCloneOperator``'s.
    """

    resource_type = ResourceType.FLOWS
    template_fields: Sequence[str] = (*CeligoCloneOperator.template_fields, "integration_id")

    def __init__(self, *, integration_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not integration_id:
            raise CeligoConfigError("CeligoCloneFlowOperator needs integration_id: the integration receiving the clone")
        self.integration_id = integration_id

    def _target_integration_id(self) -> str | None:
        return self.integration_id


class CeligoCloneExportOperator(CeligoCloneOperator):
    """Clone an export (see ``CeligoCloneOperator`` for the arguments)."""

    resource_type = ResourceType.EXPORTS


class CeligoCloneImportOperator(CeligoCloneOperator):
    """Clone an import (see ``CeligoCloneOperator`` for the arguments)."""

    resource_type = ResourceType.IMPORTS
