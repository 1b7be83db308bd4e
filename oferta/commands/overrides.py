"""oferta override SERVICE_ID --kind KIND --reason TEXT [--days N | --until DATE | --invoice ID]

Operations give one customer more than the contract: a longer grace before deletion, no
suspension before a date, a waived late fee, a promise to pay. Never less: a shorter term
is refused with the clause. Who (the OS user, or --actor) and why go into the timeline and
the audit trail, as through the API (POST /v1/services/{id}/overrides).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date

KINDS = ("extend_grace", "no_suspension_before", "waive_late_fee", "promise_to_pay")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("override", help="give one service more than its contract (never less)")
    parser.add_argument("service_id")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--reason", required=True, help="why (kept in the timeline and the audit trail)")
    parser.add_argument("--days", type=int, help="extend_grace: how many days more")
    parser.add_argument(
        "--until", type=date.fromisoformat, help="no_suspension_before, promise_to_pay: a date"
    )
    parser.add_argument("--invoice", help="waive_late_fee: the late fee's invoice id")
    parser.add_argument("--actor", help="who grants it (default: the OS user)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from oferta.temporal import run_async

    if not args.reason.strip():
        print("--reason: say why", file=sys.stderr)
        return 2
    try:
        print(run_async(_grant(args)))
    except LookupError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    return 0


async def _grant(args: argparse.Namespace) -> str:
    import asyncio
    import uuid

    from oferta.commands import temporal_client
    from oferta.db.migrate import upgrade
    from oferta.db.repo import add_audit
    from oferta.db.session import session_scope
    from oferta.settings import get_settings
    from oferta.timeline.engine import describe
    from oferta.timeline.state import BillingEvent, EventType, OverrideKind, OverrideTerms
    from workflows.client import WorkflowCallError, apply_event

    settings = get_settings()
    actor = f"cli:{args.actor or getpass.getuser()}"
    terms = OverrideTerms(
        kind=OverrideKind(args.kind), days=args.days, until=args.until, invoice_id=args.invoice
    )
    event = BillingEvent(
        event_id=f"override-{uuid.uuid4().hex}",
        type=EventType.OVERRIDE,
        override=terms,
        reason=args.reason,
        actor=actor,
    )
    client = await temporal_client(settings)
    try:
        receipt = await apply_event(client, args.service_id, event, timeout=30)
    except WorkflowCallError as exc:
        raise LookupError(f"not granted: {exc.message}") from exc

    def write_audit() -> None:
        url = settings.effective_database_url
        upgrade(url)
        with session_scope(url) as session:
            detail = terms.model_dump(mode="json", exclude_none=True) | {"reason": args.reason}
            add_audit(
                session, actor=actor, action="input:override", service_id=args.service_id, detail=detail
            )

    await asyncio.to_thread(write_audit)
    return f"granted: {describe(receipt.view)}"
