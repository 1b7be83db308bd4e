"""oferta keys create|list|revoke — API keys for the billing API."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("keys", help="create, list and revoke API keys")
    actions = parser.add_subparsers(dest="keys_action", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument(
        "--name", required=True, type=_name, help="who or what uses the key, e.g. billing-prod"
    )
    create.add_argument(
        "--scope",
        required=True,
        action="append",
        choices=["billing", "ops", "admin"],
        help="billing, ops or admin (repeat for several)",
    )
    create.set_defaults(handler=_create)

    listing = actions.add_parser("list", help="list keys (prefix only, never the key)")
    listing.set_defaults(handler=_list)

    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=_revoke)


def _name(value: str) -> str:
    if not 1 <= len(value) <= 100 or not value.isprintable():
        raise argparse.ArgumentTypeError("1 to 100 printable characters")
    return value


def _url() -> str:
    from oferta.db.migrate import upgrade
    from oferta.settings import get_settings

    url = get_settings().effective_database_url
    upgrade(url)
    return url


def _create(args: argparse.Namespace) -> int:
    from oferta.db.api_keys import create_key

    info, key = create_key(_url(), args.name, args.scope)
    print(f"created key {info.id} ({info.name}, scopes {','.join(sorted(info.scopes))})", file=sys.stderr)
    print("store it now; it cannot be shown again:", file=sys.stderr)
    print(key)
    return 0


def _list(args: argparse.Namespace) -> int:
    from oferta.db.api_keys import list_keys

    keys = list_keys(_url())
    if not keys:
        print("no API keys", file=sys.stderr)
        return 0
    print(f"{'ID':>4}  {'NAME':<24} {'PREFIX':<14} {'SCOPES':<20} {'CREATED':<20} STATUS")
    for k in keys:
        status = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        print(
            f"{k.id:>4}  {k.name[:24]:<24} {k.prefix + '…':<14} {','.join(sorted(k.scopes)):<20} "
            f"{k.created_at:%Y-%m-%d %H:%M}Z{'':<3} {status}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from oferta.db.api_keys import revoke_key

    if revoke_key(_url(), args.id):
        print(f"revoked key {args.id}")
        return 0
    print(f"no active key with id {args.id}", file=sys.stderr)
    return 1
