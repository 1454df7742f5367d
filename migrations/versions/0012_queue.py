"""queue: the reporter-wrote-back marker on cases, the queue's stored sort keys and their index, staff time zones, indexes for the queue filters

Revision ID: 0012_queue
Revises: 0011_triage_findings
Create Date: 2026-12-01 18:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_queue'
down_revision = '0011_triage_findings'
branch_labels = None
depends_on = None

# The same keys as casework.models.queue_keys, for the cases already there (raw SQL: the models
# describe the newest schema). Rank: 0-3 needs a person's triage (critical … low), 10-13 the others.
_URGENCY = "CASE urgency WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 WHEN 'low' THEN 3 ELSE 4 END"
_FIRST = "CASE WHEN status <> 'closed' AND first_response_at IS NULL THEN first_response_due_at END"
_RESOLUTION = "CASE WHEN status NOT IN ('resolved', 'closed') THEN resolution_due_at END"
BACKFILL = (
    f'UPDATE "case" SET queue_rank = CASE WHEN needs_human_triage THEN 0 ELSE 10 END + {_URGENCY}, '
    f"queue_due_at = CASE WHEN ({_FIRST}) IS NULL THEN ({_RESOLUTION}) "
    f"WHEN ({_RESOLUTION}) IS NULL OR ({_FIRST}) <= ({_RESOLUTION}) THEN ({_FIRST}) ELSE ({_RESOLUTION}) END"
)


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reporter_wrote_back_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_case_reporter_wrote_back_at'), ['reporter_wrote_back_at'], unique=False)
        batch_op.create_index('ix_case_country', ['country'], unique=False)
        batch_op.create_index('ix_case_sector', ['sector'], unique=False)
        batch_op.add_column(sa.Column('queue_rank', sa.Integer(), nullable=False, server_default='12'))
        batch_op.add_column(sa.Column('queue_due_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.alter_column('queue_rank', server_default=None)
        batch_op.create_index('ix_case_queue_order', ['queue_rank', 'queue_due_at', 'id'], unique=False)
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_queue_order')
        batch_op.drop_column('queue_due_at')
        batch_op.drop_column('queue_rank')
        batch_op.drop_index('ix_case_sector')
        batch_op.drop_index('ix_case_country')
        batch_op.drop_index(batch_op.f('ix_case_reporter_wrote_back_at'))
        batch_op.drop_column('reporter_wrote_back_at')
