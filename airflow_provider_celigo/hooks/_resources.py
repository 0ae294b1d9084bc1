"""Hook methods for integrator.io resources (CRUD, clone, state, lookup caches, errors, recycle bin).

``ResourceMethods`` is mixed into ``CeligoHook``; every operator in ``operators/resources.py`` and
``operators/integrations.py`` is a thin call of one of these methods, so ``@task`` code can use them too.

Writes that must not happen twice (create, clone, delete, restore, retrying step errors) go through
``_write``: after an answer that may have been lost (a dropped connection, a timeout, a 500/502/504) the
write is resolved by looking for its effect, not by sending it again (``retry.send_or_look``). Creates and
clones look for a new resource with the name they gave, deletes check that the target is gone, a restore that
it is back, a retry of step errors for a retry job created since the request; a write that cannot be looked
up (a create or clone without a name) raises ``CeligoWriteUnclearError`` instead of being sent again.
Requests refused before any work (429, 503, no connection) are sent again as usual. The other writes are
idempotent and keep ``request``'s plain retries: PUT and PATCH-replace of documents and state, lookup-cache
upserts and deletes (per key), resolving step errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from airflow_provider_celigo._documents import (
    LOOKUP_BATCH_BYTES,
    as_connection_map,
    as_json_object,
    as_key_list,
    as_lookup_entries,
    batches,
    clone_summary,
    deep_merge,
    flow_steps,
    patch_operations,
    query_params,
    refuse_masked,
    repeats_differently,
    sized_batches,
    value_at,
)
from airflow_provider_celigo._validation import check_id, path_segment
from airflow_provider_celigo.exceptions import (
    CeligoApiError,
    CeligoConfigError,
    CeligoNotFoundError,
    CeligoWriteUnclearError,
)
from airflow_provider_celigo.hooks._transport.clients import redact
from airflow_provider_celigo.hooks._transport.responses import decode_response, not_found_means
from airflow_provider_celigo.hooks._transport.retry import Found, retrying, send_or_look
from airflow_provider_celigo.hooks._transport.urls import build_url, display_path
from airflow_provider_celigo.jobs.status import iso_millis
from airflow_provider_celigo.resource_types import (
    MASKED_VALUE,
    ResourceType,
    as_resource_type,
    is_documented_patch_path,
    is_patchable_path,
    masked_paths,
    without_masked_values,
)

if TYPE_CHECKING:
    from datetime import datetime

_ALL = 2**31  # "every open error" for get_step_errors, whose limit is a count
CLONEABLE_TYPES = (ResourceType.INTEGRATIONS, ResourceType.FLOWS, ResourceType.EXPORTS, ResourceType.IMPORTS)
INTEGRATION_CHILD_TYPES = (ResourceType.FLOWS, ResourceType.CONNECTIONS, ResourceType.EXPORTS, ResourceType.IMPORTS)
# Ping answers with these statuses describe a failed ping (bad credentials, unreachable endpoint), not a bad call.
_PING_FAILURE_STATUSES = frozenset({400, 409, 422, 424})

STATE_KEY_FIX = "pass a non-empty text other than '.' or '..' (any other text is sent quoted, as one path segment)"

IfExists = Literal["fail", "return", "create"]
Look = Callable[[BaseException], "Found[Any] | None"]
UpdateStrategy = Literal["auto", "patch", "put"]
MaskedSecrets = Literal["refuse", "drop"]
_T = TypeVar("_T")


def _unless_missing(call: Callable[[], _T], *, missing_ok: bool, instead: _T) -> _T:
    """Return ``call()``, or ``instead`` when it raises CeligoNotFoundError and ``missing_ok`` is True.

    :raises CeligoNotFoundError: with the advice to pass ``missing_ok=True``, when ``missing_ok`` is False.
    """
    try:
        return call()
    except CeligoNotFoundError as error:
        if missing_ok:
            return instead
        raise error.with_hint(f"pass missing_ok=True to get {instead!r} instead of an error") from None


class ResourceMethods:
    """Resource methods mixed into ``CeligoHook``; they call ``self.request`` and ``self.paginate``.

    A 404 raises ``CeligoNotFoundError`` (a ``CeligoApiError`` with status 404) whose message says what is
    missing; the ``missing_ok`` variants catch that class.
    """

    if TYPE_CHECKING:
        import requests
        import tenacity
        from airflow.sdk.types import Logger

        from airflow_provider_celigo.connection import CeligoSettings

        @property
        def log(self) -> Logger: ...

        @property
        def settings(self) -> CeligoSettings: ...

        def request(
            self, method: str, path: str, *, params: Any = None, json: Any = None, not_found: str | None = None
        ) -> Any: ...

        def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]: ...

        def get_step_errors(self, flow_id: str, step_id: str, *, limit: int = 1000) -> list[dict[str, Any]]: ...

        def _send(self, method: str, url: str, params: Any, json: Any) -> requests.Response: ...

        def _log_retry(self, state: tenacity.RetryCallState) -> None: ...

        def run_marker(self, flow_id: str) -> datetime: ...

        def iter_jobs(self, **filters: Any) -> Iterator[dict[str, Any]]: ...

    # -- writes that must not happen twice ------------------------------------------------------------------

    def _write(self, method: str, path: str, *, json: Any = None, look: Look, not_found: str | None = None) -> Any:
        """Send a write that must not happen twice; return the decoded answer, or what ``look`` found instead.

        Same retries and errors as ``request``, except that after an answer that may have been lost the next
        attempt first calls ``look(error)`` (``retry.send_or_look``): a ``Found`` is the outcome, None sends
        again. Raises CeligoNotFoundError (led by ``not_found``), CeligoApiError, and what ``look`` raises.
        """
        settings = self.settings
        url = build_url(settings, path)
        shown = display_path(settings, url)

        def send() -> Any:
            response = self._send(method, url, None, json)
            return decode_response(
                response, method=method, path=display_path(settings, response.url or url), secret=settings.token
            )

        policy = retrying(settings, before_sleep=self._log_retry)
        with not_found_means(not_found):
            return send_or_look(policy, send, look, what=f"{method} {shown}", log=self.log)

    @staticmethod
    def _unclear(lost: BaseException, what: str, check: str) -> CeligoWriteUnclearError:
        """Return the error for a write whose lost answer looking cannot resolve (``check``: what to look at).

        Its ``__cause__`` is ``lost``, the error that lost the answer.
        """
        error = CeligoWriteUnclearError(
            status=getattr(lost, "status", 0),
            method=getattr(lost, "method", ""),
            path=getattr(lost, "path", ""),
            code="answer_lost",
            message=f"the answer was lost ({lost}) and {what} may have happened; it was not sent again",
            hint=check,
        )
        error.__cause__ = lost
        return error

    def _gone(self, path: str, description: str) -> Look:
        """Return the look of a delete: ``Found(True)`` once ``GET path`` answers 404, None while it exists."""

        def look(lost: BaseException) -> Found[bool] | None:
            try:
                self.request("GET", path)
            except CeligoNotFoundError:
                return Found(True, description)
            return None

        return look

    def _new_named(
        self,
        kind: ResourceType,
        name: str | None,
        integration_id: Any,
        before: set[str],
        what: str,
        lost: BaseException,
    ) -> dict[str, Any] | None:
        """Return the one resource named ``name`` (in ``integration_id``) whose id is not in ``before``, or None.

        Raises CeligoWriteUnclearError without a name to look for, or when several such resources exist.
        """
        listing = f"GET /v1{kind.path}"
        if not name:
            raise self._unclear(
                lost,
                what,
                f"it had no name to look it up by: look for {kind.a_singular} created just now ({listing}) before "
                "doing it again, and give it a name next time so that a lost answer can be resolved",
            )
        fresh = [
            item
            for item in self.find_resources_by_name(kind, name, integration_id=integration_id)
            if str(item.get("_id")) not in before
        ]
        if len(fresh) > 1:
            ids = ", ".join(str(item.get("_id")) for item in fresh)
            raise self._unclear(
                lost,
                what,
                f"{len(fresh)} {kind.value} named {name!r} appeared since ({ids}); keep the right one and delete the "
                "others",
            )
        return fresh[0] if fresh else None

    # -- read ---------------------------------------------------------------------------------------------

    def get_resource(self, resource_type: ResourceType | str, resource_id: str) -> dict[str, Any]:
        """Return one resource (secrets masked as ``******``).

        :raises CeligoConfigError: for an unknown type or a malformed id.
        :raises CeligoNotFoundError: when it does not exist.
        """
        kind = as_resource_type(resource_type)
        rid = check_id(resource_id, f"{kind.singular} id")
        return self.request("GET", f"{kind.path}/{rid}", not_found=f"{kind.singular} {rid} does not exist")

    def iter_resources(
        self,
        resource_type: ResourceType | str,
        filters: Mapping[str, Any] | None = None,
        *,
        integration_id: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every resource of a type, page by page; ``filters`` are integrator.io query parameters.

        With ``integration_id`` (flows, connections, exports, imports) only that integration's resources.
        """
        kind = as_resource_type(resource_type)
        path = kind.path
        if integration_id is not None:
            if kind not in INTEGRATION_CHILD_TYPES:
                names = ", ".join(k.value for k in INTEGRATION_CHILD_TYPES)
                raise CeligoConfigError(f"integration_id can only scope {names}, not {kind.value}")
            path = f"/integrations/{check_id(integration_id, 'integration id')}{kind.path}"
        yield from self.paginate(path, query_params(filters) if filters else None)

    def list_resources(
        self,
        resource_type: ResourceType | str,
        filters: Mapping[str, Any] | None = None,
        *,
        integration_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return the resources of a type (all pages, or the first ``limit``); see ``iter_resources``."""
        found: list[dict[str, Any]] = []
        if limit is not None and limit <= 0:
            return found
        for item in self.iter_resources(resource_type, filters, integration_id=integration_id):
            found.append(item)
            if limit is not None and len(found) >= limit:
                break
        return found

    def find_resources_by_name(
        self, resource_type: ResourceType | str, name: str, *, integration_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Return the resources of a type whose ``name`` equals ``name`` (names are not unique).

        With ``integration_id``, only those whose ``_integrationId`` is that integration.
        """
        return [
            item
            for item in self.iter_resources(resource_type)
            if item.get("name") == name and (integration_id is None or item.get("_integrationId") == integration_id)
        ]

    # -- write --------------------------------------------------------------------------------------------

    def create_resource(
        self, resource_type: ResourceType | str, body: Mapping[str, Any], *, if_exists: IfExists = "fail"
    ) -> dict[str, Any]:
        """Create a resource and return it as integrator.io stored it.

        When ``body`` has a ``name`` and a resource of the type already has that name (within the same
        ``_integrationId`` when the body has one): ``if_exists="fail"`` raises, ``"return"`` returns the
        existing one, ``"create"`` creates another.

        When the answer may have been lost (see the module), the resources with that name are listed again and
        a new one (not among those listed before sending) is returned instead of creating a second.

        :raises CeligoConfigError: for a bad body, an existing name, or a masked secret in the body.
        :raises CeligoWriteUnclearError: when the answer was lost and the body has no name to look for (the
            create may have happened; it was not sent again), or several new resources have the name.
        :raises CeligoApiError: integrator.io's refusal (e.g. 422 with its validation message).
        """
        kind = as_resource_type(resource_type)
        document = as_json_object(body)
        refuse_masked(document, "the body")
        if if_exists not in ("fail", "return", "create"):
            raise CeligoConfigError(f"if_exists must be 'fail', 'return' or 'create', got {if_exists!r}")
        name = document.get("name") if isinstance(document.get("name"), str) and document.get("name") else None
        scope = document.get("_integrationId")
        before: set[str] = set()
        if name is not None:  # also with if_exists="create": a lost answer's resource is told from these
            existing = self.find_resources_by_name(kind, name, integration_id=scope)
            if existing and if_exists == "return":
                self.log.info(
                    "%s named %r already exists (%s); returning it",
                    kind.a_singular.capitalize(),
                    name,
                    existing[0]["_id"],
                )
                return existing[0]
            if existing and if_exists == "fail":
                ids = ", ".join(str(item.get("_id")) for item in existing)
                raise CeligoConfigError(
                    f"{kind.a_singular} named {name!r} already exists ({ids}); refusing to create a duplicate. "
                    "Use if_exists='return' to reuse it, or update it instead."
                )
            before = {str(item.get("_id")) for item in existing}

        def look(lost: BaseException) -> Found[dict[str, Any]] | None:
            found = self._new_named(kind, name, scope, before, f"creating {kind.a_singular}", lost)
            return None if found is None else Found(found, f"{kind.a_singular} named {name!r} ({found.get('_id')})")

        created = self._write("POST", kind.path, json=document, look=look)
        self.log.info("Created %s %s", kind.singular, created.get("_id") if isinstance(created, Mapping) else "?")
        return created

    def update_resource(
        self,
        resource_type: ResourceType | str,
        resource_id: str,
        changes: Mapping[str, Any],
        *,
        strategy: UpdateStrategy = "auto",
        masked_secrets: MaskedSecrets = "refuse",
    ) -> dict[str, Any]:
        """Apply ``changes`` (a partial document, deep-merged; ``None`` removes a field) and return the result.

        Reads the resource first, then sends a JSON Patch when the type accepts one for every changed path
        (``strategy="auto"`` or ``"patch"``), else PUTs the merged document (``"auto"`` or ``"put"``). Fields
        the change does not mention are kept either way. With ``"auto"``, a patch of a path the provider only
        guesses integrator.io accepts (``resource_types``) that integrator.io refuses with a 4xx other than
        401/404/429 falls back to the full PUT.

        Masked secrets (``******``) in a full PUT follow the type: for iClients integrator.io keeps a secret
        whose mask is sent back (and erases one left out), so the mask is sent. For the other types writing
        the mask back would store it in place of the secret (connections) or is undocumented: the update is
        refused unless the change supplies the secret, or ``masked_secrets="drop"`` sends the document without
        it (a full replace then erases that secret).

        :raises CeligoConfigError: for a bad change, a masked secret in it (except for iClients), an unknown
            secret a PUT would need, or ``"patch"`` on a path that integrator.io does not accept in a patch.
        :raises CeligoNotFoundError: when the resource does not exist.
        :raises CeligoApiError: integrator.io's refusals.
        """
        kind = as_resource_type(resource_type)
        rid = check_id(resource_id, f"{kind.singular} id")
        document = as_json_object(changes, "the change")
        keeps_masks = kind.facts.mask_keeps_secret is True
        if not keeps_masks:
            refuse_masked(document, "the change")
        if strategy not in ("auto", "patch", "put"):
            raise CeligoConfigError(f"strategy must be 'auto', 'patch' or 'put', got {strategy!r}")
        if masked_secrets not in ("refuse", "drop"):
            raise CeligoConfigError(f"masked_secrets must be 'refuse' or 'drop', got {masked_secrets!r}")
        current = self._get_for(kind, rid, "updated")
        operations = patch_operations(current, document)
        if not operations:
            self.log.info("%s %s already has these values; nothing to update", kind.singular, rid)
            return current
        refused = [op["path"] for op in operations if not is_patchable_path(kind, op["path"])]
        if strategy != "put" and not refused:
            guessed = [op["path"] for op in operations if not is_documented_patch_path(kind, op["path"])]
            try:
                self.patch_resource(kind, rid, operations)
            except CeligoApiError as error:
                if strategy == "patch" or not guessed or not _refused_patch(error):
                    raise
                self.log.warning(
                    "integrator.io refused a JSON Patch of %s on %s %s (%s); updating with GET -> merge -> PUT",
                    ", ".join(guessed),
                    kind.singular,
                    rid,
                    error,
                )
                refused = guessed
            else:
                return self.get_resource(kind, rid)
        elif strategy == "patch":
            raise CeligoConfigError(
                f"integrator.io does not accept a JSON Patch of {', '.join(refused)} on {kind.value}; "
                "use strategy='auto' or 'put' (read, merge, write the full document)"
            )
        merged = deep_merge(current, document)
        masked = list(masked_paths(merged))
        body = merged
        if masked and keeps_masks:
            self.log.info(
                "Sending the mask back for %s of %s %s: integrator.io keeps those secrets as they are",
                ", ".join(masked),
                kind.singular,
                rid,
            )
        elif masked and masked_secrets != "drop":
            raise CeligoConfigError(
                f"updating {', '.join(refused)} of {kind.singular} {rid} needs a full PUT, which replaces the whole "
                f"document, and the secret(s) at {', '.join(masked)} are only known to integrator.io (it shows "
                f"{MASKED_VALUE!r}). Writing the mask back would corrupt them and leaving them out would erase them. "
                "Include their real values in the change, set them to None to remove them, or pass "
                "masked_secrets='drop' to send the document without them."
            )
        elif masked:
            self.log.warning(
                "Leaving masked secret(s) %s out of the full update of %s %s (masked_secrets='drop')",
                ", ".join(masked),
                kind.singular,
                rid,
            )
            body = without_masked_values(merged)
        self.log.info("Updating %s %s with a full PUT (changed: %s)", kind.singular, rid, ", ".join(refused))
        return self.request("PUT", f"{kind.path}/{rid}", json=body)

    def replace_resource(
        self, resource_type: ResourceType | str, resource_id: str, document: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Replace a resource with ``document`` (a full PUT: fields it leaves out are erased); return the result.

        :raises CeligoConfigError: for a bad document or a masked secret in it (allowed for iClients, where
            sending the mask keeps the stored secret).
        :raises CeligoNotFoundError: when the resource does not exist.
        :raises CeligoApiError: integrator.io's refusals.
        """
        kind = as_resource_type(resource_type)
        rid = check_id(resource_id, f"{kind.singular} id")
        body = as_json_object(document, "the document")
        if kind.facts.mask_keeps_secret is not True:
            refuse_masked(body, "the document")
        return self.request(
            "PUT",
            f"{kind.path}/{rid}",
            json=body,
            not_found=f"{kind.singular} {rid} does not exist, so it cannot be replaced",
        )

    def patch_resource(
        self, resource_type: ResourceType | str, resource_id: str, operations: Sequence[Mapping[str, Any]]
    ) -> None:
        """Send a JSON Patch (RFC 6902 operations) to a resource; integrator.io answers 204.

        A patch that would act differently when applied twice (``remove``, ``move``, ``copy``, an insert into a
        list) is not sent again after an answer that may have been lost: the resource is read and, when every
        ``remove`` path is gone and every ``add``/``replace`` value is in place, the patch counts as done; when
        they are not, it is sent again. A ``move``, ``copy`` or list insert cannot be checked that way and
        raises CeligoWriteUnclearError instead.

        :raises CeligoConfigError: when the type takes no patch, or an operation writes a masked secret.
        :raises CeligoNotFoundError: when the resource does not exist.
        :raises CeligoWriteUnclearError: see above.
        :raises CeligoApiError: 4xx for a refused path.
        """
        kind = as_resource_type(resource_type)
        rid = check_id(resource_id, f"{kind.singular} id")
        if not kind.facts.patchable:
            raise CeligoConfigError(f"integrator.io does not accept PATCH on {kind.value}; use update_resource")
        ops = [dict(op) for op in operations]
        if not ops or any("op" not in op or "path" not in op for op in ops):
            raise CeligoConfigError("a JSON Patch is a non-empty list of {'op', 'path', ...} operations")
        if kind.facts.mask_keeps_secret is not True:
            refuse_masked([op.get("value") for op in ops], "the patch")
        path = f"{kind.path}/{rid}"
        not_found = f"{kind.singular} {rid} does not exist, so it cannot be updated"
        if any(repeats_differently(op) for op in ops):
            self._write("PATCH", path, json=ops, look=self._patched(path, ops), not_found=not_found)
        else:
            self.request("PATCH", path, json=ops, not_found=not_found)
        self.log.info("Patched %s %s: %s", kind.singular, rid, ", ".join(op["path"] for op in ops))

    def _patched(self, path: str, ops: Sequence[Mapping[str, Any]]) -> Look:
        """Return the look of a patch: ``Found(None)`` when ``GET path`` shows every operation's effect, else None.

        Raises CeligoWriteUnclearError for an operation whose effect a read cannot show (move, copy, list insert).
        """

        def look(lost: BaseException) -> Found[None] | None:
            unclear = [
                op
                for op in ops
                if op.get("op") in ("move", "copy") or (op.get("op") == "add" and repeats_differently(op))
            ]
            if unclear:
                paths = ", ".join(str(op.get("path")) for op in unclear)
                raise self._unclear(
                    lost,
                    f"the JSON Patch of {path}",
                    f"a read cannot tell whether {paths} were applied; GET /v1{path} and check before patching again",
                )
            document = self.request("GET", path)
            for op in ops:
                present, value = value_at(document, str(op["path"]))
                if op["op"] == "remove" and present:
                    return None
                if op["op"] in ("add", "replace") and (not present or value != op.get("value")):
                    return None
            return Found(None, f"the patched values in {path}")

        return look

    def delete_resource(self, resource_type: ResourceType | str, resource_id: str, *, missing_ok: bool = False) -> bool:
        """Delete a resource (it goes to the recycle bin); return True, or False when it was already gone.

        After an answer that may have been lost, the resource is read: when it is gone the delete is done (True).

        :raises CeligoNotFoundError: when it does not exist and ``missing_ok`` is False.
        """
        kind = as_resource_type(resource_type)
        rid = check_id(resource_id, f"{kind.singular} id")
        path = f"{kind.path}/{rid}"
        try:
            self._write(
                "DELETE",
                path,
                look=self._gone(path, f"{kind.singular} {rid} is gone"),
                not_found=f"{kind.singular} {rid} does not exist, so it cannot be deleted",
            )
        except CeligoNotFoundError:
            if not missing_ok:
                raise
            self.log.info("%s %s does not exist; nothing to delete (missing_ok=True)", kind.singular, rid)
            return False
        self.log.info("Deleted %s %s (kept in the recycle bin)", kind.singular, rid)
        return True

    def _get_for(self, kind: ResourceType, rid: str, action: str) -> dict[str, Any]:
        """Return the resource about to be ``action`` (e.g. "updated"); raises CeligoNotFoundError saying so."""
        return self.request(
            "GET", f"{kind.path}/{rid}", not_found=f"{kind.singular} {rid} does not exist, so it cannot be {action}"
        )

    # -- clone --------------------------------------------------------------------------------------------

    def referenced_connection_ids(self, resource_type: ResourceType | str, resource_id: str) -> list[str]:
        """Return the sorted ids of the connections a clone of this resource needs mapped.

        Integration: its flows' exports/imports ``_connectionId`` plus ``_registeredConnectionIds``; flow:
        its page generators' and processors' connections; export/import: its ``_connectionId``.

        :raises CeligoConfigError: for a type that cannot be cloned.
        :raises CeligoApiError: when a resource cannot be read.
        """
        kind = _cloneable(resource_type)
        rid = check_id(resource_id, f"{kind.singular} id")
        source = self.get_resource(kind, rid)
        found: set[str] = set()
        if kind is ResourceType.INTEGRATIONS:
            found.update(c for c in source.get("_registeredConnectionIds") or [] if isinstance(c, str))
            steps = {
                step
                for flow in self.iter_resources(ResourceType.FLOWS, integration_id=rid)
                for step in flow_steps(flow)
            }
        elif kind is ResourceType.FLOWS:
            steps = set(flow_steps(source))
        else:
            steps = set()
            found.add(source.get("_connectionId") or "")
        for step_kind, step_id in sorted(steps):
            found.add(self.get_resource(step_kind, step_id).get("_connectionId") or "")
        return sorted(c for c in found if c)

    def clone_resource(
        self,
        resource_type: ResourceType | str,
        source_id: str,
        *,
        name: str | None = None,
        connection_map: Mapping[str, str] | str | None = None,
        integration_id: str | None = None,
        tag: str | None = None,
        sandbox: bool | None = None,
        extra: Mapping[str, Any] | None = None,
        check_connection_map: bool = True,
    ) -> dict[str, Any]:
        """Clone an integration, flow, export or import; return ``{"integration_id", "resources", "flow_ids"}``.

        ``resources`` is the manifest ``[{"model", "_id", "name"}]`` of what was created. Before cloning, the
        source is read and every connection it references must be in ``connection_map`` (map an id to itself
        to reuse a connection); if the source cannot be read, integrator.io does the check. A flow clone
        needs ``integration_id``, the integration that receives it. ``extra`` adds clone-body fields.

        With a ``name``, an answer that may have been lost is resolved by looking for a new resource of that
        name (among the integration's, for a flow), which is summarised instead of cloning again; the resources
        with that name are listed before sending, to tell the clone from them.

        :raises CeligoConfigError: for unmapped connections (nothing is created), bad ids, a missing
            ``integration_id``, or an answer whose ids are malformed.
        :raises CeligoWriteUnclearError: when the answer was lost and there is no ``name`` to look for (the
            clone may have happened; it was not sent again), or several new resources have the name.
        :raises CeligoApiError: integrator.io's refusal (e.g. 400 ``invalid_connectionMap``).
        """
        kind = _cloneable(resource_type)
        sid = check_id(source_id, f"source {kind.singular} id")
        mapping = as_connection_map(connection_map)
        if kind is ResourceType.FLOWS and not integration_id:
            raise CeligoConfigError("cloning a flow needs integration_id: the integration that receives the clone")
        if check_connection_map:
            self._require_mapped_connections(kind, sid, mapping)
        body: dict[str, Any] = dict(extra or {})
        body["connectionMap"] = mapping
        if name:
            body["name"] = name
        if tag:
            body["tag"] = tag
        if sandbox is not None:
            body["sandbox"] = bool(sandbox)
        if integration_id:
            body["_integrationId"] = check_id(integration_id, "integration id")
        target = body.get("_integrationId")
        scope = None if kind is ResourceType.INTEGRATIONS else target
        before = (
            {str(i.get("_id")) for i in self.find_resources_by_name(kind, name, integration_id=scope)}
            if name
            else set()
        )

        def look(lost: BaseException) -> Found[list[dict[str, Any]]] | None:
            found = self._new_named(kind, name, scope, before, f"cloning {kind.singular} {sid}", lost)
            if found is None:
                return None
            return Found(
                self._clone_manifest(kind, found), f"the clone, {kind.a_singular} named {name!r} ({found.get('_id')})"
            )

        answer = self._write("POST", f"{kind.path}/{sid}/clone", json=body, look=look)
        document = answer if isinstance(answer, Mapping) else None
        if not isinstance(answer, list):
            answer = self._manifest_of_answer(kind, answer)
        summary = clone_summary(kind, answer, target)
        if summary["integration_id"] is None and document is not None:
            summary["integration_id"] = document.get("_integrationId")
        if summary["integration_id"] is not None:
            summary["integration_id"] = check_id(summary["integration_id"], "_integrationId of the clone answer")
        summary["flow_ids"] = [check_id(f, "flow _id of the clone answer") for f in summary["flow_ids"]]
        self.log.info(
            "Cloned %s %s: %d resource(s) created, flows %s",
            kind.singular,
            sid,
            len(summary["resources"]),
            summary["flow_ids"],
        )
        return summary

    def _manifest_of_answer(self, kind: ResourceType, answer: Any) -> Any:
        """Return the manifest of a clone answered with the cloned document instead of a manifest.

        Celigo's clone-response schema allows either. The document's integration (an integration clone, or
        one answered with only ``_integrationId``) or flow is read back with its flows, exports and imports, so
        that ``flow_ids`` is not silently empty. Anything else is returned as it is.
        """
        if not isinstance(answer, Mapping):
            return answer
        if answer.get("_id"):
            clone: Mapping[str, Any] = answer
            check_id(answer["_id"], "_id of the clone answer")
        elif kind is ResourceType.INTEGRATIONS and answer.get("_integrationId"):
            clone = self.get_resource(kind, check_id(answer["_integrationId"], "_integrationId of the clone answer"))
        else:
            return answer
        manifest = self._clone_manifest(kind, clone)
        self.log.info(
            "integrator.io answered the clone with the new %s, not a manifest; read back %d resource(s) it holds",
            kind.singular,
            len(manifest),
        )
        return manifest

    def _clone_manifest(self, kind: ResourceType, clone: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Return the manifest ``[{"model", "_id", "name"}]`` of a clone found after a lost answer.

        The clone itself, with, for an integration, its flows, and for an integration or a flow, their exports
        and imports (read from integrator.io).
        """
        found: list[tuple[ResourceType, Mapping[str, Any]]] = [(kind, clone)]
        flows: list[Mapping[str, Any]] = []
        if kind is ResourceType.INTEGRATIONS:
            flows = list(self.iter_resources(ResourceType.FLOWS, integration_id=str(clone.get("_id"))))
            found.extend((ResourceType.FLOWS, flow) for flow in flows)
        elif kind is ResourceType.FLOWS:
            flows = [clone]
        for step_kind, step_id in sorted({step for flow in flows for step in flow_steps(flow)}):
            found.append((step_kind, self.get_resource(step_kind, step_id)))
        return [{"model": k.model, "_id": doc.get("_id"), "name": doc.get("name")} for k, doc in found]

    def _require_mapped_connections(self, kind: ResourceType, source_id: str, mapping: Mapping[str, str]) -> None:
        try:
            referenced = self.referenced_connection_ids(kind, source_id)
        except CeligoApiError as error:
            self.log.warning("Could not read the clone source to check connection_map (%s); cloning anyway", error)
            return
        missing = [cid for cid in referenced if cid not in mapping]
        if missing:
            described = ", ".join(self._describe_connection(cid) for cid in missing)
            raise CeligoConfigError(
                f"connection_map has no target for {len(missing)} connection(s) that {kind.singular} {source_id} "
                f"uses: {described}. Map each to the connection the clone should use (or to itself to share it); "
                "nothing was cloned."
            )

    def _describe_connection(self, connection_id: str) -> str:
        try:  # the id comes from an answer: only a well-formed one goes into a path
            name = self.request("GET", f"/connections/{check_id(connection_id, 'connection id')}").get("name")
        except (CeligoApiError, CeligoConfigError, AttributeError):
            return str(connection_id)
        return f"{connection_id} ({name!r})" if name else connection_id

    # -- state (key-value store) --------------------------------------------------------------------------

    def _state_base(self, resource_type: ResourceType | str | None, resource_id: str | None) -> str:
        """Return ``/state`` or ``/<type>/<id>/state``; raises CeligoConfigError for a bad type or id."""
        if (resource_type is None) != (resource_id is None):
            raise CeligoConfigError("per-resource state needs both resource_type and resource_id")
        if resource_type is not None and resource_id is not None:
            kind = as_resource_type(resource_type)
            return f"{kind.path}/{check_id(resource_id, f'{kind.singular} id')}/state"
        return "/state"

    def _state_path(self, resource_type: ResourceType | str | None, resource_id: str | None, key: Any) -> str:
        """Return the path of one state key; raises CeligoConfigError for a key that could leave its segment."""
        return f"{self._state_base(resource_type, resource_id)}/{path_segment(key, 'a state key', STATE_KEY_FIX)}"

    def get_state(
        self,
        key: str,
        *,
        resource_type: ResourceType | str | None = None,
        resource_id: str | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """Return the value stored under a state key (global, or per resource), or None if missing and allowed.

        :raises CeligoNotFoundError: when the key is missing and ``missing_ok`` is False.
        :raises CeligoConfigError: for a key that is not a non-empty string, or is ``.`` or ``..``.
        """
        path = self._state_path(resource_type, resource_id, key)
        read = partial(self.request, "GET", path, not_found=f"state key {key!r} is not set")
        return _unless_missing(read, missing_ok=missing_ok, instead=None)

    def put_state(
        self,
        key: str,
        value: Any,
        *,
        resource_type: ResourceType | str | None = None,
        resource_id: str | None = None,
    ) -> None:
        """Store a JSON value under a state key (global, or per resource), replacing any previous value.

        :raises CeligoConfigError: for a key that is not a non-empty string, or is ``.`` or ``..``.
        """
        self.request("PUT", self._state_path(resource_type, resource_id, key), json=value)

    def delete_state(
        self,
        key: str,
        *,
        resource_type: ResourceType | str | None = None,
        resource_id: str | None = None,
        missing_ok: bool = False,
    ) -> bool:
        """Delete a state key; return True, or False when it was not set and ``missing_ok`` is True.

        After an answer that may have been lost, the key is read: when it is gone the delete is done (True).

        :raises CeligoNotFoundError: when it is not set and ``missing_ok`` is False.
        :raises CeligoConfigError: for a key that is not a non-empty string, or is ``.`` or ``..``.
        """
        path = self._state_path(resource_type, resource_id, key)

        def delete() -> bool:
            gone = self._gone(path, f"state key {key!r} is gone")
            self._write("DELETE", path, look=gone, not_found=f"state key {key!r} is not set, so it cannot be deleted")
            return True

        return _unless_missing(delete, missing_ok=missing_ok, instead=False)

    def list_state_keys(
        self, *, resource_type: ResourceType | str | None = None, resource_id: str | None = None
    ) -> list[str]:
        """Return the state keys (global, or per resource)."""
        answer = self.request("GET", self._state_base(resource_type, resource_id))
        keys = answer.get("keys") if isinstance(answer, Mapping) else answer
        return [str(key) for key in keys or []]

    # -- lookup caches ------------------------------------------------------------------------------------

    def upsert_lookup_cache_entries(self, lookup_cache_id: str, entries: Any) -> int:
        """Add or overwrite lookup-cache entries; return how many were sent.

        ``entries``: a ``{key: value}`` mapping or a list of ``{"key", "value"}`` dicts or ``(key, value)`` rows.
        integrator.io stores string values only: any other value is sent JSON-encoded (``{"id": 1}`` becomes
        ``'{"id":1}'``; ``get_lookup_cache_entries`` returns that string). Sent in batches of at most 1000
        entries and 5 MB, integrator.io's per-request limits (a cache holds at most 50 MB).

        :raises CeligoConfigError: for bad entries, a value JSON cannot encode, or one entry over 5 MB.
        """
        cid = check_id(lookup_cache_id, "lookup cache id")
        items = as_lookup_entries(entries)
        for batch in sized_batches(items, max_bytes=LOOKUP_BATCH_BYTES, what="lookup cache entry"):
            self.request("POST", f"/lookupcaches/{cid}/data", json={"data": batch})
        self.log.info("Upserted %d entries into lookup cache %s", len(items), cid)
        return len(items)

    def get_lookup_cache_entries(self, lookup_cache_id: str, keys: Any) -> dict[str, Any]:
        """Return ``{key: value}`` for the requested keys that exist (asked for in batches of 1000)."""
        cid = check_id(lookup_cache_id, "lookup cache id")
        found: dict[str, Any] = {}
        for batch in batches(as_key_list(keys)):
            answer = self.request("POST", f"/lookupcaches/{cid}/getData", json={"keys": batch})
            data = answer.get("data") if isinstance(answer, Mapping) else answer
            for item in data or []:
                if isinstance(item, Mapping) and "key" in item:
                    found[str(item["key"])] = item.get("value")
        return found

    def delete_lookup_cache_entries(self, lookup_cache_id: str, keys: Any) -> int:
        """Delete lookup-cache entries by key in batches of 1000; return how many keys were sent."""
        cid = check_id(lookup_cache_id, "lookup cache id")
        key_list = as_key_list(keys)
        for batch in batches(key_list):
            self.request("DELETE", f"/lookupcaches/{cid}/data", json={"keys": batch})
        self.log.info("Deleted %d keys from lookup cache %s", len(key_list), cid)
        return len(key_list)

    # -- connections --------------------------------------------------------------------------------------

    def ping_connection(self, connection_id: str) -> dict[str, Any]:
        """Ping a Celigo connection; return ``{"connection_id", "name", "ok", "offline", "reason"}``.

        A 200 carrying ``errors``, a refused ping (400/409/422/424) or an ``offline`` connection is not ok.

        :raises CeligoNotFoundError: when the connection does not exist.
        :raises CeligoApiError: 401/403 for the token.
        """
        cid = check_id(connection_id, "connection id")
        reasons: list[str] = []
        try:
            answer = self.request(
                "GET", f"/connections/{cid}/ping", not_found=f"connection {cid} does not exist, so it cannot be pinged"
            )
        except CeligoNotFoundError:
            raise
        except CeligoApiError as error:
            if error.status not in _PING_FAILURE_STATUSES:
                raise
            reasons.append(error.message or f"HTTP {error.status}")
        else:
            errors = answer.get("errors") if isinstance(answer, Mapping) else None
            for item in errors or []:
                message = item.get("message") if isinstance(item, Mapping) else item
                # The reason quotes the answer; blank the token out of it as error messages do.
                reasons.append(redact(str(message or item), self.settings.token))
        # Read the connection after the ping: a successful ping may have brought it back online.
        connection = self.get_resource(ResourceType.CONNECTIONS, cid)
        offline = connection.get("offline") is True
        if offline and not reasons:
            reasons.append("integrator.io marks the connection offline")
        return {
            "connection_id": cid,
            "name": connection.get("name"),
            "ok": not reasons,
            "offline": offline,
            "reason": "; ".join(reasons) or None,
        }

    def set_connection_concurrency(
        self,
        connection_id: str,
        *,
        concurrency_level: int | None = None,
        borrow_concurrency_from: str | Literal[False] | None = None,
        secrets: Mapping[str, Any] | None = None,
        masked_secrets: MaskedSecrets = "refuse",
    ) -> dict[str, Any]:
        """Set a Celigo connection's own concurrency toward its application; return the updated connection.

        ``concurrency_level`` goes to ``<type>.concurrencyLevel`` (``http.concurrencyLevel`` for an HTTP or
        integrator.io connection); integrator.io clamps values above the licence's maximum (25, or 50 with
        Environments) without an error. ``borrow_concurrency_from`` sets ``_borrowConcurrencyFromConnectionId``
        (the connection then shares that connection's slots and its own level is ignored); ``False`` stops
        borrowing; None leaves either unchanged. This is integrator.io's setting, not the provider's
        ``concurrency_level`` extra of the Airflow connection.

        Celigo documents no PATCH path for these fields, so a JSON Patch (which leaves the secrets alone) is
        tried first; when integrator.io refuses it, the connection is read, merged and PUT whole, and a PUT of a
        connection must carry its secrets: give them in ``secrets`` (a partial document, e.g.
        ``{"http": {"auth": {"token": {"token": "..."}}}}``), or ``masked_secrets="drop"`` to erase them.

        :raises CeligoConfigError: for bad values, or a PUT that would need secrets that were not given.
        :raises CeligoNotFoundError: when the connection does not exist.
        :raises CeligoApiError: integrator.io's refusals.
        """
        cid = check_id(connection_id, "connection id")
        if concurrency_level is None and borrow_concurrency_from is None:
            raise CeligoConfigError("pass concurrency_level, borrow_concurrency_from, or both")
        changes: dict[str, Any] = {}
        if concurrency_level is not None:
            if isinstance(concurrency_level, bool) or not isinstance(concurrency_level, int) or concurrency_level < 1:
                raise CeligoConfigError(
                    f"concurrency_level must be a whole number of at least 1, got {concurrency_level!r}"
                )
            connection = self._get_for(ResourceType.CONNECTIONS, cid, "updated")
            block = connection.get("type")
            if not isinstance(block, str) or not block:
                raise CeligoConfigError(
                    f"connection {cid} has no 'type', so where its concurrencyLevel lives is unknown"
                )
            if concurrency_level > 25:
                self.log.warning(
                    "integrator.io clamps a connection's concurrency level to its licence's maximum (25, or 50 "
                    "with Environments) without an error; asked for %d",
                    concurrency_level,
                )
            changes[block] = {"concurrencyLevel": concurrency_level}
        if borrow_concurrency_from is False:
            changes["_borrowConcurrencyFromConnectionId"] = None
        elif borrow_concurrency_from is not None:
            lender = check_id(borrow_concurrency_from, "borrow_concurrency_from")
            if lender == cid:
                raise CeligoConfigError(f"connection {cid} cannot borrow concurrency from itself")
            changes["_borrowConcurrencyFromConnectionId"] = lender
        given = as_json_object(secrets, "secrets") if secrets else {}
        try:
            return self.update_resource(ResourceType.CONNECTIONS, cid, changes, strategy="patch")
        except CeligoApiError as error:
            if not _refused_patch(error):
                raise
            self.log.warning(
                "integrator.io refused a JSON Patch of connection %s's concurrency (%s); updating it with "
                "GET -> merge -> PUT",
                cid,
                error,
            )
        full = deep_merge(changes, given)  # keeps the None that stops borrowing
        return self.update_resource(ResourceType.CONNECTIONS, cid, full, strategy="put", masked_secrets=masked_secrets)

    # -- flow step errors ---------------------------------------------------------------------------------

    def retry_step_errors(self, flow_id: str, step_id: str, retry_data_keys: Iterable[str] | None = None) -> list[str]:
        """Retry a flow step's errors in batches of 1000; return the ids of the retry jobs integrator.io reports.

        ``retry_data_keys`` defaults to every open error of the step that has one. Sending a retry twice would
        process the records twice, so integrator.io's time is read first (``run_marker``) and, after an answer
        that may have been lost, the batch's retry job is looked for among the step's retry jobs created since
        (other than this call's earlier batches): one is adopted, none means the batch is sent again.

        :raises CeligoWriteUnclearError: when, after a lost answer, several retry jobs of the step appeared.
        :raises CeligoConfigError: for bad ids, or a malformed ``_jobId`` in an answer.
        """
        fid, sid = check_id(flow_id, "flow id"), check_id(step_id, "step id")
        if retry_data_keys is None:
            errors = self.get_step_errors(fid, sid, limit=_ALL)
            keys = [e["retryDataKey"] for e in errors if isinstance(e, Mapping) and e.get("retryDataKey")]
        else:
            keys = as_key_list(retry_data_keys, "retry_data_keys")
        if not keys:
            self.log.info("Flow %s step %s has no errors to retry", fid, sid)
            return []
        since = self.run_marker(fid)
        job_ids: list[str] = []
        for batch in batches(keys):
            look = self._retry_job_look(fid, sid, since, frozenset(job_ids))
            answer = self._write("POST", f"/flows/{fid}/{sid}/retry", json={"retryDataKeys": batch}, look=look)
            job_id = (answer.get("_jobId") or answer.get("_id")) if isinstance(answer, Mapping) else None
            if isinstance(job_id, str):
                job_ids.append(check_id(job_id, "_jobId of the retry answer"))
        self.log.info("Retried %d error(s) of flow %s step %s; retry jobs: %s", len(keys), fid, sid, job_ids)
        return job_ids

    def _retry_job_look(self, flow_id: str, step_id: str, since: datetime, known: frozenset[str]) -> Look:
        """Return the look of a retry request: the one retry job of the step created since ``since``, not in ``known``.

        Raises CeligoWriteUnclearError when there are several.
        """

        def look(lost: BaseException) -> Found[dict[str, Any]] | None:
            jobs = [
                job
                for job in self.iter_jobs(_flowId=flow_id, type="retry", createdAt_gte=iso_millis(since))
                if step_id in (job.get("_exportId"), job.get("_importId")) and job.get("_id") not in known
            ]
            if len(jobs) > 1:
                ids = ", ".join(str(job.get("_id")) for job in jobs)
                raise self._unclear(
                    lost,
                    f"retrying errors of flow {flow_id} step {step_id}",
                    f"{len(jobs)} retry jobs of the step were created since the request ({ids}); check which retried "
                    "the errors before retrying them again",
                )
            if not jobs:
                return None
            return Found({"_jobId": jobs[0].get("_id")}, f"retry job {jobs[0].get('_id')}")

        return look

    def resolve_step_errors(self, flow_id: str, step_id: str, error_ids: Iterable[str] | None = None) -> int:
        """Mark a flow step's errors resolved in batches of 1000; return how many were sent.

        ``error_ids`` defaults to every open error of the step.
        """
        fid, sid = check_id(flow_id, "flow id"), check_id(step_id, "step id")
        if error_ids is None:
            errors = self.get_step_errors(fid, sid, limit=_ALL)
            ids = [e["errorId"] for e in errors if isinstance(e, Mapping) and e.get("errorId")]
        else:
            ids = as_key_list(error_ids, "error_ids")
        for batch in batches(ids):
            self.request("PUT", f"/flows/{fid}/{sid}/resolved", json={"errors": batch})
        self.log.info("Resolved %d error(s) of flow %s step %s", len(ids), fid, sid)
        return len(ids)

    # -- recycle bin --------------------------------------------------------------------------------------

    def list_recycle_bin(self) -> list[dict[str, Any]]:
        """Return the recycle bin: ``[{"model", "doc"}]`` for each deleted resource (kept 30 days)."""
        return list(self.paginate("/recycleBinTTL"))

    def restore_resource(self, resource_type: ResourceType | str, resource_id: str) -> Any:
        """Restore a deleted resource and what was deleted with it; return integrator.io's answer.

        After an answer that may have been lost, the resource is read: when it is back, the restore is done and
        ``[{"model", "_id", "name"}]`` of that resource is returned in place of the lost answer.

        :raises CeligoNotFoundError: when it is not in the recycle bin.
        """
        kind = as_resource_type(resource_type)
        rid = check_id(resource_id, f"{kind.singular} id")

        def look(lost: BaseException) -> Found[list[dict[str, Any]]] | None:
            try:
                doc = self.request("GET", f"{kind.path}/{rid}")
            except CeligoNotFoundError:
                return None
            name = doc.get("name") if isinstance(doc, Mapping) else None
            return Found([{"model": kind.model, "_id": rid, "name": name}], f"{kind.singular} {rid} restored")

        answer = self._write(
            "POST",
            f"/recycleBinTTL/{kind.value}/{rid}/doCascadeRestore",
            json={},
            look=look,
            not_found=f"{kind.singular} {rid} is not in the recycle bin",
        )
        self.log.info("Restored %s %s from the recycle bin", kind.singular, rid)
        return answer


def _refused_patch(error: CeligoApiError) -> bool:
    """True when a PATCH was refused for what it asked (a 4xx other than 401, 404 and 429)."""
    return (
        400 <= error.status < 500 and error.status not in (401, 404, 429) and not isinstance(error, CeligoNotFoundError)
    )


def _cloneable(value: ResourceType | str) -> ResourceType:
    kind = as_resource_type(value)
    if kind not in CLONEABLE_TYPES:
        names = ", ".join(k.value for k in CLONEABLE_TYPES)
        raise CeligoConfigError(f"{kind.value} cannot be cloned; integrator.io clones {names}")
    return kind
