"""`oferta policies publish`: a new version of a policy, end to end.

The CLI runs as a user runs it (a subprocess) against the dev server and a database of the test's
own (a published version governs every later service under its policy); a real worker runs the
services; the API shows each service's version, its timeline and the objection's exit path.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from oferta.db.migrate import upgrade
from tests.api.harness import Oferta, eventually, oferta

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest_asyncio.fixture
async def api(dev_env, empty_database_url) -> AsyncIterator[Oferta]:
    upgrade(empty_database_url)
    async with oferta(dev_env, empty_database_url) as running:
        yield running


def _next_version(tmp_path: Path, policy_id: str) -> Path:
    """The policy file with its version raised by one (a provider's new version of its offer)."""
    text = (POLICIES / f"{policy_id}.yaml").read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("version: "))
    draft = tmp_path / f"{policy_id}.yaml"
    draft.write_text(text.replace(old, f"version: {int(old.split()[1]) + 1}", 1), encoding="utf-8")
    return draft


async def _publish(api: Oferta, *args: str) -> tuple[int, str, str]:
    return await _oferta(api, "policies", "publish", *args)


async def _oferta(api: Oferta, *args: str) -> tuple[int, str, str]:
    env = os.environ | {
        "TEMPORAL_ADDRESS": api.temporal.service_client.config.target_host,
        "DATABASE_URL": api.database_url,
        "OFERTA_TASK_QUEUE": api.settings.task_queue,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "oferta.cli", *args, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _service(api: Oferta, policy: str, price: str, paid: str | None = None) -> str:
    async with api.http() as billing:
        customer = f"cust-{policy}"
        await billing.post(
            "/v1/customers", json={"id": customer, "name": "Pub LLP", "email": "pub@example.kz"}
        )
        created = await billing.post(
            "/v1/services",
            json={
                "customer_id": customer,
                "policy": policy,
                "tariff": "Basic",
                "price": price,
                "currency": "KZT",
            },
        )
        assert created.status_code == 201, created.text
        service_id = created.json()["id"]
        if paid:
            paying = await billing.post(
                f"/v1/services/{service_id}/payments", json={"amount": paid, "currency": "KZT"}
            )
            assert paying.status_code == 200, paying.text
        return service_id


async def _live(api: Oferta, service_id: str) -> dict:
    async with api.http() as billing:
        return (await billing.get(f"/v1/services/{service_id}")).json()


@pytest.mark.timeout(300)
async def test_onelab_v3_is_told_to_every_service_governs_at_its_time_and_an_objection_ends_one(
    api: Oferta, tmp_path: Path
) -> None:
    paid = await _service(api, "onelab", "10000", paid="30000")
    objecting = await _service(api, "onelab", "10000", paid="30000")
    draft = _next_version(tmp_path, "onelab")
    # ONELAB sets no lead (4.5, 11.6): the change may take effect a few seconds from now.
    effective = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
    code, out, err = await _publish(api, str(draft), "--effective", effective.isoformat(), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["version"], result["from_version"], result["created"]) == (3, 2, True)
    assert (result["services"], result["told"], result["failed"]) == (2, 2, 0)

    async def governed() -> dict | None:
        view = await _live(api, paid)
        return view if view.get("policy_version") == 3 else None

    view = await eventually(governed, timeout=60)
    assert view["amendment"]["applied_at"] is not None

    async with api.http() as billing:
        answer = await billing.post(
            f"/v1/services/{objecting}/amendment-objection", json={"reason": "letter"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["service"]["state"] == "terminated"
        timeline = (await billing.get(f"/v1/services/{paid}/timeline")).json()["events"]
    steps = [
        (e["type"], e["clause"], e["policy_version"]) for e in timeline if e["type"].startswith("amendment")
    ]
    assert steps == [("amendment_announced", "11.6", 2), ("amendment_applied", "11.6", 3)]
    assert {e["policy_version"] for e in timeline if e["type"] == "activated"} == {2}

    # The same publication again: nothing recorded twice, no service told twice.
    code, out, err = await _publish(api, str(draft), "--effective", effective.isoformat(), "--json")
    assert code == 0, err
    assert json.loads(out)["created"] is False
    async with api.http() as billing:
        timeline = (await billing.get(f"/v1/services/{paid}/timeline")).json()["events"]
    assert [e["type"] for e in timeline].count("amendment_announced") == 1


@pytest.mark.timeout(300)
async def test_a_ps_kz_date_inside_the_30_days_is_refused_and_a_new_service_hears_of_the_pending_version(
    api: Oferta, tmp_path: Path
) -> None:
    draft = _next_version(tmp_path, "ps-kz")
    soon = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    code, _, err = await _publish(api, str(draft), "--effective", soon)
    assert code == 2
    assert "4.2.7" in err and "30 calendar days" in err

    later = (datetime.now(UTC) + timedelta(days=45)).date().isoformat()
    code, out, err = await _publish(api, str(draft), "--effective", later)
    assert code == 0, err
    assert "told 0 of 0 running services" in out
    # A service that starts now is told of the version published for later, with the full notice.
    service_id = await _service(api, "ps-kz", "2500")

    async def _announced(service: str) -> dict | None:
        view = await _live(api, service)
        return view if view.get("amendment") else None

    view = await eventually(lambda: _announced(service_id), timeout=60)
    assert (view["policy_version"], view["amendment"]["version"]) == (2, 3)
    effective = datetime.fromisoformat(view["amendment"]["effective_at"]).astimezone(ZoneInfo("Asia/Almaty"))
    assert effective.isoformat() == f"{later}T00:00:00+05:00"  # 00:00 on the provider's clock
    async with api.http() as billing:
        refused = await billing.post(f"/v1/services/{service_id}/amendment-objection")
    assert refused.status_code == 409 and "7.2" in refused.text

    # A service taken over from a file now is told too (oferta import).
    paid_until = (datetime.now(UTC) + timedelta(days=20)).replace(microsecond=0).isoformat()
    imported = f"pub-imp-{api.settings.task_queue[-8:]}"  # one dev server for the session: ids differ
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "service_id,customer_id,customer_name,email,locale,policy,kind,tariff,price,currency,period,status,paid_until\n"
        f"{imported},c-pub,Pub LLP,pub@example.kz,ru,ps-kz,hosting,Basic,2500.00,KZT,P1M,active,{paid_until}\n",
        encoding="utf-8",
    )
    code, out, err = await _oferta(api, "import", str(rows), "--json")
    assert code == 0, out + err
    view = await eventually(lambda: _announced(imported), timeout=60)
    assert (view["policy_version"], view["amendment"]["version"]) == (2, 3)
