"""The sandbox as the worker runs it (oferta/sandbox.py): each workflow module compiled once per
process, and still checked in every workflow's sandbox."""

from __future__ import annotations

import importlib.machinery
from typing import Any

import pytest
from temporalio import workflow
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError

from oferta.sandbox import shared_code_files, workflow_runner
from tests.workflows.sandbox_clock import SandboxClockWorkflow
from workflows.registry import WORKFLOWS
from workflows.service_lifecycle import ServiceLifecycleWorkflow


async def test_a_workflow_module_is_compiled_once_for_every_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    get_code = importlib.machinery.SourceFileLoader.get_code

    def counting(loader: importlib.machinery.SourceFileLoader, fullname: str) -> Any:
        compiled.append(fullname)
        return get_code(loader, fullname)

    monkeypatch.setattr(importlib.machinery.SourceFileLoader, "get_code", counting)
    runner = workflow_runner(WORKFLOWS)
    defn = workflow._Definition.must_from_class(ServiceLifecycleWorkflow)
    runner.prepare_workflow(defn)  # a sandbox imports the module: compiled (unless already), kept
    assert shared_code_files() >= 1
    compiled.clear()
    for _ in range(3):
        runner.prepare_workflow(defn)  # each a sandbox of its own, running the same code
    assert compiled == []


def test_code_loaded_once_is_still_checked_in_the_sandbox() -> None:
    runner = workflow_runner([SandboxClockWorkflow])
    defn = workflow._Definition.must_from_class(SandboxClockWorkflow)
    for _ in range(2):  # compiled the first time, shared the second: refused both times
        with pytest.raises(RestrictedWorkflowAccessError, match="datetime.datetime.now"):
            runner.prepare_workflow(defn)
