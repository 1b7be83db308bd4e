"""An import sent through the API (POST /v1/imports): its rows taken over batch by batch.

The rows travel in the workflow's input (the API caps a request's size), each batch is one
``import_batch`` activity (oferta/importer.py: checked, written once, workflows started),
and the progress is a query. A crash anywhere resumes where it was: a batch retried after
a crash finds its services already there and starts nothing twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from oferta.effects import ImportBatch, ImportBatchResult, ImportRefusal

WORKFLOW_NAME = "Import"
BATCH = 50
REFUSALS_KEPT = 1000


class ImportInput(BaseModel):
    import_id: str
    rows: list[dict[str, Any]]
    first_line: int = 1


class ImportProgress(BaseModel):
    import_id: str
    status: Literal["running", "done"] = "running"
    total: int
    done: int = 0
    imported: int = 0
    already: int = 0
    refused: int = 0
    refusals: list[ImportRefusal] = []


@workflow.defn(name=WORKFLOW_NAME)
class ImportWorkflow:
    @workflow.init
    def __init__(self, input: ImportInput) -> None:
        self._progress = ImportProgress(import_id=input.import_id, total=len(input.rows))

    @workflow.run
    async def run(self, input: ImportInput) -> ImportProgress:
        now = workflow.now()  # one "now" for every row: the same import takes over the same states
        for start in range(0, len(input.rows), BATCH):
            rows = input.rows[start : start + BATCH]
            result = await workflow.execute_activity(
                "import_batch",
                ImportBatch(
                    import_id=input.import_id,
                    lines=[input.first_line + start + i for i in range(len(rows))],
                    rows=rows,
                    now=now,
                ),
                result_type=ImportBatchResult,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
                summary=f"rows {start + 1}-{start + len(rows)} of {len(input.rows)}",
            )
            self._add(result, len(rows))
        self._progress.status = "done"
        return self._progress

    def _add(self, result: ImportBatchResult, rows: int) -> None:
        progress = self._progress
        progress.done += rows
        progress.imported += result.imported
        progress.already += result.already
        progress.refused += len(result.refusals)
        progress.refusals = (progress.refusals + result.refusals)[:REFUSALS_KEPT]

    @workflow.query(name="progress")
    def progress(self) -> ImportProgress:
        return self._progress
