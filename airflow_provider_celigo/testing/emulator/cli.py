"""``celigo-emulator``: serve the local integrator.io emulator from the command line."""

from __future__ import annotations

import argparse
import ipaddress
import sys


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
    parser.add_argument("--seed", choices=["demo"], help="load a named seed at start-up")
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
    return parser


def _tokens(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    tokens: dict[str, str] = {}
    for index, value in enumerate(values):
        token, _, account = value.partition("=")
        tokens[token] = account or ("default" if index == 0 else f"account{index + 1}")
    return tokens


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until interrupted; return the process exit code."""
    args = _parser().parse_args(argv)
    if not is_loopback(args.host) and not args.allow_remote:
        print(f"refusing to bind {args.host!r}: not a loopback address (pass --allow-remote)", file=sys.stderr)
        return 2
    if args.clock_speed <= 0 or args.page_size < 1:
        print("--clock-speed must be > 0 and --page-size >= 1", file=sys.stderr)
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
    app = create_app(config)
    print(f"Celigo emulator serving http://{host}:{port}/v1", flush=True)
    print(f"Accepted bearer token: {config.default_token}", flush=True)
    if config.admin:
        print(f"Admin routes: http://{host}:{port}/_emulator/", flush=True)
    uvicorn.Server(make_uvicorn_config(app, args.host, port)).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
