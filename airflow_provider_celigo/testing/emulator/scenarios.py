"""What a flow run does in the emulator: step durations, record counts, errors or failure."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

__all__ = ["DEFAULT_SCENARIO", "Scenario", "scenario_from"]


@dataclass(frozen=True)
class Scenario:
    """The behaviour of one flow's runs; durations are emulated seconds."""

    export_seconds: float = 1.0
    import_seconds: float = 1.0
    records: int = 10
    errors: int = 0
    fail: bool = False
    fail_message: str = "Export failed: could not connect to the source system"
    records_per_page: int = 20

    @property
    def pages(self) -> int:
        """Return the number of pages the export generates."""
        return math.ceil(self.records / self.records_per_page) if self.records else 0

    def as_dict(self) -> dict[str, Any]:
        """Return the scenario as a JSON-ready dict."""
        return asdict(self)

    def updated(self, changes: dict[str, Any]) -> Scenario:
        """Return a copy with ``changes`` applied. Raises ValueError for an unknown key or bad value."""
        known = {f.name for f in fields(self)}
        for key in changes:
            if key not in known:
                raise ValueError(f"unknown scenario key {key!r} (known: {', '.join(sorted(known))})")
        result = replace(self, **changes)
        result.validate()
        return result

    def validate(self) -> None:
        """Raise ValueError when a value has the wrong type or range."""
        for name in ("export_seconds", "import_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0")
        for name in ("records", "errors", "records_per_page"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0")
        if self.records_per_page < 1:
            raise ValueError("records_per_page must be >= 1")
        if self.errors > self.records:
            raise ValueError("errors must not exceed records")
        if not isinstance(self.fail, bool):
            raise ValueError("fail must be a boolean")
        if not isinstance(self.fail_message, str):
            raise ValueError("fail_message must be a string")


DEFAULT_SCENARIO = Scenario()


def scenario_from(data: dict[str, Any], base: Scenario = DEFAULT_SCENARIO) -> Scenario:
    """Return ``base`` updated with ``data``. Raises ValueError when ``data`` is invalid."""
    if not isinstance(data, dict):
        raise ValueError("a scenario must be a JSON object")
    return base.updated(data)
