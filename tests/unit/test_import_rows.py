"""Import rows without Temporal: the README's sample file, and what a bad row is told."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from oferta.importer import FileRefused, Prepared, Refusal, prepare, read_rows

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "import-sample.csv"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_the_readme_sample_imports_without_a_refusal() -> None:
    prepared = [prepare(line, raw, NOW) for line, raw in read_rows(SAMPLE) if isinstance(raw, dict)]
    assert all(isinstance(p, Prepared) for p in prepared), [p for p in prepared if isinstance(p, Refusal)]
    states = {p.spec.service_id: p.state.status.value for p in prepared if isinstance(p, Prepared)}
    assert states == {
        "web-1001": "active",
        "web-1002": "suspended",
        "web-1003": "invoice_due",
        "dom-2001": "active",
        "vps-3001": "active",
    }


GOOD = {
    "service_id": "s-1",
    "customer_id": "c-1",
    "customer_name": "A",
    "policy": "ps-kz",
    "tariff": "Basic",
    "price": "2500.00",
    "currency": "KZT",
    "paid_until": "2026-12-20T00:00:00+05:00",
}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"price": "-1"}, "price"),
        ({"price": "12.345"}, "price"),
        ({"currency": "EUR"}, "currency"),
        ({"kind": "licence"}, "kind"),
        ({"period": "P1X"}, "period"),
        ({"paid_until": "2026-12-20"}, "paid_until"),  # no offset: whose midnight?
        ({"paid_until": "1900-01-01T00:00:00+05:00"}, "paid_until"),
        ({"email": "not-an-address"}, "email"),
        ({"colour": "red"}, "colour"),
        ({"status": "frozen"}, "status"),
        ({"service_id": "has space"}, "service_id"),
    ],
)
def test_a_bad_row_is_refused_with_its_field(change, field) -> None:
    refusal = prepare(7, GOOD | change, NOW)
    assert isinstance(refusal, Refusal)
    assert (refusal.line, refusal.field) == (7, field)


def test_a_good_row_prepares() -> None:
    assert isinstance(prepare(1, GOOD, NOW), Prepared)


def test_unreadable_files_are_refused_as_a_whole(tmp_path) -> None:
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FileRefused, match="UTF-8"):
        list(read_rows(binary))
    lines = tmp_path / "x.jsonl"
    lines.write_text('{"service_id": "a"}\n[1, 2]\nnot json\n', encoding="utf-8")
    read = list(read_rows(lines))
    assert isinstance(read[0][1], dict)
    assert [(line, r.field) for line, r in read[1:] if isinstance(r, Refusal)] == [(2, "row"), (3, "row")]
