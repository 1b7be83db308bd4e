"""Importing a live customer base: rows in, services running mid-contract out.

One row a service (CSV or JSON lines; README "Importing a customer base"). Each row is
checked against its contract (oferta/timeline/takeover.py rebuilds its state), written to
the database (customer and service, once), and its workflow started in that state. A bad
row is reported with its line and field and the others go on; running the same file twice
starts nothing twice. Starts run with bounded concurrency and back off when Temporal
pushes back. Used by ``oferta import`` and by the import workflow behind ``POST /v1/imports``.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from temporalio.client import Client

from oferta.db.models import Customer, Service
from oferta.db.once import insert_once, utc
from oferta.db.policy_versions import Governing, governing
from oferta.db.session import session_scope
from oferta.effects import ImportBatch, ImportBatchResult, ImportRefusal
from oferta.policy import load_policy
from oferta.policy.schema import Policy
from oferta.timeline.engine import Contract
from oferta.timeline.money import Money
from oferta.timeline.periods import parse_period
from oferta.timeline.state import ServiceSpec, ServiceState
from oferta.timeline.takeover import OpenInvoice, Takeover, TakeoverRefused, take_over
from workflows.client import AlreadyStarted, AmendmentNotice, TemporalUnavailable, take_over_service
from workflows.shared import service_workflow_id

ID = r"^[A-Za-z0-9_.-]{1,64}$"
MAX_ROWS = 100_000
# Temporal said "not now" (rate limit, unavailable): wait this long, doubling, this many times.
BACKOFF_FIRST, BACKOFF_TRIES = 0.5, 8


class InvoiceRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_id: str = Field(min_length=1, max_length=200)
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    issued_at: AwareDatetime
    due_on: date


class ImportRow(BaseModel):
    """One service as the provider's old system knows it (README: the column format)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    service_id: str = Field(pattern=ID)
    customer_id: str = Field(pattern=ID)
    customer_name: str = Field(min_length=1, max_length=300)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    locale: Literal["ru", "kk", "en"] = "ru"
    timezone: str | None = Field(default=None, max_length=64)
    consumer: bool = False
    policy: str = Field(pattern=ID)
    kind: str = Field(default="hosting", max_length=32)
    tariff: str = Field(min_length=1, max_length=200)
    price: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    period: str = "P1M"
    status: Literal["active", "invoice_due", "suspended"] = "active"
    paid_until: AwareDatetime | None = None
    balance: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    suspended_at: AwareDatetime | None = None
    open_invoices: list[InvoiceRow] = Field(default_factory=list, max_length=24)

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        parse_period(value)
        return value

    @field_validator("paid_until", "suspended_at")
    @classmethod
    def _sane_year(cls, value: datetime | None) -> datetime | None:
        if value is not None and not 2000 <= value.year <= 2100:
            raise ValueError("must be a date between 2000 and 2100")
        return value


@dataclass(frozen=True)
class Refusal:
    line: int
    field: str
    reason: str
    service_id: str | None = None


@dataclass(frozen=True)
class Prepared:
    line: int
    row: ImportRow
    spec: ServiceSpec
    state: ServiceState
    policy: Policy  # the version in force when the row is taken over


@dataclass
class Summary:
    total: int = 0
    imported: int = 0
    already: int = 0
    refused: list[Refusal] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.imported + self.already + len(self.refused)

    def refused_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for refusal in self.refused:
            key = f"{refusal.field}: {refusal.reason}"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: -item[1]))

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "imported": self.imported,
            "already_there": self.already,
            "refused": len(self.refused),
            "refused_by_reason": self.refused_by_reason(),
            "refusals": [refusal.__dict__ for refusal in self.refused],
        }


# -- reading a file -------------------------------------------------------------------------


class FileRefused(ValueError):
    """The file as a whole cannot be read (its format, its size)."""


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | Refusal]]:
    """(line, raw row) for each service in a CSV or JSON-lines file; a line that is not a row
    at all comes out as a Refusal."""
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if suffix == ".csv":
        yield from _csv_rows(text)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        yield from _json_lines(text)
    else:
        raise FileRefused(f"{path.name}: a .csv or .jsonl file, please")


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | Refusal]]:
    reader = csv.DictReader(text.splitlines())
    for count, raw in enumerate(reader, start=1):
        if count > MAX_ROWS:
            raise FileRefused(f"more than {MAX_ROWS} rows: split the file")
        line = reader.line_num
        if None in raw:
            yield line, Refusal(line, "row", "more values than columns")
            continue
        row: dict[str, Any] = {key: value for key, value in raw.items() if value not in ("", None)}
        invoices = row.get("open_invoices")
        if isinstance(invoices, str):
            try:
                row["open_invoices"] = json.loads(invoices)
            except json.JSONDecodeError:
                yield line, Refusal(line, "open_invoices", "not a JSON list", row.get("service_id"))
                continue
        yield line, row


def _json_lines(text: str) -> Iterator[tuple[int, dict[str, Any] | Refusal]]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if line > MAX_ROWS:
            raise FileRefused(f"more than {MAX_ROWS} rows: split the file")
        if not raw.strip():
            continue
        try:
            row = json.loads(raw, parse_float=Decimal)
        except (json.JSONDecodeError, RecursionError):
            yield line, Refusal(line, "row", "not a JSON object")
            continue
        if not isinstance(row, dict):
            yield line, Refusal(line, "row", "not a JSON object")
            continue
        yield line, row


# -- checking a row against its contract ---------------------------------------------------


def prepare(
    line: int, raw: dict[str, Any], now: datetime, policy_for: Callable[[str], Policy] = load_policy
) -> Prepared | Refusal:
    """The row, its service and the state its workflow starts in; or why it cannot be.
    ``policy_for`` gives the version of a policy in force (KeyError for an unknown one)."""
    service_id = raw.get("service_id") if isinstance(raw.get("service_id"), str) else None
    try:
        row = ImportRow.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "row"
        return Refusal(line, where, str(first.get("msg", "invalid")), service_id)
    try:
        policy = policy_for(row.policy)
    except KeyError:
        return Refusal(line, "policy", f"unknown policy {row.policy!r}", row.service_id)
    if row.currency != policy.provider.currency:
        return Refusal(
            line, "currency", f"the {policy.id} contract bills in {policy.provider.currency}", service_id
        )
    contract = Contract(policy)
    try:
        price = Money(amount=row.price, currency=row.currency)
        spec = ServiceSpec(
            service_id=row.service_id,
            customer_id=row.customer_id,
            policy_id=policy.id,
            kind=row.kind,
            tariff=row.tariff,
            price=price,
            period=row.period,
            consumer=row.consumer,
        )
    except (ValidationError, InvalidOperation) as exc:
        return Refusal(line, "price", str(exc).splitlines()[0], service_id)
    refusal = contract.start_refusal(spec)
    if refusal:
        return Refusal(line, refusal[0], refusal[1], service_id)
    takeover = Takeover(
        status=row.status,
        paid_until=row.paid_until,
        balance=Money(amount=row.balance, currency=row.currency) if row.balance is not None else None,
        suspended_at=row.suspended_at,
        open_invoices=[
            OpenInvoice(
                invoice_id=i.invoice_id,
                amount=Money(amount=i.amount, currency=row.currency),
                issued_at=i.issued_at,
                due_on=i.due_on,
            )
            for i in row.open_invoices
        ],
    )
    try:
        state = take_over(contract, spec, takeover, now)
    except TakeoverRefused as exc:
        return Refusal(line, exc.field, exc.reason, service_id)
    return Prepared(line, row, spec, state, policy)


# -- writing and starting ---------------------------------------------------------------------


def _write_rows(url: str, item: Prepared) -> None:
    """The customer (unless known) and the service, each written once."""
    row, state = item.row, item.state
    with session_scope(url) as session:
        insert_once(
            session,
            Customer,
            id=row.customer_id,
            name=row.customer_name,
            email=row.email,
            phone=row.phone,
            locale=row.locale,
            timezone=row.timezone,
            consumer=row.consumer,
        )
        insert_once(
            session,
            Service,
            id=row.service_id,
            customer_id=row.customer_id,
            policy_id=row.policy,
            kind=row.kind,
            tariff=row.tariff,
            price=row.price,
            currency=row.currency,
            period=row.period,
            workflow_id=service_workflow_id(row.service_id),
            state=state.status.value,
            period_index=state.period_index,
            paid_until=state.paid_until,
            debt=state.debt().amount,
        )


Progress = Callable[[Summary], Awaitable[None] | None]


async def import_rows(
    rows: Iterable[tuple[int, dict[str, Any] | Refusal]],
    client: Client,
    database_url: str,
    task_queue: str,
    *,
    now: datetime,
    concurrency: int = 20,
    progress: Progress | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Import every row; the summary counts imported, already there and refused (line, field)."""
    summary = summary or Summary()
    versions = _Versions(database_url, now)
    seen: set[str] = set()
    gate = asyncio.Semaphore(max(1, concurrency))

    async def tell() -> None:
        if progress is not None:
            result = progress(summary)
            if result is not None:
                await result

    async def one(item: Prepared) -> None:
        async with gate:
            try:
                await asyncio.to_thread(_write_rows, database_url, item)
                started = await _start_with_backoff(
                    client, item, task_queue, versions.pending(item.policy.id)
                )
            except AlreadyStarted as exc:
                summary.refused.append(Refusal(item.line, "service_id", exc.message, item.spec.service_id))
            except TemporalUnavailable as exc:
                summary.refused.append(
                    Refusal(
                        item.line, "temporal", f"{exc.message}; run the import again", item.spec.service_id
                    )
                )
            else:
                if started:
                    summary.imported += 1
                else:
                    summary.already += 1
            await tell()

    tasks: list[asyncio.Task[None]] = []
    for line, raw in rows:
        summary.total += 1
        item = raw if isinstance(raw, Refusal) else prepare(line, raw, now, versions.policy)
        if isinstance(item, Prepared) and item.spec.service_id in seen:
            item = Refusal(line, "service_id", "appears twice in this import", item.spec.service_id)
        if isinstance(item, Refusal):
            summary.refused.append(item)
            await tell()
            continue
        seen.add(item.spec.service_id)
        tasks.append(asyncio.create_task(one(item)))
        if len(tasks) >= 4 * concurrency:  # bounded memory for big files
            await asyncio.gather(*tasks)
            tasks = []
    await asyncio.gather(*tasks)
    summary.refused.sort(key=lambda refusal: refusal.line)
    return summary


async def _start_with_backoff(
    client: Client, item: Prepared, task_queue: str, amendment: AmendmentNotice | None
) -> bool:
    delay = BACKOFF_FIRST
    for attempt in range(BACKOFF_TRIES):
        try:
            return await take_over_service(
                client, item.policy, item.spec, item.state, task_queue=task_queue, amendment=amendment
            )
        except TemporalUnavailable:
            if attempt == BACKOFF_TRIES - 1:
                raise
            await asyncio.sleep(delay)  # Temporal pushes back: wait, then try the same start again
            delay *= 2
    raise AssertionError("unreachable")


class _Versions:
    """The version of each policy in force at the import's time, and one published for later
    (read once per policy and import: oferta/db/policy_versions.py)."""

    def __init__(self, database_url: str, now: datetime) -> None:
        self.url, self.now = database_url, now
        self._known: dict[str, Governing] = {}

    def _governing(self, policy_id: str) -> Governing:
        if policy_id not in self._known:
            load_policy(policy_id)  # KeyError for an unknown policy, before the database is asked
            with session_scope(self.url) as session:
                self._known[policy_id] = governing(session, policy_id, self.now)
        return self._known[policy_id]

    def policy(self, policy_id: str) -> Policy:
        return self._governing(policy_id).policy

    def pending(self, policy_id: str) -> AmendmentNotice | None:
        row = self._governing(policy_id).pending
        if row is None:
            return None
        return AmendmentNotice(
            policy_id=row.policy_id,
            version=row.version,
            published_at=utc(row.published_at),
            effective_at=utc(row.effective_at),
            changed_clauses=list(row.changed_clauses),
        )


async def import_batch(
    client: Client, database_url: str, task_queue: str, batch: ImportBatch
) -> ImportBatchResult:
    """One batch of an import workflow's rows (the import_batch activity); idempotent like a file."""
    summary = await import_rows(
        list(zip(batch.lines, batch.rows, strict=True)), client, database_url, task_queue, now=batch.now
    )
    return ImportBatchResult(
        imported=summary.imported,
        already=summary.already,
        refusals=[ImportRefusal(**refusal.__dict__) for refusal in summary.refused],
    )
