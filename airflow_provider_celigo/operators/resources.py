"""Operators that manage integrator.io resources: CRUD for every type, state, lookup caches, connection
pings, flow step errors and the recycle bin.

Each operator is a thin call of one ``CeligoHook`` method (see ``hooks/resources.py``), so the same
work can be done from ``@task`` code with ``CeligoHook().<method>(...)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_celigo.exceptions import CeligoConfigError, CeligoError
from airflow_provider_celigo.operators.base import CeligoBaseOperator
from airflow_provider_celigo.resource_types import ResourceType, as_resource_type

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_celigo.hooks._resources import IfExists, MaskedSecrets, UpdateStrategy

__all__ = [
    "CeligoCreateResourceOperator",
    "CeligoDeleteLookupCacheEntriesOperator",
    "CeligoDeleteResourceOperator",
    "CeligoDeleteStateOperator",
    "CeligoGetLookupCacheEntriesOperator",
    "CeligoGetResourceOperator",
    "CeligoGetStateOperator",
    "CeligoListResourcesOperator",
    "CeligoPingConnectionOperator",
    "CeligoPutStateOperator",
    "CeligoResolveFlowErrorsOperator",
    "CeligoRestoreResourceOperator",
    "CeligoRetryFlowErrorsOperator",
    "CeligoSetConnectionConcurrencyOperator",
    "CeligoUpdateResourceOperator",
    "CeligoUpsertLookupCacheEntriesOperator",
]


def _optional_type(value: ResourceType | str | None) -> ResourceType | None:
    return None if value is None else as_resource_type(value)


# -- resources ------------------------------------------------------------------------------------------


class CeligoCreateResourceOperator(CeligoBaseOperator):
    """Create a resource; return it as integrator.io stored it (secrets masked).

    Refuses to create a second resource with the same ``name`` (see ``if_exists``).

    :param resource_type: ``connections``, ``exports``, ``imports``, ``flows``, ``integrations``, ``scripts``,
        ``lookupcaches``, ``agents``, ``iclients``, ``stacks``, ``apis``, ``accesstokens`` or ``tags``.
    :param body: the resource document (templated; a dict or a JSON object string).
    :param if_exists: when a resource of the type already has the body's ``name``: ``"fail"`` (default),
        ``"return"`` (return the existing one) or ``"create"`` (create anyway).
    """

    template_fields: Sequence[str] = ("body", "if_exists")
    template_fields_renderers = {"body": "json"}
    ui_color = "#e8f7e4"

    def __init__(
        self, *, resource_type: ResourceType | str, body: Any, if_exists: IfExists = "fail", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.resource_type = as_resource_type(resource_type)
        self.body = body
        self.if_exists = if_exists

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_celigo._documents import as_json_object

        body = as_json_object(self.body)
        return self.hook.create_resource(self.resource_type, body, if_exists=self.if_exists)


class _OneResourceOperator(CeligoBaseOperator):
    template_fields: Sequence[str] = ("resource_id",)

    def __init__(self, *, resource_type: ResourceType | str, resource_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resource_type = as_resource_type(resource_type)
        self.resource_id = resource_id


class CeligoGetResourceOperator(_OneResourceOperator):
    """Return one resource (secrets masked); fails with a clear error when it does not exist.

    :param resource_type: the resource type (see ``CeligoCreateResourceOperator``).
    :param resource_id: its id (templated).
    """

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.get_resource(self.resource_type, self.resource_id)


class CeligoListResourcesOperator(CeligoBaseOperator):
    """Return the resources of a type, following every page.

    :param resource_type: the resource type (see ``CeligoCreateResourceOperator``).
    :param filters: integrator.io query parameters, e.g. ``{"disabled": "false"}`` (templated).
    :param integration_id: only this integration's flows, connections, exports or imports (templated).
    :param limit: stop after this many resources (default: all).
    """

    template_fields: Sequence[str] = ("filters", "integration_id")
    template_fields_renderers = {"filters": "json"}

    def __init__(
        self,
        *,
        resource_type: ResourceType | str,
        filters: dict[str, Any] | str | None = None,
        integration_id: str | None = None,
        limit: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.resource_type = as_resource_type(resource_type)
        self.filters = filters
        self.integration_id = integration_id
        self.limit = limit

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from airflow_provider_celigo._documents import as_json_object

        filters = as_json_object(self.filters, "filters") if self.filters else None
        found = self.hook.list_resources(
            self.resource_type, filters, integration_id=self.integration_id or None, limit=self.limit
        )
        self.log.info("Found %d %s", len(found), self.resource_type.value)
        return found


class CeligoUpdateResourceOperator(_OneResourceOperator):
    """Change some fields of an existing resource and return the result; fails when it does not exist.

    ``body`` is a partial document merged into the current one (nested objects merge, lists and other
    values replace, ``None`` removes a field). integrator.io gets a JSON Patch when it accepts one for every
    changed field, otherwise the merged full document; fields the body does not mention are never erased.
    A masked secret (``******``) is never written back: a body containing one is refused, and so is a full
    update that would need a secret integrator.io only shows masked (unless ``masked_secrets="drop"``).

    :param resource_type: the resource type (see ``CeligoCreateResourceOperator``).
    :param resource_id: its id (templated).
    :param body: the changes (templated; a dict or a JSON object string).
    :param strategy: ``"auto"`` (default), ``"patch"`` (only a JSON Patch) or ``"put"`` (always merge and PUT).
    :param masked_secrets: ``"refuse"`` (default) or ``"drop"``: send a full update without the secrets
        integrator.io masks (a full replace then erases them).
    """

    template_fields: Sequence[str] = ("resource_id", "body", "strategy")
    template_fields_renderers = {"body": "json"}

    def __init__(
        self,
        *,
        body: Any,
        strategy: UpdateStrategy = "auto",
        masked_secrets: MaskedSecrets = "refuse",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.body = body
        self.strategy = strategy
        self.masked_secrets = masked_secrets

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_celigo._documents import as_json_object

        changes = as_json_object(self.body)
        return self.hook.update_resource(
            self.resource_type,
            self.resource_id,
            changes,
            strategy=self.strategy,
            masked_secrets=self.masked_secrets,
        )


class CeligoDeleteResourceOperator(_OneResourceOperator):
    """Delete a resource (integrator.io keeps it in the recycle bin for 30 days); return whether it existed.

    :param resource_type: the resource type (see ``CeligoCreateResourceOperator``).
    :param resource_id: its id (templated).
    :param missing_ok: succeed (logging it) when the resource does not exist (default False: fail).
    """

    ui_color = "#fbe4e4"

    def __init__(self, *, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.missing_ok = missing_ok

    def execute(self, context: Context) -> bool:
        return self.hook.delete_resource(self.resource_type, self.resource_id, missing_ok=self.missing_ok)


class CeligoRestoreResourceOperator(_OneResourceOperator):
    """Restore a deleted resource from the recycle bin, with what was deleted along with it.

    :param resource_type: the resource type (see ``CeligoCreateResourceOperator``).
    :param resource_id: its id (templated).
    """

    def execute(self, context: Context) -> Any:
        return self.hook.restore_resource(self.resource_type, self.resource_id)


# -- state ----------------------------------------------------------------------------------------------


class _StateOperator(CeligoBaseOperator):
    template_fields: Sequence[str] = ("key", "resource_id")

    def __init__(
        self,
        *,
        key: str,
        resource_type: ResourceType | str | None = None,
        resource_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.resource_type = _optional_type(resource_type)
        self.resource_id = resource_id
        if (self.resource_type is None) != (resource_id is None):
            raise CeligoConfigError("per-resource state needs both resource_type and resource_id")

    def _where(self) -> dict[str, Any]:
        return {"resource_type": self.resource_type, "resource_id": self.resource_id or None}


class CeligoPutStateOperator(_StateOperator):
    """Store a JSON value under an integrator.io state key (global ``/state/{key}``, or per resource).

    :param key: the state key (templated).
    :param value: any JSON value (templated; XComArg works).
    :param resource_type: with ``resource_id``, use that resource's state (``/{type}/{id}/state/{key}``).
    :param resource_id: the resource whose state to use (templated).
    """

    template_fields: Sequence[str] = ("key", "value", "resource_id")
    template_fields_renderers = {"value": "json"}

    def __init__(self, *, key: str, value: Any, **kwargs: Any) -> None:
        super().__init__(key=key, **kwargs)
        self.value = value

    def execute(self, context: Context) -> None:
        self.hook.put_state(self.key, self.value, **self._where())
        self.log.info("Stored state key %r", self.key)


class _MissingOkStateOperator(_StateOperator):
    def __init__(self, *, key: str, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(key=key, **kwargs)
        self.missing_ok = missing_ok


class CeligoGetStateOperator(_MissingOkStateOperator):
    """Return the value of an integrator.io state key.

    :param key: the state key (templated).
    :param missing_ok: return None when the key is not set (default False: fail).
    :param resource_type: with ``resource_id`` (templated), that resource's state (see ``CeligoPutStateOperator``).
    """

    def execute(self, context: Context) -> Any:
        return self.hook.get_state(self.key, missing_ok=self.missing_ok, **self._where())


class CeligoDeleteStateOperator(_MissingOkStateOperator):
    """Delete an integrator.io state key; return whether it was set.

    :param key: the state key (templated).
    :param missing_ok: succeed when the key is not set (default False: fail).
    :param resource_type: with ``resource_id`` (templated), that resource's state (see ``CeligoPutStateOperator``).
    """

    def execute(self, context: Context) -> bool:
        return self.hook.delete_state(self.key, missing_ok=self.missing_ok, **self._where())


# -- lookup caches --------------------------------------------------------------------------------------


class CeligoUpsertLookupCacheEntriesOperator(CeligoBaseOperator):
    """Add or overwrite lookup-cache entries (sent in batches of 1000); return how many were sent.

    :param lookup_cache_id: the lookup cache (templated).
    :param entries: a ``{key: value}`` mapping, a list of ``{"key", "value"}`` dicts or of ``(key, value)``
        pairs (templated; an XComArg from a warehouse query works).
    """

    template_fields: Sequence[str] = ("lookup_cache_id", "entries")
    template_fields_renderers = {"entries": "json"}

    def __init__(self, *, lookup_cache_id: str, entries: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lookup_cache_id = lookup_cache_id
        self.entries = entries

    def execute(self, context: Context) -> int:
        return self.hook.upsert_lookup_cache_entries(self.lookup_cache_id, self.entries)


class _LookupCacheKeysOperator(CeligoBaseOperator):
    template_fields: Sequence[str] = ("lookup_cache_id", "keys")

    def __init__(self, *, lookup_cache_id: str, keys: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lookup_cache_id = lookup_cache_id
        self.keys = keys


class CeligoGetLookupCacheEntriesOperator(_LookupCacheKeysOperator):
    """Return ``{key: value}`` for the requested lookup-cache keys that exist.

    :param lookup_cache_id: the lookup cache (templated).
    :param keys: the keys to read (templated; a list, or one key).
    """

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.get_lookup_cache_entries(self.lookup_cache_id, self.keys)


class CeligoDeleteLookupCacheEntriesOperator(_LookupCacheKeysOperator):
    """Delete lookup-cache entries by key (in batches of 1000); return how many keys were sent.

    :param lookup_cache_id: the lookup cache (templated).
    :param keys: the keys to delete (templated; a list, or one key).
    """

    def execute(self, context: Context) -> int:
        return self.hook.delete_lookup_cache_entries(self.lookup_cache_id, self.keys)


# -- connections ----------------------------------------------------------------------------------------


class CeligoPingConnectionOperator(CeligoBaseOperator):
    """Ping a connection in integrator.io and fail with the reason when it is offline or the ping fails.

    A pre-flight check to put before the tasks that run flows using the connection. Returns
    ``{"connection_id", "name", "ok", "offline", "reason"}``.

    :param connection_id: the integrator.io connection (templated), not an Airflow connection id.
    """

    template_fields: Sequence[str] = ("connection_id",)

    def __init__(self, *, connection_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connection_id = connection_id

    def execute(self, context: Context) -> dict[str, Any]:
        result = self.hook.ping_connection(self.connection_id)
        label = f"{result['name']!r} ({result['connection_id']})" if result.get("name") else result["connection_id"]
        if not result["ok"]:
            raise CeligoError(f"Celigo connection {label} is not usable: {result['reason']}")
        self.log.info("Celigo connection %s answered its ping", label)
        return result


class CeligoSetConnectionConcurrencyOperator(CeligoBaseOperator):
    """Set a Celigo connection's own concurrency toward its application; return the updated connection.

    The integrator.io fields ``<type>.concurrencyLevel`` and ``_borrowConcurrencyFromConnectionId`` (what the
    connection page calls "Concurrency level" and "Borrow concurrency from"), not the provider's own
    ``concurrency_level`` extra. Tried as a JSON Patch, which leaves the secrets alone; when integrator.io
    refuses that, the connection is PUT whole, which needs its secrets (see ``CeligoHook.set_connection_concurrency``).

    :param connection_id: the integrator.io connection (templated), not an Airflow connection id.
    :param concurrency_level: the level (templated; integrator.io clamps it to the licence's maximum).
    :param borrow_concurrency_from: a connection id whose slots to share, or ``False`` to stop borrowing
        (templated; default unchanged).
    :param secrets_variable: the name of an Airflow Variable (JSON) holding the connection's real secrets for a
        full PUT, as a partial document such as ``{"http": {"auth": {"token": {"token": "..."}}}}``; read when the
        task runs, never templated or stored on the task. Default: none (a PUT that needs them is refused).
    :param masked_secrets: ``"refuse"`` (default) or ``"drop"`` (a full PUT then erases the secrets).
    """

    template_fields: Sequence[str] = ("connection_id", "concurrency_level", "borrow_concurrency_from")

    def __init__(
        self,
        *,
        connection_id: str,
        concurrency_level: int | str | None = None,
        borrow_concurrency_from: str | bool | None = None,
        secrets_variable: str | None = None,
        masked_secrets: MaskedSecrets = "refuse",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.connection_id = connection_id
        self.concurrency_level = concurrency_level
        self.borrow_concurrency_from = borrow_concurrency_from
        self.secrets_variable = secrets_variable
        self.masked_secrets = masked_secrets

    def execute(self, context: Context) -> dict[str, Any]:
        level = self.concurrency_level
        if isinstance(level, str):  # rendered from a template
            if not level.strip().isdigit():
                raise CeligoConfigError(f"concurrency_level must be a whole number, got {level!r}")
            level = int(level)
        borrow = self.borrow_concurrency_from
        if borrow is True:
            raise CeligoConfigError("borrow_concurrency_from takes a connection id, or False to stop borrowing")
        secrets = None
        if self.secrets_variable:
            from airflow.sdk import Variable

            secrets = Variable.get(self.secrets_variable, deserialize_json=True)
        return self.hook.set_connection_concurrency(
            self.connection_id,
            concurrency_level=level,
            borrow_concurrency_from=borrow or (False if borrow is False else None),
            secrets=secrets,
            masked_secrets=self.masked_secrets,
        )


# -- flow step errors -----------------------------------------------------------------------------------


class CeligoRetryFlowErrorsOperator(CeligoBaseOperator):
    """Retry a flow step's errors (in batches of 1000); return the ids of the retry jobs integrator.io started.

    :param flow_id: the flow (templated).
    :param step_id: the export or import whose errors to retry (templated).
    :param retry_data_keys: which errors (their ``retryDataKey``); default every open error of the step.
    """

    template_fields: Sequence[str] = ("flow_id", "step_id", "retry_data_keys")

    def __init__(
        self, *, flow_id: str, step_id: str, retry_data_keys: list[str] | str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.flow_id = flow_id
        self.step_id = step_id
        self.retry_data_keys = retry_data_keys

    def execute(self, context: Context) -> list[str]:
        return self.hook.retry_step_errors(self.flow_id, self.step_id, self.retry_data_keys or None)


class CeligoResolveFlowErrorsOperator(CeligoBaseOperator):
    """Mark a flow step's errors resolved (in batches of 1000); return how many were sent.

    :param flow_id: the flow (templated).
    :param step_id: the export or import whose errors to resolve (templated).
    :param error_ids: which errors (their ``errorId``); default every open error of the step.
    """

    template_fields: Sequence[str] = ("flow_id", "step_id", "error_ids")

    def __init__(self, *, flow_id: str, step_id: str, error_ids: list[str] | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow_id = flow_id
        self.step_id = step_id
        self.error_ids = error_ids

    def execute(self, context: Context) -> int:
        return self.hook.resolve_step_errors(self.flow_id, self.step_id, self.error_ids or None)
