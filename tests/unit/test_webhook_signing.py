"""The pure part of webhooks: Standard Webhooks signatures, secrets, targets and the retry schedule."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from oferta.webhooks import backoff, generate_secret, secret_key, sign, target_problem

# The signature example of the Standard Webhooks reference libraries' tests.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_is_the_specs():
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_the_reference_library_accepts_what_oferta_signs():
    webhooks = pytest.importorskip("standardwebhooks.webhooks")
    secret = generate_secret()
    body = '{"type":"suspended","data":{"service_id":"svc-1","amount":"2500.00","name":"Тоо"}}'
    at = datetime.now(UTC).replace(microsecond=0)
    reference = webhooks.Webhook(secret).sign("evt_svc-1_4", at, body)
    assert sign(secret, "evt_svc-1_4", int(at.timestamp()), body) == reference
    headers = {
        "webhook-id": "evt_svc-1_4",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": reference,
    }
    assert webhooks.Webhook(secret).verify(body.encode(), headers)["type"] == "suspended"


def test_a_generated_secret_is_whsec_and_24_or_more_random_bytes():
    secrets = {generate_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24


@pytest.mark.parametrize(
    "secret",
    ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ=", "whsec_" + "A" * 120],
)
def test_a_secret_that_is_not_whsec_and_24_to_64_bytes_is_refused(secret):
    with pytest.raises(ValueError):
        secret_key(secret)


@pytest.mark.parametrize(
    ("url", "allow_private", "refused"),
    [
        ("https://billing.hoster.kz/oferta", False, False),
        ("http://203.0.114.1:8080/x", False, False),
        ("ftp://billing.hoster.kz/", False, True),
        ("https://", False, True),
        ("http://127.0.0.1:9000/hooks", False, True),
        ("http://127.0.0.1:9000/hooks", True, False),
        ("http://192.168.1.20/hooks", False, True),
        ("http://169.254.169.254/latest/meta-data", False, True),  # cloud metadata
        ("http://[::1]/hooks", False, True),
        ("http://localhost/hooks", False, True),
        ("http://panel.localhost/hooks", True, False),
        ("https://hooks.example.com/x", True, True),  # documentation names: never anywhere
        ("https://crm.example/x", False, True),
        ("http://host:99999/x", False, True),
    ],
)
def test_targets(url, allow_private, refused):
    assert (target_problem(url, allow_private) is not None) is refused


def test_the_backoff_doubles_from_30_s_to_an_hour():
    delays = [backoff(n, 30, 3600) for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff(10_000, 30, 3600) == 3600
