"""Schemathesis fuzzes every operation of the OpenAPI spec against a real server: zero 5xx,
and no contract workflow broken by what the API accepted.

The server runs on a free port with its own database and worker; the fuzzing runs
in a thread so the event loop keeps serving (and the worker keeps working).
"""

from __future__ import annotations

import asyncio

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.api.harness import new_service, oferta
from workflows.service_lifecycle import ServiceLifecycleWorkflow

EXAMPLES = 100
# Examples for each operation the random mix happened to miss.
TOP_UP = 10


def _fuzz(
    base_url: str,
    key: str,
    mode: GenerationMode,
    path_parameters: dict[str, str] | None,
    seen: set[str],
    only: set[str] | None = None,
) -> list[str]:
    """Fuzz the whole spec (a random mix of operations, so a declared id may be queried next),
    or with ``only`` each of those operations on its own."""
    # Every operation, the force-majeure id ones included: a generated id that another run (another
    # task queue on the same Temporal server) declared is a 404 here, not a wait for its worker.
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    if only is None:
        strategies = [(schema.as_strategy(generation_mode=mode, path_parameters=path_parameters), EXAMPLES)]
    else:
        strategies = [
            (op.as_strategy(generation_mode=mode, path_parameters=path_parameters), TOP_UP)
            for op in (result.ok() for result in schema.get_all_operations())
            if _name(op.method, op.path) in only
        ]
    failures: list[str] = []
    for strategy, examples in strategies:

        @given(case=strategy)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            seen.add(_name(case.method, case.path))
            response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
                )

        try:
            run()
        except Unsatisfiable:
            # An operation with nothing to get wrong (no parameters, no body) has no negative
            # cases: its positive ones were sent.
            if mode is not GenerationMode.NEGATIVE or only is None:
                raise
    return failures


def _name(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


def _operations(base_url: str) -> set[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    return {_name(op.method, op.path) for op in (result.ok() for result in schema.get_all_operations())}


async def test_fuzzing_the_openapi_spec_finds_no_server_errors(dev_env, empty_database_url):
    async with oferta(dev_env, empty_database_url, serve=True, update_timeout=10.0) as api:
        async with api.http("admin") as http:
            service = await new_service(http)
        known = {"service_id": service["id"], "customer_id": service["customer_id"]}
        failures: list[str] = []
        seen: set[str] = set()
        for mode, path_parameters in [
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
            (GenerationMode.POSITIVE, known),
            (GenerationMode.NEGATIVE, known),
        ]:
            failures += await asyncio.to_thread(
                _fuzz, api.base_url, api.keys["admin"], mode, path_parameters, seen
            )
        every = await asyncio.to_thread(_operations, api.base_url)
        missed = every - seen
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += await asyncio.to_thread(
                _fuzz, api.base_url, api.keys["admin"], mode, known, seen, missed
            )
        assert failures == []
        assert seen == every  # every operation of the spec was fuzzed
        # Nothing the API accepted may break a contract workflow either.
        handle = api.temporal.get_workflow_handle(service["workflow_id"])
        seeded = await handle.describe()
        if seeded.status.name != "RUNNING":
            # An input that ends a contract at once (a breach termination, a withdrawal) is one the
            # API accepts: the workflow then completes with the service terminated, not broken.
            assert seeded.status.name == "COMPLETED", seeded.status.name
            assert (await handle.query(ServiceLifecycleWorkflow.view)).state.value == "terminated"
        query = f"TaskQueue = '{api.settings.task_queue}' AND ExecutionStatus != 'Running'"
        broken = [
            (w.id, w.status.name)
            async for w in api.temporal.list_workflows(query)
            if w.status.name not in ("COMPLETED", "CONTINUED_AS_NEW")
        ]
        assert broken == []
