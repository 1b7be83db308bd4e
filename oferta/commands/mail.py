"""oferta mail-sink | mail list | mail show NAME — the local SMTP sink and what it received.

The sink keeps each message as an .eml file in ``<data_dir>/mail/`` (OFERTA_DATA_DIR);
``./run`` starts it for you, ``oferta mail-sink`` runs it alone on SMTP_HOST:SMTP_PORT.
"""

from __future__ import annotations

import argparse
import sys
from email.utils import parsedate_to_datetime


def register(subparsers: argparse._SubParsersAction) -> None:
    sink = subparsers.add_parser("mail-sink", help="run the local SMTP sink (mail kept as .eml files)")
    sink.add_argument("--sms", action="store_true", help="also run the local Twilio-compatible SMS sink")
    sink.set_defaults(handler=_sink)

    mail = subparsers.add_parser("mail", help="the mail the local SMTP sink received")
    actions = mail.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the newest messages: time, to, subject")
    listing.add_argument("-n", "--limit", type=int, default=20)
    listing.set_defaults(handler=_list)
    show = actions.add_parser("show", help="one message as the customer reads it")
    show.add_argument("name", help="the file name from 'oferta mail list'")
    show.set_defaults(handler=_show)


def _sink(args: argparse.Namespace) -> int:
    from oferta.dev.mailsink import main

    main()  # reads --sms from the command line itself
    return 0


def _maildir():
    from oferta.settings import get_settings

    return get_settings().data_dir / "mail"


def _when(value: object) -> str:
    try:
        return parsedate_to_datetime(str(value)).strftime("%Y-%m-%d %H:%M %Z").strip()
    except (TypeError, ValueError):
        return "?"


def _list(args: argparse.Namespace) -> int:
    from oferta.dev.mailsink import read_messages

    maildir = _maildir()
    messages = read_messages(maildir, limit=args.limit)
    if not messages:
        print(f"No mail in {maildir}.")
        return 0
    for path, message in messages:
        to, subject = message.get("To", ""), message.get("Subject", "")
        print(f"{_when(message.get('Date'))}  {to}  {subject}  [{path.name}]")
    return 0


def _show(args: argparse.Namespace) -> int:
    from email import message_from_bytes, policy

    path = _maildir() / args.name
    if "/" in args.name or not path.is_file():
        print(f"No message {args.name!r} in {path.parent} (see 'oferta mail list').", file=sys.stderr)
        return 1
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    for header in ("Date", "From", "To", "Subject"):
        print(f"{header}: {message.get(header, '')}")
    body = message.get_body(preferencelist=("plain", "html"))
    print()
    print(body.get_content() if body else "")
    return 0
