"""oferta status SERVICE_ID — one service's live state, in words, from its workflow."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oferta.timeline.state import Deadline


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("status", help="a service's live state, next step, date and clause")
    parser.add_argument("service_id")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from oferta.temporal import run_async

    try:
        print(run_async(_status(args.service_id)))
    except LookupError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    return 0


async def _status(service_id: str) -> str:
    from oferta.commands import temporal_client
    from oferta.settings import get_settings
    from workflows.client import ServiceNotFound, TemporalUnavailable, describe, service_workflow_id, view

    settings = get_settings()
    client = await temporal_client(settings)
    try:
        description = await describe(client, service_id)
        shown = await view(client, service_id)
    except ServiceNotFound as exc:
        raise LookupError(
            f"no service {service_id!r} (workflow {service_workflow_id(service_id)} not found)"
        ) from exc
    except TemporalUnavailable as exc:
        raise LookupError(f"the workflow of {service_id!r} did not answer: {exc.message}") from exc
    return format_view(shown, description.status.name if description.status else "?")


def format_view(view, workflow_status: str) -> str:
    from oferta.timeline.engine import describe

    deadline = view.next_deadline
    rows = [
        ("in words", describe(view)),
        ("service", view.service_id),
        ("policy", view.policy_id),
        (
            "state",
            view.state.value
            + (
                f" ({', '.join(r.value for r in view.suspension_reasons)})" if view.suspension_reasons else ""
            ),
        ),
        ("workflow", workflow_status.lower()),
        ("period", str(view.period_index)),
        ("paid until", view.paid_until.isoformat() if view.paid_until else "—"),
        ("debt", str(view.debt)),
        ("balance", str(view.balance)),
        ("next step", deadline.action.value.replace("_", " ") if deadline else "— (waits for billing)"),
        ("when", deadline.at.isoformat() if deadline else "—"),
        ("clause", _basis(deadline) if deadline else "—"),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label.rjust(width)}  {value}" for label, value in rows)


def _basis(deadline: Deadline) -> str:
    if deadline.clause:
        return deadline.clause
    return "none: operational, not a contract term" if deadline.operational else "—"
