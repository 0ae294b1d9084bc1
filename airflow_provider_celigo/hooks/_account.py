"""Hook methods for the account side of integrator.io: audit log, integration settings, registered connections,
users, and the token extras of API tokens and agents.

``AccountMethods`` is mixed into ``CeligoHook``; the operators in ``operators/account.py`` and
``operators/audit.py`` are thin calls of these methods. Where each endpoint comes from and how sure that is
(H: official text or two agreeing sources; M: one credible source, here mostly the integrator.io UI's own
code; L: weak) is said per method and in the README; the table of sources is the reference's fidelity audit.

A token these methods return (``display_access_token`` ...) is registered with Airflow's secret masker before
it is returned and is a ``SecretToken``, whose ``repr`` hides it; nothing here logs it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_celigo._documents import as_json_object, deep_merge
from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, CeligoNotFoundError
from airflow_provider_celigo.hooks._transport.clients import mask_token
from airflow_provider_celigo.hooks._transport.responses import not_found_means
from airflow_provider_celigo.hooks._transport.retry import Found
from airflow_provider_celigo.jobs.status import iso_millis, parse_time
from airflow_provider_celigo.resource_types import ResourceType, as_resource_type
from airflow_provider_celigo.user_fields import (
    ACCESS_LEVELS,
    INTEGRATION_ACCESS_LEVELS,
    USER_OPTIONS,
    USER_WRITABLE_FIELDS,
)

if TYPE_CHECKING:
    from airflow.sdk.types import Logger

    from airflow_provider_celigo.hooks._resources import Look

#: What an integration's ``mode`` says (integration.md, H): where an integration app is in its life cycle.
INTEGRATION_MODES = {
    "install": "installation has started and install steps remain; the app is not usable yet",
    "settings": "installed: the app runs and its settings can be changed (the normal state)",
    "uninstall": "uninstallation has started; the app is being removed",
}
IfUserExists = Literal["fail", "return"]


class SecretToken(str):
    """A token returned by integrator.io: a ``str`` whose ``repr`` does not show it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SecretToken('***')"


def audit_resource_type(value: ResourceType | str) -> str:
    """Return the audit log's ``resourceType`` for a type: ``flows``/``Flow`` -> ``flow``, ``lookupcaches`` ->
    ``lookupCache``; any other text is passed as is (the audit log also covers users, stacks ...).

    Singular model names follow the UI's audit fixtures (``flow``, ``script``; M); the casing of multi-word
    models (``lookupCache``) is a guess.
    """
    if isinstance(value, str) and not value.strip():
        raise CeligoConfigError("resource_type must be a resource type such as 'flows', got an empty text")
    try:
        model = as_resource_type(value).model
    except CeligoConfigError:
        return str(value).strip()
    return model[:1].lower() + model[1:]


def as_moment(value: datetime | str | None, what: str) -> datetime | None:
    """Return a datetime, an ISO-8601 text or None as an aware datetime (naive = UTC), or None.

    Raises CeligoConfigError for a text that is not a date/time.
    """
    if value is None or value == "":
        return None
    moment = parse_time(value)
    if moment is None:
        raise CeligoConfigError(f"{what} {value!r} is not a date/time: pass a datetime or ISO-8601 text")
    return moment


def _text_filter(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CeligoConfigError(f"{what} must be a non-empty text, got {value!r}")
    return value.strip()


def _token_of(answer: Any, what: str, path: str) -> SecretToken:
    """Return the ``token`` of an answer as a masked SecretToken. Raises CeligoApiError when it has none."""
    token = answer.get("token") if isinstance(answer, Mapping) else None
    if not isinstance(token, str) or not token:
        raise CeligoApiError(
            status=200,
            method="GET",
            path=f"/v1{path}",
            code="unexpected_content",
            message=f"the answer for {what} holds no token (expected an object with a 'token' text)",
        )
    mask_token(token)
    return SecretToken(token)


class AccountMethods:
    """Account methods mixed into ``CeligoHook``; they call ``self.request``, ``self.paginate`` and, for writes
    that must not happen twice, ``self._write`` (see ``hooks/_resources.py``)."""

    if TYPE_CHECKING:

        @property
        def log(self) -> Logger: ...

        def request(
            self, method: str, path: str, *, params: Any = None, json: Any = None, not_found: str | None = None
        ) -> Any: ...

        def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]: ...

        def _write(
            self, method: str, path: str, *, json: Any = None, look: Look, not_found: str | None = None
        ) -> Any: ...

        def _gone(self, path: str, description: str) -> Look: ...

        def get_resource(self, resource_type: ResourceType | str, resource_id: str) -> dict[str, Any]: ...

        def replace_resource(
            self, resource_type: ResourceType | str, resource_id: str, document: Mapping[str, Any]
        ) -> dict[str, Any]: ...

    # -- audit log (GET /audit, GET /{type}/{id}/audit: UI requestOptions + Celigo MCP api-reference, H) -----

    def iter_audit_log(
        self,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        resource_type: ResourceType | str | None = None,
        resource_id: str | None = None,
        user_id: str | None = None,
        source: str | None = None,
        action: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the account's audit entries, newest first, reading one page at a time (``Link`` paging).

        Filters map to integrator.io's ``from``, ``to``, ``resourceType``, ``_resourceId``, ``_byUserId``,
        ``source`` (``ui``, ``api``, ``connector``, ``stack``, ``system``) and ``action`` (``create``,
        ``update``, ``delete``). Entries look like ``{_id, resourceType, _resourceId, source, event, time,
        fieldChanges: [{fieldPath, oldValue, newValue}], byUser: {_id, email, name}}`` (UI fixtures, M).

        :raises CeligoConfigError: for a bad filter (a malformed id, ``since`` after ``until``).
        :raises CeligoApiError: integrator.io's refusals, and the paging errors of ``paginate``.
        """
        params = self._audit_params(since, until, resource_type, resource_id, user_id, source, action)
        yield from self.paginate("/audit", params)

    def iter_resource_audit_log(
        self,
        resource_type: ResourceType | str,
        resource_id: str,
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        user_id: str | None = None,
        source: str | None = None,
        action: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield one resource's audit entries, newest first (``GET /{type}/{id}/audit``; HC/UI, H/M).

        :raises CeligoNotFoundError: when integrator.io knows no such resource.
        :raises CeligoConfigError: for a bad type, id or filter.
        """
        kind = as_resource_type(resource_type)
        rid = check_id(resource_id, f"{kind.singular} id")
        params = self._audit_params(since, until, None, None, user_id, source, action)
        path = f"{kind.path}/{rid}/audit"
        with not_found_means(f"{kind.singular} {rid} does not exist"):
            yield from self.paginate(path, params)

    def _audit_params(
        self,
        since: datetime | str | None,
        until: datetime | str | None,
        resource_type: ResourceType | str | None,
        resource_id: str | None,
        user_id: str | None,
        source: str | None,
        action: str | None,
    ) -> dict[str, Any]:
        start, end = as_moment(since, "since"), as_moment(until, "until")
        if start is not None and end is not None and start > end:
            raise CeligoConfigError(f"since ({iso_millis(start)}) is after until ({iso_millis(end)}): swap them")
        params: dict[str, Any] = {
            "from": iso_millis(start) if start else None,
            "to": iso_millis(end) if end else None,
            "resourceType": audit_resource_type(resource_type) if resource_type is not None else None,
            "_resourceId": check_id(resource_id, "resource_id") if resource_id is not None else None,
            "_byUserId": check_id(user_id, "user_id") if user_id is not None else None,
            "source": _text_filter(source, "source"),
            "action": _text_filter(action, "action"),
        }
        return {key: value for key, value in params.items() if value is not None}

    def export_audit_log(
        self,
        path: str | os.PathLike[str],
        *,
        since: datetime | str,
        until: datetime | str,
        **filters: Any,
    ) -> dict[str, Any]:
        """Write the audit entries of ``[since, until)`` to ``path`` as JSON lines, one page at a time; return
        ``{"path", "entries", "since", "until"}``.

        Entries are written as they arrive (never all in memory) to a temporary file next to ``path`` that
        replaces it only once the listing is complete, so a failed export leaves no partial file. The window is
        half-open: an entry at exactly ``until`` belongs to the next window (consecutive data intervals do not
        repeat it). ``filters`` are those of ``iter_audit_log``.

        :raises CeligoConfigError: for a bad filter or window, or a ``path`` whose folder does not exist.
        :raises CeligoApiError: integrator.io's refusals (the file is then left as it was).
        """
        start, end = as_moment(since, "since"), as_moment(until, "until")
        if start is None or end is None:
            raise CeligoConfigError("export_audit_log needs both since and until (the window to export)")
        target = Path(path)
        if not target.parent.is_dir():
            raise CeligoConfigError(f"cannot write the audit export to {str(target)!r}: its folder does not exist")
        count = 0
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                for entry in self.iter_audit_window(start, end, **filters):
                    out.write(json.dumps(entry, separators=(",", ":"), ensure_ascii=False))
                    out.write("\n")
                    count += 1
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.log.info("Exported %d audit entries of [%s, %s) to %s", count, iso_millis(start), iso_millis(end), target)
        return {"path": str(target), "entries": count, "since": iso_millis(start), "until": iso_millis(end)}

    def iter_audit_window(self, since: datetime, until: datetime, **filters: Any) -> Iterator[dict[str, Any]]:
        """Yield the audit entries of the half-open window ``[since, until)``, newest first (see
        ``export_audit_log``); entries without a readable ``time`` are kept (integrator.io chose them)."""
        for entry in self.iter_audit_log(since=since, until=until, **filters):
            moment = parse_time(entry.get("time")) if isinstance(entry, Mapping) else None
            if moment is not None and moment >= until:
                continue
            yield entry

    # -- integration settings (integration.md, H; persistSettings: UI sagas/resources, M) ------------------

    def get_integration_settings(self, integration_id: str) -> dict[str, Any]:
        """Return ``{"integration_id", "settings", "mode", "integration_app"}`` of an integration.

        ``integration_app`` is True for an integration app (a SmartConnector: it has ``_connectorId``), whose
        settings are written with ``persist_integration_app_settings``; a DIY integration's ``settings`` is a
        plain field written with ``update_integration_settings``. ``mode`` (integration apps; see
        ``INTEGRATION_MODES``) is ``install``, ``settings`` or ``uninstall``, or None.

        :raises CeligoNotFoundError: when the integration does not exist.
        """
        integration = self.get_resource(ResourceType.INTEGRATIONS, integration_id)
        return _settings_view(integration)

    def update_integration_settings(
        self, integration_id: str, changes: Mapping[str, Any], *, replace: bool = False
    ) -> dict[str, Any]:
        """Change a DIY integration's ``settings`` and return the new ``get_integration_settings`` view.

        Reads the integration, merges ``changes`` into its ``settings`` (objects key by key, ``None`` removes
        a key) or, with ``replace=True``, makes ``changes`` the whole ``settings``, and writes the integration
        back with a full PUT. PUT of an integration is documented (H) and integrations hold no masked secrets,
        so nothing is lost; the PATCH whitelist ``/settings/**`` in ``resource_types.py`` is a guess (fidelity
        audit gap 7), so it is not relied on here.

        :raises CeligoConfigError: for a change that is not an object, or an integration app (use
            ``persist_integration_app_settings``).
        :raises CeligoNotFoundError: when the integration does not exist.
        """
        rid = check_id(integration_id, "integration id")
        settings = as_json_object(changes, "the settings")
        current = self.get_resource(ResourceType.INTEGRATIONS, rid)
        if current.get("_connectorId"):
            raise CeligoConfigError(
                f"integration {rid} is an integration app (it has _connectorId): its settings are saved through "
                "the app with persist_integration_app_settings (CeligoPersistIntegrationAppSettingsOperator)"
            )
        found = current.get("settings")
        old: dict[str, Any] = dict(found) if isinstance(found, Mapping) else {}
        new = dict(settings) if replace else deep_merge(old, settings)
        if new == old:
            self.log.info("integration %s already has these settings; nothing to update", rid)
            return _settings_view(current)
        updated = self.replace_resource(ResourceType.INTEGRATIONS, rid, {**current, "settings": new})
        self.log.info("Updated the settings of integration %s (%s)", rid, "replaced" if replace else "merged")
        return _settings_view(updated if isinstance(updated, Mapping) else {**current, "settings": new})

    def persist_integration_app_settings(self, integration_id: str, pending: Mapping[str, Any]) -> Any:
        """Save an integration app's settings: ``PUT /integrations/{id}/settings/persistSettings`` with
        ``{"pending": pending}`` (UI ``sagas/resources``, confidence M); return integrator.io's answer.

        ``pending`` holds the app's setting fields as its settings form names them; the app's backend
        validates and applies them. The answer's shape is undocumented (the UI only checks for errors).

        :raises CeligoConfigError: for a DIY integration (use ``update_integration_settings``) or a bad body.
        :raises CeligoNotFoundError: when the integration does not exist.
        """
        rid = check_id(integration_id, "integration id")
        body = as_json_object(pending, "pending")
        current = self.get_resource(ResourceType.INTEGRATIONS, rid)
        if not current.get("_connectorId"):
            raise CeligoConfigError(
                f"integration {rid} is not an integration app (it has no _connectorId): its settings are a plain "
                "field; change them with update_integration_settings (CeligoUpdateIntegrationSettingsOperator)"
            )
        answer = self.request(
            "PUT",
            f"/integrations/{rid}/settings/persistSettings",
            json={"pending": body},
            not_found=f"integration {rid} does not exist",
        )
        self.log.info("Saved %d pending setting(s) of integration app %s", len(body), rid)
        return answer

    # -- registered connections (UI sagas/resources + official CLI, M) ----------------------------------------

    def get_registered_connection_ids(self, integration_id: str) -> list[str]:
        """Return the ids of the connections registered with an integration (``_registeredConnectionIds``)."""
        integration = self.get_resource(ResourceType.INTEGRATIONS, integration_id)
        return [c for c in integration.get("_registeredConnectionIds") or [] if isinstance(c, str)]

    def register_connections(self, integration_id: str, connection_ids: Iterable[str]) -> list[str]:
        """Register connections with an integration (``PUT /integrations/{id}/connections/register`` with the
        list of ids; confidence M) and return the integration's registered connection ids afterwards.

        Registering a connection that is already registered changes nothing (the call is idempotent).

        :raises CeligoConfigError: for an empty list or a malformed id.
        :raises CeligoNotFoundError: when the integration does not exist.
        :raises CeligoApiError: integrator.io's refusal (e.g. an unknown connection).
        """
        rid = check_id(integration_id, "integration id")
        ids = _id_list(connection_ids, "connection_ids")
        self.request(
            "PUT",
            f"/integrations/{rid}/connections/register",
            json=ids,
            not_found=f"integration {rid} does not exist",
        )
        registered = self.get_registered_connection_ids(rid)
        self.log.info("Registered connection(s) %s with integration %s", ", ".join(ids), rid)
        return registered

    def deregister_connection(self, integration_id: str, connection_id: str, *, missing_ok: bool = False) -> bool:
        """Deregister one connection (``DELETE /integrations/{id}/connections/{cid}/register``; M); return True,
        or False when it was not registered and ``missing_ok`` is True.

        :raises CeligoNotFoundError: when the integration does not exist, or the connection is not registered
            and ``missing_ok`` is False.
        """
        rid = check_id(integration_id, "integration id")
        cid = check_id(connection_id, "connection id")
        if missing_ok and cid not in self.get_registered_connection_ids(rid):
            self.log.info("connection %s is not registered with integration %s; nothing to do", cid, rid)
            return False
        self.request(
            "DELETE",
            f"/integrations/{rid}/connections/{cid}/register",
            not_found=f"connection {cid} is not registered with integration {rid} (or the integration does not exist)",
        )
        self.log.info("Deregistered connection %s from integration %s", cid, rid)
        return True

    # -- users (GET /ashares, PUT|DELETE /ashares/{id}, .../disable, POST /invite: UI, BATON, Celigo, H) ----

    def iter_users(self, *, integration_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Yield the account's users (``GET /ashares``; the owner is not listed), or those who can reach one
        integration (``GET /integrations/{id}/ashares``). A user record's ``_id`` is its access-record id;
        the person is ``sharedWithUser`` (``_id``, ``email``, ``name``)."""
        if integration_id is None:
            yield from self.paginate("/ashares")
        else:
            yield from self.paginate(f"/integrations/{check_id(integration_id, 'integration id')}/ashares")

    def find_user(self, email: str) -> dict[str, Any] | None:
        """Return the user record whose e-mail is ``email`` (any case), or None."""
        wanted = _email(email).lower()
        for share in self.iter_users():
            person = share.get("sharedWithUser") if isinstance(share, Mapping) else None
            if isinstance(person, Mapping) and str(person.get("email", "")).lower() == wanted:
                return share
        return None

    def get_user(self, user: str) -> dict[str, Any]:
        """Return a user record by access-record id (``GET /ashares/{id}``, the official CLI's ``users get``; M)
        or by e-mail (found in ``GET /ashares``).

        :raises CeligoNotFoundError: when there is no such user.
        """
        if "@" in str(user):
            found = self.find_user(user)
            if found is None:
                raise CeligoNotFoundError(
                    status=404, method="GET", path="/v1/ashares", code="not_found", message=f"no user {user!r}"
                )
            return found
        sid = check_id(user, "user id")
        return self.request("GET", f"/ashares/{sid}", not_found=f"user {sid} does not exist")

    def invite_user(
        self,
        email: str,
        *,
        access_level: str | None = None,
        integration_access: Mapping[str, str] | None = None,
        if_exists: IfUserExists = "fail",
        **options: bool,
    ) -> dict[str, Any]:
        """Invite someone to the account (``POST /invite``); return the new user record (``accepted`` False).

        :param access_level: ``administrator``, ``manage`` or ``monitor`` (account-wide).
        :param integration_access: ``{integration id: "manage" | "monitor"}`` (per integration).
        :param if_exists: for an e-mail that already has access: ``"fail"`` (default) or ``"return"`` its record.
        :param options: ``accountMFARequired``, ``accountSSORequired``, ``allowAccessToAPIM``,
            ``allowToEditRetryData`` (booleans).
        :raises CeligoConfigError: for a bad argument, neither level given (the invite would grant nothing), or
            an existing user with ``if_exists="fail"``.
        :raises CeligoWriteUnclearError: when the answer was lost and no user with the e-mail appeared.
        """
        address = _email(email)
        if if_exists not in ("fail", "return"):
            raise CeligoConfigError(f"if_exists must be 'fail' or 'return', got {if_exists!r}")
        body = {"email": address, **_access_fields(access_level, integration_access, options)}
        if "accessLevel" not in body and not body.get("integrationAccessLevel"):
            raise CeligoConfigError(
                "give access_level or integration_access: an invite without either grants no access at all"
            )
        existing = self.find_user(address)
        if existing is not None:
            if if_exists == "return":
                self.log.info("%s already has access (user %s); returning it", address, existing.get("_id"))
                return existing
            raise CeligoConfigError(
                f"{address} already has access to the account (user {existing.get('_id')}); pass "
                "if_exists='return' to reuse the record, or change it with update_user"
            )

        def look(lost: BaseException) -> Found[dict[str, Any]] | None:
            found = self.find_user(address)
            return None if found is None else Found(found, f"user {address} ({found.get('_id')})")

        created = self._write("POST", "/invite", json=body, look=look)
        self.log.info("Invited %s (user %s)", address, created.get("_id") if isinstance(created, Mapping) else "?")
        return created

    def update_user(
        self,
        user: str,
        *,
        access_level: str | None = None,
        integration_access: Mapping[str, str] | None = None,
        **options: bool,
    ) -> dict[str, Any]:
        """Change a user's access (``PUT /ashares/{id}``, H); return the updated record.

        A PUT erases what it omits, so the record is read first and every writable field is sent back with the
        changes applied. ``integration_access`` replaces the per-integration grants (``{}`` removes them all).

        :raises CeligoConfigError: for a bad argument. :raises CeligoNotFoundError: when there is no such user.
        """
        current = self.get_user(user)
        sid = check_id(current.get("_id"), "user id")
        body = {key: current[key] for key in USER_WRITABLE_FIELDS if key in current}
        body.update(_access_fields(access_level, integration_access, options))
        answer = self.request("PUT", f"/ashares/{sid}", json=body, not_found=f"user {sid} does not exist")
        self.log.info("Updated the access of user %s", sid)
        return answer if isinstance(answer, dict) else self.get_user(sid)

    def set_user_disabled(self, user: str, disabled: bool = True) -> dict[str, Any]:
        """Disable (or, with ``disabled=False``, enable) a user; return the record as it is afterwards.

        ``PUT /ashares/{id}/disable`` (UI requestOptions, H) flips the flag (the UI's switch sends it both ways),
        so the record is read first and the call is made only when the flag differs: calling this twice is safe.

        :raises CeligoNotFoundError: when there is no such user.
        """
        current = self.get_user(user)
        sid = check_id(current.get("_id"), "user id")
        if bool(current.get("disabled")) == bool(disabled):
            self.log.info("user %s is already %s", sid, "disabled" if disabled else "enabled")
            return current
        self.request("PUT", f"/ashares/{sid}/disable", json={}, not_found=f"user {sid} does not exist")
        self.log.info("%s user %s", "Disabled" if disabled else "Enabled", sid)
        return self.get_user(sid)

    def reinvite_user(self, user: str) -> Any:
        """Send a pending invitation again (``PUT /ashares/{id}/reinvite``, UI, H); return integrator.io's answer.

        :raises CeligoNotFoundError: when there is no such user. :raises CeligoApiError: e.g. when the user has
            already accepted (the emulator answers 422; the real answer is not documented).
        """
        sid = check_id(self.get_user(user).get("_id"), "user id")
        answer = self.request("PUT", f"/ashares/{sid}/reinvite", json={}, not_found=f"user {sid} does not exist")
        self.log.info("Sent the invitation of user %s again", sid)
        return answer

    def remove_user(self, user: str, *, missing_ok: bool = False) -> bool:
        """Remove a user from the account (``DELETE /ashares/{id}``, H); return True, or False when there was no
        such user and ``missing_ok`` is True.

        :raises CeligoNotFoundError: when there is no such user and ``missing_ok`` is False.
        """
        try:
            sid = check_id(self.get_user(user).get("_id"), "user id")
            path = f"/ashares/{sid}"
            gone = self._gone(path, f"user {sid} is gone")
            self._write("DELETE", path, look=gone, not_found=f"user {sid} does not exist")
        except CeligoNotFoundError:
            if not missing_ok:
                raise
            self.log.info("user %r does not exist; nothing to remove (missing_ok=True)", user)
            return False
        self.log.info("Removed user %s from the account", sid)
        return True

    # -- tokens of API tokens and agents (UI requestOptions, M) -----------------------------------------------

    def display_access_token(self, access_token_id: str) -> SecretToken:
        """Return an API token's value (``GET /accesstokens/{id}/display``; M). Masked in logs; never logged."""
        rid = check_id(access_token_id, "API token id")
        path = f"/accesstokens/{rid}/display"
        return _token_of(self.request("GET", path, not_found=f"API token {rid} does not exist"), "an API token", path)

    def generate_access_token(self, access_token_id: str) -> SecretToken:
        """Give an API token a new value and return it (``POST /accesstokens/{id}/generate``; M): the old value
        stops working. Sending it again after a lost answer only generates once more; the value returned is the
        current one. Masked in logs; never logged."""
        rid = check_id(access_token_id, "API token id")
        path = f"/accesstokens/{rid}/generate"
        answer = self.request("POST", path, json={}, not_found=f"API token {rid} does not exist")
        self.log.info("Generated a new value for API token %s", rid)
        return _token_of(answer, "an API token", path)

    def display_agent_token(self, agent_id: str) -> SecretToken:
        """Return an on-premise agent's token (``GET /agents/{id}/display-token``; M). Masked in logs."""
        rid = check_id(agent_id, "agent id")
        path = f"/agents/{rid}/display-token"
        return _token_of(self.request("GET", path, not_found=f"agent {rid} does not exist"), "an agent", path)

    def change_agent_token(self, agent_id: str) -> SecretToken:
        """Give an agent a new token and return it (``PUT /agents/{id}/change-token``; M): the agent must be
        restarted with it. Masked in logs; never logged."""
        rid = check_id(agent_id, "agent id")
        path = f"/agents/{rid}/change-token"
        answer = self.request("PUT", path, json={}, not_found=f"agent {rid} does not exist")
        self.log.info("Changed the token of agent %s", rid)
        return _token_of(answer, "an agent", path)


def _settings_view(integration: Mapping[str, Any]) -> dict[str, Any]:
    settings = integration.get("settings")
    return {
        "integration_id": integration.get("_id"),
        "settings": dict(settings) if isinstance(settings, Mapping) else {},
        "mode": integration.get("mode"),
        "integration_app": bool(integration.get("_connectorId")),
    }


def _id_list(values: Iterable[str] | str, what: str) -> list[str]:
    if isinstance(values, str):
        values = [values]
    try:
        ids = [check_id(value, f"{what} entry") for value in values]
    except TypeError:
        raise CeligoConfigError(f"{what} must be a list of integrator.io ids, got {values!r}") from None
    if not ids:
        raise CeligoConfigError(f"{what} is empty: give at least one connection id")
    return list(dict.fromkeys(ids))


def _email(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if "@" not in text or text.startswith("@") or text.endswith("@") or " " in text:
        raise CeligoConfigError(f"{value!r} is not an e-mail address (like 'ops@example.com')")
    return text


def _access_fields(
    access_level: str | None, integration_access: Mapping[str, str] | None, options: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the user-record fields for an invite or update, checked. Raises CeligoConfigError when bad."""
    fields: dict[str, Any] = {}
    if access_level is not None:
        if access_level not in ACCESS_LEVELS:
            raise CeligoConfigError(f"access_level must be one of {', '.join(ACCESS_LEVELS)}, got {access_level!r}")
        fields["accessLevel"] = access_level
    if integration_access is not None:
        grants = as_json_object(integration_access, "integration_access")
        for integration_id, level in grants.items():
            if level not in INTEGRATION_ACCESS_LEVELS:
                raise CeligoConfigError(
                    f"integration_access[{integration_id!r}] must be 'manage' or 'monitor', got {level!r}"
                )
        fields["integrationAccessLevel"] = [
            {"_integrationId": check_id(integration_id, "integration_access key"), "accessLevel": level}
            for integration_id, level in grants.items()
        ]
    for name, value in options.items():
        if name not in USER_OPTIONS:
            raise CeligoConfigError(f"unknown user option {name!r}; known: {', '.join(USER_OPTIONS)}")
        if not isinstance(value, bool):
            raise CeligoConfigError(f"{name} must be True or False, got {value!r}")
        fields[name] = value
    return fields
