"""oferta services [--state S] [--policy P] [--customer C] — services from the database mirror."""

from __future__ import annotations

import argparse

from oferta.timeline.state import ServiceStatus


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("services", help="list services with their state and next step")
    parser.add_argument("--state", choices=[p.value for p in ServiceStatus])
    parser.add_argument("--policy")
    parser.add_argument("--customer")
    parser.add_argument("--limit", type=int, default=50)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from oferta.db.migrate import upgrade
    from oferta.db.models import Service
    from oferta.db.once import utc
    from oferta.db.session import session_scope
    from oferta.settings import get_settings

    url = get_settings().effective_database_url
    upgrade(url)
    query = select(Service).order_by(
        Service.next_deadline_at.is_(None), Service.next_deadline_at, Service.created_at
    )
    if args.state:
        query = query.where(Service.state == args.state)
    if args.policy:
        query = query.where(Service.policy_id == args.policy)
    if args.customer:
        query = query.where(Service.customer_id == args.customer)
    with session_scope(url) as session:
        services = session.scalars(query.limit(args.limit)).all()
        rows = [("service", "policy", "state", "debt", "next step", "when", "clause")]
        rows += [
            (
                s.id,
                s.policy_id,
                s.state,
                f"{s.debt:.2f} {s.currency}",
                (s.next_action or "—").replace("_", " "),
                utc(s.next_deadline_at).strftime("%Y-%m-%d %H:%M UTC") if s.next_deadline_at else "—",
                s.next_clause or "—",
            )
            for s in services
        ]
    if len(rows) == 1:
        print("no services match")
        return 0
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    return 0
