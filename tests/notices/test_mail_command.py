"""`oferta mail-sink` receives a real notice; `oferta mail list` and `mail show` print it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from oferta.effects import NoticeRequest
from oferta.notices.email import EmailSender
from oferta.notices.render import render
from oferta.policy.schema import Channel
from oferta.settings import Settings
from tests.fakes.smtp import free_port
from tests.notices.test_ledger import request

OFERTA = [sys.executable, "-m", "oferta.cli"]


def oferta(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*OFERTA, *args], env=env, capture_output=True, text=True, timeout=60)


async def listening(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    """Waits for the condition 'the sink accepts connections' (or fails if it exited)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        assert process.poll() is None, process.stderr.read()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_the_sink_command_keeps_mail_that_list_and_show_print(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "OFERTA_DATA_DIR": str(tmp_path), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}
    sink = subprocess.Popen(
        [*OFERTA, "mail-sink"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        await listening(port, sink)
        assert oferta(env, "mail", "list").stdout.startswith("No mail")
        notice: NoticeRequest = request("c-cli", Channel.EMAIL)
        rendered = render(notice, "en")
        settings = Settings(SMTP_HOST="127.0.0.1", SMTP_PORT=port, OFERTA_MAIL_FROM="billing@ps.example")
        await EmailSender(settings).send("cli@example.kz", rendered, notice.idempotency_key)
    finally:
        sink.send_signal(signal.SIGTERM)
        assert sink.wait(timeout=20) == 0  # a clean stop

    listed = oferta(env, "mail", "list")
    assert listed.returncode == 0
    [line] = listed.stdout.splitlines()
    assert "cli@example.kz" in line and rendered.subject in line
    name = line.rsplit("[", 1)[1].rstrip("]")
    shown = oferta(env, "mail", "show", name)
    assert f"Subject: {rendered.subject}" in shown.stdout
    assert "clause 3.16 of the PS.kz public offer contract" in shown.stdout
    assert oferta(env, "mail", "show", "nothing.eml").returncode == 1
