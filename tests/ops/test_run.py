"""`oferta run` (./run): the whole system up on embedded defaults, used, stopped, restarted."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(data_dir: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OFERTA_", "TEMPORAL_", "SMTP_", "TWILIO_"))
    }
    env.pop("DATABASE_URL", None)
    return env | {
        "OFERTA_DATA_DIR": str(data_dir),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{_free_port()}",
        "TEMPORAL_UI_PORT": str(_free_port()),
        "OFERTA_API_PORT": str(_free_port()),
        "SMTP_PORT": str(_free_port()),
        "OFERTA_WORKER_METRICS_PORT": str(_free_port()),
        "OFERTA_SMS_SINK_PORT": str(_free_port()),
    }


@contextmanager
def running(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "oferta.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:  # a thread, so a silent launcher cannot block the test past its deadline
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            output.append(line)
            if "Ctrl-C stops everything." in line:
                break
        assert "Oferta is running." in "".join(output), "".join(output)
        yield process, "".join(output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=90)


def _pids(data_dir: Path) -> list[int]:
    return [int(line.split()[1]) for line in (data_dir / "run.pids").read_text().splitlines() if line]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/status").read_text().count("State:\tZ")


def test_run_serves_the_api_stops_cleanly_and_keeps_the_data(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    api = f"http://127.0.0.1:{env['OFERTA_API_PORT']}"
    with running(env) as (process, banner):
        key = (tmp_path / "api-key").read_text().strip()
        assert key in banner and f"{api}/docs" in banner and "Temporal UI" in banner
        # No Twilio account set: SMS go to the local sink, not to api.twilio.com.
        assert f"SMS in {tmp_path / 'sms'}" in banner
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=api, headers=auth, timeout=30) as http:
            customer = http.post(
                "/v1/customers", json={"name": "ТОО Ромашка", "email": "a@example.kz", "locale": "ru"}
            ).json()
            service = http.post(
                "/v1/services",
                json={
                    "customer_id": customer["id"],
                    "policy": "ps-kz",
                    "tariff": "Basic",
                    "price": "2500.00",
                    "currency": "KZT",
                    "period": "P1M",
                },
            ).json()
            paid = http.post(
                f"/v1/services/{service['id']}/payments",
                headers={"Idempotency-Key": "p-1"},
                json={"amount": "2500.00", "currency": "KZT"},
            )
            assert paid.status_code == 200, paid.text
            shown = http.get(f"/v1/services/{service['id']}").json()
            assert shown["state"] == "active"
            # The renewal's timing is the provider's choice: no clause, marked operational.
            assert shown["next_deadline"]["clause"] is None
            assert shown["next_deadline"]["operational"] is True
            # The database mirror follows the workflow as its record activity runs.
            for _ in range(50):
                metrics = httpx.get(f"{api}/metrics").text
                if 'oferta_services{policy="ps-kz",state="active"} 1.0' in metrics:
                    break
                time.sleep(0.2)
            assert 'oferta_services{policy="ps-kz",state="active"} 1.0' in metrics
            worker_metrics = httpx.get(f"http://127.0.0.1:{env['OFERTA_WORKER_METRICS_PORT']}/metrics").text
            assert "temporal_worker_task_slots_available" in worker_metrics
            # The customer's notices went through the embedded SMTP sink, in Russian.
            for _ in range(50):
                mail = sorted((tmp_path / "mail").glob("*.eml"))
                if len(mail) >= 3:
                    break
                time.sleep(0.2)
            subjects = {
                message_from_bytes(p.read_bytes(), policy=email_policy.default)["Subject"] for p in mail
            }
            assert "Платёж 2\xa0500,00 ₸ получен" in subjects, subjects
            inbox = http.get("/inbox").text
            assert "Услуга «Basic» подключена" in inbox
        demo = subprocess.run(
            [sys.executable, "-m", "oferta.cli", "demo"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert demo.returncode == 0, demo.stderr
        for state in ("active", "terminating", "suspended", "force_majeure", "awaiting_payment"):
            assert f" {state} " in demo.stdout, (state, demo.stdout)
        children = _pids(tmp_path)
        assert len(children) == 4  # temporal, mail sink, worker, api
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 0
    assert not [pid for pid in children if _alive(pid)], "every child stopped"
    assert not (tmp_path / "run.pids").exists()

    with running(env):  # again: the same data, the same service, still active
        with httpx.Client(base_url=api, headers=auth, timeout=30) as http:
            again = http.get(f"/v1/services/{service['id']}").json()
            assert again["state"] == "active" and again["live"] is True


def test_a_taken_port_is_named_with_its_setting(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(env["OFERTA_API_PORT"])))
        blocker.listen()
        run = subprocess.run(
            [sys.executable, "-m", "oferta.cli", "run"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 2
    assert f"port {env['OFERTA_API_PORT']} (OFERTA_API_PORT) is already in use" in run.stderr
    assert not (tmp_path / "temporal.db").exists(), "nothing was started"


def test_a_killed_run_leaves_nothing_in_the_way_and_a_closed_terminal_stops_it(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    with running(env) as (process, _):
        first = _pids(tmp_path)
        process.kill()  # kill -9: no chance to stop its children
        process.wait(timeout=10)
    assert all(_alive(pid) for pid in first), "the children outlived it"
    with running(env) as (process, banner):  # the same ports: the leftovers were stopped first
        assert "stopped what an earlier run left running" in banner
        assert not [pid for pid in first if _alive(pid)]
        second = _pids(tmp_path)
        process.send_signal(signal.SIGHUP)  # the terminal was closed
        assert process.wait(timeout=90) == 0
    assert not [pid for pid in second if _alive(pid)]
