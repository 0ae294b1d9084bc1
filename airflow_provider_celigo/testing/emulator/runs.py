"""What one run of a flow consists of: its sources, processors, connections, scenario and successors.

``plan_run`` reads a flow document once, when the run starts; the job engine then creates one flow
job per source from the plan. ``StoreFlows`` lets the engine find flows by itself, for the runs that
integrator.io starts on its own: chained flows (``_runNextFlowIds``) and schedules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from .flowgraph import page_generator_ids, processor_steps, step_connections
from .scenarios import Scenario

__all__ = ["FlowDirectory", "RunPlan", "Source", "StartedBy", "StoreFlows", "plan_run"]

Doc = dict[str, Any]
Lookup = Callable[[str, str], Doc | None]


@dataclass(frozen=True)
class Source:
    """One page generator of a run: its index among the flow's page generators and its export."""

    index: int
    export_id: str | None
    connections: tuple[str, ...]


@dataclass(frozen=True)
class RunPlan:
    """Everything the engine needs to create the flow jobs of one run."""

    flow_id: str
    integration_id: str | None
    sources: tuple[Source, ...]
    generator_count: int
    processors: tuple[tuple[str, str], ...]
    scenario: Scenario
    parallel: bool
    next_flow_ids: tuple[str, ...]
    body: object = None


@dataclass(frozen=True)
class StartedBy:
    """Who started a run: ``api`` (POST /run by a user), ``chain`` (a predecessor completed) or ``schedule``."""

    kind: str
    user_id: str | None = None
    flow_id: str | None = None
    job_ids: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> Doc:
        """Return the trigger as the admin API shows it."""
        out: Doc = {"type": self.kind}
        if self.user_id:
            out["userId"] = self.user_id
        if self.flow_id:
            out["_flowId"] = self.flow_id
            out["_jobIds"] = list(self.job_ids)
        return out


def selected_sources(flow: Doc, export_ids: list[str] | None) -> list[tuple[int, str | None]]:
    """Return ``(index, export id)`` of the page generators a run runs, in flow order.

    ``export_ids`` (the run body's ``_exportIds``, assumed semantics) keeps only those; None runs all.
    A flow without page generators still makes one flow job (with no export child).
    """
    generators = page_generator_ids(flow)
    if not generators:
        return [(0, None)]
    wanted = set(export_ids) if export_ids is not None else None
    return [(i, eid) for i, eid in enumerate(generators) if wanted is None or eid in wanted]


def plan_run(flow: Doc, lookup: Lookup, scenario: Scenario, export_ids: list[str] | None, body: object) -> RunPlan:
    """Return the plan of one run of ``flow``; ``lookup(rtype, id)`` returns a stored export/import."""
    processors = processor_steps(flow)
    shared = [("imports" if kind == "import" else "exports", sid) for kind, sid in processors]
    sources = []
    for index, export_id in selected_sources(flow, export_ids):
        steps = ([("exports", export_id)] if export_id else []) + shared
        sources.append(Source(index, export_id, tuple(step_connections(steps, lookup))))
    next_ids = flow.get("_runNextFlowIds")
    return RunPlan(
        flow_id=flow["_id"],
        integration_id=flow.get("_integrationId"),
        sources=tuple(sources),
        generator_count=len(page_generator_ids(flow)),
        processors=tuple(processors),
        scenario=scenario,
        parallel=flow.get("runPageGeneratorsInParallel") is True,
        next_flow_ids=tuple(i for i in next_ids if isinstance(i, str)) if isinstance(next_ids, list) else (),
        body=body,
    )


class FlowDirectory(Protocol):
    """Where the engine finds flows for the runs integrator.io starts by itself."""

    def flow(self, account: str, flow_id: str) -> tuple[Doc, Lookup, Scenario] | None:
        """Return a live flow with its account's lookup and its scenario, or None."""

    def scheduled_flows(self) -> Iterator[tuple[str, Doc]]:
        """Yield ``(account, flow)`` for every live flow that has a ``schedule``."""


class _Accounts(Protocol):
    accounts: dict[str, Any]

    def scenario_for(self, flow_id: str) -> Scenario: ...


class StoreFlows:
    """A FlowDirectory over the emulator's account stores and scenarios."""

    def __init__(self, emulator: _Accounts) -> None:
        self.emulator = emulator

    def flow(self, account: str, flow_id: str) -> tuple[Doc, Lookup, Scenario] | None:
        """Return a live flow with its account's lookup and its scenario, or None."""
        store = self.emulator.accounts.get(account)
        if store is None:
            return None
        doc = store.get("flows", flow_id)
        return (doc, store.get, self.emulator.scenario_for(flow_id)) if doc is not None else None

    def scheduled_flows(self) -> Iterator[tuple[str, Doc]]:
        """Yield ``(account, flow)`` for every live flow that has a ``schedule``."""
        for account, store in list(self.emulator.accounts.items()):
            for doc in store.docs["flows"].values():
                if doc.get("schedule"):
                    yield account, doc
