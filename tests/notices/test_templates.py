"""Every notice exists in Russian, Kazakh and English and renders every real step of every contract."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from oferta.effects import NoticeRequest
from oferta.notices.render import LOCALES, PARTS, catalogue, render, resolve_locale
from oferta.policy import load_policies
from oferta.policy.schema import NoticeTemplate, Trial
from oferta.timeline.dry_run import dry_run
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.state import AmendmentTerms, BillingEvent, EventType, ServiceSpec

START = datetime.fromisoformat("2027-03-01T22:30:00+05:00")


def test_every_template_has_every_part_in_every_locale() -> None:
    for locale in LOCALES:
        names = set(catalogue(locale))
        assert names == {t.value for t in NoticeTemplate}, locale
        for name in names:
            assert set(catalogue(locale)[name]) == set(PARTS), (locale, name)


def _requests() -> list[NoticeRequest]:
    """Notices the engine really asks for, over every policy and a busy life."""
    found: dict[tuple[str, str], NoticeRequest] = {}
    for policy in load_policies().values():
        if policy.trial is None:
            policy = policy.model_copy(
                update={
                    "trial": Trial.model_validate(
                        {
                            "length": {"amount": 10, "unit": "calendar_days", "clause": "t"},
                            "service_kinds": policy.service_kinds,
                            "refusal": {"clause": "t", "text": "free"},
                        }
                    )
                }
            )
        price = Money.of(
            "12.00" if policy.provider.currency == "EUR" else "2500.00", policy.provider.currency
        )

        amended = policy.model_copy(update={"version": policy.version + 1})
        amendment = AmendmentTerms(
            version=amended.version,
            published_at=START + timedelta(days=2),
            effective_at=START + timedelta(days=40),
            changed_clauses=["3.16"],
        )

        def ev(n: str, kind: EventType, **kw) -> BillingEvent:
            return BillingEvent(event_id=n, type=kind, **kw)

        lives = [
            [
                (1, ev("p", EventType.PAYMENT, amount=price)),
                (2, ev("tp", EventType.TARIFF_PURCHASE)),
                (40, ev("p2", EventType.PAYMENT, amount=price)),
            ],
            [
                (1, ev("p", EventType.PAYMENT, amount=price.times(3))),
                (3, ev("t", EventType.TARIFF_CHANGE, new_price=price.times(2))),
                (4, ev("a", EventType.ABUSE_SUSPEND, reason="spam")),
                (5, ev("r", EventType.ABUSE_RESOLVED)),
                (6, ev("f", EventType.FORCE_MAJEURE_START, reason="flood")),
                (9, ev("e", EventType.FORCE_MAJEURE_END)),
                (10, ev("c", EventType.CANCEL_REQUEST)),
                (11, ev("w", EventType.CANCEL_WITHDRAWN)),
                (12, ev("c2", EventType.CANCEL_REQUEST)),
            ],
            [(1, ev("p", EventType.PAYMENT, amount=price)), (2, ev("f", EventType.FORCE_MAJEURE_START))],
            # The new ways out, and the tariff-purchase contract's own steps (others refuse them).
            [
                (1, ev("p", EventType.PAYMENT, amount=price.times(2))),
                (2, ev("tp", EventType.TARIFF_PURCHASE)),
                (3, ev("tp2", EventType.TARIFF_PURCHASE)),
                (4, ev("pt", EventType.PROVIDER_TERMINATION, reason="closing the line")),
            ],
            [
                (1, ev("p", EventType.PAYMENT, amount=price)),
                (45, ev("pp", EventType.PROMISE_TO_PAY, promised_at=START + timedelta(days=50))),
                (46, ev("b", EventType.BREACH_TERMINATION, reason="spam")),
            ],
            # A new version of the offer, announced with the contract's notice, and objected to.
            [
                (1, ev("p", EventType.PAYMENT, amount=price.times(3))),
                (2, ev("am", EventType.AMENDMENT, amendment=amendment)),
                (3, ev("ob", EventType.AMENDMENT_OBJECTION, reason="too dear")),
            ],
        ]
        for trial in (False, True):
            for life in lives:
                spec = ServiceSpec(
                    service_id="svc-1",
                    customer_id="c",
                    policy_id=policy.id,
                    tariff="Basic",
                    price=price,
                    trial=trial,
                )
                _, run = dry_run(
                    Contract(policy),
                    spec,
                    START,
                    [(START + timedelta(days=d), e) for d, e in life],
                    START + timedelta(days=300),
                    versions={amended.version: amended},
                )
                for d in run.deliveries:
                    found.setdefault(
                        (policy.id, d.template.value),
                        NoticeRequest(
                            idempotency_key="k",
                            service_id="svc-1",
                            customer_id="c",
                            policy_id=policy.id,
                            provider_name=policy.provider.name,
                            template=d.template,
                            channel=d.channel,
                            clause=d.clause,
                            detail=d.detail,
                            at=d.send_at,
                        ),
                    )
    return list(found.values())


REQUESTS = _requests()


def test_the_lives_reach_every_template() -> None:
    assert {r.template for r in REQUESTS} == set(NoticeTemplate)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_real_notice_renders_with_its_clause_and_provider(locale: str) -> None:
    for request in REQUESTS:
        notice = render(request, locale)
        assert notice.locale == locale
        assert notice.subject and "{" not in notice.subject and "None" not in notice.text
        assert request.provider_name in notice.text
        if request.clause:
            assert request.clause in notice.text and request.clause in notice.sms
        assert notice.html.startswith("<!doctype html>") and f'lang="{locale}"' in notice.html


def test_russian_suspension_notice_reads_naturally() -> None:
    request = next(r for r in REQUESTS if r.policy_id == "ps-kz" and r.template is NoticeTemplate.SUSPENDED)
    notice = render(request, "ru")
    assert notice.subject == "Услуга «Basic» приостановлена"
    assert "из-за задолженности 2\xa0500,00 ₸" in notice.text  # a no-break space groups thousands
    # 4.2.4 is the provider's right to suspend; the 3.16 window shows as its last day, inclusive.
    assert "Основание: п. 4.2.4 договора-оферты PS.kz." in notice.text
    assert "включительно" in notice.text
    assert "данные услуги будут удалены" in notice.text


def test_plurals_and_dates_follow_the_locale() -> None:
    request = next(r for r in REQUESTS if r.template is NoticeTemplate.FORCE_MAJEURE_ENDED)
    for days, ru in ((1, "1 день"), (3, "3 дня"), (7, "7 дней"), (21, "21 день")):
        shifted = request.model_copy(update={"detail": request.detail | {"lasted_days": days}})
        assert ru in render(shifted, "ru").text
        assert f"{days} күн" in render(shifted, "kk").text
        assert (f"{days} day" + ("" if days == 1 else "s")) in render(shifted, "en").text
    invoice = next(
        r for r in REQUESTS if r.policy_id == "ps-kz" and r.template is NoticeTemplate.INVOICE_ISSUED
    )
    invoice = invoice.model_copy(update={"detail": invoice.detail | {"due_on": "2027-04-08"}})
    # An invoice shows its last day to pay, inclusive, not the midnight after it.
    assert "до 8 апреля 2027 включительно" in render(invoice, "ru").text
    assert "by 8 April 2027 inclusive" in render(invoice, "en").text
    assert "2027 жылғы 8 сәуірге дейін (қоса алғанда) төлеңіз" in render(invoice, "kk").text
    paid = next(r for r in REQUESTS if r.policy_id == "ps-kz" and r.template is NoticeTemplate.ACTIVATED)
    paid = paid.model_copy(
        update={"detail": paid.detail | {"trial_until": None, "paid_until": "2027-04-08T05:05:00+00:00"}}
    )
    # Shown in the provider's time zone (Asia/Almaty, UTC+5).
    assert "8 апреля 2027, 10:05" in render(paid, "ru").text
    assert "8 April 2027, 10:05" in render(paid, "en").text
    # Kazakh marks "until" on the date: the dative of the word the time is read with.
    assert "2027 жылғы 8 сәуір, сағат 10:05-ке дейін төленген" in render(paid, "kk").text
    for at, dative in (
        ("05:30", "10:30-ға"),
        ("05:00", "10:00-ға"),
        ("07:40", "12:40-қа"),
        ("18:00", "23:00-ке"),
    ):
        moved = paid.model_copy(update={"detail": paid.detail | {"paid_until": f"2027-04-08T{at}:00+00:00"}})
        assert f"сағат {dative} дейін" in render(moved, "kk").text
    tariff = next(r for r in REQUESTS if r.template is NoticeTemplate.TARIFF_CHANGE_ANNOUNCED)
    assert re.search(r"сағат \d\d:\d\d-(тен|ден|тан|дан|нан) бастап", render(tariff, "kk").subject)  # "from"


def test_unknown_locale_falls_back_to_russian_then_english() -> None:
    assert resolve_locale("de", "suspended") == "ru"
    assert resolve_locale(None, "suspended") == "ru"
    assert render(REQUESTS[0], "de").locale == "ru"


def test_oferta_invoices_read_as_service_and_period_numbers() -> None:
    from oferta.notices.render import invoice_number

    assert invoice_number("p0", "svc-1") == "svc-1/1"
    assert invoice_number("fee-p2", "svc-1") == "svc-1/3-F"
    assert invoice_number("INV-2027-0042", "svc-1") == "INV-2027-0042"  # billing's own numbers stay
