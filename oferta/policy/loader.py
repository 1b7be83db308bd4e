"""Reads policy files (YAML) and validates them against the schema."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from oferta.policy.schema import Policy

_DEFAULT_DIR = Path(__file__).resolve().parents[2] / "policies"


class PolicyError(ValueError):
    """A policy file that cannot be used, with every field that is wrong."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def policy_dir() -> Path:
    return Path(os.environ.get("OFERTA_POLICY_DIR", _DEFAULT_DIR))


def parse_policy(text: str, source: str) -> Policy:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(source, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise PolicyError(source, ["the file must hold a mapping of policy fields"])
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '(policy)'}: {err['msg']}" for err in exc.errors()
        ]
        raise PolicyError(source, problems) from exc


def load_policy_file(path: Path) -> Policy:
    policy = parse_policy(path.read_text(encoding="utf-8"), str(path))
    if policy.id != path.stem:
        raise PolicyError(str(path), [f"id: {policy.id!r} does not match the file name"])
    return policy


@cache
def load_policies(directory: Path | None = None) -> dict[str, Policy]:
    directory = directory or policy_dir()
    return {p.stem: load_policy_file(p) for p in sorted(directory.glob("*.yaml"))}


@cache
def load_policy(policy_id: str) -> Policy:
    """One policy by id; a broken file elsewhere in the directory does not stop it."""
    path = policy_dir() / f"{policy_id}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in policy_dir().glob("*.yaml")))
        raise KeyError(f"unknown policy {policy_id!r}; known: {known}")
    return load_policy_file(path)
