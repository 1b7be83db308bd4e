"""oferta import: a live customer base taken over mid-contract, end to end.

The CLI runs as a user runs it (a subprocess) against the dev server and the test database;
a real worker runs the imported services; the API shows where each one stands.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from tests.api.harness import Oferta, eventually, oferta


@pytest_asyncio.fixture
async def api(dev_env, database_url) -> AsyncIterator[Oferta]:
    async with oferta(dev_env, database_url) as running:
        yield running


COLUMNS = [
    "service_id",
    "customer_id",
    "customer_name",
    "email",
    "locale",
    "policy",
    "kind",
    "tariff",
    "price",
    "currency",
    "period",
    "status",
    "paid_until",
    "balance",
    "suspended_at",
]


def _file(tmp_path: Path, suffix: str) -> tuple[Path, dict[str, str]]:
    now = datetime.now(UTC).replace(microsecond=0)
    tag = suffix[-6:]
    ids = {name: f"imp-{name}-{tag}" for name in ("paid", "suspended", "balance", "late")}

    def row(key: str, **values: str) -> dict[str, str]:
        base = {
            "service_id": ids.get(key, key),
            "customer_id": f"cust-{tag}",
            "customer_name": "Imported LLP",
            "email": "owner@example.kz",
            "locale": "ru",
            "policy": "ps-kz",
            "kind": "hosting",
            "tariff": "Basic",
            "price": "2500.00",
            "currency": "KZT",
            "period": "P1M",
            "status": "active",
        }
        return base | values

    rows = [
        row("paid", paid_until=(now + timedelta(days=10)).isoformat()),
        row(
            "suspended",
            status="suspended",
            paid_until=(now - timedelta(days=12)).isoformat(),
            suspended_at=(now - timedelta(days=5)).isoformat(),
        ),
        row(
            "balance", policy="registry-kz", paid_until=(now + timedelta(days=3)).isoformat(), balance="1000"
        ),
        row(f"bad-policy-{tag}", policy="nope"),
        row(f"no-date-{tag}", status="suspended", paid_until=(now - timedelta(days=12)).isoformat()),
        row("paid", paid_until=(now + timedelta(days=10)).isoformat()),  # the same service twice
    ]
    path = tmp_path / f"base-{tag}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path, ids


async def _oferta_import(api, path: Path, *extra: str) -> tuple[int, str, str]:
    env = os.environ | {
        "TEMPORAL_ADDRESS": api.temporal.service_client.config.target_host,
        "DATABASE_URL": api.database_url,
        "OFERTA_TASK_QUEUE": api.settings.task_queue,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oferta.cli", "import", str(path), *extra, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_an_import_starts_each_service_where_its_row_says_and_never_twice(api, tmp_path) -> None:
    path, ids = _file(tmp_path, api.settings.task_queue)
    code, out, err = await _oferta_import(api, path, "--json")
    assert code == 1, err  # some rows were refused
    summary = json.loads(out)
    assert (summary["total"], summary["imported"], summary["already_there"]) == (6, 3, 0)
    refusals = {(r["line"], r["field"]) for r in summary["refusals"]}
    # CSV lines count the header: the 4th row is line 5.
    assert refusals == {(5, "policy"), (6, "suspended_at"), (7, "service_id")}

    async with api.http("ops") as ops:

        async def seen(service_id: str):
            body = (await ops.get(f"/v1/services/{service_id}")).json()
            return body if body.get("live") else None

        paid = await eventually(lambda: seen(ids["paid"]), timeout=30)
        assert paid["state"] == "active" and paid["next_deadline"]["action"] == "issue_invoice"

        # Suspended five days ago under PS.kz: 3.16's seven days run from that suspension, so the
        # data is deleted within three days of the takeover, with the final warning first.
        suspended = await eventually(lambda: seen(ids["suspended"]), timeout=30)
        assert suspended["state"] == "suspended"
        deadline = suspended["next_deadline"]
        assert deadline["action"] in ("warn_deletion", "send_notice", "delete_data")
        assert datetime.fromisoformat(deadline["at"]) < datetime.now(UTC) + timedelta(days=3)

        balance = await eventually(lambda: seen(ids["balance"]), timeout=30)
        assert balance["balance"]["amount"] == "1000.00" and balance["state"] == "active"

        # Nothing of the past was sent: the imported services have no timeline of their own yet.
        timeline = (await ops.get(f"/v1/services/{ids['paid']}/timeline")).json()
        assert timeline["notices"] == []

    again, out, err = await _oferta_import(api, path)
    assert again == 1
    assert "6 rows: 0 imported, 3 already there, 3 refused" in out
    assert "line 5 (bad-policy-" in out and "policy: unknown policy 'nope'" in out
    assert "importing" in err  # the progress bar, on stderr


async def test_a_file_it_cannot_read_starts_nothing(api, tmp_path) -> None:
    broken = tmp_path / "base.csv"
    broken.write_bytes(b"service_id,policy\n\xff\xfe,ps-kz\n")
    code, _, err = await _oferta_import(api, broken)
    assert code == 2 and "not UTF-8" in err
    wrong = tmp_path / "base.xlsx"
    wrong.write_text("x")
    code, _, err = await _oferta_import(api, wrong)
    assert code == 2 and ".csv or .jsonl" in err


async def test_an_import_through_the_api_runs_in_its_workflow_with_readable_progress(api, tmp_path) -> None:
    path, ids = _file(tmp_path, f"{api.settings.task_queue}-api")
    with path.open(encoding="utf-8") as handle:
        rows = [{k: v for k, v in row.items() if v} for row in csv.DictReader(handle)]
    async with api.http("ops") as ops, api.http("billing") as billing:
        assert (await billing.post("/v1/imports", json={"rows": rows})).status_code == 403
        too_many = await ops.post("/v1/imports", json={"rows": [rows[0]] * 1001})
        assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "rows"

        started = await ops.post("/v1/imports", json={"rows": rows})
        assert started.status_code == 202, started.text
        first = started.json()
        assert first["status"] == "running" and first["total"] == 6

        async def finished(import_id: str):
            body = (await ops.get(f"/v1/imports/{import_id}")).json()
            return body if body["status"] == "done" else None

        done = await eventually(lambda: finished(first["id"]), timeout=60)
        assert (done["done"], done["imported"], done["already_there"], done["refused"]) == (6, 3, 0, 3)
        # Lines are positions in `rows`, from 1.
        assert {(r["line"], r["field"]) for r in done["refusals"]} == {
            (4, "policy"),
            (5, "suspended_at"),
            (6, "service_id"),
        }
        suspended = (await ops.get(f"/v1/services/{ids['suspended']}")).json()
        assert suspended["state"] == "suspended"

        again = await ops.post("/v1/imports", json={"rows": rows})
        repeat = await eventually(lambda: finished(again.json()["id"]), timeout=60)
        assert (repeat["imported"], repeat["already_there"]) == (0, 3)
        assert (await ops.get("/v1/imports/never-started")).status_code == 404


async def test_the_impact_of_an_amendment_on_the_services_running_now(api, tmp_path) -> None:
    """`oferta policies impact`: a longer deletion term (3.17) moves only the suspended
    service's deletion; the paid one (no step due for 10 days) is untouched over the next 8."""
    path, ids = _file(tmp_path, f"{api.settings.task_queue}-imp")
    code, _, err = await _oferta_import(api, path, "--json")
    assert code == 1, err
    draft = tmp_path / "draft"
    draft.mkdir()
    text = (Path(__file__).resolve().parents[2] / "policies" / "ps-kz.yaml").read_text(encoding="utf-8")
    longer = text.replace(
        "  data_deletion_after:\n    amount: 7", "  data_deletion_after:\n    amount: 10", 1
    )
    assert longer != text
    (draft / "ps-kz.yaml").write_text(longer, encoding="utf-8")
    env = os.environ | {
        "TEMPORAL_ADDRESS": api.temporal.service_client.config.target_host,
        "DATABASE_URL": api.database_url,
        "OFERTA_TASK_QUEUE": api.settings.task_queue,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oferta.cli", "policies", "impact", str(draft / "ps-kz.yaml"),
        "--days", "8", "--json", env=env, stdout=PIPE, stderr=PIPE,
    )  # fmt: skip
    out, err_bytes = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err_bytes.decode()
    report = json.loads(out)
    by_service = {row["service_id"]: row["differences"] for row in report["services"]}
    assert by_service[ids["paid"]] == []
    (deleted,) = [d for d in by_service[ids["suspended"]] if d["step"] == "deleted"]
    old, new = (datetime.fromisoformat(d[0]).date() for d in (deleted["old"], deleted["new"]))
    assert new - old == timedelta(days=3)
