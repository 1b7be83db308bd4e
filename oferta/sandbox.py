"""The workflow sandbox as Oferta's worker runs it: the SDK's, with each workflow module compiled
once per process (bench/RESULTS.md, memory). Workflow code, what it is allowed to call and what it
sends are unchanged.

The sandbox runs a workflow's module afresh for every workflow it caches or replays: that keeps one
workflow's module state from another's and lets it check the module's calls (``datetime.now()`` in
workflow code is refused). Running the module again is cheap; compiling it again is not. The image
sets PYTHONDONTWRITEBYTECODE, so each import compiled the source, and each sandbox kept its own code
objects: 82 KiB for ``workflows/service_lifecycle.py`` in every cached ServiceContract workflow, and
13 ms of CPU at every first task and every replay. ``share_workflow_code`` adds a finder for the
workflow packages whose loader keeps one code object per source file (keyed by its path, size and
modification time, as a ``.pyc`` is). Code objects are immutable; every sandbox still runs the
module itself, with its own globals, its own classes and the sandbox's import checks.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import threading
from collections.abc import Iterable, Sequence
from types import CodeType, ModuleType
from typing import Any

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

# -- code compiled once ------------------------------------------------------------------------

_CODE: dict[tuple[str, int, int], CodeType] = {}
_LOCK = threading.Lock()  # workflow tasks import on the worker's threads


class _SharedCodeLoader(importlib.machinery.SourceFileLoader):
    """A source file loader that compiles each version of a file once for the whole process."""

    def get_code(self, fullname: str) -> CodeType:
        stat = os.stat(self.path)
        key = (self.path, stat.st_mtime_ns, stat.st_size)
        with _LOCK:
            code = _CODE.get(key)
        if code is None:
            code = super().get_code(fullname)
            if code is None:  # a source file always has code; keeps the type checker honest
                raise ImportError(f"no code for {fullname}", name=fullname)
            with _LOCK:
                code = _CODE.setdefault(key, code)
        return code


class _SharedCodeFinder(importlib.abc.MetaPathFinder):
    """The modules of ``packages``, found as the finders after this one find them; a plain source
    file is then loaded with the shared-code loader."""

    def __init__(self, packages: Iterable[str]) -> None:
        self.packages = frozenset(packages)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        finders = sys.meta_path
        for finder in finders[finders.index(self) + 1 :] if self in finders else ():
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is None:
                continue
            if type(spec.loader) is importlib.machinery.SourceFileLoader:
                spec.loader = _SharedCodeLoader(spec.loader.name, spec.loader.path)
            return spec
        return None


def share_workflow_code(workflows: Iterable[type]) -> None:
    """Compile the packages that define ``workflows`` once per process (idempotent)."""
    packages = {cls.__module__.partition(".")[0] for cls in workflows}
    for finder in sys.meta_path:
        if isinstance(finder, _SharedCodeFinder):
            packages -= finder.packages
    if packages:
        sys.meta_path.insert(0, _SharedCodeFinder(packages))


def shared_code_files() -> int:
    """How many compiled files the process shares (tests, diagnostics)."""
    return len(_CODE)


def workflow_runner(workflows: Iterable[type], **options: Any) -> SandboxedWorkflowRunner:
    """The runner for a worker (or replayer) of ``workflows``: their code compiled once per process.
    ``options`` go to ``SandboxedWorkflowRunner`` (``restrictions``)."""
    share_workflow_code(workflows)
    return SandboxedWorkflowRunner(**options)
