"""Workflows under one policy version share one decoded Policy (oferta/policy/interned.py)."""

from __future__ import annotations

import gc

from temporalio.contrib.pydantic import pydantic_data_converter

from oferta.policy import load_policy
from oferta.policy.interned import shared_count, shared_policy
from oferta.timeline.money import Money
from oferta.timeline.state import ServiceSpec
from workflows.service_messages import ServiceWorkflowInput

CONVERTER = pydantic_data_converter.payload_converter
PRICE = Money.of("2500.00", "KZT")


def _spec() -> ServiceSpec:
    return ServiceSpec(service_id="s-1", customer_id="c-1", policy_id="ps-kz", tariff="Basic", price=PRICE)


def _round_trip(value: ServiceWorkflowInput) -> tuple[bytes, ServiceWorkflowInput]:
    payload = CONVERTER.to_payloads([value])[0]
    return payload.data, CONVERTER.from_payloads([payload], [ServiceWorkflowInput])[0]


def test_inputs_under_one_version_share_its_policy_and_keep_their_bytes() -> None:
    policy = load_policy("ps-kz")
    amended = policy.model_copy(update={"version": policy.version + 1})
    data, first = _round_trip(ServiceWorkflowInput(policy=policy, spec=_spec(), amended_policy=amended))
    again, second = _round_trip(ServiceWorkflowInput(policy=policy, spec=_spec(), amended_policy=amended))

    assert first.policy is second.policy and first.policy == policy
    assert first.amended_policy is second.amended_policy and first.amended_policy == amended
    assert first.policy is not first.amended_policy  # another version, another object
    assert data == again
    # What the workflow sends on (continue-as-new) is byte for byte what it was given.
    assert CONVERTER.to_payloads([first])[0].data == data


def test_a_policy_no_one_holds_is_dropped() -> None:
    policy = load_policy("ps-kz")
    odd = policy.model_copy(update={"readings": [*policy.readings, "a reading no file has"]})
    gc.collect()
    before = shared_count()
    assert shared_policy(odd) is odd
    assert shared_count() == before + 1
    del odd
    gc.collect()
    assert shared_count() == before
