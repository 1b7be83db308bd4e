"""The workflow sandbox as Oferta's worker runs it: the SDK's, with two leaks of memory per cached
workflow closed (bench/RESULTS.md, memory). Workflow code, what it is allowed to call and what it
sends are unchanged.

**Code compiled once per process.** The sandbox runs a workflow's module afresh for every
workflow it caches or replays: that keeps one workflow's module state from another's and lets it
check the module's calls (``datetime.now()`` in workflow code is refused). Running the module again
is cheap; compiling it again is not. The image sets PYTHONDONTWRITEBYTECODE, so each import
compiled the source, and each sandbox kept its own code objects: 82 KiB for
``workflows/service_lifecycle.py`` in every cached ServiceContract workflow, and 3.6 ms of CPU at
every first task and every replay. ``share_workflow_code`` adds a finder for the workflow packages
whose loader keeps one code object per source file (keyed by its path, size and modification
time, as a ``.pyc`` is). Code objects are immutable; every sandbox still runs the module itself,
with its own globals, its own classes and the sandbox's import checks.

**Each workflow its own copy of its activations.** The SDK keeps pieces of a workflow's first
activation for the workflow's lifetime (its headers, memo and last result), and of its latest one
(internal flags): protobuf sub-messages, each of which keeps the whole message it was parsed into
alive. That message holds its payloads four times: parsed once, then copied back into it by each
of the SDK's three decoding passes (``decode_activation`` replaces a payload sequence even when no
codec changed it, and a protobuf arena frees nothing before the whole message goes). A
ServiceContract's first activation carries its 13 KiB input, so every cached workflow pinned about
58 KiB of native memory for it. The runner below hands the workflow an exact copy of each
activation, parsed alone (its payloads once), and copies of the few messages the SDK keeps from the
first one, so the worker's originals are freed once the task is done.

**The sandbox's own glue compiled once.** The SDK enters a workflow's sandbox by ``exec`` of a
few lines of source, at every activation and at every payload it encodes or decodes (to ask the
workflow for its serialization context), and ``exec`` of a string compiles it each time: 9 % of
the worker's Python samples in the start bench (py-spy). The instance below runs the same lines,
compiled once. (It subclasses the SDK's private ``_Instance``, as the types above are private:
temporalio is pinned, and a change there fails the sandbox tests.)
"""

from __future__ import annotations

import dataclasses
import importlib.abc
import importlib.machinery
import os
import sys
import threading
from collections.abc import Iterable, Sequence
from types import CodeType, ModuleType
from typing import Any, TypeVar, cast

import temporalio.workflow
from google.protobuf.message import Message
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import SerializationContext
from temporalio.converter._extstore import StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

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


# -- activations copied --------------------------------------------------------------------------

M = TypeVar("M", bound=Message)


def _copy(message: M) -> M:
    """An exact copy of ``message`` in memory of its own."""
    return type(message).FromString(message.SerializeToString())


def _detached(det: WorkflowInstanceDetails) -> WorkflowInstanceDetails:
    """``det`` with copies of what the SDK took from the first activation's messages."""
    info = dataclasses.replace(
        det.info,
        headers={name: _copy(value) for name, value in det.info.headers.items()},
        raw_memo={name: _copy(value) for name, value in det.info.raw_memo.items()},
    )
    return dataclasses.replace(
        det,
        info=info,
        last_completion_result=_copy(det.last_completion_result),
        last_failure=_copy(det.last_failure) if det.last_failure is not None else None,
    )


class _OwnActivations(WorkflowInstance):
    """A workflow instance handed its own copy of each activation."""

    def __init__(self, instance: WorkflowInstance) -> None:
        self._instance = instance

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        return self._instance.activate(_copy(act))

    def get_serialization_context(self, command_info: CommandInfo | None) -> SerializationContext | None:
        return self._instance.get_serialization_context(command_info)

    def get_external_store_context(self, command_info: CommandInfo | None) -> StorageDriverStoreContext:
        return self._instance.get_external_store_context(command_info)

    def get_info(self) -> temporalio.workflow.Info:
        return self._instance.get_info()

    def get_thread_id(self) -> int | None:
        return self._instance.get_thread_id()


# -- the sandbox's glue compiled once -----------------------------------------------------------

_GLUE: dict[str, CodeType] = {}


def _compiled(source: str) -> CodeType:
    code = _GLUE.get(source)
    if code is None:
        code = _GLUE.setdefault(source, compile(source, "<string>", "exec"))
    return code


class _SandboxInstance(_Instance):
    """The SDK's sandboxed instance, running its own lines of glue compiled once per process
    (the same source, so the same code; a few distinct lines per workflow type)."""

    def _run_code(self, code: str, **extra_globals: Any) -> None:
        super()._run_code(cast(str, _compiled(code)), **extra_globals)  # exec takes code objects


@dataclasses.dataclass(frozen=True)
class CompactSandboxedWorkflowRunner(SandboxedWorkflowRunner):
    """The SDK's sandboxed runner, each workflow holding its own copies of its activations, its
    glue compiled once."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        # As SandboxedWorkflowRunner.create_instance, with the instance above.
        return _OwnActivations(_SandboxInstance(_detached(det), self.runner_class, self.restrictions))


def workflow_runner(workflows: Iterable[type], **options: Any) -> CompactSandboxedWorkflowRunner:
    """The runner for a worker (or replayer) of ``workflows``: their code compiled once per process,
    their activations copied. ``options`` go to ``SandboxedWorkflowRunner`` (``restrictions``)."""
    share_workflow_code(workflows)
    return CompactSandboxedWorkflowRunner(**options)
