"""oferta policies list|show|validate|diff|impact"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from oferta.policy.loader import PolicyError, load_policies, load_policy, load_policy_file, policy_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("policies", help="list, show and validate contract policies")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the policies and their key terms").set_defaults(handler=_list)
    show = actions.add_parser("show", help="one policy in full")
    show.add_argument("policy_id")
    show.add_argument("--json", action="store_true", help="print JSON instead of YAML-like text")
    show.set_defaults(handler=_show)
    validate = actions.add_parser("validate", help="check policy files against the schema")
    validate.add_argument("files", nargs="*", type=Path, help="files to check (default: all)")
    validate.set_defaults(handler=_validate)
    diff = actions.add_parser("diff", help="the rules two versions of a policy differ in, with clauses")
    diff.add_argument("old", help="a policy id or a policy file")
    diff.add_argument("new", help="a policy id or a policy file")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(handler=_diff)
    impact = actions.add_parser(
        "impact", help="what a new version would change for each running service, over the next days"
    )
    impact.add_argument("new", type=Path, help="the new version's file (its id names the policy)")
    impact.add_argument("--days", type=int, default=90)
    impact.add_argument("--json", action="store_true")
    impact.set_defaults(handler=_impact)
    publish = actions.add_parser(
        "publish",
        help="publish a new version of a policy: every running service is told with its contract's notice",
    )
    publish.add_argument("file", type=Path, help="the new version's file (its id names the policy)")
    publish.add_argument(
        "--effective",
        required=True,
        help="when it takes effect: a date (00:00 in the provider's time zone) or an ISO date and time",
    )
    publish.add_argument("--actor", default=None, help="who publishes (default: the OS user)")
    publish.add_argument("--json", action="store_true", help="print the result as one JSON document")
    publish.set_defaults(handler=_publish)


def _term(term) -> str:
    return str(term) if term else "—"


def _late_fee(fee) -> str:
    if fee is None:
        return "—"

    def percent(share) -> str:
        return f"{(share * 100).normalize():f}%"

    cap = f"cap {percent(fee.cap_ratio)}" if fee.cap_ratio is not None else "no cap"
    return f"{percent(fee.rate_per_day)}/day, {cap} ({fee.clause})"


def _broken(exc: PolicyError) -> int:
    """A policy file that does not load: each problem names its field; exit 2, no traceback."""
    print(f"{exc.source}: the policy does not load", file=sys.stderr)
    for problem in exc.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 2


def _list(args: argparse.Namespace) -> int:
    rows = [("id", "provider", "model", "invoice due", "grace", "deletion", "late fee", "refund")]
    try:
        policies = load_policies()
    except PolicyError as exc:
        return _broken(exc)
    for policy in policies.values():
        fee = policy.late_fee
        rows.append(
            (
                policy.id,
                policy.provider.name,
                policy.billing.model.value,
                _term(policy.billing.invoice_due),
                _term(policy.suspension.grace_to_restore),
                _term(policy.suspension.data_deletion_after),
                _late_fee(fee),
                _term(policy.refunds.deadline),
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


def _show(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy_id)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    except PolicyError as exc:
        return _broken(exc)
    data = policy.model_dump(mode="json")
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        import yaml

        print(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), end="")
    return 0


def _validate(args: argparse.Namespace) -> int:
    files = args.files or sorted(policy_dir().glob("*.yaml"))
    failed = 0
    for path in files:
        try:
            policy = load_policy_file(path)
        except PolicyError as exc:
            failed += 1
            print(f"INVALID {path}")
            for problem in exc.problems:
                print(f"  - {problem}")
        except OSError as exc:
            failed += 1
            print(f"INVALID {path}: {exc.strerror}")
        else:
            print(f"ok      {path} ({policy.id} v{policy.version})")
    return 1 if failed else 0


def _policy_arg(text: str):
    path = Path(text)
    return load_policy_file(path) if path.suffix in (".yaml", ".yml") or path.is_file() else load_policy(text)


def _diff(args: argparse.Namespace) -> int:
    from oferta.policy.diff import describe_value, diff_policies

    try:
        old, new = _policy_arg(args.old), _policy_arg(args.new)
    except PolicyError as exc:
        return _broken(exc)
    except (KeyError, OSError) as exc:
        print(str(exc.args[0] if exc.args else exc), file=sys.stderr)
        return 2
    changes = diff_policies(old, new)
    if args.json:
        print(json.dumps([c.__dict__ for c in changes], ensure_ascii=False, indent=2, default=str))
        return 0
    if not changes:
        print(f"{old.id} and {new.id}: no rule differs")
        return 0
    for change in changes:
        clause = f"§{change.clause}" if change.clause else "—"
        print(f"{change.path:<45} {clause:<8} {describe_value(change.old)}  →  {describe_value(change.new)}")
    return 0


def _in_force(policy_id: str):
    """The version governing new services now: the last one published in effect, else the file."""
    from datetime import UTC, datetime

    from oferta.db.migrate import upgrade
    from oferta.db.policy_versions import governing
    from oferta.db.session import session_scope
    from oferta.settings import get_settings

    url = get_settings().effective_database_url
    upgrade(url)
    with session_scope(url) as session:
        return governing(session, policy_id, datetime.now(UTC)).policy


def _impact(args: argparse.Namespace) -> int:
    from oferta.temporal import run_async

    try:
        new = load_policy_file(args.new)
        old = _in_force(new.id)
    except PolicyError as exc:
        return _broken(exc)
    except (KeyError, OSError) as exc:
        print(str(exc.args[0] if exc.args else exc), file=sys.stderr)
        return 2
    try:
        report = run_async(_impact_of(old, new, args.days, quiet=args.json))
    except LookupError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    changed = [r for r in report["services"] if r["differences"]]
    print(
        f"{new.id}: {report['checked']} running services over {args.days} days; "
        f"{len(changed)} would see a change, {report['unreachable']} did not answer"
    )
    for row in changed:
        for d in row["differences"]:
            was, will = ", ".join(d["old"]) or "—", ", ".join(d["new"]) or "—"
            print(f"  {row['service_id']:<24} {d['step']:<16} {was}  →  {will}")
    return 0


async def _impact_of(old, new, days: int, quiet: bool) -> dict:
    import asyncio
    from datetime import UTC, datetime, timedelta

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from sqlalchemy import select
    from temporalio.client import WorkflowExecutionStatus

    from oferta.commands import temporal_client
    from oferta.db.models import Service
    from oferta.db.session import session_scope
    from oferta.settings import get_settings
    from oferta.timeline.engine import Contract
    from oferta.timeline.impact import compare
    from workflows.client import WorkflowCallError, describe, service_state, task_queue

    settings = get_settings()
    client = await temporal_client(settings)

    def running() -> list[str]:
        with session_scope(settings.effective_database_url) as session:
            query = select(Service.id).where(
                Service.policy_id == new.id, Service.state.not_in(("deleted", "terminated"))
            )
            return list(session.scalars(query.order_by(Service.id)))

    service_ids = await asyncio.to_thread(running)
    queue = task_queue(settings)
    now = datetime.now(UTC)
    until = now + timedelta(days=days)
    before, after = Contract(old), Contract(new)
    rows: list[dict[str, Any]] = []
    unreachable = 0
    with Progress(
        TextColumn("previewing"),
        BarColumn(),
        MofNCompleteColumn(),
        disable=quiet,
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("impact", total=len(service_ids))
        gate = asyncio.Semaphore(20)

        async def one(service_id: str) -> None:
            nonlocal unreachable
            async with gate:
                try:
                    # Only this deployment's running workflows: another's has no worker to answer.
                    found = await describe(client, service_id)
                    if found.status != WorkflowExecutionStatus.RUNNING or found.task_queue != queue:
                        return
                    state = await service_state(client, service_id, timeout=10)
                except WorkflowCallError:
                    unreachable += 1
                else:
                    differences = compare(before, after, state, now, until)
                    rows.append({"service_id": service_id, "differences": [d.__dict__ for d in differences]})
                finally:
                    bar.advance(task)

        await asyncio.gather(*(one(service_id) for service_id in service_ids))
        rows.sort(key=lambda row: str(row["service_id"]))
    return {
        "policy": new.id,
        "days": days,
        "checked": len(rows),
        "unreachable": unreachable,
        "services": rows,
    }


def _effective_at(text: str, timezone: str):
    """'2027-01-05' is 00:00 of that day on the provider's clock; a full ISO time is taken as is."""
    from datetime import date, datetime, time
    from zoneinfo import ZoneInfo

    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)  # ValueError: the caller reports it
        return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone))


def _publish(args: argparse.Namespace) -> int:
    import getpass

    from oferta.temporal import run_async

    try:
        new = load_policy_file(args.file)
    except PolicyError as exc:
        return _broken(exc)
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        effective = _effective_at(args.effective, new.provider.timezone)
    except ValueError:
        print(
            f"effective: {args.effective!r} is not a date (2027-01-05) or an ISO date and time",
            file=sys.stderr,
        )
        return 2
    actor = args.actor or getpass.getuser()
    try:
        result = run_async(_publish_version(new, effective, actor, quiet=args.json))
    except ValueError as exc:  # refused: the field and the reason, with the clause
        print(f"{new.id} v{new.version} not published: {exc}", file=sys.stderr)
        return 2
    except LookupError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return 0
    clauses = ", ".join(result["changed_clauses"]) or "none (wording only)"
    print(
        f"{result['policy']} v{result['version']} {'published' if result['created'] else 'already published'}"
        f" by {result['published_by']}: in effect from {result['effective_at_local']} ({result['notice']});"
        f" clauses changed: {clauses}"
    )
    print(
        f"told {result['told']} of {result['services']} running services"
        + (
            f"; {result['failed']} not reached: {', '.join(result['failed_services'])}"
            if result["failed"]
            else ""
        )
    )
    return 0


async def _publish_version(new, effective, actor: str, quiet: bool) -> dict[str, Any]:
    import asyncio
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from oferta.commands import temporal_client
    from oferta.db.migrate import upgrade
    from oferta.publishing import record_version
    from oferta.settings import get_settings
    from workflows.client import (
        AmendmentNotice,
        WorkflowCallError,
        amendment_progress,
        task_queue,
        tell_services,
    )

    settings = get_settings()
    url = settings.effective_database_url
    upgrade(url)
    client = await temporal_client(settings)
    now = datetime.now(UTC).replace(microsecond=0)

    result, services = await asyncio.to_thread(record_version, url, new, effective, actor, now)
    notice = AmendmentNotice(
        policy_id=new.id,
        version=new.version,
        published_at=datetime.fromisoformat(result["published_at"]),
        effective_at=effective,
        changed_clauses=result["changed_clauses"],
    )
    queue = task_queue(settings)
    try:
        await tell_services(client, notice, services, task_queue=queue)
        with Progress(
            TextColumn(f"telling {new.id} services"),
            BarColumn(),
            MofNCompleteColumn(),
            disable=quiet,
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task("tell", total=len(services))
            while True:
                progress = await amendment_progress(client, new.id, new.version, task_queue=queue, timeout=10)
                bar.update(task, completed=progress.next_index)
                if progress.done:
                    break
                await asyncio.sleep(0.5)
    except WorkflowCallError as exc:
        raise LookupError(
            f"{new.id} v{new.version} is recorded; telling the services failed ({exc}): run the same "
            "command again to finish"
        ) from None
    return result | {
        "services": len(services),
        "told": progress.told,
        "failed": progress.failed,
        "failed_services": progress.failed_services,
    }
