"""The fault plan: injected 500s, 503s, dropped connections, latency and 429 storms.

Plan format (every key optional; ``{}`` clears the plan)::

    {
      "seed": 42,                       # seed of the rules' random generators (deterministic runs)
      "share_500": 0.1,                 # share of requests answered 500
      "share_503": 0.05,                # share answered 503
      "share_drop": 0.02,               # share whose connection is closed without a response
      "share_500_after": 0.0,           # share handled in full whose answer is then replaced by a 500
      "share_drop_after": 0.0,          # share handled in full whose connection is then closed unanswered
      "latency": 0.2,                   # seconds added before handling (counts as "in flight")
      "latency_after": 0.0,             # seconds the answer is held after the handler ran (the work is done)
      "storm_next": 3,                  # the next N requests get 429
      "storm_share": 0.0,               # share of requests that get 429
      "storm_retry_after": 2,           # Retry-After (seconds) sent with storm 429s
      "limit": 5,                       # stop injecting (except latency) after this many faults
      "routes": [                       # rules for some routes; the first match replaces the
        {"method": "POST",              # global rule for that request
         "path": "^/v1/flows/[0-9a-f]{24}/run$",    # regex searched in the path, or
         "prefix": "/v1/jobs",                     # a path prefix
         "share_500": 1.0, "limit": 1}
      ]
    }
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AFTER_KINDS", "FaultInjector", "FaultPlanError"]

SHARE_KEYS = ("share_500", "share_503", "share_drop", "storm_share", "share_500_after", "share_drop_after")
RULE_KEYS = frozenset({*SHARE_KEYS, "latency", "latency_after", "storm_next", "storm_retry_after", "limit"})
MATCH_KEYS = frozenset({"method", "path", "prefix"})
KINDS = ("latency", "latency_after", "error_500", "error_503", "drop", "storm_429", "error_500_after", "drop_after")
#: Faults injected after the handler ran: the work is done (a run started, a resource created), the answer lost.
AFTER_KINDS = frozenset({"error_500_after", "drop_after"})


class FaultPlanError(ValueError):
    """An invalid fault plan."""


@dataclass
class FaultRule:
    """What to inject into the requests one rule covers; ``storm_next`` and ``limit`` count down."""

    share_500: float = 0.0
    share_503: float = 0.0
    share_drop: float = 0.0
    storm_share: float = 0.0
    share_500_after: float = 0.0
    share_drop_after: float = 0.0
    latency: float = 0.0
    latency_after: float = 0.0
    storm_next: int = 0
    storm_retry_after: int = 1
    limit: int | None = None
    method: str | None = None
    path: re.Pattern[str] | None = None
    prefix: str | None = None
    #: This rule's own generator: the n-th request a rule covers gets the same draw however the calls of other
    #: rules interleave with it (set by FaultInjector.set_plan from the plan's seed and the rule's position).
    random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def covers(self, method: str, path: str) -> bool:
        """Return True when this route rule applies to the request."""
        if self.method and self.method.upper() not in ("*", method.upper()):
            return False
        if self.prefix is not None and not path.startswith(self.prefix):
            return False
        return self.path is None or self.path.search(path) is not None

    def as_dict(self) -> dict[str, Any]:
        """Return the rule in plan format."""
        out: dict[str, Any] = {
            key: getattr(self, key)
            for key in (*SHARE_KEYS, "latency", "latency_after", "storm_next", "storm_retry_after", "limit")
        }
        if self.method:
            out["method"] = self.method
        if self.path is not None:
            out["path"] = self.path.pattern
        if self.prefix is not None:
            out["prefix"] = self.prefix
        return out


@dataclass
class Decision:
    """What the middleware must do with one request."""

    latency: float = 0.0
    latency_after: float = 0.0
    kind: str | None = None  # error_500 | error_503 | drop | storm_429 | error_500_after | drop_after
    retry_after: int = 1


def _number(data: dict[str, Any], key: str, low: float, high: float | None) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low or (high and value > high):
        raise FaultPlanError(f"{key} must be a number in [{low}, {high if high else 'inf'}]")
    return float(value)


def parse_rule(data: Any, is_route: bool) -> FaultRule:
    """Return a rule from its JSON form. Raises FaultPlanError naming the bad key."""
    if not isinstance(data, dict):
        raise FaultPlanError("a fault rule must be a JSON object")
    allowed = RULE_KEYS | (MATCH_KEYS if is_route else {"seed", "routes"})
    unknown = set(data) - allowed
    if unknown:
        raise FaultPlanError(f"unknown fault plan key(s): {', '.join(sorted(unknown))}")
    rule = FaultRule()
    for key in SHARE_KEYS:
        if key in data:
            setattr(rule, key, _number(data, key, 0.0, 1.0))
    if "latency" in data:
        rule.latency = _number(data, "latency", 0.0, 60.0)
    if "latency_after" in data:
        rule.latency_after = _number(data, "latency_after", 0.0, 600.0)
    for key in ("storm_next", "storm_retry_after", "limit"):
        if key in data and data[key] is not None:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise FaultPlanError(f"{key} must be an integer >= 0")
            setattr(rule, key, value)
    rule.storm_retry_after = max(1, rule.storm_retry_after)
    if is_route:
        if not (set(data) & MATCH_KEYS):
            raise FaultPlanError("a route rule needs 'method', 'path' or 'prefix'")
        rule.method = data.get("method")
        rule.prefix = data.get("prefix")
        if "path" in data:
            try:
                rule.path = re.compile(data["path"])
            except (re.error, TypeError) as exc:
                raise FaultPlanError(f"path is not a valid regex: {exc}") from exc
    return rule


class FaultInjector:
    """Holds the current plan, its random generator and the counters of injected faults."""

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.set_plan({})

    def set_plan(self, plan: Any) -> None:
        """Replace the plan (``{}`` clears it). Raises FaultPlanError for an invalid plan."""
        if not isinstance(plan, dict):
            raise FaultPlanError("the fault plan must be a JSON object")
        glob = parse_rule(plan, is_route=False)
        routes_data = plan.get("routes", [])
        if not isinstance(routes_data, list):
            raise FaultPlanError("routes must be a list")
        routes = [parse_rule(item, is_route=True) for item in routes_data]
        seed = plan.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultPlanError("seed must be an integer")
        self.seed = seed
        self.glob = glob
        self.routes = routes
        for position, rule in enumerate([glob, *routes]):
            rule.random = random.Random(None if seed is None else f"{seed}:{position}")

    def plan(self) -> dict[str, Any]:
        """Return the current plan in its JSON form."""
        out = self.glob.as_dict()
        out["seed"] = self.seed
        out["routes"] = [r.as_dict() for r in self.routes]
        return out

    def reset_counters(self) -> None:
        """Zero the injected-fault counters."""
        self.counters.clear()

    def decide(self, method: str, path: str) -> Decision:
        """Return what to inject into a request (and count it)."""
        rule = next((r for r in self.routes if r.covers(method, path)), self.glob)
        decision = Decision(latency=rule.latency, latency_after=rule.latency_after, retry_after=rule.storm_retry_after)
        if rule.latency > 0:
            self.counters["latency"] += 1
        if rule.latency_after > 0:
            self.counters["latency_after"] += 1
        if rule.limit is not None and rule.limit <= 0:
            return decision
        if rule.storm_next > 0:
            rule.storm_next -= 1
            decision.kind = "storm_429"
        else:
            decision.kind = self._draw(rule)
        if decision.kind is not None:
            self.counters[decision.kind] += 1
            if rule.limit is not None:
                rule.limit -= 1
        return decision

    def _draw(self, rule: FaultRule) -> str | None:
        if not any(getattr(rule, key) for key in SHARE_KEYS):
            return None
        roll = rule.random.random()
        for kind, share in (
            ("drop", rule.share_drop),
            ("error_500", rule.share_500),
            ("error_503", rule.share_503),
            ("storm_429", rule.storm_share),
            ("error_500_after", rule.share_500_after),
            ("drop_after", rule.share_drop_after),
        ):
            if roll < share:
                return kind
            roll -= share
        return None
