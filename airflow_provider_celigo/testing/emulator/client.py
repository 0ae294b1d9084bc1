"""A small client for the emulator's admin routes (``/_emulator/...``)."""

from __future__ import annotations

from typing import Any

import requests

__all__ = ["EmulatorAdmin"]


class EmulatorAdmin:
    """Talks to ``<root_url>/_emulator``; every method raises ``requests.HTTPError`` on an error status."""

    def __init__(self, root_url: str, timeout: float = 10.0) -> None:
        self.root_url = root_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def close(self) -> None:
        """Close the underlying HTTP session."""
        self.session.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        kwargs: dict[str, Any] = {"timeout": self.timeout}
        if body is not None:
            kwargs["json"] = body
        response = self.session.request(method, f"{self.root_url}/_emulator{path}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        """Clear all data, jobs, scenarios, faults, the request log and counters."""
        self._call("POST", "/reset")

    def seed(self, name_or_dump: str | dict[str, Any] = "demo", account: str | None = None) -> dict[str, int]:
        """Load a named seed (``"demo"``) or a raw dump; return counts loaded per type."""
        body: dict[str, Any] = {"seed": name_or_dump} if isinstance(name_or_dump, str) else dict(name_or_dump)
        if account:
            body["account"] = account
        result: dict[str, int] = self._call("POST", "/seed", body)["loaded"]
        return result

    def data(self) -> dict[str, Any]:
        """Return every account's data with secrets unmasked."""
        result: dict[str, Any] = self._call("GET", "/data")
        return result

    def set_scenario(self, flow_id: str, **scenario: Any) -> dict[str, Any]:
        """Merge ``scenario`` keys (export_seconds, import_seconds, records, errors, fail, ...) into a flow's."""
        result: dict[str, Any] = self._call("PUT", f"/scenarios/{flow_id}", scenario)
        return result

    def set_faults(self, plan: dict[str, Any]) -> dict[str, Any]:
        """Replace the fault plan (``{}`` clears it); return the plan and counters."""
        result: dict[str, Any] = self._call("PUT", "/faults", plan)
        return result

    def faults(self) -> dict[str, Any]:
        """Return ``{"plan": ..., "counters": {kind: n}}``."""
        result: dict[str, Any] = self._call("GET", "/faults")
        return result

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change run-time settings (clock_speed, page_size, bucket_size, ...); return all settings."""
        result: dict[str, Any] = self._call("PUT", "/config", settings)
        return result

    def requests_log(self) -> list[dict[str, Any]]:
        """Return the request log, oldest first."""
        result: list[dict[str, Any]] = self._call("GET", "/requests")
        return result

    def runs(self) -> dict[str, int]:
        """Return ``{flowId: number of runs started}``."""
        result: dict[str, int] = self._call("GET", "/runs")
        return result

    def jobs(self) -> list[dict[str, Any]]:
        """Return every flow and retry job as it is now, with children."""
        result: list[dict[str, Any]] = self._call("GET", "/jobs")
        return result

    def stats(self) -> dict[str, Any]:
        """Return peak running jobs and request concurrency counters."""
        result: dict[str, Any] = self._call("GET", "/stats")
        return result

    def reset_stats(self) -> None:
        """Restart peak measurements from now."""
        self._call("POST", "/stats/reset")
