"""The workflows a worker registers.

Kept out of ``workflows/__init__.py``: the sandbox imports a workflow's package afresh for every
workflow it runs, so a package ``__init__`` that imports every workflow module made each cached
workflow rebuild every module's pydantic models (bench/RESULTS.md, memory).
"""

from workflows.amendments import AmendmentWorkflow
from workflows.force_majeure import ForceMajeureWorkflow
from workflows.guard import DestructiveStepGuard
from workflows.imports import ImportWorkflow
from workflows.service_lifecycle import ServiceLifecycleWorkflow
from workflows.service_lifecycle_v1 import ServiceLifecycleV1Workflow
from workflows.webhooks import WebhookDispatcher

# ServiceLifecycleV1Workflow stays registered while services started before the
# clause-faithful engine are still open (README: "Versioning").
WORKFLOWS: list[type] = [
    ServiceLifecycleWorkflow,
    ServiceLifecycleV1Workflow,
    ForceMajeureWorkflow,
    DestructiveStepGuard,
    ImportWorkflow,
    WebhookDispatcher,
    AmendmentWorkflow,
]
