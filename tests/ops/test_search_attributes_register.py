"""`oferta search-attributes register` adds what a namespace lacks, once, and says so."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from oferta import search_attributes
from oferta.temporal import quiet_runtime, temporal_cli_path

ROOT = Path(__file__).resolve().parents[2]


async def _register(address: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "oferta.cli", "search-attributes", "register"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": "default"},
    )


async def test_register_adds_the_missing_attributes_once() -> None:
    # A server started without them, as an existing cluster or an old data file would be.
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_cli_path(),
        runtime=quiet_runtime(),
    )
    try:
        address = env.client.service_client.config.target_host
        first = await _register(address)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("added: ")
        assert set(first.stdout.removeprefix("added: ").strip().split(", ")) == set(
            search_attributes.CLI_TYPES
        )

        listed = await env.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        types = {name: listed.custom_attributes[name] for name in search_attributes.CLI_TYPES}
        assert types["OfertaNextDeadline"] != types["OfertaPolicy"]  # Datetime, not Keyword

        again = await _register(address)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == "all search attributes already registered"
    finally:
        await env.shutdown()
