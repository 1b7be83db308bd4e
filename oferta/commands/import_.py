"""oferta import FILE — take over a live customer base (CSV or JSON lines, README "Importing").

Each row's service starts mid-contract, in the state the row describes. A progress bar while
it runs; a summary at the end (imported, already there, refused by reason, each refusal with
its line and field). Running the same file again starts nothing twice. Exit 0 when every row
was imported or already there, 1 when some were refused, 2 when the file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("import", help="take over running services from a CSV or JSON-lines file")
    parser.add_argument("file", type=Path)
    parser.add_argument("--concurrency", type=int, default=20, help="workflows started at once (default 20)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON document")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from oferta.importer import FileRefused
    from oferta.temporal import run_async

    if not args.file.is_file():
        print(f"{args.file}: no such file", file=sys.stderr)
        return 2
    try:
        summary = run_async(_import(args.file, args.concurrency, quiet=args.json))
    except FileRefused as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except LookupError as exc:
        print(exc.args[0], file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print(_report(summary))
    return 1 if summary.refused else 0


async def _import(path: Path, concurrency: int, quiet: bool):
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from oferta.commands import temporal_client
    from oferta.db.migrate import upgrade
    from oferta.importer import Summary, import_rows, read_rows
    from oferta.settings import get_settings
    from workflows.client import task_queue

    settings = get_settings()
    client = await temporal_client(settings)
    upgrade(settings.effective_database_url)
    rows = list(read_rows(path))  # reads the whole file first: a file it cannot read starts nothing
    columns = (
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=quiet, console=Console(stderr=True)) as bar:
        task = bar.add_task("import", total=len(rows), counts="")

        def show(summary: Summary) -> None:
            counts = f"new {summary.imported} · there {summary.already} · refused {len(summary.refused)}"
            bar.update(task, completed=summary.done, counts=counts)

        return await import_rows(
            rows,
            client,
            settings.effective_database_url,
            task_queue(settings),
            now=datetime.now(UTC),
            concurrency=concurrency,
            progress=show,
        )


def _report(summary) -> str:
    lines = [
        f"{summary.total} rows: {summary.imported} imported, {summary.already} already there, "
        f"{len(summary.refused)} refused"
    ]
    for reason, count in summary.refused_by_reason().items():
        lines.append(f"  {count:>5} × {reason}")
    for refusal in summary.refused[:50]:
        service = f" ({refusal.service_id})" if refusal.service_id else ""
        lines.append(f"  line {refusal.line}{service}: {refusal.field}: {refusal.reason}")
    if len(summary.refused) > 50:
        lines.append(f"  … {len(summary.refused) - 50} more (--json lists them all)")
    return "\n".join(lines)
