"""Notices rendered straight from NoticeRequests, without the engine: operational steps, the basis
line, the templates of the clause-faithful engine and the new detail keys, in Russian, Kazakh and English."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from oferta.effects import NoticeRequest
from oferta.notices import render as render_module
from oferta.notices.kazakh import kazakh_day
from oferta.notices.render import LOCALES, PARTS, RenderedNotice, catalogue, render
from oferta.policy.schema import Channel, NoticeTemplate

PROVIDER = "PS.kz"
SERVICE = {
    "service_id": "svc-1",
    "tariff": "Basic",
    "provider": PROVIDER,
    "policy_id": "ps-kz",
    "service_kind": "vps",
}

NOT_A_TERM = {
    "ru": "Это напоминание от PS.kz, а не условие договора-оферты.",
    "kk": "Бұл — PS.kz жіберген еске салу, жария оферта шартының талабы емес.",
    "en": "This is a reminder from PS.kz; it is not a term of the contract.",
}
BASIS_WORD = {"ru": "Основание:", "kk": "Негіздеме:", "en": "Basis:"}


@pytest.fixture(autouse=True)
def _almaty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the provider's time zone is read from the policy: these tests need no policy file."""
    policy = SimpleNamespace(provider=SimpleNamespace(timezone="Asia/Almaty", name=PROVIDER))
    monkeypatch.setattr(render_module, "load_policy", lambda policy_id: policy)


def notice(template: NoticeTemplate, clause: str | None, locale: str, **detail: Any) -> RenderedNotice:
    request = NoticeRequest(
        idempotency_key=f"k:{template.value}",
        service_id="svc-1",
        customer_id="c-1",
        policy_id="ps-kz",
        provider_name=PROVIDER,
        template=template,
        channel=Channel.EMAIL,
        clause=clause,
        detail=SERVICE | detail,
        at="2027-03-20T09:00:00+05:00",
    )
    rendered = render(request, locale)
    assert rendered.locale == locale
    for part in (rendered.subject, rendered.text, rendered.sms):
        assert "None" not in part and "{" not in part and "—\u00a0" not in part, part
    assert " —." not in rendered.text and "— " not in rendered.subject  # no date left blank
    return rendered


INVOICE = {
    "invoice_id": "p1",
    "amount": "2500.00",
    "currency": "KZT",
    "due_at": "2027-03-24T19:00:00+00:00",
    "due_on": "2027-03-24",
    "kind": "period",
    "covers_until": None,
}


def test_every_template_of_the_enum_is_in_every_catalogue_with_every_part() -> None:
    for locale in LOCALES:
        assert set(catalogue(locale)) == {t.value for t in NoticeTemplate}, locale
        for name, parts in catalogue(locale).items():
            assert set(parts) == set(PARTS), (locale, name)


# -- operational steps and the basis line ------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_an_operational_reminder_says_it_is_no_term_of_the_contract(locale: str) -> None:
    reminder = notice(NoticeTemplate.PAYMENT_REMINDER, None, locale, **INVOICE, operational=True)
    assert reminder.text.endswith(NOT_A_TERM[locale])
    assert BASIS_WORD[locale] not in reminder.text and BASIS_WORD[locale] not in reminder.html
    assert NOT_A_TERM[locale] in reminder.html
    assert {"ru": "не условие договора", "kk": "шарт талабы емес", "en": "not a contract term"}[
        locale
    ] in reminder.sms
    assert "п. " not in reminder.sms and "тарм." not in reminder.sms and "cl. " not in reminder.sms


@pytest.mark.parametrize("locale", LOCALES)
def test_an_operational_deletion_warning_cites_no_clause_either(locale: str) -> None:
    warning = notice(
        NoticeTemplate.DELETION_WARNING,
        None,
        locale,
        deletion_at="2027-04-30T19:00:00+00:00",
        debt="2500.00",
        currency="KZT",
        operational=True,
    )
    assert NOT_A_TERM[locale] in warning.text and BASIS_WORD[locale] not in warning.text


@pytest.mark.parametrize(
    ("locale", "line", "short"),
    [
        ("ru", "Основание: п. 4.3 договора-оферты PS.kz.", "(п. 4.3)"),
        ("kk", "Негіздеме: PS.kz жария оферта шартының 4.3-тармағы.", "(4.3-тарм.)"),
        ("en", "Basis: clause 4.3 of the PS.kz public offer contract.", "(cl. 4.3)"),
    ],
)
def test_a_cited_notice_names_its_clause(locale: str, line: str, short: str) -> None:
    invoice = notice(NoticeTemplate.INVOICE_ISSUED, "4.3", locale, **INVOICE)
    assert invoice.text.endswith(line) and line in invoice.html
    assert invoice.sms.endswith(short)
    assert NOT_A_TERM[locale] not in invoice.text


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("ru", "Основание: договор-оферта PS.kz."),
        ("kk", "Негіздеме: PS.kz жария оферта шарты."),
        ("en", "Basis: the PS.kz public offer contract."),
    ],
)
def test_a_notice_with_no_clause_that_is_not_operational_keeps_the_general_basis(
    locale: str, line: str
) -> None:
    received = notice(NoticeTemplate.PAYMENT_RECEIVED, None, locale, amount="2500.00", currency="KZT")
    assert received.text.endswith(line) and NOT_A_TERM[locale] not in received.text
    assert received.sms.endswith("!")  # nothing appended


# -- the last day to pay -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ru", "Оплатите его до 24 марта 2027 включительно."),
        ("kk", "Шотты 2027 жылғы 24 наурызға дейін (қоса алғанда) төлеңіз."),
        ("en", "Please pay it by 24 March 2027 inclusive."),
    ],
)
def test_an_invoice_shows_its_last_day_to_pay_not_a_midnight(locale: str, expected: str) -> None:
    invoice = notice(NoticeTemplate.INVOICE_ISSUED, "4.3", locale, **INVOICE)
    assert expected in invoice.text
    assert "00:00" not in invoice.text + invoice.sms and "25" not in invoice.text
    reminder = notice(NoticeTemplate.PAYMENT_REMINDER, None, locale, **INVOICE, operational=True)
    assert {
        "ru": "24 марта 2027 включительно",
        "kk": "24 наурызға дейін (қоса алғанда)",
        "en": "24 March 2027 inclusive",
    }[locale] in reminder.subject


def test_an_invoice_without_a_last_day_still_shows_its_due_time() -> None:
    old = INVOICE | {"due_on": None}
    assert "до 25 марта 2027, 00:00" in notice(NoticeTemplate.INVOICE_ISSUED, "4.3", "ru", **old).text


def test_kazakh_days_take_the_case_on_the_month() -> None:
    dative = [
        "қаңтарға",
        "ақпанға",
        "наурызға",
        "сәуірге",
        "мамырға",
        "маусымға",
        "шілдеге",
        "тамызға",
        "қыркүйекке",
        "қазанға",
        "қарашаға",
        "желтоқсанға",
    ]
    ablative = [
        "қаңтардан",
        "ақпаннан",
        "наурыздан",
        "сәуірден",
        "мамырдан",
        "маусымнан",
        "шілдеден",
        "тамыздан",
        "қыркүйектен",
        "қазаннан",
        "қарашадан",
        "желтоқсаннан",
    ]
    for month in range(1, 13):
        day = date(2027, month, 5)
        assert kazakh_day(day, "dat") == f"2027 жылғы 5 {dative[month - 1]}"
        assert kazakh_day(day, "abl") == f"2027 жылғы 5 {ablative[month - 1]}"
    assert kazakh_day(date(2027, 7, 1), "loc") == "2027 жылғы 1 шілдеде"
    assert kazakh_day(date(2027, 7, 1)) == "2027 жылғы 1 шілде"


# -- the new templates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "ru",
            [
                "обещание оплатить задолженность по услуге «Basic» до 24 марта 2027 включительно",
                "данные услуги сохраняются и удалены не будут",
                "Основание: п. 11.11.1",
            ],
        ),
        (
            "kk",
            [
                "берешекті 2027 жылғы 24 наурызға дейін (қоса алғанда) төлеу туралы уәдеңіз тіркелді",
                "деректері сақталады және жойылмайды",
                "11.11.1-тармағы",
            ],
        ),
        (
            "en",
            [
                'your promise to pay what is owed for "Basic" by 24 March 2027 inclusive',
                "the service's data is kept and will not be deleted",
                "clause 11.11.1",
            ],
        ),
    ],
)
def test_promise_to_pay_recorded(locale: str, expected: list[str]) -> None:
    promise = notice(NoticeTemplate.PROMISE_TO_PAY_RECORDED, "11.11.1", locale, promised_on="2027-03-24")
    for part in expected:
        assert part in promise.text
    assert "24" in promise.subject and promise.sms.endswith(
        "11.11.1)" if locale != "kk" else "11.11.1-тарм.)"
    )


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "ru",
            [
                "действуют с 2 марта 2027, 10:00",
                "каждая из сторон вправе расторгнуть договор по услуге «Basic», "
                "направив другой стороне письменное уведомление",
                "Сам по себе договор не прекращается",
            ],
        ),
        (
            "kk",
            [
                "2027 жылғы 2 наурыз, сағат 10:00-нан бері жалғасып келеді",
                "тараптардың кез келгені екінші тарапқа жазбаша хабарлама жіберіп",
                "Шарт өздігінен тоқтатылмайды",
            ],
        ),
        (
            "en",
            [
                "has lasted since 2 March 2027, 10:00",
                'either party may now terminate the contract for "Basic" by written notice',
                "Nothing ends by itself",
            ],
        ),
    ],
)
def test_force_majeure_option(locale: str, expected: list[str]) -> None:
    option = notice(
        NoticeTemplate.FORCE_MAJEURE_OPTION,
        "8.5",
        locale,
        force_majeure_id="fm-1",
        since="2027-03-02T05:00:00+00:00",
    )
    for part in expected:
        assert part in option.text


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "ru",
            [
                "Срок оплаченного Тарифа «Basic» истёк",
                "Доступ к услуге ограничен до покупки нового Тарифа",
                "Задолженности нет",
                "Продлите в личном кабинете.",
            ],
        ),
        (
            "kk",
            [
                "Төленген «Basic» Тарифінің мерзімі аяқталды",
                "Жаңа Тариф сатып алынғанға дейін қызметке қолжетімділік шектелді",
                "Берешек жоқ",
            ],
        ),
        (
            "en",
            [
                'Your paid "Basic" Tariff has ended',
                "Access to the service is limited until you buy a new Tariff",
                "Nothing is owed.",
            ],
        ),
    ],
)
def test_tariff_ended(locale: str, expected: list[str]) -> None:
    ended = notice(
        NoticeTemplate.TARIFF_ENDED,
        "5.3.10",
        locale,
        reason="tariff_ended",
        debt="0.00",
        currency="KZT",
        note="Продлите в личном кабинете." if locale == "ru" else None,
    )
    for part in expected:
        assert part in ended.text
    assert "0,00" not in ended.text and "0.00" not in ended.text


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "ru",
            [
                "Вы купили Тариф «Basic» за 2\u00a0500,00 ₸; он действует с 1 апреля 2027, 00:00.",
                "Остаток на балансе: 500,00 ₸.",
            ],
        ),
        (
            "kk",
            [
                "«Basic» Тарифін 2\u00a0500,00 ₸ сомасына сатып алдыңыз; ол 2027 жылғы 1 сәуір, "
                "сағат 00:00-ден бастап әрекет етеді.",
                "Баланстағы қалдық: 500,00 ₸.",
            ],
        ),
        (
            "en",
            [
                'You bought the "Basic" Tariff for 2,500.00 KZT; it runs from 1 April 2027, 00:00.',
                "Balance left: 500.00 KZT.",
            ],
        ),
    ],
)
def test_tariff_purchased(locale: str, expected: list[str]) -> None:
    bought = notice(
        NoticeTemplate.TARIFF_PURCHASED,
        "6.6",
        locale,
        amount="2500.00",
        currency="KZT",
        starts_at="2027-03-31T19:00:00+00:00",
        balance="500.00",
    )
    for part in expected:
        assert part in bought.text, bought.text


# -- new detail keys of the existing templates ---------------------------------------------------

REASONS = (
    "customer_notice",
    "service_refusal",
    "withdrawal",
    "trial_refused",
    "provider_notice",
    "breach",
    "debt",
    "non_payment",
    "force_majeure",
    "consent_withdrawn",
)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_reason_to_end_is_worded(locale: str) -> None:
    bare = notice(NoticeTemplate.TERMINATED, "9.1", locale, reason=None, debt="0.00", currency="KZT").text
    worded = {}
    for reason in REASONS:
        text = notice(
            NoticeTemplate.TERMINATED,
            "9.1",
            locale,
            reason=reason,
            debt="0.00",
            currency="KZT",
            note="spam" if reason == "breach" else None,
        ).text
        assert text != bare, reason
        worded[reason] = text
    assert len(set(worded.values())) == len(REASONS)
    assert "PS.kz" in worded["provider_notice"].split("\n")[0]
    assert "(spam)" in worded["breach"]


def test_reasons_to_end_read_naturally() -> None:
    def first(locale: str, reason: str) -> str:
        return notice(
            NoticeTemplate.TERMINATED, "9.1", locale, reason=reason, debt="0.00", currency="KZT"
        ).text.split("\n")[0]

    assert (
        first("ru", "withdrawal")
        == "Договор по услуге «Basic» (svc-1) прекращён в связи с вашим отказом от договора."
    )
    assert first("ru", "non_payment") == (
        "Договор по услуге «Basic» (svc-1) прекращён, так как услуга не была оплачена в срок."
    )
    assert first("kk", "trial_refused") == (
        "«Basic» қызметі (svc-1) бойынша шарт сынақ мерзімінде қызметтен бас "
        "тартуыңызға байланысты тоқтатылды."
    )
    assert (
        first("kk", "provider_notice")
        == "«Basic» қызметі (svc-1) бойынша шарт PS.kz бастамасымен тоқтатылды."
    )
    assert first("en", "breach") == (
        'The contract for "Basic" (svc-1) has ended because of a material breach of the contract.'
    )


@pytest.mark.parametrize(
    ("locale", "subject", "line"),
    [
        (
            "ru",
            "Уведомление о расторжении договора",
            "PS.kz уведомляет о расторжении договора по услуге «Basic»",
        ),
        ("kk", "Шартты бұзу туралы хабарлама", "PS.kz «Basic» қызметі бойынша шартты бұзатынын хабарлайды"),
        ("en", "Notice of termination", 'PS.kz is terminating the contract for "Basic"'),
    ],
)
def test_a_termination_by_the_provider_is_not_the_customers_notice(
    locale: str, subject: str, line: str
) -> None:
    by_provider = notice(
        NoticeTemplate.TERMINATION_REQUESTED,
        "13.2",
        locale,
        by="provider",
        reason=None,
        effective_at="2027-04-10T19:00:00+00:00",
    )
    assert by_provider.subject == subject and line in by_provider.text
    assert not any(w in by_provider.text for w in ("отозвать", "кері қайтарып", "withdraw"))
    by_customer = notice(
        NoticeTemplate.TERMINATION_REQUESTED,
        "13.1",
        locale,
        by="customer",
        reason=None,
        effective_at="2027-04-10T19:00:00+00:00",
    )
    assert any(w in by_customer.text for w in ("отозвать", "кері қайтарып", "withdraw"))


@pytest.mark.parametrize(
    ("locale", "expected", "absent"),
    [
        (
            "ru",
            [
                "средств на балансе (300,00 ₸) недостаточно для её оплаты (2\u00a0500,00 ₸)",
                "Если баланс не будет пополнен",
            ],
            "задолженност",
        ),
        (
            "kk",
            [
                "баланстағы қаражат (300,00 ₸) оның ақысын төлеуге жетпейді (2\u00a0500,00 ₸ қажет)",
                "Баланс толықтырылмаса",
            ],
            "берешек",
        ),
        (
            "en",
            [
                "your account balance (300.00 KZT) does not cover it (2,500.00 KZT needed)",
                "If the account is not topped up",
            ],
            "unpaid",
        ),
    ],
)
def test_a_balance_that_does_not_cover_the_service(locale: str, expected: list[str], absent: str) -> None:
    suspended = notice(
        NoticeTemplate.SUSPENDED,
        "6.3",
        locale,
        reason="non_payment",
        note=None,
        debt="0.00",
        currency="KZT",
        balance="300.00",
        needed="2500.00",
        deletion_at="2027-05-01T19:00:00+00:00",
    )
    for part in expected:
        assert part in suspended.text
    assert absent not in suspended.text and absent not in suspended.sms


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ru", "оплаченный Тариф закончился, доступ ограничен до покупки нового Тарифа"),
        ("kk", "төленген Тариф аяқталды, жаңа Тариф сатып алынғанға дейін қолжетімділік шектелді"),
        ("en", "your paid Tariff has ended, and access is limited until you buy a new one"),
    ],
)
def test_a_suspension_because_the_tariff_ended(locale: str, expected: str) -> None:
    suspended = notice(
        NoticeTemplate.SUSPENDED,
        "5.3.10",
        locale,
        reason="tariff_ended",
        note=None,
        debt="0.00",
        currency="KZT",
    )
    assert expected in suspended.text and "персональн" not in suspended.text


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ru", "Остаток на балансе (1\u00a0200,00 ₸) списан."),
        ("kk", "Баланстағы 1\u00a0200,00 ₸ қалдық есептен шығарылды."),
        ("en", "The remaining account balance of 1,200.00 KZT was written off."),
    ],
)
def test_a_deletion_names_the_balance_written_off(locale: str, expected: str) -> None:
    deleted = notice(
        NoticeTemplate.DELETED, "8.8", locale, debt="0.00", currency="KZT", balance_written_off="1200.00"
    )
    assert expected in deleted.text
    nothing = notice(
        NoticeTemplate.DELETED, "8.8", locale, debt="0.00", currency="KZT", balance_written_off="0.00"
    )
    assert expected.split()[0] not in nothing.text.split("\n")[1:-1]
    assert "0,00" not in nothing.text and "0.00" not in nothing.text


@pytest.mark.parametrize(
    ("locale", "remainder", "whole"),
    [
        ("ru", "на неоплаченный остаток счёта", "на полную сумму счёта"),
        ("kk", "шоттың төленбеген қалдығына", "шоттың толық сомасына"),
        ("en", "on the unpaid remainder of the invoice", "on the full invoice amount"),
    ],
)
def test_a_late_fee_says_what_it_is_counted_on(locale: str, remainder: str, whole: str) -> None:
    fee = {"amount": "75.00", "currency": "KZT", "days_late": 3, "capped": False, "invoice_id": "p1"}
    assert (
        remainder
        in notice(NoticeTemplate.LATE_FEE_CHARGED, "7.9", locale, **fee, base="unpaid_remainder").text
    )
    assert whole in notice(NoticeTemplate.LATE_FEE_CHARGED, "7.9", locale, **fee, base="invoice_amount").text
