"""``celigo-emulator``: serve the local integrator.io emulator from the command line."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence
from typing import Any

from .seeds import DEFAULT_ACCOUNT, DEFAULT_TOKEN, DEMO_IDS, SEEDS, named_seed

__all__ = ["main"]


def is_loopback(host: str) -> bool:
    """Return True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="celigo-emulator", description="Local Celigo integrator.io emulator.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback only by default)")
    parser.add_argument("--port", type=int, default=8765, help="port to bind (0 picks a free one)")
    parser.add_argument("--seed", choices=sorted(SEEDS), help="load a named seed at start-up")
    parser.add_argument(
        "--list-seed",
        nargs="?",
        const="demo",
        choices=sorted(SEEDS),
        metavar="NAME",
        help="print the ids of a seed's resources (default: demo) as a table and exit, without serving",
    )
    parser.add_argument(
        "--token",
        action="append",
        metavar="TOKEN[=ACCOUNT]",
        help="accepted bearer token, optionally with its account id (repeatable)",
    )
    parser.add_argument("--clock-speed", type=float, default=1.0, help="emulated seconds per real second")
    parser.add_argument("--page-size", type=int, default=100, help="items per page of list endpoints")
    parser.add_argument("--no-admin", action="store_true", help="do not serve the /_emulator admin routes")
    parser.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    parser.add_argument("--certfile", metavar="PEM", help="serve HTTPS with this server certificate (chain)")
    parser.add_argument("--keyfile", metavar="PEM", help="the private key of --certfile (default: inside it)")
    return parser


def _tokens(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    tokens: dict[str, str] = {}
    for index, value in enumerate(values):
        token, _, account = value.partition("=")
        tokens[token] = account or ("default" if index == 0 else f"account{index + 1}")
    return tokens


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Return the lines of a left-aligned table whose columns are as wide as their widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]


def _flow_run(flow: dict[str, Any], scenario: dict[str, Any]) -> tuple[str, str, str]:
    """Return a flow's (duration, records, outcome) cells from its seed scenario."""
    from .scenarios import scenario_from

    run = scenario_from(scenario)
    seconds = run.export_seconds + (0.0 if run.fail or not flow.get("pageProcessors") else run.import_seconds)
    if flow.get("disabled"):
        outcome = "disabled: POST /run answers 422 flow_disabled"
    elif run.fail:
        outcome = f"failed: {run.fail_message}"
    elif run.errors:
        outcome = f"completed with {run.errors} record error{'s' if run.errors != 1 else ''}"
    else:
        outcome = "completed"
    return f"{seconds:g}s", str(run.records), outcome


def seed_listing(name: str) -> str:
    """Return the table of a named seed's resources: key (``DEMO_IDS``), id, name and what matters per type.

    Flow durations are emulated seconds (``--clock-speed`` divides them). Raises KeyError for an unknown seed.
    """
    dump = named_seed(name)
    key_of = {value: key for key, value in DEMO_IDS.items()} if name == "demo" else {}
    names = {doc["_id"]: doc.get("name", "") for docs in dump.values() if isinstance(docs, list) for doc in docs}
    scenarios = dump.get("scenarios", {})
    lines = [
        f"Seed {name!r}: load it with --seed {name}; token {DEFAULT_TOKEN!r} (account {DEFAULT_ACCOUNT!r}).",
        "KEY is the name in airflow_provider_celigo.testing.emulator.seeds.DEMO_IDS.",
    ]

    def section(title: str, headers: list[str], rows: list[list[str]], note: str = "") -> None:
        if rows:
            lines.extend(["", f"{title} ({len(rows)}){note}", *_table(["KEY", "ID", *headers], rows)])

    def row(doc: dict[str, Any], *cells: str) -> list[str]:
        return [key_of.get(doc["_id"], "-"), doc["_id"], *cells]

    section("Integrations", ["NAME"], [row(doc, doc.get("name", "")) for doc in dump.get("integrations", [])])
    section(
        "Flows",
        ["NAME", "INTEGRATION", "DURATION", "RECORDS", "OUTCOME"],
        [
            row(
                doc,
                doc.get("name", ""),
                names.get(doc.get("_integrationId"), "-"),
                *_flow_run(doc, scenarios.get(doc["_id"], {})),
            )
            for doc in dump.get("flows", [])
        ],
        "; durations in emulated seconds (--clock-speed 10 runs them ten times faster)",
    )
    section(
        "Connections",
        ["NAME", "TYPE", "OFFLINE"],
        [
            row(doc, doc.get("name", ""), doc.get("type", ""), "yes" if doc.get("offline") else "no")
            for doc in dump.get("connections", [])
        ],
    )
    for kind in ("exports", "imports"):
        section(
            kind.capitalize(),
            ["NAME", "CONNECTION"],
            [row(doc, doc.get("name", ""), names.get(doc.get("_connectionId"), "-")) for doc in dump.get(kind, [])],
        )
    others = [
        row(doc, kind, doc.get("name") or doc.get("tag") or "")
        for kind, docs in dump.items()
        if kind not in {"integrations", "flows", "connections", "exports", "imports"} and isinstance(docs, list)
        for doc in docs
    ]
    section("Other resources", ["TYPE", "NAME"], others)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until interrupted (or print a seed with ``--list-seed``); return the process exit code."""
    args = _parser().parse_args(argv)
    if args.list_seed:
        print(seed_listing(args.list_seed))
        return 0
    if not is_loopback(args.host) and not args.allow_remote:
        print(f"refusing to bind {args.host!r}: not a loopback address (pass --allow-remote)", file=sys.stderr)
        return 2
    if args.clock_speed <= 0 or args.page_size < 1:
        print("--clock-speed must be > 0 and --page-size >= 1", file=sys.stderr)
        return 2
    if args.keyfile and not args.certfile:
        print("--keyfile needs --certfile (the server certificate it belongs to)", file=sys.stderr)
        return 2

    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as missing:
        print(
            f"celigo-emulator needs the 'emulator' extra ({missing.name} is not installed): "
            'pip install "airflow-provider-celigo[emulator]"',
            file=sys.stderr,
        )
        return 2

    from .app import create_app
    from .config import EmulatorConfig
    from .server import bind_socket, make_uvicorn_config

    config = EmulatorConfig(
        seed=args.seed, admin=not args.no_admin, clock_speed=args.clock_speed, page_size=args.page_size
    )
    tokens = _tokens(args.token)
    if tokens:
        config.tokens = tokens
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    scheme = "https" if args.certfile else "http"
    try:
        uvicorn_config = make_uvicorn_config(
            create_app(config), args.host, port, certfile=args.certfile, keyfile=args.keyfile
        )
        uvicorn_config.load()  # reads the certificate and key now, so a bad file is reported before serving
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        sock.close()
        print(f"cannot load the TLS certificate {args.certfile!r} / key {args.keyfile!r}: {exc}", file=sys.stderr)
        return 2
    print(f"Celigo emulator serving {scheme}://{host}:{port}/v1", flush=True)
    print(f"Accepted bearer token: {config.default_token}", flush=True)
    if config.admin:
        print(f"Admin routes: {scheme}://{host}:{port}/_emulator/", flush=True)
    uvicorn.Server(uvicorn_config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
