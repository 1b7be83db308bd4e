"""What changed between two versions of a policy: each changed rule with its clause.

Prose (``reading``, ``text``, ``readings``) is left out: it explains a rule, it is not one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oferta.policy.schema import Policy

_PROSE = frozenset({"reading", "text", "readings", "notes", "description"})


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any
    clause: str | None


def diff_policies(old: Policy, new: Policy) -> list[Change]:
    changes: list[Change] = []
    _walk(old.model_dump(mode="json"), new.model_dump(mode="json"), "", None, changes)
    return changes


def _clause_of(node: Any) -> str | None:
    if isinstance(node, dict):
        clause = node.get("clause")
        return clause if isinstance(clause, str) else None
    return None


def _is_term(node: Any) -> bool:
    return isinstance(node, dict) and {"amount", "unit"} <= set(node)


def _bare(node: Any) -> Any:
    """The rule without its prose, at any depth."""
    if isinstance(node, dict):
        return {k: _bare(v) for k, v in node.items() if k not in _PROSE}
    if isinstance(node, list):
        return [_bare(v) for v in node]
    return node


def _walk(old: Any, new: Any, path: str, clause: str | None, out: list[Change]) -> None:
    if _is_term(old) or _is_term(new):
        # A term is one rule: "7 calendar days (3.16)" became "10 calendar days (3.16)".
        if _bare(old) != _bare(new):
            out.append(
                Change(path=path, old=_bare(old), new=_bare(new), clause=_clause_of(new) or _clause_of(old))
            )
        return
    if isinstance(old, dict) and isinstance(new, dict):
        here = _clause_of(new) or _clause_of(old) or clause
        for key in sorted(set(old) | set(new)):
            if key in _PROSE:
                continue
            _walk(old.get(key), new.get(key), f"{path}.{key}" if path else key, here, out)
        return
    if _bare(old) != _bare(new):
        out.append(Change(path=path, old=_bare(old), new=_bare(new), clause=clause))


def describe_value(value: Any) -> str:
    if value is None:
        return "—"
    if _is_term(value):
        basis = (
            f" ({value['clause']})"
            if value.get("clause")
            else " (operational)"
            if value.get("operational")
            else ""
        )
        return f"{value['amount']} {str(value['unit']).replace('_', ' ')}{basis}"
    if isinstance(value, list):
        return "[" + "; ".join(describe_value(v) for v in value) + "]"
    return str(value)
