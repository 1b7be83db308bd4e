"""`oferta simulate`: the time machine as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "examples" / "ps-kz-reference.yaml"


def oferta(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oferta.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_reference_timeline_as_json_cites_the_clauses() -> None:
    run = oferta("simulate", str(REFERENCE), "--json")
    assert run.returncode == 0, run.stderr
    items = json.loads(run.stdout)  # stdout is exactly one JSON array
    steps = [(i["type"], i["clause"]) for i in items if i["type"] != "notice"]
    # The courtesy reminder is the provider's own step: it cites no clause.
    assert steps == [
        ("invoice_issued", "5.8"), ("payment_received", "5.8"), ("activated", "5.8"),
        ("invoice_issued", "5.8"), ("reminder", None), ("suspended", "4.2.4"), ("deleted", "3.17"),
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
    bad.write_text(REFERENCE.read_text().replace('type: payment, amount: "2500.00"',
                                                 'type: payment, amount: "lots"'))
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
