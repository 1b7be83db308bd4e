"""oferta demo — fills a running Oferta with customers and services in every kind of state.

Talks to the HTTP API only, as the billing system would; run it against `./run`.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

DEMO = [
    # (customer, locale, policy, tariff, price, currency, what happens after the first payment)
    ("ТОО Ромашка", "ru", "ps-kz", "Hosting Basic", "2500.00", "KZT", "active"),
    ("ИП Жұлдыз", "kk", "ps-kz", "VPS Start", "9900.00", "KZT", "cancel"),
    ("Steppe Soft LLP", "en", "onelab", "Hosting Pro", "4500.00", "KZT", "abuse"),
    ("Alatau Media", "kk", "registry-kz", "Domain .kz", "5600.00", "KZT", "unpaid"),
    ("Baltic Bytes OÜ", "en", "smartape", "VPS M", "12.00", "EUR", "force_majeure"),
    ("Tallinn Shop OÜ", "en", "smartape", "Hosting S", "4.00", "EUR", "force_majeure"),
    ("ТОО Документ", "ru", "centerpro", "EDO Business", "30000.00", "KZT", "tariff"),
]
# Services are hosting unless the contract is for something else.
KINDS = {"centerpro": "saas"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="create demo customers and services through the API")
    parser.add_argument("--url", help="API base URL (default: http://OFERTA_API_HOST:OFERTA_API_PORT)")
    parser.add_argument("--key", help="API key (default: OFERTA_BOOTSTRAP_API_KEY or <data_dir>/api-key)")
    parser.set_defaults(handler=_run)


def _key(settings, given: str | None) -> str:
    if given or settings.bootstrap_api_key:
        return given or settings.bootstrap_api_key
    path = settings.data_dir / "api-key"
    if not path.exists():
        raise SystemExit(f"no API key: pass --key, or start the system with ./run (it writes {path})")
    return path.read_text().strip()


def _run(args: argparse.Namespace) -> int:
    import httpx

    from oferta.settings import get_settings

    settings = get_settings()
    url = args.url or f"http://{settings.api_host}:{settings.api_port}"
    headers = {"Authorization": f"Bearer {_key(settings, args.key)}"}
    run_id = uuid.uuid4().hex[:6]
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            return _demo(http, run_id)
    except httpx.ConnectError:
        print(f"cannot reach the API at {url}: is ./run running?", file=sys.stderr)
        return 1


def _call(http, method: str, path: str, body: dict[str, Any] | None = None, key: str | None = None) -> dict:
    headers = {"Idempotency-Key": key} if key else {}
    response = http.request(method, path, json=body, headers=headers)
    if response.status_code >= 400:
        raise SystemExit(f"{method} {path} answered {response.status_code}: {response.text}")
    return response.json()


def _await_force_majeure(http, fm: dict, timeout: float = 30.0) -> None:
    """Its own workflow carries it to each service; wait until every one has it (or failed)."""
    deadline = time.monotonic() + timeout
    while fm["started"] + fm["failed"] < fm["total"]:
        if time.monotonic() > deadline:
            print(
                f"  force majeure still reaching services ({fm['started']}/{fm['total']}); "
                "the table may not show it yet",
                flush=True,
            )
            return
        time.sleep(0.3)
        fm = _call(http, "GET", f"/v1/force-majeure/{fm['id']}")
    print(f"  force majeure in effect for {fm['started']} of {fm['total']}", flush=True)


def _demo(http, run_id: str) -> int:
    services: list[dict] = []
    in_force_majeure: list[str] = []
    for n, (name, locale, policy, tariff, price, currency, fate) in enumerate(DEMO, 1):
        customer = _call(
            http,
            "POST",
            "/v1/customers",
            {"name": name, "email": f"demo{n}@example.com", "phone": f"+7701000{n:04d}", "locale": locale},
        )
        service = _call(
            http,
            "POST",
            "/v1/services",
            {
                "customer_id": customer["id"],
                "policy": policy,
                "tariff": tariff,
                "price": price,
                "currency": currency,
                "period": "P1M",
                "kind": KINDS.get(policy, "hosting"),
            },
        )
        sid = service["id"]
        if fate != "unpaid":
            _call(
                http,
                "POST",
                f"/v1/services/{sid}/payments",
                {"amount": price, "currency": currency},
                key=f"demo-{run_id}-pay-{n}",
            )
        if fate == "cancel":
            _call(
                http,
                "POST",
                f"/v1/services/{sid}/cancellation",
                {"reason": "moving to another host"},
                key=f"demo-{run_id}-cancel-{n}",
            )
        if fate == "tariff":  # the payment tops up the balance; the client buys a Tariff from it (6.6)
            _call(http, "POST", f"/v1/services/{sid}/tariff-purchase", key=f"demo-{run_id}-tariff-{n}")
        if fate == "abuse":
            _call(
                http,
                "POST",
                f"/v1/services/{sid}/abuse",
                {"reason": "spam complaint #4512"},
                key=f"demo-{run_id}-abuse-{n}",
            )
        if fate == "force_majeure":
            in_force_majeure.append(sid)
        services.append(service)
        print(f"  {n}/{len(DEMO)}  {policy:<12} {tariff:<14} {fate}", flush=True)
    fm = _call(
        http,
        "POST",
        "/v1/force-majeure",
        {"scope": "services", "reason": "data-centre flood", "service_ids": in_force_majeure},
        key=f"demo-{run_id}-fm",
    )
    print(f"  force majeure {fm['id']} declared for {fm['total']} SmartApe services", flush=True)
    _await_force_majeure(http, fm)
    print()
    rows = [("service", "policy", "state", "next step", "when", "clause")]
    for service in services:
        live = _call(http, "GET", f"/v1/services/{service['id']}")
        deadline = live.get("next_deadline") or {}
        action = (deadline.get("action") or "—").replace("_", " ")
        rows.append(
            (
                live["id"],
                live["policy"],
                live["state"],
                action,
                (deadline.get("at") or "—")[:16],
                deadline.get("clause") or "—",
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    print(
        "\nOpen the Temporal UI and filter, e.g.  OfertaServiceState = 'suspended'  — "
        "and the local inbox for the notices."
    )
    return 0
