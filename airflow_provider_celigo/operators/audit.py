"""``CeligoExportAuditLogOperator``: the compliance copy of integrator.io's audit log, one window per DAG run.

A thin call of ``CeligoHook.export_audit_log`` / ``iter_audit_window`` (``hooks/_account.py``); ``GET /audit`` and its
filters come from the integrator.io UI and Celigo's MCP reference (confidence H), the entry fields from the UI's
fixtures (M).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.operators.base import CeligoBaseOperator

if TYPE_CHECKING:
    from datetime import datetime

    from airflow.sdk import Context

__all__ = ["DEFAULT_MAX_RETURNED", "CeligoExportAuditLogOperator"]

DEFAULT_MAX_RETURNED = 1000


class CeligoExportAuditLogOperator(CeligoBaseOperator):
    """Export the audit entries of a time window (the run's data interval by default) to a JSON-lines file, or
    return them.

    Entries are read page by page and written as they arrive, never all held in memory; the file appears only
    once complete. The window is half-open, ``[since, until)``, so consecutive data intervals neither miss nor
    repeat an entry. With a ``path`` the task returns ``{"path", "entries", "since", "until"}``; without one it
    returns the entries (newest first) and refuses, before pushing anything, a window holding more than
    ``max_entries_returned`` of them: XCom is no place for a large log.

    :param path: the file to write (templated, e.g. ``"/data/celigo-audit/{{ ds }}.jsonl"``); its folder must
        exist. None returns the entries instead.
    :param since: start of the window (templated; a datetime or ISO-8601 text). Default: ``data_interval_start``.
    :param until: end of the window, excluded (templated). Default: ``data_interval_end``.
    :param resource_type: only entries about this type (``flows``, ``connections`` ... or the audit log's own
        name, e.g. ``ashare``) (templated).
    :param resource_id: only entries about this resource (templated).
    :param user_id: only changes made by this user (templated).
    :param source: ``ui``, ``api``, ``connector``, ``stack`` or ``system`` (templated).
    :param action: ``create``, ``update`` or ``delete`` (templated).
    :param max_entries_returned: the most entries returned without a ``path`` (default 1000).
    """

    template_fields: Sequence[str] = (
        "path",
        "since",
        "until",
        "resource_type",
        "resource_id",
        "user_id",
        "source",
        "action",
    )
    ui_color = "#eef3fb"

    def __init__(
        self,
        *,
        path: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        user_id: str | None = None,
        source: str | None = None,
        action: str | None = None,
        max_entries_returned: int = DEFAULT_MAX_RETURNED,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (
            isinstance(max_entries_returned, bool)
            or not isinstance(max_entries_returned, int)
            or max_entries_returned < 1
        ):
            raise CeligoConfigError(f"max_entries_returned must be a whole number >= 1, got {max_entries_returned!r}")
        self.path, self.max_entries_returned = path, max_entries_returned
        self.since, self.until = since, until
        self.resource_type, self.resource_id = resource_type, resource_id
        self.user_id, self.source, self.action = user_id, source, action

    def _window(self, context: Context) -> tuple[datetime, datetime]:
        from airflow_provider_celigo.hooks._account import as_moment

        since = as_moment(self.since or context.get("data_interval_start"), "since")
        until = as_moment(self.until or context.get("data_interval_end"), "until")
        if since is None or until is None:
            raise CeligoConfigError(
                "no time window to export: this run has no data interval (an unscheduled DAG's manual run); pass "
                "since= and until= (e.g. since='{{ macros.ds_add(ds, -1) }}', until='{{ ds }}')"
            )
        return since, until

    def execute(self, context: Context) -> dict[str, Any] | list[dict[str, Any]]:
        since, until = self._window(context)
        filters = {
            "resource_type": self.resource_type or None,
            "resource_id": self.resource_id or None,
            "user_id": self.user_id or None,
            "source": self.source or None,
            "action": self.action or None,
        }
        filters = {key: value for key, value in filters.items() if value is not None}
        if self.path:
            return self.hook.export_audit_log(self.path, since=since, until=until, **filters)
        entries: list[dict[str, Any]] = []
        for entry in self.hook.iter_audit_window(since, until, **filters):
            if len(entries) == self.max_entries_returned:
                raise CeligoConfigError(
                    f"the audit log holds more than {self.max_entries_returned} entries in this window; they are "
                    "not returned through XCom. Pass path= to write them to a JSON-lines file (streamed, any "
                    "size), narrow the window or the filters, or raise max_entries_returned"
                )
            entries.append(entry)
        self.log.info("Returning %d audit entries", len(entries))
        return entries
