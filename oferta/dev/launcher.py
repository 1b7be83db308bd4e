"""``oferta run`` (behind ``./run``): the whole system on one machine, on embedded defaults.

Starts the Temporal dev server (its data in ``<data_dir>/temporal.db``), registers
the search attributes, migrates the embedded database, then runs the SMTP sink,
the worker and the API as child processes; prints where everything is; stops
everything, in order, on Ctrl-C or SIGTERM.
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
from dataclasses import dataclass
from pathlib import Path

import httpx

from oferta.db.migrate import upgrade
from oferta.dev.devserver import register_search_attributes, start_dev_server, wait_for_server
from oferta.settings import PROJECT_ROOT, Settings


class LaunchError(RuntimeError):
    """Something the user can fix (a port taken, a child that would not start)."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path


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

    def _spawn(self, name: str, command: list[str]) -> Child:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=PROJECT_ROOT,
                start_new_session=True,
            )
        child = Child(name, process, log)
        self.children.append(child)
        self._write_pids()
        return child

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
        process = start_dev_server(
            host, port, settings.temporal_ui_port, self.data_dir / "temporal.db", self.logs / "temporal.log"
        )
        self.children.append(Child("temporal", process, self.logs / "temporal.log"))
        self._write_pids()
        client = await self._until_up(
            "temporal", wait_for_server(settings.temporal_address, settings.temporal_namespace)
        )
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
        ports = [(settings.smtp_host, settings.smtp_port)]
        if local_sms(settings):
            ports.append(("127.0.0.1", settings.sms_sink_port))
        await self._until_up("mail", _listening(ports))
        self._spawn("worker", [python, str(PROJECT_ROOT / "worker.py")])
        self._spawn("api", [python, "-m", "oferta.cli", "api"])
        api = f"http://{settings.api_host}:{settings.api_port}"
        await self._until_up("api", self._health(api))
        return key

    async def _until_up(self, name: str, waiting):
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
    while not stop.is_set():
        dead = launcher.exited()
        if dead:
            print(
                f"oferta run: {dead.name} exited (code {dead.process.returncode}); see {dead.log}",
                file=sys.stderr,
                flush=True,
            )
            code = 1
            break
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            continue
    say("\nstopping …")
    launcher.stop()
    say("stopped.")
    return code
