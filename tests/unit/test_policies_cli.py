"""`oferta policies list|show|validate` as an operator uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def oferta(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oferta.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_list_shows_every_policy_with_its_key_terms() -> None:
    run = oferta("policies", "list")
    assert run.returncode == 0
    ps_kz = next(line for line in run.stdout.splitlines() if line.startswith("ps-kz"))
    assert "7 calendar days (clause 3.16)" in ps_kz and "15 working days (clause 5.25)" in ps_kz


def test_show_prints_the_policy_as_json() -> None:
    run = oferta("policies", "show", "ps-kz", "--json")
    data = json.loads(run.stdout)
    assert data["late_fee"]["rate_per_day"] == "0.001" and data["late_fee"]["clause"] == "6.4"
    assert oferta("policies", "show", "nowhere").returncode == 2


def test_validate_refuses_a_bad_file_naming_the_field(tmp_path: Path) -> None:
    good = (ROOT / "policies" / "ps-kz.yaml").read_text()
    bad = tmp_path / "ps-kz.yaml"
    bad.write_text(
        good.replace("  grace_to_restore:\n    amount: 7\n", "  grace_to_restore:\n    amount: -7\n")
    )
    run = oferta("policies", "validate", str(bad))
    assert run.returncode == 1
    assert "INVALID" in run.stdout and "suspension.grace_to_restore.amount" in run.stdout
    assert oferta("policies", "validate").returncode == 0
