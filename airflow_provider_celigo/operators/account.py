"""Operators for the account side of integrator.io: registered connections, integration settings, users and
the tokens of API tokens and agents.

Each is a thin call of one ``CeligoHook`` method (``hooks/_account.py``), which says where its endpoint comes
from and how sure that is (H/M/L; see the README's table). A token is never logged, and reaches XCom only with
``return_token=True``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.operators.base import CeligoBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = [
    "CeligoInviteUserOperator",
    "CeligoListUsersOperator",
    "CeligoPersistIntegrationAppSettingsOperator",
    "CeligoRegisterConnectionsOperator",
    "CeligoRemoveUserOperator",
    "CeligoTokenOperator",
    "CeligoUpdateIntegrationSettingsOperator",
    "CeligoUpdateUserOperator",
]

TokenOwner = Literal["accesstokens", "agents"]
TokenAction = Literal["display", "generate"]
HIDDEN = "***"


def _id_list(value: Any, what: str) -> list[str]:
    """Return a list of ids from a list, one id, or a JSON array text (a template rendered as text)."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise CeligoConfigError(f"{what} is not a valid JSON list of ids: {error}") from None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise CeligoConfigError(f"{what} must be a list of integrator.io ids, got {type(value).__name__}")
    return [str(item) for item in value]


# -- registered connections and settings -------------------------------------------------------------------


class CeligoRegisterConnectionsOperator(CeligoBaseOperator):
    """Register connections with an integration (and optionally deregister others); return
    ``{"integration_id", "registered_connection_ids"}`` as they are afterwards.

    Registering is idempotent; this is the step after a clone that makes the customer's connections the
    integration's own (endpoints from the integrator.io UI and the official CLI, confidence M).

    :param integration_id: the integration (templated).
    :param connection_ids: connection ids to register (templated; a list, or an upstream task's output).
    :param deregister_ids: connection ids to deregister (templated); ones not registered are skipped.
    """

    template_fields: Sequence[str] = ("integration_id", "connection_ids", "deregister_ids")
    ui_color = "#e8f7e4"

    def __init__(
        self,
        *,
        integration_id: str,
        connection_ids: Any = None,
        deregister_ids: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if connection_ids is None and deregister_ids is None:
            raise CeligoConfigError("give connection_ids to register, deregister_ids to deregister, or both")
        self.integration_id = integration_id
        self.connection_ids = connection_ids
        self.deregister_ids = deregister_ids

    def execute(self, context: Context) -> dict[str, Any]:
        rid = self.integration_id
        registered: list[str] | None = None
        if self.connection_ids is not None:
            registered = self.hook.register_connections(rid, _id_list(self.connection_ids, "connection_ids"))
        if self.deregister_ids is not None:
            for cid in _id_list(self.deregister_ids, "deregister_ids"):
                self.hook.deregister_connection(rid, cid, missing_ok=True)
            registered = None
        if registered is None:
            registered = self.hook.get_registered_connection_ids(rid)
        return {"integration_id": rid, "registered_connection_ids": registered}


class CeligoUpdateIntegrationSettingsOperator(CeligoBaseOperator):
    """Change a DIY integration's ``settings`` (merged, or replaced with ``replace=True``); return
    ``{"integration_id", "settings", "mode", "integration_app"}`` afterwards.

    ``mode`` is an integration app's life-cycle state (``install``, ``settings`` = installed, ``uninstall``;
    integration.md, H). Integration apps are refused: use ``CeligoPersistIntegrationAppSettingsOperator``.

    :param integration_id: the integration (templated).
    :param settings: the changes (templated; a dict or a JSON object text); ``None`` values remove keys.
    :param replace: make ``settings`` the whole settings object instead of merging it in.
    """

    template_fields: Sequence[str] = ("integration_id", "settings")
    template_fields_renderers = {"settings": "json"}

    def __init__(self, *, integration_id: str, settings: Any, replace: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration_id = integration_id
        self.settings = settings
        self.replace = replace

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_celigo._documents import as_json_object

        changes = as_json_object(self.settings, "settings")
        return self.hook.update_integration_settings(self.integration_id, changes, replace=self.replace)


class CeligoPersistIntegrationAppSettingsOperator(CeligoBaseOperator):
    """Save an integration app's settings through ``PUT /integrations/{id}/settings/persistSettings`` with
    ``{"pending": ...}`` (integrator.io UI, confidence M); return integrator.io's answer.

    :param integration_id: the integration app (templated).
    :param pending: the setting fields, as the app's settings form names them (templated).
    """

    template_fields: Sequence[str] = ("integration_id", "pending")
    template_fields_renderers = {"pending": "json"}

    def __init__(self, *, integration_id: str, pending: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration_id = integration_id
        self.pending = pending

    def execute(self, context: Context) -> Any:
        from airflow_provider_celigo._documents import as_json_object

        return self.hook.persist_integration_app_settings(self.integration_id, as_json_object(self.pending, "pending"))


# -- users ---------------------------------------------------------------------------------------------------


class CeligoListUsersOperator(CeligoBaseOperator):
    """Return the account's user records (``GET /ashares``, H), or those who can reach one integration.

    :param integration_id: only the users with access to this integration (templated).
    """

    template_fields: Sequence[str] = ("integration_id",)

    def __init__(self, *, integration_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration_id = integration_id

    def execute(self, context: Context) -> list[dict[str, Any]]:
        users = list(self.hook.iter_users(integration_id=self.integration_id or None))
        self.log.info("Found %d user(s)", len(users))
        return users


class CeligoInviteUserOperator(CeligoBaseOperator):
    """Invite someone to the account (``POST /invite``, H); return the new user record.

    :param user_email: the person's e-mail (templated; not ``email``, which Airflow keeps for failure alerts).
    :param access_level: ``administrator``, ``manage`` or ``monitor`` (templated).
    :param integration_access: ``{integration id: "manage" | "monitor"}`` (templated).
    :param if_exists: for someone who already has access: ``"fail"`` (default) or ``"return"`` their record.
    :param options: ``accountMFARequired``, ``accountSSORequired``, ``allowAccessToAPIM``,
        ``allowToEditRetryData`` (booleans).
    """

    template_fields: Sequence[str] = ("user_email", "access_level", "integration_access")

    def __init__(
        self,
        *,
        user_email: str,
        access_level: str | None = None,
        integration_access: Any = None,
        if_exists: Literal["fail", "return"] = "fail",
        options: dict[str, bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.user_email = user_email
        self.access_level = access_level
        self.integration_access = integration_access
        self.if_exists = if_exists
        self.options = dict(options or {})

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_celigo._documents import as_json_object

        grants = as_json_object(self.integration_access, "integration_access") if self.integration_access else None
        return self.hook.invite_user(
            self.user_email,
            access_level=self.access_level or None,
            integration_access=grants,
            if_exists=self.if_exists,
            **self.options,
        )


class CeligoUpdateUserOperator(CeligoBaseOperator):
    """Change a user's access and/or disable or enable them; return the user record afterwards.

    :param user: the user's e-mail or access-record id (templated).
    :param access_level: a new account-wide level (templated).
    :param integration_access: new per-integration grants, replacing the old ones (templated).
    :param disabled: True disables the user (keeps the record, blocks access), False enables them.
    :param options: booleans as for ``CeligoInviteUserOperator``.
    """

    template_fields: Sequence[str] = ("user", "access_level", "integration_access")

    def __init__(
        self,
        *,
        user: str,
        access_level: str | None = None,
        integration_access: Any = None,
        disabled: bool | None = None,
        options: dict[str, bool] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if access_level is None and integration_access is None and disabled is None and not options:
            raise CeligoConfigError("nothing to change: give access_level, integration_access, disabled or options")
        self.user = user
        self.access_level = access_level
        self.integration_access = integration_access
        self.disabled = disabled
        self.options = dict(options or {})

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_celigo._documents import as_json_object

        record: dict[str, Any] | None = None
        if self.access_level or self.integration_access is not None or self.options:
            grants = None
            if self.integration_access is not None:
                grants = as_json_object(self.integration_access or {}, "integration_access")
            record = self.hook.update_user(
                self.user, access_level=self.access_level or None, integration_access=grants, **self.options
            )
        if self.disabled is not None:
            record = self.hook.set_user_disabled(record["_id"] if record else self.user, self.disabled)
        return record if record is not None else self.hook.get_user(self.user)


class CeligoRemoveUserOperator(CeligoBaseOperator):
    """Remove a user from the account (``DELETE /ashares/{id}``, H); return True, or False when there was none.

    :param user: the user's e-mail or access-record id (templated).
    :param missing_ok: succeed when there is no such user (default False: fail).
    """

    template_fields: Sequence[str] = ("user",)
    ui_color = "#fbe4e4"

    def __init__(self, *, user: str, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user
        self.missing_ok = missing_ok

    def execute(self, context: Context) -> bool:
        return self.hook.remove_user(self.user, missing_ok=self.missing_ok)


# -- tokens --------------------------------------------------------------------------------------------------


class CeligoTokenOperator(CeligoBaseOperator):
    """Display or generate the token of an API token or an on-premise agent, for credential rotation; return
    ``{"resource_type", "resource_id", "action", "token"}`` with ``token`` shown as ``***``.

    Endpoints (integrator.io UI, confidence M): API tokens ``GET /accesstokens/{id}/display`` and
    ``POST .../generate``; agents ``GET /agents/{id}/display-token`` and ``PUT .../change-token``. The token is
    registered with Airflow's secret masker and never logged. Hand it on with ``on_token`` (e.g. a function that
    writes it to your secrets backend); only ``return_token=True`` puts it in XCom, where anyone who can read
    the run's XCom sees it.

    :param resource_type: ``"accesstokens"`` or ``"agents"``.
    :param resource_id: the API token's or agent's id (templated).
    :param action: ``"display"`` (read the current token) or ``"generate"`` (a new one; the old stops working).
    :param on_token: called with the token, in the worker.
    :param return_token: return the token itself instead of ``***`` (it is then stored in XCom).
    """

    template_fields: Sequence[str] = ("resource_id",)

    def __init__(
        self,
        *,
        resource_type: TokenOwner,
        resource_id: str,
        action: TokenAction = "display",
        on_token: Callable[[str], Any] | None = None,
        return_token: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if resource_type not in ("accesstokens", "agents"):
            raise CeligoConfigError(f"resource_type must be 'accesstokens' or 'agents', got {resource_type!r}")
        if action not in ("display", "generate"):
            raise CeligoConfigError(f"action must be 'display' or 'generate', got {action!r}")
        if on_token is not None and not callable(on_token):
            raise CeligoConfigError("on_token must be a function that takes the token")
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.action = action
        self.on_token = on_token
        self.return_token = return_token

    def execute(self, context: Context) -> dict[str, Any]:
        hook = self.hook
        calls = {
            ("accesstokens", "display"): hook.display_access_token,
            ("accesstokens", "generate"): hook.generate_access_token,
            ("agents", "display"): hook.display_agent_token,
            ("agents", "generate"): hook.change_agent_token,
        }
        token = calls[(self.resource_type, self.action)](self.resource_id)
        if self.on_token is not None:
            self.on_token(str(token))
        if self.return_token:
            self.log.warning("Returning the token of %s %s: it is stored in XCom", self.resource_type, self.resource_id)
        return {
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "action": self.action,
            "token": str(token) if self.return_token else HIDDEN,
        }
