"""oferta worker"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="run the Temporal worker (same as python worker.py)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import worker

    worker.main()
    return 0
