"""Emulator jobs carry the fields, JSON types and statuses of real integrator.io job records."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from conftest import Api

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "real-flow-jobs.json"
CLI_FIELDS = {"duration", "flowname", "steps", "stepname"}  # added by the CLI that captured the data
STATUSES = {"queued", "running", "completed", "failed", "canceled", "canceling", "retrying"}

Group = tuple[str, str]  # (type, status)


def _json_type(value: Any) -> str:
    return type(value).__name__


def _real_groups() -> dict[Group, list[dict[str, Any]]]:
    groups: dict[Group, list[dict[str, Any]]] = defaultdict(list)
    for flow_job in json.loads(FIXTURE.read_text()):
        groups[(flow_job["type"], flow_job["status"])].append(flow_job)
        for step in flow_job.get("steps", []):
            groups[(step["type"], step["status"])].append(step)
    return groups


def _common_fields(records: list[dict[str, Any]]) -> dict[str, str]:
    """Return {field: JSON type} for fields present in every record (minus CLI-added ones)."""
    common = set.intersection(*(set(r) for r in records)) - CLI_FIELDS
    types: dict[str, str] = {}
    for name in common:
        kinds = {_json_type(r[name]) for r in records}
        assert len(kinds) == 1, (name, kinds)
        types[name] = kinds.pop()
    return types


def _emulated_groups(api: Api, admin: EmulatorAdmin) -> dict[Group, list[dict[str, Any]]]:
    admin.configure(clock_speed=50, cancel_delay_seconds=0)
    admin.set_scenario(DEMO_IDS["flow_customers"], export_seconds=1, import_seconds=500)
    completed = api.run(DEMO_IDS["flow_orders"])
    failed = api.run(DEMO_IDS["flow_refunds"])
    long_running = api.run(DEMO_IDS["flow_customers"])
    queued = api.run(DEMO_IDS["flow_customers"])
    api.wait_job(completed, {"completed"})
    api.wait_job(failed, {"failed"})
    deadline = time.monotonic() + 5
    while len(api.get(f"/jobs/{long_running}/family").json()["children"]) < 3:  # imports started
        assert time.monotonic() < deadline
        time.sleep(0.01)
    queued_doc = api.job(queued)
    api.put(f"/jobs/{long_running}/cancel")
    groups: dict[Group, list[dict[str, Any]]] = defaultdict(list)
    groups[("flow", "queued")].append(queued_doc)
    for job_id in (completed, failed, long_running):
        family = api.wait_job(job_id, {"completed", "failed", "canceled"})
        groups[(family["type"], family["status"])].append(family)
        for child in api.get(f"/jobs/{job_id}/family").json()["children"]:
            groups[(child["type"], child["status"])].append(child)
    return groups


def test_emulator_jobs_match_real_records(api: Api, admin: EmulatorAdmin) -> None:
    real = _real_groups()
    emulated = _emulated_groups(api, admin)
    compared = []
    for group, records in sorted(real.items()):
        if group not in emulated:
            continue  # e.g. ("import", "failed"): the emulator fails runs on the export step only
        expected = _common_fields(records)
        for doc in emulated[group]:
            missing = sorted(set(expected) - set(doc))
            assert not missing, f"{group} lacks {missing}"
            wrong = {k: (_json_type(doc[k]), t) for k, t in expected.items() if _json_type(doc[k]) != t}
            assert not wrong, f"{group} has other JSON types: {wrong}"
        compared.append(group)
    must_cover = {
        ("flow", "completed"),
        ("flow", "failed"),
        ("flow", "canceled"),
        ("flow", "queued"),
        ("export", "completed"),
        ("export", "failed"),
        ("import", "completed"),
        ("import", "canceled"),
    }
    assert must_cover <= set(compared), set(compared)


def test_status_vocabulary(api: Api, admin: EmulatorAdmin) -> None:
    real = _real_groups()
    assert {status for _, status in real} <= STATUSES
    emulated = _emulated_groups(api, admin)
    assert {status for _, status in emulated} <= STATUSES
    assert {kind for kind, _ in emulated} == {kind for kind, _ in real}


def test_field_types_agree_wherever_both_have_a_field(api: Api, admin: EmulatorAdmin) -> None:
    real = _real_groups()
    types: dict[str, set[str]] = defaultdict(set)
    for records in real.values():
        for record in records:
            for name, value in record.items():
                types[name].add(_json_type(value))
    for docs in _emulated_groups(api, admin).values():
        for doc in docs:
            for name, value in doc.items():
                if name in types:
                    assert _json_type(value) in types[name], (name, value)
