"""The async hook finds a lender that its backend returns in another letter case (a case-insensitive collation)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook


def conn(conn_id: str, **extra: Any) -> SimpleNamespace:
    return SimpleNamespace(
        conn_id=conn_id,
        conn_type="celigo",
        password="t0ken-for-tests",
        host=None,
        schema=None,
        login=None,
        port=None,
        extra=json.dumps(extra),
        extra_dejson=extra,
    )


def test_a_lender_answered_in_another_case_is_found() -> None:
    stored = {"borrower": conn("borrower", borrow_concurrency_from="prod"), "prod": conn("Prod", concurrency_level=4)}
    hook = CeligoAsyncHook("borrower")

    async def aget_connection(conn_id: str) -> SimpleNamespace:
        return stored[conn_id.lower()]

    hook.aget_connection = aget_connection  # type: ignore[attr-defined]
    settings = asyncio.run(hook.get_settings())
    assert settings.concurrency_level == 4
    assert settings.borrowed_from is not None and settings.borrowed_from.lower() == "prod"
