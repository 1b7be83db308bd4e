"""The Oferta worker: runs the service lifecycle workflows and their activities.

python worker.py        (or: oferta worker)
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from functools import partial

from temporalio.client import Client
from temporalio.worker import Worker

from activities.factory import build_activities
from oferta.db.webhooks import enabled_count
from oferta.importer import import_batch
from oferta.observability import configure_logging
from oferta.sandbox import workflow_runner
from oferta.settings import Settings, get_settings
from oferta.temporal import connect, metrics_runtime, run_async
from workflows.client import TemporalUnavailable, ask_guard, wake_webhook_dispatcher
from workflows.registry import WORKFLOWS

log = logging.getLogger("oferta.worker")


async def run_worker(settings: Settings, stop: asyncio.Event | None = None, metrics: bool = False) -> None:
    runtime = None
    if metrics:
        # SDK metrics (task slots, schedule-to-start, activity latency) on the Prometheus port.
        runtime = metrics_runtime(f"0.0.0.0:{settings.worker_metrics_port}")
    client = await connect(settings, runtime=runtime)
    # Destructive steps ask their policy's guard workflow, through this client.
    activities = build_activities(
        settings,
        partial(ask_guard, client, settings.task_queue),
        partial(import_batch, client, settings.effective_database_url, settings.task_queue),
    )
    stop = stop or asyncio.Event()
    async with Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(WORKFLOWS),  # each workflow module compiled once
        activities=activities.all(),
        max_cached_workflows=settings.worker_max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=20),
    ):
        log.info("worker polling task queue %r at %s", settings.task_queue, settings.temporal_address)
        await ensure_webhook_dispatcher(client, settings)
        await stop.wait()
    log.info("worker stopped")


async def ensure_webhook_dispatcher(client: Client, settings: Settings) -> None:
    """The webhook dispatcher runs while an endpoint is enabled. The API starts it when one is
    created or enabled; starting it here too brings it back after anything stopped it (it is
    idempotent: signal-with-start on a fixed id per task queue)."""
    if not await asyncio.to_thread(enabled_count, settings.effective_database_url):
        return
    try:
        await wake_webhook_dispatcher(
            client, settings.task_queue, settings.webhooks_poll_seconds, settings.webhooks_wait_seconds
        )
    except TemporalUnavailable as err:
        log.warning("webhook dispatcher not started: %s", err)


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_json)
    stop = asyncio.Event()

    async def _main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop, metrics=True)

    run_async(_main())


if __name__ == "__main__":
    main()
