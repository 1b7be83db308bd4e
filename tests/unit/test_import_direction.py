"""Dependencies point one way (docs/architecture.md): the core imports no layer above it.

An AST walk over every module's imports (top-level and local ones alike), so a cycle or a
shortcut shows up as ``file:line imports module``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ("oferta.timeline", "oferta.policy", "oferta.effects", "oferta.legacy")
ABOVE_CORE = (
    "activities",
    "workflows",
    "api",
    "worker",
    "oferta.db",
    "oferta.notices",
    "oferta.dev",
    "oferta.commands",
    "oferta.simulate",
    "oferta.settings",
    "oferta.temporal",
)
RULES: dict[tuple[str, ...], tuple[str, ...]] = {
    # (importer prefixes) -> (what they must not import)
    CORE: ABOVE_CORE,
    ("activities",): ("workflows", "api", "worker", "oferta.dev", "oferta.commands"),
    ("workflows",): ("api", "worker", "oferta.db", "oferta.dev", "oferta.commands", "activities"),
    ("api",): ("worker", "oferta.dev", "oferta.commands"),
    ("worker",): ("api", "oferta.dev"),
}
# Explained exceptions: (importer, imported).
ALLOWED = {
    # The local inbox of ./run (loopback or an ops key) reads what the dev sinks received.
    ("api.routers.inbox", "oferta.dev.mailsink"),
    ("api.routers.inbox", "oferta.dev.smssink"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # "from oferta import settings" names a module too.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _sources() -> list[Path]:
    files = [ROOT / "worker.py"]
    for package in ("oferta", "activities", "workflows", "api"):
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def test_dependencies_point_one_way() -> None:
    offences = []
    for path in _sources():
        importer = _module_name(path)
        for importers, forbidden in RULES.items():
            if not _within(importer, importers):
                continue
            for line, imported in _imports(path):
                allowed = any(importer == who and _within(imported, (what,)) for who, what in ALLOWED)
                if _within(imported, forbidden) and not allowed:
                    offences.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert offences == [], "\n".join(sorted(set(offences)))


def test_the_rules_see_the_modules_they_govern() -> None:
    """A rule that matches no file would pass for nothing."""
    names = {_module_name(p) for p in _sources()}
    for importers in RULES:
        assert any(_within(n, importers) for n in names), importers
