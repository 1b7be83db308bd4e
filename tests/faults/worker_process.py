"""The production worker (``python worker.py``) in a process of its own, as ./run and compose run it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from oferta.settings import Settings
from tests.fakes.smtp import free_port

ROOT = Path(__file__).parents[2]


class WorkerProcess:
    """``python worker.py`` with the test's settings in its environment; its log in a file."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings = settings
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> WorkerProcess:
        s = self.settings
        env = os.environ | {
            "DATABASE_URL": s.effective_database_url,
            "TEMPORAL_ADDRESS": s.temporal_address,
            "OFERTA_TASK_QUEUE": s.task_queue,
            "SMTP_HOST": s.smtp_host,
            "SMTP_PORT": str(s.smtp_port),
            "OFERTA_MAIL_FROM": s.mail_from,
            "OFERTA_WORKER_METRICS_PORT": str(free_port()),  # not ./run's 9464, which may be in use
        }
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "worker.py", cwd=ROOT, env=env, stdout=log, stderr=log
            )
        return self

    async def ready(self, timeout: float = 60) -> None:
        start = time.monotonic()
        while b"worker polling task queue" not in self.log.read_bytes():
            assert self.process is not None and self.process.returncode is None, self.log.read_text()[-2000:]
            assert time.monotonic() - start < timeout, "the worker did not start"
            await asyncio.sleep(0.2)  # polls the log for the worker's "polling" line

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: nothing is flushed, completed or handed back
        await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM: the worker's own graceful shutdown; SIGKILL if it hangs."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            await self.kill()
