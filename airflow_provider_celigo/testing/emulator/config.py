"""Emulator settings: fixed at start-up, and the subset that can change at run time."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .seeds import DEFAULT_ACCOUNT, DEFAULT_TOKEN

__all__ = ["EmulatorConfig"]

# Keys accepted by PUT /_emulator/config, with the aliases the admin client may use.
RUNTIME_KEYS = frozenset(
    {
        "clock_speed",
        "page_size",
        "bucket_size",
        "refill_per_second",
        "empty_list_204",
        "run_status_code",
        "keep_secret_on_mask_write",
        "jobs_cap",
        "jobs_require_scope",
        "cancel_delay_seconds",
        "validate_refs",
        "flat_401",
        "tokens",
        "accept_guessed_patch_paths",
        "clone_answer",
        "step_errors_page_size",
        "step_errors_404_when_empty",
        "state_delete_missing_404",
        # the job model (jobengine.py)
        "honour_export_ids",
        "refuse_disabled_runs",
        "queue_lag_seconds",
        "finalize_seconds",
        "chain_delay_seconds",
        "run_schedules",
    }
)
ALIASES = {"bucket": "bucket_size", "refill": "refill_per_second"}


def _default_tokens() -> dict[str, str]:
    return {DEFAULT_TOKEN: DEFAULT_ACCOUNT}


@dataclass
class EmulatorConfig:
    """All emulator settings; see the README section on the emulator for their meaning."""

    tokens: dict[str, str] = field(default_factory=_default_tokens)
    seed: str | None = None
    admin: bool = True
    clock_speed: float = 1.0
    page_size: int = 100
    bucket_size: int = 1000
    refill_per_second: float = 300.0
    empty_list_204: bool = True
    run_status_code: int = 201
    keep_secret_on_mask_write: bool = True
    jobs_cap: int = 1000
    jobs_require_scope: bool = True
    cancel_delay_seconds: float = 0.5
    validate_refs: bool = True
    flat_401: bool = False
    request_log_size: int = 10000
    # PATCH of paths the provider guesses (not documented) succeeds; False: only documented paths (422 else).
    accept_guessed_patch_paths: bool = True
    # What a clone answers: "manifest" ([{model, _id, name}]) or "document" (the cloned resource); both are
    # allowed by Celigo's clone-response schema.
    clone_answer: str = "manifest"
    # Step errors per page of GET /flows/{id}/{step}/errors (more pages: nextPageURL).
    step_errors_page_size: int = 1000
    # A step without errors answers 404 (no error store yet), as one real client observed.
    step_errors_404_when_empty: bool = False
    # DELETE of a state key that is not set answers 404 (undocumented; as GET of that key does), else 204/200.
    state_delete_missing_404: bool = True
    # The job model. Assumed, not documented by any source: a run body's ``_exportIds`` runs only those
    # page generators (False: the body is recorded and every page generator runs), and running a
    # disabled flow answers 422 ``flow_disabled`` (False: it runs).
    honour_export_ids: bool = True
    refuse_disabled_runs: bool = True
    # Emulated seconds: createdAt -> startedAt of a flow job (real median 1.9 s), last step's end ->
    # the job turning terminal (lastExecutedAt; real median 24 s), a completed run -> its _runNextFlowIds.
    queue_lag_seconds: float = 0.1
    finalize_seconds: float = 0.2
    chain_delay_seconds: float = 0.5
    run_schedules: bool = True  # fire enabled flows' ``schedule`` on the emulated clock

    @property
    def default_token(self) -> str:
        """Return the first configured token."""
        return next(iter(self.tokens))

    @property
    def default_account(self) -> str:
        """Return the account of the first configured token."""
        return self.tokens[self.default_token]

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        return asdict(self)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply run-time changes in place. Raises ValueError naming the first bad key or value."""
        normalized = {ALIASES.get(key, key): value for key, value in changes.items()}
        for key, value in normalized.items():
            if key not in RUNTIME_KEYS:
                raise ValueError(f"unknown or read-only config key {key!r}")
            _check(key, value)
        for key, value in normalized.items():
            setattr(self, key, dict(value) if key == "tokens" else value)


def _check(key: str, value: Any) -> None:
    """Raise ValueError when ``value`` is not valid for ``key``."""
    if key in {
        "empty_list_204",
        "keep_secret_on_mask_write",
        "jobs_require_scope",
        "validate_refs",
        "flat_401",
        "accept_guessed_patch_paths",
        "step_errors_404_when_empty",
        "state_delete_missing_404",
        "honour_export_ids",
        "refuse_disabled_runs",
        "run_schedules",
    }:
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be a boolean")
    elif key == "clone_answer":
        if value not in ("manifest", "document"):
            raise ValueError("clone_answer must be 'manifest' or 'document'")
    elif key in {"page_size", "bucket_size", "jobs_cap", "step_errors_page_size"}:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be an integer >= 1")
    elif key in {"clock_speed", "refill_per_second"}:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{key} must be a number > 0")
    elif key in {"cancel_delay_seconds", "queue_lag_seconds", "finalize_seconds", "chain_delay_seconds"}:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{key} must be a number >= 0")
    elif key == "run_status_code":
        if value not in (200, 201, 202):
            raise ValueError("run_status_code must be 200, 201 or 202")
    elif key == "tokens" and (
        not isinstance(value, dict)
        or not value
        or not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items())
    ):
        raise ValueError("tokens must be a non-empty object mapping token -> account id")
