"""The whole system as ``./run`` starts it, in a temporary folder, for the benchmarks.

``oferta run`` starts the file-backed Temporal dev server (``temporal.db`` in the data
folder), the mail and SMS sinks, the worker (``python worker.py``) and the API, each its
own process. The benchmarks drive it from outside, as a provider would, and read the
processes' CPU and memory from /proc.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from oferta.dev.launcher import stop_leftovers

ROOT = Path(__file__).resolve().parents[1]
READY = "Ctrl-C stops everything."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident memory of a process (VmRSS), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which ``share`` of the values fall (nearest rank; exact for small lists)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, object]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    ram_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(ram_kib / 2**20, 1),
        "python": sys.version.split()[0],
        "load_average_at_start": load_average(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


@dataclass
class System:
    data_dir: Path
    api_url: str
    key: str
    temporal_address: str
    pids: dict[str, int]
    task_queue: str = "oferta"
    _client: Client | None = field(default=None, repr=False)

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'oferta.db'}"

    async def client(self) -> Client:
        if self._client is None:
            self._client = await Client.connect(self.temporal_address, data_converter=pydantic_data_converter)
        return self._client

    def rss_kib(self, name: str) -> int:
        return rss_kib(self.pids[name])

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def temporal_db_bytes(self) -> int:
        """The dev server's SQLite file with its write-ahead log."""
        return sum(path.stat().st_size for path in self.data_dir.glob("temporal.db*") if path.is_file())

    async def worker_idle(self, quiet_for: float = 2.0, timeout: float = 600.0) -> float:
        """Wait until the worker has used (almost) no CPU for ``quiet_for`` seconds; returns
        the seconds waited. The worker finishes a started workflow's first task after the
        start itself has returned, so memory is read only once it is done."""
        began = time.monotonic()
        pid = self.pids["worker"]
        last, quiet_since = cpu_seconds(pid), time.monotonic()
        while time.monotonic() - began < timeout:
            await asyncio.sleep(0.5)
            now = cpu_seconds(pid)
            if now - last > 0.05:  # more than 10 % of a core in the last half second
                quiet_since = time.monotonic()
            last = now
            if time.monotonic() - quiet_since >= quiet_for:
                break
        return time.monotonic() - began


def cpu_share(before: dict[str, float], after: dict[str, float], elapsed: float) -> dict[str, float]:
    return {name: round((after[name] - before[name]) / elapsed, 3) for name in before if name in after}


@asynccontextmanager
async def oferta_run(
    extra_env: dict[str, str] | None = None, start_timeout: float = 120.0
) -> AsyncIterator[System]:
    """``oferta run`` on free ports in a temporary data folder, Oferta on SQLite; stopped with
    Ctrl-C (SIGINT) as a user stops it, which stops its children in order."""
    with tempfile.TemporaryDirectory(prefix="oferta-bench-") as folder:
        data_dir = Path(folder)
        ports = {
            name: str(free_port())
            for name in (
                "TEMPORAL_UI_PORT",
                "OFERTA_API_PORT",
                "SMTP_PORT",
                "OFERTA_WORKER_METRICS_PORT",
                "OFERTA_SMS_SINK_PORT",
            )
        }
        address = f"127.0.0.1:{free_port()}"
        # Nothing of the caller's Oferta settings (a test's database, a developer's .env ports).
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("OFERTA_", "TEMPORAL_", "SMTP_", "TWILIO_", "DATABASE_URL"))
        }
        env |= ports | {"OFERTA_DATA_DIR": str(data_dir), "TEMPORAL_ADDRESS": address}
        env |= extra_env or {}
        log_path = data_dir / "run.out"
        with log_path.open("wb") as log:
            run = subprocess.Popen(
                [sys.executable, "-m", "oferta.cli", "run"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=data_dir,  # no .env of the working copy
            )
        # `timeout` (or a kill) sends SIGTERM: end the bench as for Ctrl-C, through the finally
        # below, so that `oferta run` and its children (each in a session of its own) are stopped.
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        if task is not None:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            deadline = time.monotonic() + start_timeout
            while READY not in log_path.read_text(errors="replace"):
                if run.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"oferta run did not start:\n{log_path.read_text(errors='replace')}")
                await asyncio.sleep(0.2)
            key = (data_dir / "api-key").read_text().strip()
            pids = {
                name: int(pid)
                for name, pid in (line.split() for line in (data_dir / "run.pids").read_text().splitlines())
            }
            yield System(
                data_dir=data_dir,
                api_url=f"http://127.0.0.1:{ports['OFERTA_API_PORT']}",
                key=key,
                temporal_address=address,
                pids=pids,
            )
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            if run.poll() is None:
                run.send_signal(signal.SIGINT)
                try:
                    await asyncio.to_thread(run.wait, 120)
                except subprocess.TimeoutExpired:
                    run.kill()
                    run.wait()
            # A child `oferta run` could not stop (it was killed, or gave up): stop it here, or it
            # would outlive the bench (a dev server and a worker holding a deleted folder).
            left = await asyncio.to_thread(stop_leftovers, data_dir)
            if left:
                print(f"bench: stopped what oferta run left running: {', '.join(left)}", flush=True)
