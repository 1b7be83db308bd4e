"""A customer's name, e-mail and phone stay out of what operators browse: the workflow's search
attributes, its summaries and details (the Temporal UI), and the logs at INFO.

Inputs could legitimately carry them as encoded payloads (today none does: the workflow knows
the customer by id, the notice ledger looks the address up); what is checked is every
plain-text field of the history and every payload of its user metadata (summaries, details),
search attributes and memo.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata

from tests.api.harness import Oferta, eventually, new_customer, new_service
from workflows.client import service_handle

# Distinctive enough that no id, clause or template can contain them by chance.
NAME = "Zyxqwert Personalov"
EMAIL = "zyxqwert.private@pii-check.kz"
PHONE = "+77019876543"
PERSONAL = (NAME, "Zyxqwert", EMAIL, "zyxqwert.private", PHONE, "7019876543")
TEST_SIDE = ("httpx", "mail.log")
CLEAN_KEYS = ("userMetadata", "searchAttributes", "memo")


def _decoded_payloads(value: Any) -> list[str]:
    """The text of every payload under ``value``."""
    found: list[str] = []
    if isinstance(value, dict):
        if "data" in value and "metadata" in value:
            found.append(base64.b64decode(value["data"]).decode("utf-8", errors="replace"))
        for child in value.values():
            found += _decoded_payloads(child)
    elif isinstance(value, list):
        for child in value:
            found += _decoded_payloads(child)
    return found


def _operator_visible(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(where, text) for each payload under a user-metadata, search-attribute or memo key."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if key in CLEAN_KEYS:
                found += [(f"{path}.{key}", text) for text in _decoded_payloads(child)]
            else:
                found += _operator_visible(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _operator_visible(child, f"{path}[{index}]")
    return found


def _leaks(text: str) -> list[str]:
    return [item for item in PERSONAL if item.lower() in text.lower()]


async def test_no_personal_data_in_search_attributes_summaries_details_or_info_logs(
    api: Oferta, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with api.http("billing") as http:
        customer = await new_customer(http, name=NAME, email=EMAIL, phone=PHONE)
        service = await new_service(http, customer["id"])
        paid = await http.post(
            f"/v1/services/{service['id']}/payments",
            json={"amount": "2500", "currency": "KZT"},
            headers={"Idempotency-Key": f"pay-{uuid.uuid4().hex}"},
        )
        assert paid.status_code == 200, paid.text
        refused = await http.post(  # a refusal's reason reaches the history and the logs too
            f"/v1/services/{service['id']}/withdrawal", headers={"Idempotency-Key": f"w-{uuid.uuid4().hex}"}
        )
        assert refused.status_code in (200, 409), refused.text

        async def notices_sent():
            timeline = (await http.get(f"/v1/services/{service['id']}/timeline")).json()
            return len(timeline["notices"]) >= 2

        await eventually(notices_sent)

    handle = service_handle(api.temporal, service["id"])
    description = await handle.describe()
    history = (await handle.fetch_history()).to_json_dict()
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)

    visible: list[tuple[str, str]] = [
        (
            "search attributes",
            json.dumps({p.key.name: str(p.value) for p in description.typed_search_attributes}),
        ),
        ("static summary", await description.static_summary() or ""),
        ("static details", await description.static_details() or ""),
        ("current details", metadata.current_details),
        *_operator_visible(history),
        # Every plain-text field of the history (failure messages, identities, …): payload
        # data is base64 there, so only text outside payloads can match.
        ("history text", json.dumps(history, ensure_ascii=False)),
    ]
    leaks = [(where, _leaks(text)) for where, text in visible if _leaks(text)]
    assert leaks == []
    # The check reads what it claims to: the ids (not personal) are there in plain text.
    assert customer["id"] in visible[0][1] and service["id"] in visible[1][1]
    assert metadata.current_details
    assert any("userMetadata" in where and "clause" in text for where, text in visible)  # the summaries

    # Oferta's records: not the test's HTTP client's, nor the fake mail server's (the recipient).
    logged = [r for r in caplog.records if r.levelno >= logging.INFO and r.name not in TEST_SIDE]
    assert logged, "nothing was logged: the capture does not see the API and the worker"
    leaking = [(r.name, r.getMessage()) for r in logged if _leaks(r.getMessage())]
    assert leaking == []
