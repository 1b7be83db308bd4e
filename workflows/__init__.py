"""Workflows. Modules here import nothing with side effects (they are re-imported in the sandbox)."""

from workflows.force_majeure import ForceMajeureWorkflow
from workflows.service_lifecycle import ServiceLifecycleWorkflow

WORKFLOWS: list[type] = [ServiceLifecycleWorkflow, ForceMajeureWorkflow]
