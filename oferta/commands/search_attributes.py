"""oferta search-attributes register|list — Oferta's search attributes on the Temporal namespace."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("search-attributes", help="register Oferta's search attributes")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("register", help="add the missing ones (idempotent)").set_defaults(handler=_register)
    actions.add_parser("list", help="the attributes and their types").set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    from oferta import search_attributes

    for name, kind in search_attributes.CLI_TYPES.items():
        print(f"{name:<26} {kind}")
    return 0


def _register(args: argparse.Namespace) -> int:
    from oferta.dev.devserver import register_search_attributes
    from oferta.settings import get_settings
    from oferta.temporal import connect, run_async

    settings = get_settings()

    async def go() -> list[str]:
        client = await connect(settings)
        return await register_search_attributes(client, settings.temporal_namespace)

    added = run_async(go())
    print(f"added: {', '.join(added)}" if added else "all search attributes already registered")
    return 0
