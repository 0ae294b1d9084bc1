#!/usr/bin/env python3
"""Write the README's reliability table from ``tests/reliability/.last-summary.json``.

The table goes between the marker comments ``<!-- reliability:start -->`` and ``<!-- reliability:end -->`` in
the README's reliability section; nothing else in the README is touched. A figure a family does not measure is
``null`` in the summary and shows as ``-``.

Usage::

    python scripts/reliability_table.py            # rewrite the table in README.md
    python scripts/reliability_table.py --check    # exit 1 when README.md's table differs from the summary
    python scripts/reliability_table.py --print    # print the table only

The summary must come from a full run of the reliability suite (every family ran at least one test), unless
``--allow-partial`` is given: a partial run would otherwise replace the figures of the families it did not run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = ROOT / "tests" / "reliability" / ".last-summary.json"
README = ROOT / "README.md"
START = "<!-- reliability:start -->"
END = "<!-- reliability:end -->"
ORDER = ("faults", "crash", "bad_input", "secrets")
KIND_NAMES = {
    "error_500": "500",
    "error_503": "503",
    "drop": "dropped",
    "storm_429": "429",
    "error_500_after": "500 after the handler",
    "drop_after": "dropped after the handler",
    "latency_after": "answer held after the handler",
    "task_sigkill": "task process SIGKILLed",
    "task_sigkill_after_request": "task SIGKILLed between request and answer",
    "triggerer_sigkill": "triggerer SIGKILLed and restarted",
    "marked_failed": "deferred task marked failed",
}
COLUMNS = (
    "family",
    "tests passed / failed / errors",
    "scenarios",
    "faults injected (on write calls): survived",
    "bad inputs tried",
    "duplicate runs",
    "resources created twice",
    "orphaned jobs",
    "token leaks (places scanned)",
)


class SummaryError(ValueError):
    """The summary cannot make the table."""


def show(value: Any) -> str:
    """A figure, or ``-`` when the family does not measure it."""
    return "-" if value is None else str(value)


def faults_cell(family: dict[str, Any]) -> str:
    total = family.get("faults_injected")
    if total is None:
        return "-"
    cell = str(total)
    if family.get("write_faults_total") is not None:
        cell += f" ({family['write_faults_total']} on write calls)"
    cell += f": {show(family.get('faults_survived'))} survived"
    mix = family.get("fault_mix") or {}
    kinds = [f"{KIND_NAMES.get(kind, kind)} {count}" for kind, count in mix.items() if count]
    if kinds:
        cell += " (" + ", ".join(kinds) + ")"
    if family.get("latency_added_to_calls"):  # the count depends on polling: only that there was
        cell += "; latency on every call"
    return cell


def bad_inputs_cell(family: dict[str, Any]) -> str:
    cell = show(family.get("bad_inputs_tried"))
    targets = family.get("bad_input_targets") or {}
    if targets:
        cell += " (" + ", ".join(f"{count} {target}" for target, count in targets.items()) + ")"
    return cell


def leaks_cell(family: dict[str, Any]) -> str:
    if family.get("token_leaks") is None:
        return "-"
    places = family.get("places") or {}
    detail = ": " + ", ".join(f"{count} {kind}" for kind, count in places.items()) if places else ""
    return f"{family['token_leaks']} ({family['places_scanned']} places{detail})"


def tests_cell(family: dict[str, Any]) -> str:
    tests = family.get("tests") or {}
    cell = f"{tests.get('passed', 0)} / {tests.get('failed', 0)} / {tests.get('errors', 0)}"
    return cell + (f" ({tests['skipped']} skipped)" if tests.get("skipped") else "")


def table(summary: dict[str, Any], allow_partial: bool = False) -> str:
    """Return the markdown between the markers: a line about the run, then one row per family."""
    families = summary.get("families") or {}
    missing = [key for key in ORDER if key not in families]
    if missing:
        raise SummaryError(f"the summary has no figures for {missing}")
    idle = [key for key in ORDER if not sum((families[key].get("tests") or {}).values())]
    if idle and not allow_partial:
        raise SummaryError(
            f"the summary is not from a full reliability run: no test of {idle} ran "
            "(run `pytest tests/reliability/`, or pass --allow-partial)"
        )
    outcome = summary.get("outcome") or {}
    git = summary.get("git") or {}
    commit = f"commit `{git['commit'][:12]}`" if git.get("commit") else "commit unknown"
    if git.get("dirty"):
        commit += " with local changes"
    minutes, seconds = divmod(round(float(summary.get("seconds") or 0)), 60)
    lines = [
        f"Last reliability run: {summary.get('generated_at', '?')}, {commit}, {minutes} min {seconds} s; "
        f"{outcome.get('passed', 0)} tests passed, {outcome.get('failed', 0)} failed, "
        f"{outcome.get('errors', 0)} errors (set-up errors included). `-`: not measured by that family.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for key in ORDER:
        family = families[key]
        cells = [
            family.get("title", key),
            tests_cell(family),
            show(family.get("scenarios_run")),
            faults_cell(family),
            bad_inputs_cell(family),
            show(family.get("duplicate_runs")),
            show(family.get("resources_created_twice")),
            show(family.get("orphaned_jobs")),
            leaks_cell(family),
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def replace_between_markers(text: str, body: str) -> str:
    """Return ``text`` with what is between the markers replaced by ``body``."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise SummaryError(f"the README needs exactly one {START} ... {END} pair, in that order")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{body}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--summary", type=Path, default=SUMMARY)
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--check", action="store_true", help="exit 1 when the README's table is not up to date")
    parser.add_argument("--print", action="store_true", dest="print_only", help="print the table, change nothing")
    parser.add_argument("--allow-partial", action="store_true", help="accept a run that skipped some families")
    args = parser.parse_args(argv)
    try:
        summary = json.loads(args.summary.read_text())
        body = table(summary, allow_partial=args.allow_partial)
        if args.print_only:
            print(body)
            return 0
        current = args.readme.read_text()
        updated = replace_between_markers(current, body)
    except (OSError, ValueError) as error:  # SummaryError and json errors are ValueErrors
        print(f"reliability_table: {error}", file=sys.stderr)
        return 2
    if args.check:
        if updated != current:
            print(f"reliability_table: {args.readme} is not up to date with {args.summary}", file=sys.stderr)
            return 1
        return 0
    if updated != current:
        args.readme.write_text(updated)
        print(f"reliability_table: wrote the table into {args.readme}")
    else:
        print(f"reliability_table: {args.readme} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
