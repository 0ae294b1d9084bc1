"""Seed data: the ``demo`` account with fixed ids that examples, tests and the demo rely on.

The account itself is data, in ``demo_seed.json`` beside this module: ``ids`` (key -> id, e.g.
``flow_orders``) and ``dump``, the account as the admin seed route takes it.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_TOKEN", "DEMO_IDS", "SEEDS", "demo_dump", "demo_flow_copies", "named_seed"]

DEFAULT_TOKEN = "celigo-emulator-token"
DEFAULT_ACCOUNT = "default"

_DEMO: dict[str, Any] = json.loads(resources.files(__package__).joinpath("demo_seed.json").read_text("utf-8"))
DEMO_IDS: dict[str, str] = _DEMO["ids"]


def demo_dump() -> dict[str, Any]:
    """Return the ``demo`` seed as a raw dump (resource lists plus scenarios and lookup data), a fresh copy."""
    return copy.deepcopy(_DEMO["dump"])


SEEDS = {"demo": demo_dump}


def named_seed(name: str) -> dict[str, Any]:
    """Return the raw dump for a named seed. Raises KeyError for an unknown name."""
    return SEEDS[name]()


def demo_flow_copies(ids: list[str], scenario: dict[str, Any], name: str = "copy") -> dict[str, Any]:
    """Return a raw dump adding one flow per id, each wired like the demo "Orders to NetSuite" flow (its export
    and import), with ``scenario`` for every copy: many distinct flows for concurrency tests."""
    flows = [
        {
            "_id": flow_id,
            "name": f"{name} {flow_id[-4:]}",
            "_integrationId": DEMO_IDS["integration_shop"],
            "disabled": False,
            "pageGenerators": [{"_exportId": DEMO_IDS["export_orders"]}],
            "pageProcessors": [{"type": "import", "_importId": DEMO_IDS["import_orders"]}],
        }
        for flow_id in ids
    ]
    return {"flows": flows, "scenarios": {flow_id: dict(scenario) for flow_id in ids}}
