"""oferta simulate SCENARIO.yaml [--json]"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate", help="run a scenario through the real workflow on the time-skipping server"
    )
    parser.add_argument("scenario", type=Path, help="the scenario YAML file")
    parser.add_argument("--json", action="store_true", help="print the timeline as one JSON array")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from oferta.policy.loader import read_yaml_text
    from oferta.simulate import ScenarioError, parse_scenario, render_text, simulate, to_json_items
    from oferta.temporal import run_async

    try:
        text = read_yaml_text(args.scenario)
    except OSError as exc:
        print(f"{args.scenario}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValueError as exc:  # not UTF-8
        print(f"{args.scenario}: {exc}", file=sys.stderr)
        return 2
    try:
        scenario = parse_scenario(text)
    except ScenarioError as exc:
        print(f"{args.scenario}: {exc}", file=sys.stderr)
        return 2
    if not args.json:
        print(f"simulating {scenario.policy} from {scenario.start} to {scenario.until} …", file=sys.stderr)
    result = run_async(simulate(scenario))
    if args.json:
        print(json.dumps(to_json_items(result), ensure_ascii=False, indent=2))
        for note in result.ignored:
            print(f"ignored: {note}", file=sys.stderr)
        for note in result.refused:
            print(f"refused: {note}", file=sys.stderr)
    else:
        print(render_text(result))
    return 0
