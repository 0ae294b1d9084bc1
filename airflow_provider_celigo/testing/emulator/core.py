"""The emulator's whole state: accounts, scenarios, jobs, limits, faults and observations."""

from __future__ import annotations

from typing import Any

from .clock import Clock
from .config import EmulatorConfig
from .faults import FaultInjector
from .jobengine import JobEngine
from .observe import InFlight, RequestLog
from .ratelimit import RateLimiter
from .runs import StoreFlows
from .scenarios import DEFAULT_SCENARIO, Scenario, scenario_from
from .seeds import named_seed
from .store import AccountStore

__all__ = ["Emulator"]


class Emulator:
    """One emulated integrator.io with several accounts (one per configured token's account id)."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock = Clock(self.config.clock_speed)
        self.jobs = JobEngine(self.clock, self.config, StoreFlows(self))
        self.faults = FaultInjector()
        self.limiter = RateLimiter(self.config.bucket_size, self.config.refill_per_second)
        self.log = RequestLog(self.config.request_log_size)
        self.in_flight = InFlight()
        self.accounts: dict[str, AccountStore] = {}
        self.scenarios: dict[str, Scenario] = {}
        if self.config.seed:
            self.seed(self.config.seed)

    def now(self) -> float:
        """Return the emulated time (epoch seconds)."""
        return self.clock.now()

    def account(self, account_id: str) -> AccountStore:
        """Return the store of an account, creating it empty on first use."""
        store = self.accounts.get(account_id)
        if store is None:
            store = self.accounts[account_id] = AccountStore(account_id)
        return store

    def account_for_token(self, token: str | None) -> AccountStore | None:
        """Return the account a bearer token belongs to, or None for an unknown token."""
        account_id = self.config.tokens.get(token) if token else None
        return self.account(account_id) if account_id else None

    def reset(self) -> None:
        """Clear all data, jobs, scenarios, the fault plan, the request log and every counter."""
        self.accounts.clear()
        self.scenarios.clear()
        self.jobs.reset()
        self.faults.set_plan({})
        self.faults.reset_counters()
        self.limiter.configure(self.config.bucket_size, self.config.refill_per_second)
        self.log.clear()
        self.in_flight.reset_all()

    def seed(self, seed: str | dict[str, Any], account: str | None = None) -> dict[str, int]:
        """Load a named seed or a raw dump into an account (default: the first token's account).

        Returns how many documents of each type were loaded. Raises KeyError for an unknown seed
        name and ValueError for an invalid scenario or unknown dump key.
        """
        dump = named_seed(seed) if isinstance(seed, str) else seed
        store = self.account(account or dump.get("account") or self.config.default_account)
        scenarios = {fid: scenario_from(data) for fid, data in (dump.get("scenarios") or {}).items()}
        unknown = store.load(dump, self.now())
        if unknown:
            raise ValueError(f"unknown dump key(s): {', '.join(unknown)}")
        self.scenarios.update(scenarios)
        return {key: len(value) for key, value in dump.items() if isinstance(value, list)}

    def scenario_for(self, flow_id: str) -> Scenario:
        """Return the scenario of a flow (the default short successful run when none is set)."""
        return self.scenarios.get(flow_id, DEFAULT_SCENARIO)

    def set_scenario(self, flow_id: str, changes: dict[str, Any]) -> Scenario:
        """Merge ``changes`` into a flow's scenario and return it. Raises ValueError when invalid."""
        scenario = scenario_from(changes, self.scenario_for(flow_id))
        self.scenarios[flow_id] = scenario
        return scenario

    def configure(self, changes: dict[str, Any]) -> None:
        """Apply run-time config changes. Raises ValueError for an unknown key or bad value."""
        self.config.update(changes)
        if self.clock.speed != self.config.clock_speed:
            self.clock.set_speed(self.config.clock_speed)
        limiter = self.limiter
        if (limiter.size, limiter.refill_per_second) != (self.config.bucket_size, self.config.refill_per_second):
            limiter.configure(self.config.bucket_size, self.config.refill_per_second)

    def stats(self) -> dict[str, Any]:
        """Return peak running jobs, jobs running now and request concurrency counters."""
        now = self.now()
        return {
            "peak_running_jobs": self.jobs.peaks(now),
            "running_jobs_now": self.jobs.running_now(now),
            "peak_requests_in_flight": self.in_flight.peak,
            "requests_in_flight": self.in_flight.current,
            "requests_in_flight_by_user_agent_peak": dict(self.in_flight.peak_by_agent),
            "requests_total": self.in_flight.total,
        }

    def reset_stats(self) -> None:
        """Restart peak measurements from now."""
        self.jobs.reset_peaks(self.now())
        self.in_flight.reset_peaks()

    def dump(self) -> dict[str, Any]:
        """Return every account's data (secrets unmasked), the scenarios and the clock."""
        return {
            "accounts": {account_id: store.dump() for account_id, store in self.accounts.items()},
            "scenarios": {flow_id: s.as_dict() for flow_id, s in self.scenarios.items()},
            "now": self.now(),
        }
