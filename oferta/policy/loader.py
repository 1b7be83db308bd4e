"""Reads policy files (YAML) and validates them against the schema."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

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


# A policy or scenario file is a few hundred values; YAML aliases can make a tiny file expand
# to billions ("billion laughs"), which validation would then walk one by one.
MAX_YAML_VALUES = 100_000


class YamlTooLarge(ValueError):
    """A YAML document that expands (through aliases, or a cycle) past MAX_YAML_VALUES values."""


def check_yaml_size(value: Any, limit: int = MAX_YAML_VALUES) -> None:
    """Raise YamlTooLarge when ``value`` holds more than ``limit`` values once aliases are expanded.
    Iterative, and it stops at the limit: a cycle or a deep nesting cannot hang or overflow it."""
    pending, seen = [value], 0
    while pending:
        item = pending.pop()
        seen += 1
        if seen > limit:
            raise YamlTooLarge(f"the document holds more than {limit} values once its aliases are expanded")
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def read_yaml_text(path: Path) -> str:
    """A YAML file's text; ValueError (with a message for people) when it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None


def policy_dir() -> Path:
    return Path(os.environ.get("OFERTA_POLICY_DIR", _DEFAULT_DIR))


def parse_policy(text: str, source: str) -> Policy:
    try:
        raw = yaml.safe_load(text)
        check_yaml_size(raw)
    except yaml.YAMLError as exc:
        raise PolicyError(source, [f"not valid YAML: {exc}"]) from exc
    except RecursionError:  # PyYAML composes nested collections recursively
        raise PolicyError(source, ["not valid YAML: nested too deeply"]) from None
    except YamlTooLarge as exc:
        raise PolicyError(source, [str(exc)]) from None
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
    try:
        text = read_yaml_text(path)
    except ValueError as exc:
        raise PolicyError(str(path), [str(exc)]) from None
    policy = parse_policy(text, str(path))
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
