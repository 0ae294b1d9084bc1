"""Apache Airflow provider for Celigo integrator.io.

The names users import are available here (``from airflow_provider_celigo import CeligoRunFlowOperator``) and
from their modules (``airflow_provider_celigo.operators.flows``). They are loaded on first use, so importing
the package in a DAG file costs nothing until an operator is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC: dict[str, str] = {
    "CeligoApiError": "airflow_provider_celigo.exceptions",
    "CeligoAsyncHook": "airflow_provider_celigo.hooks.celigo",
    "CeligoCloneExportOperator": "airflow_provider_celigo.operators.integrations",
    "CeligoCloneFlowOperator": "airflow_provider_celigo.operators.integrations",
    "CeligoCloneImportOperator": "airflow_provider_celigo.operators.integrations",
    "CeligoCloneIntegrationOperator": "airflow_provider_celigo.operators.integrations",
    "CeligoConfigError": "airflow_provider_celigo.exceptions",
    "CeligoCreateResourceOperator": "airflow_provider_celigo.operators.resources",
    "CeligoDeleteLookupCacheEntriesOperator": "airflow_provider_celigo.operators.resources",
    "CeligoDeleteResourceOperator": "airflow_provider_celigo.operators.resources",
    "CeligoDeleteStateOperator": "airflow_provider_celigo.operators.resources",
    "CeligoError": "airflow_provider_celigo.exceptions",
    "CeligoExportAuditLogOperator": "airflow_provider_celigo.operators.audit",
    "CeligoFlowRunEventTrigger": "airflow_provider_celigo.triggers.events",
    "CeligoFlowRunSensor": "airflow_provider_celigo.sensors.jobs",
    "CeligoFlowStateOperator": "airflow_provider_celigo.operators.flows",
    "CeligoGetLookupCacheEntriesOperator": "airflow_provider_celigo.operators.resources",
    "CeligoGetResourceOperator": "airflow_provider_celigo.operators.resources",
    "CeligoGetStateOperator": "airflow_provider_celigo.operators.resources",
    "CeligoHook": "airflow_provider_celigo.hooks.celigo",
    "CeligoInviteUserOperator": "airflow_provider_celigo.operators.account",
    "CeligoJobError": "airflow_provider_celigo.exceptions",
    "CeligoJobLink": "airflow_provider_celigo.links",
    "CeligoJobSensor": "airflow_provider_celigo.sensors.jobs",
    "CeligoJobTrigger": "airflow_provider_celigo.triggers.jobs",
    "CeligoListResourcesOperator": "airflow_provider_celigo.operators.resources",
    "CeligoListUsersOperator": "airflow_provider_celigo.operators.account",
    "CeligoNotFoundError": "airflow_provider_celigo.exceptions",
    "CeligoOpenErrorsExceeded": "airflow_provider_celigo.sensors.errors",
    "CeligoOpenErrorsSensor": "airflow_provider_celigo.sensors.errors",
    "CeligoPersistIntegrationAppSettingsOperator": "airflow_provider_celigo.operators.account",
    "CeligoPingConnectionOperator": "airflow_provider_celigo.operators.resources",
    "CeligoPutStateOperator": "airflow_provider_celigo.operators.resources",
    "CeligoRegisterConnectionsOperator": "airflow_provider_celigo.operators.account",
    "CeligoRemoveUserOperator": "airflow_provider_celigo.operators.account",
    "CeligoResolveFlowErrorsOperator": "airflow_provider_celigo.operators.resources",
    "CeligoRestoreResourceOperator": "airflow_provider_celigo.operators.resources",
    "CeligoRetryFlowErrorsOperator": "airflow_provider_celigo.operators.resources",
    "CeligoRunFlowOperator": "airflow_provider_celigo.operators.flows",
    "CeligoRunIntegrationFlowsOperator": "airflow_provider_celigo.operators.flows",
    "CeligoRunUnclearError": "airflow_provider_celigo.exceptions",
    "CeligoSetConnectionConcurrencyOperator": "airflow_provider_celigo.operators.resources",
    "CeligoTokenOperator": "airflow_provider_celigo.operators.account",
    "CeligoUpdateIntegrationSettingsOperator": "airflow_provider_celigo.operators.account",
    "CeligoUpdateResourceOperator": "airflow_provider_celigo.operators.resources",
    "CeligoUpdateUserOperator": "airflow_provider_celigo.operators.account",
    "CeligoUpsertLookupCacheEntriesOperator": "airflow_provider_celigo.operators.resources",
    "CeligoWriteUnclearError": "airflow_provider_celigo.exceptions",
    "ResourceType": "airflow_provider_celigo.resource_types",
    "celigo_flow_asset": "airflow_provider_celigo.assets",
    "celigo_flow_runs_asset": "airflow_provider_celigo.assets",
    "celigo_pool_policy": "airflow_provider_celigo.pools",
}

__all__ = [
    "CeligoApiError",
    "CeligoAsyncHook",
    "CeligoCloneExportOperator",
    "CeligoCloneFlowOperator",
    "CeligoCloneImportOperator",
    "CeligoCloneIntegrationOperator",
    "CeligoConfigError",
    "CeligoCreateResourceOperator",
    "CeligoDeleteLookupCacheEntriesOperator",
    "CeligoDeleteResourceOperator",
    "CeligoDeleteStateOperator",
    "CeligoError",
    "CeligoExportAuditLogOperator",
    "CeligoFlowRunEventTrigger",
    "CeligoFlowRunSensor",
    "CeligoFlowStateOperator",
    "CeligoGetLookupCacheEntriesOperator",
    "CeligoGetResourceOperator",
    "CeligoGetStateOperator",
    "CeligoHook",
    "CeligoInviteUserOperator",
    "CeligoJobError",
    "CeligoJobLink",
    "CeligoJobSensor",
    "CeligoJobTrigger",
    "CeligoListResourcesOperator",
    "CeligoListUsersOperator",
    "CeligoNotFoundError",
    "CeligoOpenErrorsExceeded",
    "CeligoOpenErrorsSensor",
    "CeligoPersistIntegrationAppSettingsOperator",
    "CeligoPingConnectionOperator",
    "CeligoPutStateOperator",
    "CeligoRegisterConnectionsOperator",
    "CeligoRemoveUserOperator",
    "CeligoResolveFlowErrorsOperator",
    "CeligoRestoreResourceOperator",
    "CeligoRetryFlowErrorsOperator",
    "CeligoRunFlowOperator",
    "CeligoRunIntegrationFlowsOperator",
    "CeligoRunUnclearError",
    "CeligoSetConnectionConcurrencyOperator",
    "CeligoTokenOperator",
    "CeligoUpdateIntegrationSettingsOperator",
    "CeligoUpdateResourceOperator",
    "CeligoUpdateUserOperator",
    "CeligoUpsertLookupCacheEntriesOperator",
    "CeligoWriteUnclearError",
    "ResourceType",
    "__version__",
    "celigo_flow_asset",
    "celigo_flow_runs_asset",
    "celigo_pool_policy",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'airflow_provider_celigo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from airflow_provider_celigo.assets import celigo_flow_asset, celigo_flow_runs_asset
    from airflow_provider_celigo.exceptions import (
        CeligoApiError,
        CeligoConfigError,
        CeligoError,
        CeligoJobError,
        CeligoNotFoundError,
        CeligoRunUnclearError,
        CeligoWriteUnclearError,
    )
    from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook
    from airflow_provider_celigo.links import CeligoJobLink
    from airflow_provider_celigo.operators.account import (
        CeligoInviteUserOperator,
        CeligoListUsersOperator,
        CeligoPersistIntegrationAppSettingsOperator,
        CeligoRegisterConnectionsOperator,
        CeligoRemoveUserOperator,
        CeligoTokenOperator,
        CeligoUpdateIntegrationSettingsOperator,
        CeligoUpdateUserOperator,
    )
    from airflow_provider_celigo.operators.audit import CeligoExportAuditLogOperator
    from airflow_provider_celigo.operators.flows import (
        CeligoFlowStateOperator,
        CeligoRunFlowOperator,
        CeligoRunIntegrationFlowsOperator,
    )
    from airflow_provider_celigo.operators.integrations import (
        CeligoCloneExportOperator,
        CeligoCloneFlowOperator,
        CeligoCloneImportOperator,
        CeligoCloneIntegrationOperator,
    )
    from airflow_provider_celigo.operators.resources import (
        CeligoCreateResourceOperator,
        CeligoDeleteLookupCacheEntriesOperator,
        CeligoDeleteResourceOperator,
        CeligoDeleteStateOperator,
        CeligoGetLookupCacheEntriesOperator,
        CeligoGetResourceOperator,
        CeligoGetStateOperator,
        CeligoListResourcesOperator,
        CeligoPingConnectionOperator,
        CeligoPutStateOperator,
        CeligoResolveFlowErrorsOperator,
        CeligoRestoreResourceOperator,
        CeligoRetryFlowErrorsOperator,
        CeligoSetConnectionConcurrencyOperator,
        CeligoUpdateResourceOperator,
        CeligoUpsertLookupCacheEntriesOperator,
    )
    from airflow_provider_celigo.pools import celigo_pool_policy
    from airflow_provider_celigo.resource_types import ResourceType
    from airflow_provider_celigo.sensors.errors import CeligoOpenErrorsExceeded, CeligoOpenErrorsSensor
    from airflow_provider_celigo.sensors.jobs import CeligoFlowRunSensor, CeligoJobSensor
    from airflow_provider_celigo.triggers.events import CeligoFlowRunEventTrigger
    from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger
