"""The sandbox as the worker runs it (oferta/sandbox.py): each workflow module compiled once per
process and still checked in every workflow's sandbox; each workflow its own copy of its
activations."""

from __future__ import annotations

import dataclasses
import importlib.machinery
from typing import Any

import pytest
from temporalio import workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError
from temporalio.worker.workflow_sandbox import _runner as _sandbox_runner

from oferta.sandbox import _detached, _OwnActivations, shared_code_files, workflow_runner
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


def test_a_workflow_gets_its_own_copy_of_each_activation() -> None:
    class Recorder(WorkflowInstance):
        def __init__(self) -> None:
            self.seen: list[WorkflowActivation] = []

        def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
            self.seen.append(act)
            return WorkflowActivationCompletion(run_id=act.run_id)

        def get_serialization_context(self, command_info: Any) -> None:
            return None

        def get_external_store_context(self, command_info: Any) -> Any:
            return None

        def get_info(self) -> Any:
            return None

    act = WorkflowActivation(run_id="run-1", is_replaying=True, history_length=3)
    init = act.jobs.add().initialize_workflow
    init.workflow_type, init.workflow_id = "ServiceContract", "svc-1"
    init.arguments.add(metadata={"encoding": b"json/plain"}, data=b'{"policy": {}}')
    init.headers["trace"].data = b"t"
    inner = Recorder()
    completion = _OwnActivations(inner).activate(act)

    assert completion.run_id == "run-1"
    (given,) = inner.seen
    assert given == act and given is not act  # the same message, in memory of its own
    assert given.jobs[0].initialize_workflow.headers is not act.jobs[0].initialize_workflow.headers


def test_what_the_sdk_keeps_of_the_first_activation_is_copied() -> None:
    act = WorkflowActivation(run_id="run-1")
    init = act.jobs.add().initialize_workflow
    init.headers["trace"].data = b"t"
    init.memo.fields["note"].data = b'"n"'
    init.last_completion_result.payloads.add(data=b"1")
    init.continued_failure.message = "earlier run failed"
    info = dataclasses.replace(
        _sandbox_runner._fake_info, headers=dict(init.headers), raw_memo=dict(init.memo.fields)
    )
    det = WorkflowInstanceDetails(
        payload_converter_factory=pydantic_data_converter._new_payload_converter,
        failure_converter_class=pydantic_data_converter.failure_converter_class,
        interceptor_classes=[],
        defn=workflow._Definition.must_from_class(SandboxClockWorkflow),
        info=info,
        randomness_seed=1,
        extern_functions={},
        disable_eager_activity_execution=False,
        worker_level_failure_exception_types=[],
        patch_activation_callback=None,
        last_completion_result=init.last_completion_result,
        last_failure=init.continued_failure,
    )
    detached = _detached(det)

    assert detached.info.headers == det.info.headers and detached.info.raw_memo == det.info.raw_memo
    assert detached.last_completion_result == det.last_completion_result
    assert detached.last_failure == det.last_failure
    assert detached.info.headers["trace"] is not det.info.headers["trace"]
    assert detached.last_completion_result is not det.last_completion_result
    assert detached.last_failure is not det.last_failure
    assert dataclasses.replace(detached.info, headers={}, raw_memo={}) == dataclasses.replace(
        det.info, headers={}, raw_memo={}
    )
