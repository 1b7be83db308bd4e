"""`oferta simulate`: the time machine as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "examples" / "ps-kz-reference.yaml"


def oferta(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oferta.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_reference_timeline_as_json_cites_the_clauses() -> None:
    run = oferta("simulate", str(REFERENCE), "--json")
    assert run.returncode == 0, run.stderr
    items = json.loads(run.stdout)  # stdout is exactly one JSON array
    steps = [(i["type"], i["clause"]) for i in items if i["type"] != "notice"]
    # The courtesy reminder is the provider's own step: it cites no clause.
    assert steps == [
        ("invoice_issued", "5.8"),
        ("payment_received", "5.8"),
        ("activated", "5.8"),
        ("invoice_issued", "5.8"),
        ("reminder", None),
        ("suspended", "4.2.4"),
        ("archived", "3.17"),  # the data is archived (a snapshot) right before it is deleted
        ("deleted", "3.17"),
    ]
    assert items[0]["at"] == "2026-12-01T10:00:00+05:00"
    reminder = next(i for i in items if i["type"] == "reminder")
    assert reminder["detail"]["operational"] is True
    suspended = next(i for i in items if i["type"] == "suspended")
    deleted = next(i for i in items if i["type"] == "deleted")
    # Renewal issued Fri 25 Dec; 3 working days (5.8, 1.12): 28, 29, 30 Dec; suspended at 24:00.
    assert suspended["at"] == "2026-12-31T00:00:00+05:00"
    # 7 calendar days (3.16-3.17) from 31 Dec end on Thu 7 Jan, Orthodox Christmas, a day off:
    # the term runs to the end of Fri 8 Jan (Civil Code art. 175).
    assert deleted["at"] == "2027-01-09T00:00:00+05:00"
    notices = [i for i in items if i["type"] == "notice"]
    assert all({"channel", "template", "locale"} <= set(n["detail"]) for n in notices)
    assert {n["detail"]["locale"] for n in notices} == {"ru"}
    assert "cancel_request" in run.stderr  # the late cancellation is reported, not silently dropped


def test_readable_output_names_state_and_clauses() -> None:
    run = oferta("simulate", str(REFERENCE))
    assert run.returncode == 0, run.stderr
    assert "§3.17" in run.stdout and "final state: deleted" in run.stdout


def test_malformed_scenario_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        REFERENCE.read_text().replace('type: payment, amount: "2500.00"', 'type: payment, amount: "lots"')
    )
    run = oferta("simulate", str(bad), "--json")
    assert run.returncode == 2
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if "lots" in text)
    assert f"line {line}" in run.stderr and "amount" in run.stderr
    assert run.stdout == ""


def test_unknown_event_type_and_policy_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(REFERENCE.read_text().replace("type: cancel_request", "type: cancel_everything"))
    run = oferta("simulate", str(bad))
    assert run.returncode == 2 and "events.1.type" in run.stderr
    bad.write_text(REFERENCE.read_text().replace("policy: ps-kz", "policy: nowhere"))
    run = oferta("simulate", str(bad))
    assert run.returncode == 2 and "unknown policy 'nowhere'" in run.stderr


SMARTAPE_WITHDRAWAL = ROOT / "examples" / "smartape-withdrawal.yaml"
CENTERPRO_TARIFF = ROOT / "examples" / "centerpro-tariff.yaml"


def test_a_consumer_withdrawal_ends_the_contract_and_refunds_the_unused_days() -> None:
    run = oferta("simulate", str(SMARTAPE_WITHDRAWAL), "--json")
    assert run.returncode == 0, run.stderr
    items = json.loads(run.stdout)
    terminated = [i for i in items if i["type"] == "terminated"]
    assert len(terminated) == 1 and terminated[0]["detail"]["reason"] == "withdrawal"
    assert terminated[0]["at"].startswith("2027-03-05T12:00")  # at once, on day 5
    refunds = [i for i in items if i["type"] in ("refund_due", "refund_paid")]
    assert refunds and float(refunds[0]["detail"]["amount"]) > 0
    assert "refused:" not in run.stderr


def test_tariffs_bought_from_the_balance_end_limit_access_and_are_bought_again() -> None:
    run = oferta("simulate", str(CENTERPRO_TARIFF), "--json")
    assert run.returncode == 0, run.stderr
    steps = [(i["type"], i["detail"].get("reason")) for i in json.loads(run.stdout) if i["type"] != "notice"]
    assert [t for t, _ in steps].count("tariff_purchased") == 2
    assert ("suspended", "tariff_ended") in steps
    assert steps.index(("suspended", "tariff_ended")) < [t for t, _ in steps].index("resumed")
    assert "refused:" not in run.stderr


def test_the_new_vocabulary_is_checked_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    reference = REFERENCE.read_text()
    for old, new, words in [
        ("type: cancel_request}", "type: promise_to_pay}", "promised_at"),
        ("type: cancel_request}", 'type: payment, amount: "1.00", scope: contract}', "scope"),
        ("type: cancel_request}", "type: force_majeure_terminate, party: nobody}", "party"),
        ("period: P1M}", "period: P1M, trial: true}", "service.trial: the contract offers no trial"),
    ]:
        bad.write_text(reference.replace(old, new))
        run = oferta("simulate", str(bad))
        line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1) if new in text)
        assert run.returncode == 2 and words in run.stderr and f"line {line}" in run.stderr, run.stderr


def test_an_input_the_contract_refuses_is_reported_with_its_reason(tmp_path: Path) -> None:
    scenario = tmp_path / "withdraw.yaml"
    scenario.write_text(
        REFERENCE.read_text().replace(
            '  - {at: "2027-01-20T12:00:00+05:00", type: cancel_request}',
            '  - {at: "2026-12-03T12:00:00+05:00", type: withdrawal}\n'
            '  - {at: "2026-12-04T12:00:00+05:00", type: cancel_request, scope: contract}',
        )
    )
    run = oferta("simulate", str(scenario), "--json")
    assert run.returncode == 0, run.stderr
    assert (
        "refused: 2026-12-03T12:00:00+05:00 withdrawal: the contract gives no right of withdrawal"
        in run.stderr
    )
    types = [i["type"] for i in json.loads(run.stdout)]
    assert "termination_requested" in types and "cancel_request" not in run.stderr
