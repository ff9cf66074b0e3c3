"""Serve the emulator: `python -m meet_sandbox.emulator --host H --port P [--state FILE]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from .server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="meet-archive emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument(
        "--state", type=Path, default=None, help="JSON state file (survives restarts)"
    )
    parser.add_argument(
        "--service-account", type=Path, action="append", default=[], help="trust this key file"
    )
    parser.add_argument("--organizer-domain", default="example.com")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.state, args.service_account, args.organizer_domain)


if __name__ == "__main__":
    main()
