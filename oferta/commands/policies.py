"""oferta policies list|show|validate"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
