"""Workflows. Modules here import nothing with side effects (they are re-imported in the sandbox).

This file imports nothing: the sandbox runs it again for every workflow. The list a worker
registers is ``workflows.registry.WORKFLOWS``.
"""
