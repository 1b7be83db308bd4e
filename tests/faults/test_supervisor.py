"""`oferta run` as a supervisor: a child killed outright comes back on the same data.

The real system runs (`oferta run` in a subprocess on a temporary data folder and
free ports, as in tests/ops/test_run.py); its console goes to a file the test
reads, and the children's pids come from the launcher's `run.pids`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx

from oferta.dev.launcher import backoff, describe_exit
from tests.ops.test_run import ROOT, _alive, _environment

T = TypeVar("T")


@contextmanager
def launched(env: dict[str, str], console: Path) -> Iterator[subprocess.Popen]:
    """`oferta run` up (its banner printed); stopped with Ctrl-C at the end if still running."""
    with console.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "oferta.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _eventually(
            lambda: process.poll() is None and "Ctrl-C stops everything." in console.read_text(),
            timeout=120,
            what=f"oferta run to start: {console.read_text()}",
        )
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=90)


def _pid(data_dir: Path, name: str) -> int:
    children = dict(line.split() for line in (data_dir / "run.pids").read_text().splitlines() if line)
    return int(children[name])


def _eventually(check: Callable[[], T | None], timeout: float = 45.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except (httpx.HTTPError, OSError, KeyError, ValueError):
            found = None
        if found is not None and found is not False:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _restarted(data_dir: Path, name: str, old: int) -> int:
    """The child's new pid, once the launcher has started it again."""
    return _eventually(
        lambda: new if (new := _pid(data_dir, name)) != old and _alive(new) else None,
        what=f"{name} to be restarted",
    )


def _bound(sock: socket.socket, port: int) -> bool:
    sock.bind(("127.0.0.1", port))  # OSError while the killed sink's socket is not yet closed
    return True


def _balance(service: dict) -> str:
    """What the customer has paid ahead (a PS.kz prepayment waits as balance for the next period)."""
    return service["balance"]["amount"] if service["balance"] else "0.00"


def _paid(http: httpx.Client, service_id: str, key: str) -> dict:
    paid = http.post(
        f"/v1/services/{service_id}/payments",
        headers={"Idempotency-Key": key},
        json={"amount": "2500.00", "currency": "KZT"},
    )
    assert paid.status_code == 200, paid.text
    return paid.json()


def test_killed_temporal_and_worker_come_back_and_each_payment_counts_once(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    api = f"http://127.0.0.1:{env['OFERTA_API_PORT']}"
    console = tmp_path / "console.txt"
    with launched(env, console) as process:
        key = (tmp_path / "api-key").read_text().strip()
        with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
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
            sid = service["id"]
            first = _paid(http, sid, "p-1")["service"]
            assert first["state"] == "active"
            others = {name: _pid(tmp_path, name) for name in ("mail", "api")}

            # Temporal dies outright (kill -9): the launcher starts it again on the same database file.
            temporal = _pid(tmp_path, "temporal")
            os.kill(temporal, signal.SIGKILL)
            _restarted(tmp_path, "temporal", temporal)
            told = "temporal exited with -9 (SIGKILL); restarting in 1 s (restart 1 of 5)"
            assert told in console.read_text() and told in (tmp_path / "logs" / "temporal.log").read_text()
            # The API reconnects by itself; the service's workflow is still there, as it was, and
            # answers (live: from the workflow, not from the database mirror the API falls back on).
            after = _eventually(
                lambda: r if (r := http.get(f"/v1/services/{sid}").json())["live"] else None,
                what="the service's workflow to answer after Temporal's restart",
            )
            assert after["state"] == "active"
            assert after["paid_until"] == first["paid_until"], "nothing was applied again"
            assert _balance(after) == _balance(first) == "0.00"

            second = _paid(http, sid, "p-2")
            assert second["applied"] and not second["duplicate"]
            again = http.post(
                f"/v1/services/{sid}/payments",
                headers={"Idempotency-Key": "p-2"},
                json={"amount": "2500.00", "currency": "KZT"},
            )
            assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
            assert _balance(second["service"]) == "2500.00"
            assert _balance(http.get(f"/v1/services/{sid}").json()) == "2500.00", "the retry added nothing"

            # The worker dies outright: it comes back and the service still moves.
            worker = _pid(tmp_path, "worker")
            os.kill(worker, signal.SIGKILL)
            _restarted(tmp_path, "worker", worker)
            assert (
                "worker exited with -9 (SIGKILL); restarting in 1 s (restart 1 of 5)" in console.read_text()
            )
            third = _paid(http, sid, "p-3")
            assert third["applied"] and _balance(third["service"]) == "5000.00"
            assert {name: _pid(tmp_path, name) for name in ("mail", "api")} == others, (
                "only the dead restarted"
            )

            def payments() -> list[dict] | None:
                events = http.get(f"/v1/services/{sid}/timeline").json()["events"]
                found = [e for e in events if e["type"] == "payment_received"]
                return found if len(found) >= 3 else None

            received = _eventually(payments, what="three payments on the timeline")
            assert len(received) == 3, received  # each payment once, none replayed by a restart
        children = [int(line.split()[1]) for line in (tmp_path / "run.pids").read_text().splitlines()]
        process.send_signal(signal.SIGTERM)  # stops everything in order, the restarted children too
        assert process.wait(timeout=90) == 0
    assert not [pid for pid in children if _alive(pid)], "every child stopped"
    assert not (tmp_path / "run.pids").exists()


def test_a_child_that_keeps_dying_stops_everything_with_a_clear_message(tmp_path: Path) -> None:
    env = _environment(tmp_path) | {"OFERTA_RESTART_LIMIT": "2"}
    console = tmp_path / "console.txt"
    with launched(env, console) as process:
        children = [int(line.split()[1]) for line in (tmp_path / "run.pids").read_text().splitlines()]
        # The mail sink dies and something else takes its port: every restart fails at once.
        with socket.socket() as thief:
            # Like the sink's own socket, so connections it leaves in TIME_WAIT do not stand in the way.
            thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            os.kill(_pid(tmp_path, "mail"), signal.SIGKILL)
            _eventually(lambda: _bound(thief, int(env["SMTP_PORT"])), what="the mail sink's port")
            thief.listen()
            assert process.wait(timeout=60) == 1
    output = console.read_text()
    assert "mail exited with -9 (SIGKILL); restarting in 1 s (restart 1 of 2)" in output
    assert "mail exited with 1; restarting in 2 s (restart 2 of 2)" in output
    assert f"oferta run: mail exited 3 times within 300 s (last with 1); giving up, see {tmp_path}" in output
    assert "address already in use" in (tmp_path / "logs" / "mail.log").read_text()
    assert output.index("giving up") < output.index("stopped temporal")  # then everything, in order
    assert not [pid for pid in children if _alive(pid)], "everything was stopped"
    assert not (tmp_path / "run.pids").exists()


def test_the_backoff_doubles_up_to_its_cap_and_exits_are_told_by_signal() -> None:
    assert [backoff(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert describe_exit(-9) == "-9 (SIGKILL)" and describe_exit(1) == "1"
