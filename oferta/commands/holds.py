"""oferta holds [--policy ID] | oferta holds release (--service ID | --policy ID) --reason TEXT

What the safeguards hold (a deletion nobody was told of, a mass suspension, a silent billing
feed), and letting it go with a reason that is kept in the audit trail and the timeline.
"""

from __future__ import annotations

import argparse
import getpass
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("holds", help="suspensions, deletions, terminations held by a safeguard")
    parser.add_argument("--policy", help="only this policy's services and guard")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    parser.set_defaults(handler=_list)
    actions = parser.add_subparsers(dest="action")
    release = actions.add_parser("release", help="let held steps run, with the reason")
    which = release.add_mutually_exclusive_group(required=True)
    which.add_argument("--service", help="the service whose held step may run")
    which.add_argument("--policy", dest="release_policy", help="every step the policy's guard holds")
    release.add_argument("--reason", required=True, help="why (kept in the audit trail and the timeline)")
    release.add_argument("--actor", default=None, help="who releases (default: the OS user)")
    release.set_defaults(handler=_release)


def _list(args: argparse.Namespace) -> int:
    from oferta.temporal import run_async

    try:
        print(run_async(_holds(args.policy, args.json)))
    except LookupError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    return 0


def _release(args: argparse.Namespace) -> int:
    from oferta.temporal import run_async

    if not args.reason.strip():
        print("--reason: say why the held steps may run", file=sys.stderr)
        return 2
    actor = f"cli:{args.actor or getpass.getuser()}"
    try:
        print(run_async(_let_go(args.service, args.release_policy, actor, args.reason)))
    except LookupError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    return 0


async def _client():
    from oferta.commands import temporal_client
    from oferta.settings import get_settings

    settings = get_settings()
    return await temporal_client(settings)


async def _holds(policy_id: str | None, as_json: bool) -> str:
    import json

    from oferta.policy import load_policies
    from oferta.settings import get_settings
    from workflows.client import WorkflowCallError, guard_status, held_services, task_queue

    client = await _client()
    queue = task_queue(get_settings())
    try:
        services = await held_services(client, policy_id)
        policies = [policy_id] if policy_id else list(load_policies())
        guards = [await guard_status(client, queue, pid, 10) for pid in policies]
    except WorkflowCallError as exc:
        raise LookupError(exc.message) from exc
    tripped = [g for g in guards if g is not None and g.tripped]
    if as_json:
        return json.dumps(
            {
                "services": [h.model_dump() | {"service_id": h.service_id} for h in services],
                "policies": [g.model_dump(mode="json") for g in guards if g is not None],
            },
            ensure_ascii=False,
            indent=2,
        )
    lines = [f"{len(services)} service(s) with a held step"]
    lines += [f"  {h.service_id:<24} {h.policy_id:<12} {h.hold:<22} {h.next_action or ''}" for h in services]
    for guard in tripped:
        assert guard.tripped is not None
        lines.append(
            f"policy {guard.policy_id}: guard tripped ({guard.tripped.kind.value}) at "
            f"{guard.tripped.at.isoformat()}: {guard.tripped.reason}; {len(guard.held)} service(s) wait"
        )
    if not tripped:
        lines.append("no policy's guard is tripped")
    return "\n".join(lines)


async def _let_go(service_id: str | None, policy_id: str | None, actor: str, reason: str) -> str:
    import asyncio

    from oferta.db.migrate import upgrade
    from oferta.db.repo import add_audit
    from oferta.db.session import session_scope
    from oferta.settings import get_settings
    from oferta.timeline.engine import describe
    from workflows.client import WorkflowCallError, release_policy_holds, release_service_hold, task_queue

    client = await _client()
    try:
        if service_id:
            view = await release_service_hold(client, service_id, actor, reason, 30)
            outcome = f"released: service {service_id} is now {describe(view)}"
            detail: dict[str, object] = {"reason": reason}
        else:
            assert policy_id is not None
            queue = task_queue(get_settings())
            status = await release_policy_holds(client, queue, policy_id, actor, reason, 30)
            count = status.releases[-1].released if status.releases else 0
            outcome = f"released: {count} held step(s) under policy {policy_id}"
            detail = {"policy_id": policy_id, "reason": reason, "released": count}
    except WorkflowCallError as exc:
        raise LookupError(f"not released: {exc.message}") from exc

    def write_audit() -> None:
        url = get_settings().effective_database_url
        upgrade(url)  # a first run's database has no tables yet
        with session_scope(url) as session:
            action = "hold_released" if service_id else "policy_holds_released"
            add_audit(session, actor=actor, action=action, service_id=service_id, detail=detail)

    await asyncio.to_thread(write_audit)
    return outcome
