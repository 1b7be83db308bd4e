"""Workflows. Modules here import nothing with side effects (they are re-imported in the sandbox)."""

from workflows.service_lifecycle import ServiceLifecycleWorkflow

WORKFLOWS: list[type] = [ServiceLifecycleWorkflow]
