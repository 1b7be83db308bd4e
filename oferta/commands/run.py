"""oferta run — the whole system on one machine (what ./run starts)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="start Temporal (with its UI), the SMTP sink, the worker and the API; Ctrl-C stops all"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from oferta.dev.launcher import run
    from oferta.settings import get_settings
    from oferta.temporal import run_async

    return run_async(run(get_settings()))
