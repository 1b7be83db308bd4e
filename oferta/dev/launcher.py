"""``oferta run`` (behind ``./run``): the whole system on one machine, on embedded defaults.

Starts the Temporal dev server (its data in ``<data_dir>/temporal.db``), registers
the search attributes, migrates the embedded database, then runs the SMTP sink,
the worker and the API as child processes; prints where everything is; stops
everything, in order, on Ctrl-C or SIGTERM.

Once up it supervises: a child that exits is started again on the same data (same
command, ports, data folder and Temporal database file) after a backoff of 1 s, 2 s,
4 s … (at most ``BACKOFF_CAP``), and a restarted Temporal is waited for until it
answers. A child that needs more than ``OFERTA_RESTART_LIMIT`` restarts within
``OFERTA_RESTART_WINDOW`` seconds cannot stay up: everything stops, exit code 1.

Only the child that died is restarted. When Temporal comes back, the worker and the
API keep running rather than being restarted too: their SDK clients reconnect by
themselves (the gRPC channel reconnects; the worker's pollers retry "unavailable"
with their own backoff), and every workflow's state lives in Temporal's database
file, so nothing is lost or applied twice. A worker whose SDK gives up for good exits
(``async with Worker`` raises its fatal error), and then it is restarted here like any
child. ``tests/faults/test_supervisor.py`` kills Temporal and the worker with SIGKILL
and checks that the service answers from its workflow and each payment counts once;
by hand, a worker and an API kept running through a 35 s Temporal outage and served
again once it was back.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from oferta.db.migrate import upgrade
from oferta.dev.devserver import dev_server_command, register_search_attributes, wait_for_server
from oferta.settings import PROJECT_ROOT, Settings

# The backoff before restarting a child that exited: 1 s, 2 s, 4 s … at most BACKOFF_CAP.
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
# How often the supervisor looks at its children.
POLL_INTERVAL = 0.2


class LaunchError(RuntimeError):
    """Something the user can fix (a port taken, a child that would not start)."""


class GiveUp(RuntimeError):
    """A child kept dying: restarting it again would only hide the fault."""


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen
    log: Path
    # When it exited recently (monotonic seconds): restarts within the window count.
    crashes: deque[float] = field(default_factory=deque)


def describe_exit(code: int) -> str:
    """``-9 (SIGKILL)`` for a signal, the plain code otherwise."""
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return str(code)


def backoff(restart: int) -> float:
    """The wait before the n-th restart within the window: doubling from BACKOFF_BASE, capped."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (restart - 1))


def say(text: str) -> None:
    print(text, flush=True)


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host or "127.0.0.1").strip("[]"), int(port)


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host if host != "localhost" else "127.0.0.1", port))
        except OSError:
            return True
    return False


def check_ports(settings: Settings) -> None:
    temporal_host, temporal_port = _split_address(settings.temporal_address)
    wanted = [
        ("TEMPORAL_ADDRESS", temporal_host, temporal_port),
        ("TEMPORAL_UI_PORT", temporal_host, settings.temporal_ui_port),
        ("OFERTA_API_PORT", settings.api_host, settings.api_port),
        ("SMTP_PORT", settings.smtp_host, settings.smtp_port),
        ("OFERTA_WORKER_METRICS_PORT", "0.0.0.0", settings.worker_metrics_port),
    ]
    if local_sms(settings):
        wanted.append(("OFERTA_SMS_SINK_PORT", "127.0.0.1", settings.sms_sink_port))
    taken = [
        f"port {port} ({name}) is already in use" for name, host, port in wanted if _port_taken(host, port)
    ]
    if taken:
        raise LaunchError(
            "; ".join(taken) + ". Stop what uses it, or choose another port "
            "with that setting (environment or .env)."
        )


def local_sms(settings: Settings) -> bool:
    """No Twilio account and no Twilio-compatible endpoint set: SMS go to the local sink."""
    placeholder = Settings.model_fields["twilio_account_sid"].default
    return not settings.twilio_base_url and settings.twilio_account_sid == placeholder


def api_key(settings: Settings) -> str:
    """The bootstrap admin key: the setting, else one made on first run and kept."""
    if settings.bootstrap_api_key:
        return settings.bootstrap_api_key
    path = settings.data_dir / "api-key"
    if path.exists():
        return path.read_text().strip()
    key = f"oferta_{secrets.token_urlsafe(24)}"
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


async def _listening(addresses: list[tuple[str, int]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for host, port in addresses:
        while True:
            try:
                _, writer = await asyncio.open_connection(host, port)
                writer.close()
                await writer.wait_closed()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nothing listens on {host}:{port}") from None
                await asyncio.sleep(0.1)


def _ours(pid: int, data_dir: Path) -> bool:
    """Is this pid still a child of an earlier ``oferta run`` on this data folder (not a reused pid)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone, not ours to read, or no /proc (the port check still names the port)
        return False
    marker = str(data_dir).encode()
    return marker in cmdline or b"OFERTA_DATA_DIR=" + marker + b"\0" in environ + b"\0"


def stop_leftovers(data_dir: Path, timeout: float = 25.0) -> list[str]:
    """Stop what an earlier run left behind when it was killed outright (kill -9, a crash)."""
    path = data_dir / "run.pids"
    if not path.exists():
        return []
    left = []
    for line in path.read_text().splitlines():
        name, _, number = line.partition(" ")
        if number.isdigit() and _ours(int(number), data_dir):
            os.kill(int(number), signal.SIGTERM)
            left.append((name, int(number)))
    deadline = time.monotonic() + timeout
    for _name, pid in left:
        while _ours(pid, data_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _ours(pid, data_dir):
            os.kill(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    return [f"{name} ({pid})" for name, pid in left]


class Launcher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir.resolve()
        self.logs = self.data_dir / "logs"
        self.children: list[Child] = []
        self.env = dict(os.environ)

    def _popen(self, command: list[str], log: Path) -> subprocess.Popen:
        with log.open("ab") as out:
            return subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=PROJECT_ROOT,
                start_new_session=True,
            )

    def _spawn(self, name: str, command: list[str]) -> Child:
        log = self.logs / f"{name}.log"
        child = Child(name, command, self._popen(command, log), log)
        self.children.append(child)
        self._write_pids()
        return child

    def _readiness(self, name: str) -> Coroutine[Any, Any, object] | None:
        """What to wait for before a child counts as up (None: nothing to ask, the worker)."""
        settings = self.settings
        if name == "temporal":
            return wait_for_server(settings.temporal_address, settings.temporal_namespace)
        if name == "mail":
            return _listening(self._sink_ports())
        if name == "api":
            return self._health(f"http://{settings.api_host}:{settings.api_port}")
        return None

    def _sink_ports(self) -> list[tuple[str, int]]:
        ports = [(self.settings.smtp_host, self.settings.smtp_port)]
        if local_sms(self.settings):
            ports.append(("127.0.0.1", self.settings.sms_sink_port))
        return ports

    def _write_pids(self) -> None:
        lines = [f"{c.name} {c.process.pid}" for c in self.children]
        (self.data_dir / "run.pids").write_text("\n".join(lines) + "\n")

    async def start(self) -> str:
        settings = self.settings
        leftovers = stop_leftovers(self.data_dir)
        if leftovers:
            say(f"• stopped what an earlier run left running: {', '.join(leftovers)}")
        check_ports(settings)
        self.logs.mkdir(parents=True, exist_ok=True)
        key = api_key(settings)
        self.env.update({"OFERTA_DATA_DIR": str(self.data_dir), "OFERTA_BOOTSTRAP_API_KEY": key})

        host, port = _split_address(settings.temporal_address)
        say(f"• Temporal dev server on {host}:{port} (data: {self.data_dir / 'temporal.db'}) …")
        self._spawn(
            "temporal",
            dev_server_command(host, port, settings.temporal_ui_port, self.data_dir / "temporal.db"),
        )
        client = await self._until_up("temporal", self._readiness("temporal"))
        added = await register_search_attributes(client, settings.temporal_namespace)
        say(f"• search attributes ready{' (added ' + ', '.join(added) + ')' if added else ''}")

        url = settings.effective_database_url
        await asyncio.to_thread(upgrade, url)
        say(f"• database migrated ({url})")

        python = sys.executable
        sinks = [python, "-m", "oferta.dev.mailsink"]
        if local_sms(settings):
            sinks.append("--sms")
            self.env["TWILIO_BASE_URL"] = f"http://127.0.0.1:{settings.sms_sink_port}"
        self._spawn("mail", sinks)
        # The worker may send at once: wait until the sinks listen.
        await self._until_up("mail", self._readiness("mail"))
        self._spawn("worker", [python, str(PROJECT_ROOT / "worker.py")])
        self._spawn("api", [python, "-m", "oferta.cli", "api"])
        await self._until_up("api", self._readiness("api"))
        return key

    async def supervise(self) -> None:
        """Keep every child running; returns only by raising GiveUp (cancel it to stop)."""
        tasks = [asyncio.ensure_future(self._keep_running(child)) for child in self.children]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # raises the GiveUp
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep_running(self, child: Child) -> None:
        settings = self.settings
        while True:
            while child.process.poll() is None:
                await asyncio.sleep(POLL_INTERVAL)
            code = describe_exit(child.process.returncode)
            now = time.monotonic()
            child.crashes.append(now)
            while now - child.crashes[0] > settings.restart_window:
                child.crashes.popleft()
            restart = len(child.crashes)
            if restart > settings.restart_limit:
                raise GiveUp(
                    f"{child.name} exited {restart} time{'s' if restart > 1 else ''} "
                    f"within {settings.restart_window:g} s "
                    f"(last with {code}); giving up, see {child.log}"
                )
            delay = backoff(restart)
            line = (
                f"{child.name} exited with {code}; restarting in {delay:g} s "
                f"(restart {restart} of {settings.restart_limit})"
            )
            say(f"• {line}")
            with child.log.open("a") as log:  # where the child's own lines stop and start again
                log.write(f"--- oferta run: {line} ---\n")
            await asyncio.sleep(delay)
            child.process = self._popen(child.command, child.log)
            self._write_pids()
            if await self._came_up(child):
                say(f"• {child.name} is running again (pid {child.process.pid})")

    async def _came_up(self, child: Child) -> bool:
        """Wait until a restarted child answers; False if it exited (or hung, then it is killed)."""
        waiting = self._readiness(child.name)
        if waiting is None:
            return True
        task = asyncio.ensure_future(waiting)
        try:
            while not task.done():
                if child.process.poll() is not None:
                    return False  # counted as another crash by the caller
                await asyncio.sleep(POLL_INTERVAL)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if task.exception() is None:
            return True
        # Running but never answering is a failure too: end it so the loop counts and retries it.
        say(f"• {child.name} did not answer after its restart ({task.exception()}); stopping it")
        child.process.kill()
        child.process.wait()
        return False

    async def _until_up(self, name: str, waiting: Coroutine[Any, Any, Any] | None) -> Any:
        assert waiting is not None
        task = asyncio.ensure_future(waiting)
        while not task.done():
            await asyncio.sleep(0.2)
            dead = self.exited()
            if dead:
                task.cancel()
                raise LaunchError(
                    f"{dead.name} stopped while starting (exit {dead.process.returncode}); see {dead.log}"
                )
        try:
            return task.result()
        except Exception as exc:
            raise LaunchError(f"{name} did not come up: {exc}") from exc

    async def _health(self, api: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                try:
                    if (await http.get(f"{api}/health")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{api}/health did not answer in {timeout:.0f} s")
                await asyncio.sleep(0.3)

    def exited(self) -> Child | None:
        return next((c for c in self.children if c.process.poll() is not None), None)

    def stop(self) -> None:
        """API first, Temporal last, so the worker can finish its tasks."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
                try:
                    child.process.wait(timeout=25)
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()
            say(f"  stopped {child.name}")
        (self.data_dir / "run.pids").unlink(missing_ok=True)


def banner(settings: Settings, key: str) -> str:
    api = f"http://{settings.api_host}:{settings.api_port}"
    host, _ = _split_address(settings.temporal_address)
    lines = [
        "",
        "Oferta is running.",
        f"  API docs       {api}/docs",
        f"  Temporal UI    http://{host}:{settings.temporal_ui_port}",
        f"  Local inbox    {api}/inbox   (mail also in {settings.data_dir.resolve() / 'mail'}"
        + (f", SMS in {settings.data_dir.resolve() / 'sms'})" if local_sms(settings) else ")"),
        f"  API key        {key}",
        f"                 (curl -H 'Authorization: Bearer {key}' {api}/v1/services)",
        f"  Metrics        {api}/metrics, http://127.0.0.1:{settings.worker_metrics_port}/metrics (worker)",
        f"  Logs           {settings.data_dir.resolve() / 'logs'}",
        "Try `oferta demo` in another terminal. Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


async def run(settings: Settings) -> int:
    launcher = Launcher(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # SIGHUP: the terminal was closed; stop as for Ctrl-C rather than leave the children running.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.ensure_future(launcher.start())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # Ctrl-C while starting: stop what has started
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        say("\nstopping …")
        launcher.stop()
        say("stopped.")
        return 0
    stopping.cancel()
    try:
        key = starting.result()
    except LaunchError as exc:
        launcher.stop()
        print(f"oferta run: {exc}", file=sys.stderr, flush=True)
        return 2
    say(banner(settings, key))
    code = 0
    supervising = asyncio.ensure_future(launcher.supervise())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait([supervising, stopping], return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if supervising.done():
        print(f"oferta run: {supervising.exception()}", file=sys.stderr, flush=True)
        code = 1
    else:  # Ctrl-C or SIGTERM, maybe while a child waits for its restart
        supervising.cancel()
        await asyncio.gather(supervising, return_exceptions=True)
    say("\nstopping …")
    launcher.stop()
    say("stopped.")
    return code
