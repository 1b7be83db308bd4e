"""Workflows. Modules here import nothing with side effects (they are re-imported in the sandbox)."""

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
]
