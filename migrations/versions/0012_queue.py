"""queue: the reporter-wrote-back marker on cases, staff time zones, indexes for the queue filters

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


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reporter_wrote_back_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_case_reporter_wrote_back_at'), ['reporter_wrote_back_at'], unique=False)
        batch_op.create_index('ix_case_country', ['country'], unique=False)
        batch_op.create_index('ix_case_sector', ['sector'], unique=False)
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_sector')
        batch_op.drop_index('ix_case_country')
        batch_op.drop_index(batch_op.f('ix_case_reporter_wrote_back_at'))
        batch_op.drop_column('reporter_wrote_back_at')
