"""Sub-commands of the ``oferta`` CLI, one module each, each with ``register(subparsers)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from temporalio.client import Client

    from oferta.settings import Settings


async def temporal_client(settings: Settings) -> Client:
    """The commands' connection to Temporal; LookupError, in words, when it cannot be reached."""
    from oferta.temporal import connect

    try:
        return await connect(settings)
    except RuntimeError as exc:
        raise LookupError(
            f"cannot reach Temporal at {settings.temporal_address} (TEMPORAL_ADDRESS; ./run starts one)"
        ) from exc
