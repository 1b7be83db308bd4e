"""Each timeline entry's identity: what it is, not where it falls in a write.

The database mirror (activities/recorder.py, UNIQUE(service_id, entry_key) in timeline_events)
and the webhook outbox (its event id) add an entry once by this key. The workflow gives it when
the entry is made (workflows/service_lifecycle.py, KEYED_RECORDS_PATCH).

Why a key made of the step, not a position or a counter
-------------------------------------------------------
Timeline writes are local activities: a write's effect is not in the history until its workflow
task completes. A worker that dies after the write and before the completion leaves the database
with entries the history does not know of; the task then runs again, on a longer history (the
activity results, signals and updates that came in meanwhile are all in one activation now). The
re-run is deterministic in *what* each step produces, but not in *when* relative to the others:

* the main loop and the notice coroutines wake in another order, so entries are made, grouped into
  writes and numbered in another order — a position in a write, the run's entry count when it is
  written, and a per-run counter bumped as each entry is made all move (a counter is deterministic
  on replay of the same history, not across a task re-run on a longer one);
* ``workflow.now()`` is the new task's start, so entries stamped "now" carry another time: the
  content is no identity either.

What does not move is the step an entry belongs to and what it is: the input it applies (its event
id, which billing gives and the workflow applies once), the deadline it takes (action and time, from
the state), the notice it reports (its ledger key, unique for the service's life), the hold it
places or lifts. An entry's key is that step, its type and, for the n-th entry of that step and
type the service's timeline already holds, ``#n`` (a step never makes two of one type today; the
count keeps them apart if one does, and a step held, lifted and held again).

So a write re-run with entries regrouped adds exactly the ones the first attempt did not write and
doubles none. What a key cannot undo: an entry written by the attempt that died, from a step the
re-run then took otherwise (an input applied before a deadline that had fired in the same task), is
not taken back; it stays, marked by nothing. Entries of runs from before keys have none: they are
keyed by position, ``seq:<n>``, as the database keyed every entry before (migration 0004).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from oferta.timeline.state import Deadline, TimelineEntry

# timeline_events.entry_key is String(300); a longer step (an event id is at most 200 characters,
# so none is today) keeps its start, readable, and a digest of the whole.
MAX_BASE = 280
POSITIONAL = "seq:"


def start() -> str:
    return "start"


def event(event_id: str) -> str:
    return f"event:{event_id}"


def deadline(deadline: Deadline) -> str:
    return f"deadline:{deadline.action.value}@{deadline.at.isoformat()}"


def notice(idempotency_suffix: str) -> str:
    """A notice's entry: its ledger key (period, notice, channel), sent once for the service."""
    return f"notice:{idempotency_suffix}"


def held(step: str, kind: str) -> str:
    return f"held:{step}:{kind}"


def lifted(step: str, kind: str) -> str:
    return f"lifted:{step}:{kind}"


def positional(sequence: int) -> str:
    """The key of an entry written without one (a run from before keys): its sequence number."""
    return f"{POSITIONAL}{sequence}"


def sequence_of(key: str) -> int | None:
    """The sequence number of a positional key, None for any other."""
    number = key.removeprefix(POSITIONAL)
    return int(number) if number != key and number.isdigit() else None


def _base(step: str, entry: TimelineEntry) -> str:
    base = f"{step}/{entry.type.value}"
    if len(base) > MAX_BASE:
        base = f"{base[:200]}~{hashlib.sha256(base.encode()).hexdigest()}"
    return base


def _base_of(key: str) -> str:
    base, hash_, n = key.rpartition("#")
    return base if hash_ and n.isdigit() else key


def assign(timeline: Iterable[TimelineEntry], entries: Iterable[TimelineEntry], step: str) -> None:
    """Key each of ``entries`` that has no key yet as an entry of ``step``, counting the entries of
    the same step and type in ``timeline`` (the service's recent timeline, which may hold
    ``entries`` themselves: those without a key are not counted)."""
    seen = Counter(_base_of(e.key) for e in timeline if e.key is not None)
    for entry in entries:
        if entry.key is not None:
            continue
        base = _base(step, entry)
        n = seen[base]
        entry.key = base if n == 0 else f"{base}#{n}"
        seen[base] += 1
