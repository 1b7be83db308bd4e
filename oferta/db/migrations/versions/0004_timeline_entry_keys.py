"""Timeline entries keyed by what they are: UNIQUE(service_id, entry_key), no longer by sequence.

An entry's key is its step and type (oferta/timeline/entry_keys.py), so a timeline write re-run
after a worker crash, its entries grouped and numbered otherwise, adds each entry once. Rows
written before get the positional key the recorder still gives entries without one,
``seq:<sequence>``. The sequence stays, for order (after the time), without its UNIQUE.

Downgrade: fails if two rows of a service share a sequence (possible once keyed writes ran).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 20:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entry_key", sa.String(length=300), nullable=True))
    # entry_keys.positional(sequence), in SQL both databases speak.
    op.execute("UPDATE timeline_events SET entry_key = 'seq:' || CAST(sequence AS VARCHAR(20))")
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.alter_column("entry_key", existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_constraint("uq_timeline_events_service_id_sequence", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_timeline_events_service_id_entry_key"), ["service_id", "entry_key"]
        )
        batch_op.create_index("ix_timeline_events_order", ["service_id", "at", "sequence"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timeline_events", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_events_order")
        batch_op.drop_constraint("uq_timeline_events_service_id_entry_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_timeline_events_service_id_sequence"), ["service_id", "sequence"]
        )
        batch_op.drop_column("entry_key")
