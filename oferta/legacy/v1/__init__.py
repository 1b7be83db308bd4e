"""FROZEN copy of the engine, state and policy schema at commit 8fa7915.

Open "ServiceLifecycle" executions (started before the clause-faithful engine)
replay against exactly this code. Nothing new imports it but
``workflows.service_lifecycle_v1``. Do not edit: fix behaviour in
``oferta.timeline`` for new services instead.
"""
