"""Broken policy files and time-machine scenarios: an error that names the field, exit code 2,
never a traceback, and never a hang (a tiny file may expand through YAML aliases)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oferta.cli import main
from oferta.policy.loader import PolicyError, parse_policy
from oferta.simulate import ScenarioError, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted((ROOT / "policies").glob("*.yaml"))
REFERENCE = ROOT / "examples" / "ps-kz-reference.yaml"

# Values of every wrong kind a hand-edited YAML file can hold.
WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["-5", "1e999999", "P9999Y", "0", "9999-12-31T23:59:59+00:00", "P0D"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)

# Expands to 9**9 values through aliases: parsed naively it never finishes.
BILLION_LAUGHS = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
NESTED = "a: " + "[" * 20000 + "]" * 20000 + "\n"


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    )
    for key, child in children:
        found.append((*prefix, key))
        found += _paths(child, (*prefix, key))
    return found


@st.composite
def _broken(draw: st.DrawFn, document: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The document with one field removed, given a wrong value, or joined by an unknown key;
    returns the document and the field an error must name."""
    doc = copy.deepcopy(document)
    path = draw(st.sampled_from(_paths(doc)))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    how = draw(st.sampled_from(["remove", "wrong", "unknown"] if isinstance(parent, dict) else ["wrong"]))
    if how == "remove":
        del parent[path[-1]]
    elif how == "wrong":
        parent[path[-1]] = draw(WRONG)
    else:
        parent["surplus_field"] = draw(WRONG)
        path = (*path[:-1], "surplus_field")
    return doc, str(path[0])


def _policy_document(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_broken_policy_is_a_policy_error_naming_the_field(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(POLICIES))
    doc, top = data.draw(_broken(_policy_document(source)))
    try:
        parse_policy(yaml.safe_dump(doc, allow_unicode=True), source.name)
    except PolicyError as exc:
        assert exc.problems and all(problem.strip() for problem in exc.problems)
        # The error names where the file is wrong (a cross-field rule may name the whole policy).
        assert any(problem.startswith((top, "(policy)")) for problem in exc.problems), exc.problems
    # Some wrong values are still valid (a text where any text is allowed): no error then.


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_broken_scenario_is_a_scenario_error_naming_the_field(data: st.DataObject) -> None:
    doc, top = data.draw(_broken(yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))))
    try:
        parse_scenario(yaml.safe_dump(doc, allow_unicode=True))
    except ScenarioError as exc:
        assert str(exc).strip()


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command in process (no interpreter start per case): an exception would fail the test."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _scenarios() -> list[tuple[str, bytes, str]]:
    reference = REFERENCE.read_text(encoding="utf-8")
    return [
        ("not UTF-8", b"\xff\xfe\x00policy", "not UTF-8"),
        ("a control character", b"\x01policy: ps-kz\n", "not valid YAML"),
        ("a billion laughs", BILLION_LAUGHS.encode(), "aliases are expanded"),
        ("nested 20000 deep", NESTED.encode(), "nested too deeply"),
        ("a list, not a mapping", b"- 1\n- 2\n", "mapping"),
        ("a negative price", reference.replace('price: "2500.00"', 'price: "-5"').encode(), "service.price"),
        (
            "a price of 10**999999",
            reference.replace('price: "2500.00"', 'price: "1e999999"').encode(),
            "price",
        ),
        ("a period of 9999 years", reference.replace("P1M", "P9999Y").encode(), "service.period"),
        ("year 9999", reference.replace("2027-04-01", "9999-04-01").encode(), "until"),
        ("twenty years", reference.replace("2027-04-01", "2046-04-01").encode(), "until"),
        (
            "an unknown key",
            reference.replace("period: P1M", "period: P1M, colour: red").encode(),
            "service.colour",
        ),
        ("a missing field", reference.replace("tariff: Basic, ", "").encode(), "service.tariff"),
        ("a wrong type", reference.replace("type: cancel_request", "type: [1, 2]").encode(), "events.1.type"),
    ]


def test_simulate_refuses_each_broken_scenario_with_exit_code_2(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "scenario.yaml"
    for name, content, words in _scenarios():
        scenario.write_bytes(content)
        code, out, err = _cli(capsys, "simulate", str(scenario), "--json")
        assert (code, out) == (2, ""), (name, err)
        assert words in err, (name, err)


POLICY_CASES = [
    ("not UTF-8", lambda text: b"\xff\xfe" + text.encode(), "not UTF-8"),
    ("a billion laughs", lambda text: (text + BILLION_LAUGHS.replace("a:", "x_a:")).encode(), "aliases"),
    ("nested 20000 deep", lambda text: NESTED.encode(), "nested too deeply"),
    ("an unknown key", lambda text: (text + "surplus: 1\n").encode(), "surplus: Extra inputs"),
    ("a wrong type", lambda text: text.replace("amount: 7\n", "amount: seven\n", 1).encode(), "amount"),
]
GOOD_POLICY = (ROOT / "policies" / "ps-kz.yaml").read_text(encoding="utf-8")


def test_policies_validate_names_what_is_wrong_in_each_broken_file(tmp_path: Path, capsys) -> None:
    path = tmp_path / "ps-kz.yaml"
    for name, edit, words in POLICY_CASES:
        path.write_bytes(edit(GOOD_POLICY))
        code, out, _err = _cli(capsys, "policies", "validate", str(path))
        # validate is a checker: 1 says "a file is invalid", and it lists why on stdout.
        assert code == 1 and f"INVALID {path}" in out and words in out, (name, out)


@pytest.mark.parametrize("case", [POLICY_CASES[0], POLICY_CASES[3]], ids=lambda case: case[0])
def test_policies_show_and_list_refuse_a_broken_policy_directory(tmp_path: Path, case) -> None:
    # A subprocess: the loaded policies are cached per process, and the directory is its setting.
    name, edit, words = case
    (tmp_path / "ps-kz.yaml").write_bytes(edit(GOOD_POLICY))
    for args in (["policies", "show", "ps-kz"], ["policies", "list"]):
        run = subprocess.run(
            [sys.executable, "-m", "oferta.cli", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            env={**os.environ, "OFERTA_POLICY_DIR": str(tmp_path)},
        )
        assert run.returncode == 2, (name, args, run.stderr[-500:])
        assert words in run.stderr and "Traceback" not in run.stderr, (name, args, run.stderr[-500:])
