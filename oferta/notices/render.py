"""Renders a notice in the customer's language: subject, plain text, HTML and SMS.

Templates are Jinja2, one catalogue per locale (``templates/<locale>.yaml``: subject,
body and SMS of each notice); the email's HTML part is the body in ``templates/email.html.j2``.
Dates are shown in the provider's time zone, money and plurals as the locale
writes them (Babel). Every notice ends with its basis: the contract clause and
the provider, or, for an operational step (one the contract does not require: a
courtesy reminder, a final warning), a line saying it is the provider's own
reminder and not a term of the contract. A locale without a template falls back
to Russian, then English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from oferta.effects import NoticeRequest
from oferta.notices.kazakh import kazakh_date, kazakh_day
from oferta.policy import load_policy

LOCALES = ("ru", "kk", "en")
FALLBACK = ("ru", "en")
PARTS = ("subject", "body", "sms")
_TEMPLATES = Path(__file__).parent / "templates"
_SYMBOLS = {"KZT": "₸", "EUR": "€", "USD": "$", "RUB": "₽"}
_DAYS = {
    "ru": {"one": "день", "few": "дня", "many": "дней", "other": "дня"},
    "kk": {"one": "күн", "other": "күн"},
    "en": {"one": "day", "other": "days"},
}
_BASIS = {
    "ru": ("Основание: п. {clause} договора-оферты {provider}.", "Основание: договор-оферта {provider}."),
    "kk": (
        "Негіздеме: {provider} жария оферта шартының {clause}-тармағы.",
        "Негіздеме: {provider} жария оферта шарты.",
    ),
    "en": (
        "Basis: clause {clause} of the {provider} public offer contract.",
        "Basis: the {provider} public offer contract.",
    ),
}
# A step the contract does not require cites no clause and says it is the provider's own.
_OPERATIONAL = {
    "ru": "Это напоминание от {provider}, а не условие договора-оферты.",
    "kk": "Бұл — {provider} жіберген еске салу, жария оферта шартының талабы емес.",
    "en": "This is a reminder from {provider}; it is not a term of the contract.",
}
_INCLUSIVE = {"ru": "включительно", "kk": "(қоса алғанда)", "en": "inclusive"}
_CLAUSE_SHORT = {"ru": "п. {clause}", "kk": "{clause}-тарм.", "en": "cl. {clause}"}
_OPERATIONAL_SHORT = {
    "ru": "напоминание, не условие договора",
    "kk": "еске салу, шарт талабы емес",
    "en": "a reminder, not a contract term",
}


@dataclass(frozen=True)
class RenderedNotice:
    locale: str
    subject: str
    text: str
    html: str
    sms: str


@cache
def catalogue(locale: str) -> dict[str, dict[str, str]]:
    path = _TEMPLATES / f"{locale}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}


@cache
def _environment() -> Environment:
    return Environment(undefined=StrictUndefined, autoescape=False, lstrip_blocks=True)


@cache
def _html_layout() -> Template:
    """The email's HTML part: one layout for every notice and locale, escaping what it shows."""
    loader = FileSystemLoader(_TEMPLATES)
    return Environment(
        loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined
    ).get_template("email.html.j2")


@cache
def _template(locale: str, name: str, part: str) -> Template:
    return _environment().from_string(catalogue(locale)[name][part])


def resolve_locale(locale: str | None, template: str) -> str:
    for candidate in (locale, *FALLBACK):
        if candidate and template in catalogue(candidate):
            return candidate
    raise LookupError(f"no template {template!r} in any locale")


def _helpers(locale: str, tz: str) -> dict[str, Any]:
    zone = ZoneInfo(tz)
    plural = Locale.parse(locale).plural_form

    def money(amount: str | Decimal, currency: str) -> str:
        number = format_decimal(Decimal(str(amount)), format="#,##0.00", locale=locale)
        if locale == "en":
            return f"{number} {currency}"
        return f"{number} {_SYMBOLS.get(currency, currency)}"

    def date(value: str | datetime | None, case: str | None = None) -> str:
        """``case`` is for Kazakh, which marks "until", "from" and "at" on the date itself."""
        if value is None:
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if locale == "kk":
            return kazakh_date(moment.astimezone(zone), case)
        return format_datetime(moment, "d MMMM y, HH:mm", tzinfo=zone, locale=locale)

    def day(value: str | Date | None, case: str | None = None) -> str:
        """A calendar day without a time (a last day to pay, a promised date): '24 марта 2027'."""
        if value is None:
            return "—"
        when = Date.fromisoformat(value) if isinstance(value, str) else value
        if isinstance(when, datetime):
            when = when.astimezone(zone).date()
        if locale == "kk":
            return kazakh_day(when, case)
        return format_date(when, "d MMMM y", locale=locale)

    def until(value: str | datetime | None, case: str | None = None) -> str:
        """The end of a term: a term runs out at 24:00 of its last day, which the customer reads
        as that day, inclusive ('8 января 2027 включительно'), not as '9 января, 00:00'."""
        if value is None:
            return "—"
        moment = (datetime.fromisoformat(value) if isinstance(value, str) else value).astimezone(zone)
        if moment.time() != time(0, 0):
            return date(moment, case)
        last = (moment - timedelta(microseconds=1)).date()
        return f"{day(last, case)} {_INCLUSIVE[locale]}"

    def days(count: int) -> str:
        forms = _DAYS[locale]
        return forms.get(plural(int(count)), forms["other"])

    return {"money": money, "date": date, "day": day, "until": until, "days": days}


_PERIOD_INVOICE = re.compile(r"^(fee-)?p(\d+)$")


def invoice_number(invoice_id: str | None, service_id: str) -> str | None:
    """What the customer reads: Oferta's own period invoices (p0, fee-p1) as service/period numbers."""
    match = _PERIOD_INVOICE.match(invoice_id or "")
    if not match:
        return invoice_id
    number = f"{service_id}/{int(match.group(2)) + 1}"
    return f"{number}-F" if match.group(1) else number


def _defaults(detail: dict[str, Any]) -> dict[str, Any]:
    """Every key a template may test, present (None when the step has no such value)."""
    keys = (
        "trial_until",
        "paid_until",
        "note",
        "restore_until",
        "deletion_at",
        "terminates_at",
        "restore_by",
        "debt",
        "due_by",
        "reason",
        "capped",
        "deadlines_extended",
        "destination",
        "operational",
        "by",
        "balance",
        "needed",
        "runs_out_at",
        "balance_written_off",
        "due_on",
        "due_at",
        "base",
        "option_from",
        "termination",
        "changed_clauses",
        "objection_until",
        "objection_clause",
        "objection_exit",
        "silence_clause",
        "keeps_paid_terms",
        "applies_clause",
        "keeps_version",
    )
    values = {key: None for key in keys} | detail
    values["invoice_no"] = invoice_number(detail.get("invoice_id"), detail.get("service_id", ""))
    return values


def is_operational(request: NoticeRequest) -> bool:
    """A step the contract does not require: it reaches the notice with no clause, marked operational."""
    return request.clause is None and bool(request.detail.get("operational"))


def basis_line(request: NoticeRequest, locale: str) -> str:
    """The clause the step rests on; for an operational step, that it is no term of the contract."""
    if request.clause:
        return _BASIS[locale][0].format(clause=request.clause, provider=request.provider_name)
    if is_operational(request):
        return _OPERATIONAL[locale].format(provider=request.provider_name)
    return _BASIS[locale][1].format(provider=request.provider_name)


def render(request: NoticeRequest, locale: str | None) -> RenderedNotice:
    name = request.template.value
    locale = resolve_locale(locale, name)
    policy = load_policy(request.policy_id)
    context = {
        "d": _defaults(request.detail),
        "provider": request.provider_name,
        **_helpers(locale, policy.provider.timezone),
    }
    subject, body, sms = (_template(locale, name, part).render(context).strip() for part in PARTS)
    body = "\n".join(line for line in body.splitlines() if line.strip())
    basis = basis_line(request, locale)
    text = f"{body}\n\n{basis}"
    if request.clause:
        sms = f"{sms} ({_CLAUSE_SHORT[locale].format(clause=request.clause)})"
    elif is_operational(request):
        sms = f"{sms} ({_OPERATIONAL_SHORT[locale]})"
    page = _html_layout().render(
        locale=locale,
        subject=subject,
        provider=request.provider_name,
        paragraphs=body.splitlines(),
        basis=basis,
    )
    return RenderedNotice(locale=locale, subject=subject, text=text, html=page, sms=sms)
